"""Risk adjustment: expected counts from reference rates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def expected_from_reference_rates(
    populations: Sequence[float], reference_counts: Sequence[float], reference_populations: Sequence[float]
) -> float:
    """Expected events under indirect standardisation: ``E = sum_i n_i * (d_i / N_i)`` over strata ``i``.

    ``n_i`` is the local population (or person-time) of stratum ``i`` and ``d_i / N_i`` the reference rate of that
    stratum (Breslow & Day 1987, vol. II, section 2.3). A reference stratum with no population contributes
    nothing.
    """
    n = np.asarray(populations, dtype=float)
    d = np.asarray(reference_counts, dtype=float)
    big_n = np.asarray(reference_populations, dtype=float)
    if not n.shape == d.shape == big_n.shape:
        raise ValueError("populations, reference_counts and reference_populations must have the same length")
    for name, array in (("populations", n), ("reference_counts", d), ("reference_populations", big_n)):
        if np.isnan(array).any() or (array < 0).any():
            raise ValueError(f"{name} must be non-negative numbers")
    rates = np.divide(d, big_n, out=np.zeros_like(d), where=big_n > 0)
    return float(np.sum(n * rates))
