"""Small-cell suppression: no count 1-10 shown, and no hidden entry derivable from the published totals.

There are no anchor vectors for suppression; the tests assert the two disclosure rules directly, including an
independent linear-programming audit that every hidden entry can take more than one value consistent with what is
shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from medgov.analytics.statistics.suppression import suppress_small_cells


def _table(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))], columns=[f"c{j}" for j in range(len(rows[0]))])


def _feasible_ranges(counts: np.ndarray, hidden: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """Audit by linear programming: the smallest and largest value each hidden entry can take, given every
    shown entry, non-negativity and the row/column equations of the extended table."""
    unknowns = [tuple(int(v) for v in cell) for cell in np.argwhere(hidden)]
    index = {cell: k for k, cell in enumerate(unknowns)}
    rows, columns = counts.shape
    equations = [[(i, j) for j in range(columns)] for i in range(rows)]
    equations += [[(i, j) for i in range(rows)] for j in range(columns)]
    a_eq, b_eq = [], []
    for cells in equations:
        *parts, total = cells
        coefficients = np.zeros(len(unknowns))
        constant = 0.0
        for cell, sign in [*((c, 1.0) for c in parts), (total, -1.0)]:
            if cell in index:
                coefficients[index[cell]] += sign
            else:
                constant -= sign * counts[cell]
        a_eq.append(coefficients)
        b_eq.append(constant)
    ranges = {}
    for cell, k in index.items():
        objective = np.zeros(len(unknowns))
        objective[k] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        ranges[cell] = (low.fun, -high.fun)
    return ranges


CASES = [
    pytest.param([[5, 40, 30], [25, 35, 45], [50, 60, 70]], id="one-small-cell"),
    pytest.param([[5, 40], [25, 35]], id="two-by-two"),
    pytest.param([[3, 4, 50], [60, 70, 80]], id="two-small-cells-in-one-row"),
    pytest.param([[12, 0, 30], [20, 0, 9], [15, 22, 0]], id="zeros-and-a-small-cell"),
    pytest.param([[2, 15], [14, 18]], id="small-cell-with-small-row"),
]


@pytest.mark.parametrize("rows", CASES)
def test_no_small_count_is_shown_and_no_hidden_cell_is_derivable(rows: list[list[int]]) -> None:
    result = suppress_small_cells(_table(rows))
    counts = result.counts.to_numpy()
    hidden = result.suppressed.to_numpy()
    interior = counts[:-1, :-1]
    assert not ((interior >= 1) & (interior <= 10) & ~hidden[:-1, :-1]).any()
    for line in [*hidden, *hidden.T]:
        assert line.sum() != 1
    for cell, (low, high) in _feasible_ranges(counts, hidden).items():
        assert low <= counts[cell] <= high
        assert high - low >= 1, f"hidden entry {cell} is pinned to {counts[cell]}"


def test_one_small_cell_hides_the_smallest_complements() -> None:
    result = suppress_small_cells(_table([[5, 40, 30], [25, 35, 45], [50, 60, 70]]))
    assert result.primary.to_numpy().sum() == 1
    assert result.suppressed.loc[["r0", "r1"], ["c0", "c2"]].to_numpy().all()
    assert result.suppressed.to_numpy().sum() == 4


def test_published_table_has_totals_and_missing_values_for_hidden_entries() -> None:
    result = suppress_small_cells(_table([[5, 40], [25, 35]]))
    published = result.published()
    assert list(published.columns) == ["c0", "c1", "Total"]
    assert list(published.index) == ["r0", "r1", "Total"]
    assert published.loc["Total", "Total"] == 105
    assert published.loc["r0", "c0"] is pd.NA


def test_a_table_without_small_cells_is_unchanged() -> None:
    result = suppress_small_cells(_table([[0, 40], [25, 35]]))
    assert not result.suppressed.to_numpy().any()
    assert result.reason is None


def test_empty_table_gives_a_reason() -> None:
    result = suppress_small_cells(pd.DataFrame())
    assert result.reason == "the table has no cells"


@pytest.mark.parametrize(
    "rows",
    [pytest.param([[1, -2]], id="negative"), pytest.param([[1.5, 2]], id="fraction")],
)
def test_invalid_counts_raise_naming_counts(rows: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="counts"):
        suppress_small_cells(pd.DataFrame(rows))
