"""Readers for the reference CSV files shared by the statistics tests (R's NA, TRUE/FALSE, byte-order marks)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

Row = dict[str, str]


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{key.strip(): value for key, value in row.items()} for row in csv.DictReader(handle)]


def number(text: str) -> float:
    return math.nan if text in ("", "NA", "NaN") else float(text)


def numbers(rows: list[Row], column: str) -> np.ndarray:
    return np.array([number(row[column]) for row in rows], dtype=float)


def flags(rows: list[Row], column: str) -> list[bool]:
    return [row[column] in ("TRUE", "1") for row in rows]


def decimals(text: str) -> int:
    """How many decimals a printed number carries, for comparing at the printed precision."""
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def assert_close(
    actual: np.ndarray | list[float], expected: np.ndarray | list[float], *, rtol: float, label: str
) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rtol,
        atol=0,
        equal_nan=True,
        err_msg=label,
    )
