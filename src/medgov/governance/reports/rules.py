"""Pure rules of the board report: reporting quarters and the red/amber/green rating against a target."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from medgov.governance.reports.choices import RagStatus

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")

# How close to target still counts as amber: 10 % of the target value.
AMBER_RELATIVE_MARGIN = 0.10


class InvalidQuarter(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"invalid quarter {text!r}; write it as YYYYQn, e.g. 2026Q3")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the quarter."""
        following = self.next()
        return following.start - dt.timedelta(days=1)

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year}"

    @property
    def months(self) -> tuple[dt.date, dt.date, dt.date]:
        first = 3 * self.number - 2
        return (dt.date(self.year, first, 1), dt.date(self.year, first + 1, 1), dt.date(self.year, first + 2, 1))

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return self.code


def parse_quarter(text: str) -> Quarter:
    """``2026Q3`` (also ``2026-Q3``, ``2026 q3``) as a :class:`Quarter`; years 2000 to 2099."""
    match = _QUARTER.match(text or "")
    if match is None or not 2000 <= int(match.group(1)) <= 2099:
        raise InvalidQuarter(text)
    return Quarter(int(match.group(1)), int(match.group(2)))


def quarter_containing(day: dt.date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def last_complete_quarter(today: dt.date) -> Quarter:
    """The quarter a board report is due for: the last one that has ended before ``today``."""
    return quarter_containing(today).previous()


def meets_target(value: float, target: float, direction: str) -> bool:
    return value <= target if direction == "decrease" else value >= target


def rag_status(
    value: float | None,
    target: float | None,
    direction: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> RagStatus:
    """Rate a value against its target.

    - green: the value meets the target (at or below it when lower is better, at or above it when higher is
      better);
    - amber: it misses the target, but either the target lies inside the value's 95 % interval
      ``[low, high]`` (the miss is not statistically distinguishable from chance), or the value is within 10 %
      of the target value (lower is better: ``value <= target * 1.10``; higher is better:
      ``value >= target * 0.90``);
    - red: it misses the target by more than both;
    - none: there is no value or no target.

    ``direction`` is FHIR's improvementNotation (``increase`` or ``decrease``). With a target of 0 the 10 %
    margin is empty, so only the interval can make a miss amber.
    """
    if value is None or target is None:
        return RagStatus.NONE
    if meets_target(value, target, direction):
        return RagStatus.GREEN
    if low is not None and high is not None and low <= target <= high:
        return RagStatus.AMBER
    margin = abs(target) * AMBER_RELATIVE_MARGIN
    near = value <= target + margin if direction == "decrease" else value >= target - margin
    return RagStatus.AMBER if near else RagStatus.RED
