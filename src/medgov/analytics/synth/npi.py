"""National Provider Identifier check digits.

The NPI is 9 digits plus a Luhn check digit computed over the digits prefixed with ``80840`` (the ISO
standard card-issuer prefix for US health applications): CMS, "Requirements for National Provider
Identifier (NPI) and NPI Enumeration", section "Check digit".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NPI_PREFIX = "80840"


def _luhn_sum(digits: str) -> int:
    total = 0
    # Double every second digit counting from the rightmost, which is the check digit itself.
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit for the 9-digit NPI stem ``first_nine`` (prefix 80840 included in the sum)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError(f"an NPI stem is 9 digits, got {first_nine!r}")
    return (10 - _luhn_sum(NPI_PREFIX + first_nine + "0") % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """True when ``npi`` is 10 digits and passes the Luhn check over ``80840`` + ``npi``."""
    return len(npi) == 10 and npi.isdigit() and _luhn_sum(NPI_PREFIX + npi) % 10 == 0


def make_npis(rng: np.random.Generator, count: int, first_digit: int) -> list[str]:
    """``count`` distinct valid NPIs; individual providers start with 1, organisations with 2 (CMS practice)."""
    stems: npt.NDArray[np.int64] = rng.choice(10**8, size=count, replace=False).astype(np.int64)
    npis: list[str] = []
    for stem in stems.tolist():
        first_nine = f"{first_digit}{stem:08d}"
        npis.append(first_nine + str(npi_check_digit(first_nine)))
    return npis
