"""Small-cell suppression of count tables for export.

Algorithm (:func:`suppress_small_cells`):

1. The table is extended with its row totals, column totals and grand total; every row and every column of
   the extended table is a published equation "cells sum to the total".
2. Primary suppression: every interior cell with a count from ``low`` to ``high`` (1 to 10 by default) is
   hidden. Totals are never hidden for being small, only as complements.
3. Complementary suppression, repeated until nothing changes:

   a. Any line (row or column, totals included) with exactly one hidden entry would give it away by
      subtraction, so one more entry of that line is hidden: the smallest visible non-zero interior cell, or
      the line's total when no such cell is left.
   b. Audit: the hidden entries are the unknowns of the published equations. An entry is derivable exactly
      when its unit vector lies in the row space of that system (equivalently, every vector of the system's
      null space is zero there). For each derivable entry, the smallest visible non-zero interior cell in
      one of its lines (or that line's total) is hidden as well.

Zeros are never hidden as complements (a hidden zero protects nothing: it is the smallest possible value and
hiding it would reveal that it is zero by bounds). The result hides at least what the rules require; it is not
an optimal (minimum-loss) pattern, which would need integer programming.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

TOTAL = "Total"


@dataclass(frozen=True)
class SuppressedTable:
    """A count table ready for export.

    ``counts`` is the input extended with a ``Total`` column and a ``Total`` row (integers);
    ``suppressed`` has the same shape, True where the entry must not be shown; ``primary`` marks the entries
    hidden for being small (the rest of ``suppressed`` are complements); :meth:`published` gives the table with
    hidden entries as ``<NA>``. ``reason`` is set (and nothing is hidden) for an empty table.
    """

    counts: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    reason: str | None = None

    def published(self) -> pd.DataFrame:
        """The extended table with every suppressed entry replaced by ``<NA>`` (nullable integers)."""
        return self.counts.astype("Int64").mask(self.suppressed)


def suppress_small_cells(counts: pd.DataFrame, *, low: int = 1, high: int = 10) -> SuppressedTable:
    """Hide counts from ``low`` to ``high`` and enough complementary entries that none can be derived from
    the row and column totals (module docstring gives the algorithm; the threshold follows common
    health-statistics disclosure rules, e.g. NHS Digital HES analysis guide: suppress 1-7 and round, or the
    US CMS cell-size policy: suppress 1-10)."""
    if low < 1 or high < low:
        raise ValueError(f"low and high must satisfy 1 <= low <= high, not low={low}, high={high}")
    values = counts.to_numpy()
    if values.size and (not np.issubdtype(values.dtype, np.number) or np.isnan(values.astype(float)).any()):
        raise ValueError("counts must hold numbers only")
    if values.size and ((values < 0).any() or (values != np.round(values)).any()):
        raise ValueError("counts must be non-negative whole numbers")
    extended = _with_totals(counts)
    if values.size == 0:
        empty = pd.DataFrame(False, index=extended.index, columns=extended.columns)
        return SuppressedTable(extended, empty, empty, "the table has no cells")
    grid = extended.to_numpy(dtype=np.int64)
    rows, columns = values.shape
    interior = np.zeros(grid.shape, dtype=bool)
    interior[:rows, :columns] = True
    primary = interior & (grid >= low) & (grid <= high)
    hidden = primary.copy()
    lines = [("row", i) for i in range(rows + 1)] + [("column", j) for j in range(columns + 1)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = _line(line, grid.shape)
            if sum(hidden[cell] for cell in cells) == 1:
                changed |= _hide_one_more(cells, grid, hidden, interior)
        if not changed:
            for cell in _derivable(hidden, grid.shape):
                for line in (("row", cell[0]), ("column", cell[1])):
                    if _hide_one_more(_line(line, grid.shape), grid, hidden, interior):
                        changed = True
                        break
                if changed:
                    break
    frame = pd.DataFrame(hidden, index=extended.index, columns=extended.columns)
    return SuppressedTable(extended, frame, pd.DataFrame(primary, index=extended.index, columns=extended.columns))


def _with_totals(counts: pd.DataFrame) -> pd.DataFrame:
    extended = counts.copy()
    extended[TOTAL] = extended.sum(axis=1)
    extended.loc[TOTAL] = extended.sum(axis=0)
    return extended.astype(np.int64)


def _line(line: tuple[str, int], shape: tuple[int, ...]) -> list[tuple[int, int]]:
    kind, number = line
    if kind == "row":
        return [(number, j) for j in range(shape[1])]
    return [(i, number) for i in range(shape[0])]


def _hide_one_more(
    cells: list[tuple[int, int]],
    grid: npt.NDArray[np.int64],
    hidden: npt.NDArray[np.bool_],
    interior: npt.NDArray[np.bool_],
) -> bool:
    """Hide the smallest visible non-zero interior cell of the line, else its total; False if nothing is left."""
    candidates = [cell for cell in cells if interior[cell] and not hidden[cell] and grid[cell] > 0]
    if candidates:
        chosen = min(candidates, key=lambda cell: (grid[cell], cell))
    else:
        totals = [cell for cell in cells if not interior[cell] and not hidden[cell]]
        if not totals:
            return False
        chosen = totals[-1]
    hidden[chosen] = True
    return True


def _derivable(hidden: npt.NDArray[np.bool_], shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """Hidden entries whose value follows from the published row/column equations (linear algebra audit)."""
    unknowns = [tuple(int(v) for v in cell) for cell in np.argwhere(hidden)]
    if not unknowns:
        return []
    position = {cell: index for index, cell in enumerate(unknowns)}
    equations = []
    for i in range(shape[0]):
        equations.append([(i, j) for j in range(shape[1] - 1)] + [(i, shape[1] - 1)])
    for j in range(shape[1]):
        equations.append([(i, j) for i in range(shape[0] - 1)] + [(shape[0] - 1, j)])
    matrix = np.zeros((len(equations), len(unknowns)))
    for row, cells in enumerate(equations):
        *parts, total = cells
        for cell in parts:
            if cell in position:
                matrix[row, position[cell]] += 1.0
        if total in position:
            matrix[row, position[total]] -= 1.0
    _, singular, vt = np.linalg.svd(matrix)
    rank = int(np.sum(singular > 1e-9 * max(1.0, float(singular.max(initial=0.0)))))
    null_space = vt[rank:]
    if null_space.shape[0] == 0:
        return [(int(c[0]), int(c[1])) for c in unknowns]
    determined = np.all(np.abs(null_space) < 1e-9, axis=0)
    return [(int(unknowns[k][0]), int(unknowns[k][1])) for k in np.flatnonzero(determined)]
