import datetime as dt

import pytest

from medgov.governance.reports.choices import RagStatus
from medgov.governance.reports.rules import (
    InvalidQuarter,
    Quarter,
    last_complete_quarter,
    parse_quarter,
    quarter_containing,
    rag_status,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026Q3", Quarter(2026, 3)), ("2026-q1", Quarter(2026, 1)), (" 2025 Q4 ", Quarter(2025, 4))],
    ids=["plain", "dash-lower-case", "spaces"],
)
def test_quarters_parse(text, expected):
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q3", "1999Q1", "", "2026Q3; drop table", "Q3 2026"])
def test_bad_quarters_are_refused_with_the_expected_form(text):
    with pytest.raises(InvalidQuarter) as error:
        parse_quarter(text)
    assert str(error.value) == f"invalid quarter {text!r}; write it as YYYYQn, e.g. 2026Q3"


def test_quarter_bounds_and_neighbours():
    q4 = Quarter(2025, 4)
    assert (q4.start, q4.end, q4.code, q4.label) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31), "2025Q4", "Q4 2025")
    assert (q4.next(), Quarter(2026, 1).previous()) == (Quarter(2026, 1), q4)
    assert Quarter(2024, 1).end == dt.date(2024, 3, 31)
    assert quarter_containing(dt.date(2026, 9, 30)) == Quarter(2026, 3)
    assert last_complete_quarter(dt.date(2026, 10, 1)) == Quarter(2026, 3)
    assert last_complete_quarter(dt.date(2026, 1, 15)) == Quarter(2025, 4)


@pytest.mark.parametrize(
    ("value", "target", "direction", "low", "high", "expected"),
    [
        (0.020, 0.025, "decrease", None, None, RagStatus.GREEN),
        (0.025, 0.025, "decrease", None, None, RagStatus.GREEN),
        (0.027, 0.025, "decrease", None, None, RagStatus.AMBER),
        (0.0275, 0.025, "decrease", None, None, RagStatus.AMBER),
        (0.0276, 0.025, "decrease", None, None, RagStatus.RED),
        (0.030, 0.025, "decrease", 0.024, 0.036, RagStatus.AMBER),
        (0.030, 0.025, "decrease", 0.026, 0.036, RagStatus.RED),
        (0.95, 0.90, "increase", None, None, RagStatus.GREEN),
        (0.81, 0.90, "increase", None, None, RagStatus.AMBER),
        (0.80, 0.90, "increase", None, None, RagStatus.RED),
        (0.70, 0.90, "increase", 0.60, 0.92, RagStatus.AMBER),
        (0.001, 0.0, "decrease", None, None, RagStatus.RED),
        (0.001, 0.0, "decrease", 0.0, 0.004, RagStatus.AMBER),
        (None, 0.025, "decrease", None, None, RagStatus.NONE),
        (0.02, None, "decrease", None, None, RagStatus.NONE),
    ],
    ids=[
        "below-target-lower-better",
        "on-target",
        "within-10-percent",
        "exactly-10-percent",
        "just-beyond-10-percent",
        "target-inside-interval",
        "target-outside-interval",
        "above-target-higher-better",
        "within-10-percent-higher-better",
        "beyond-10-percent-higher-better",
        "interval-reaches-target-higher-better",
        "zero-target-has-no-margin",
        "zero-target-inside-interval",
        "no-value",
        "no-target",
    ],
)
def test_rag_rule(value, target, direction, low, high, expected):
    assert rag_status(value, target, direction, low=low, high=high) == expected
