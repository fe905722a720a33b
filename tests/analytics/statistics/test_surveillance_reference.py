"""EARS C1/C2/C3, CUSUM, Farrington and Farrington flexible against R surveillance on salmNewport (Germany).

Anchor folder: methods/surveillance/r_surveillance (manifest.json gives each run's control; rtol 1e-9).
Every run in the manifest is tested; none is left out. R's 1-based ``range = 366:417`` is position 365 on.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from medgov.analytics.statistics.surveillance import (
    AberrationResult,
    cusum,
    ears,
    farrington,
    farrington_flexible,
)
from tests.anchors import ANCHORS

FOLDER = ANCHORS / "methods" / "surveillance" / "r_surveillance"
RTOL = 1e-9
INPUT = pd.read_csv(FOLDER / "salmNewportGermany_weekly_input.csv")
OBSERVED = INPUT["observed"].to_numpy()
DATES = [dt.date.fromisoformat(day) for day in INPUT["date"]]
MANIFEST: dict[str, Any] = json.loads((FOLDER / "manifest.json").read_text())
RUNS = {name: spec for name, spec in MANIFEST.items() if isinstance(spec, dict) and "fun" in spec}
FIRST, LAST = (int(bound) for bound in MANIFEST["in2011_range"].split(":"))
FIRST -= 1


def _run(spec: dict[str, Any]) -> AberrationResult:
    control = spec["control"]
    if spec["fun"] == "earsC":
        options = {"alpha": "alpha", "minSigma": "min_sigma", "baseline": "baseline"}
        extra = {ours: control[theirs] for theirs, ours in options.items() if theirs in control}
        return ears(OBSERVED, method=control["method"], monitor_from=FIRST, monitor_until=LAST, **extra)
    if spec["fun"] == "cusum":
        return cusum(OBSERVED, monitor_from=FIRST, monitor_until=LAST, k=control["k"], h=control["h"])
    if spec["fun"] == "farrington":
        return farrington(
            OBSERVED,
            DATES,
            monitor_from=FIRST,
            monitor_until=LAST,
            b=control["b"],
            w=control["w"],
            alpha=control["alpha"],
        )
    return farrington_flexible(
        OBSERVED,
        DATES,
        monitor_from=FIRST,
        monitor_until=LAST,
        b=control["b"],
        w=control["w"],
        no_periods=control["noPeriods"],
        weights_threshold=control["weightsThreshold"],
        past_weeks_not_included=control["pastWeeksNotIncluded"],
        p_threshold_trend=control["pThresholdTrend"],
        threshold_method=control["thresholdMethod"],
    )


@pytest.mark.parametrize(("name", "spec"), [pytest.param(n, s, id=n) for n, s in RUNS.items()])
def test_run_matches_r_surveillance(name: str, spec: dict[str, Any]) -> None:
    expected = pd.read_csv(FOLDER / spec["expected"])
    result = _run(spec)
    assert result.reason is None
    table = result.table
    assert table["position"].tolist() == (expected["index"] - 1).tolist()
    assert table["observed"].tolist() == expected["observed"].tolist()
    np.testing.assert_allclose(table["upperbound"], expected["upperbound"].astype(float), rtol=RTOL, atol=0)
    assert table["alarm"].tolist() == expected["alarm"].astype(bool).tolist()
    if "n_alarms" in spec:
        assert int(table["alarm"].sum()) == spec["n_alarms"]


def test_upstream_earsc_assertion() -> None:
    result = ears(OBSERVED, method="C1", alpha=0.05, monitor_from=FIRST, monitor_until=LAST)
    np.testing.assert_allclose(
        result.table["upperbound"][:4], [3.278854, 3.278854, 3.436517, 3.855617], rtol=0, atol=1e-6
    )


def test_cusum_reports_the_running_sum() -> None:
    result = cusum([2, 2, 2, 2, 9, 9], monitor_from=4, k=1.0, h=2.0)
    assert result.table["cusum"].tolist() == pytest.approx([(9 - 2) / np.sqrt(2) - 1, 2 * ((9 - 2) / np.sqrt(2) - 1)])
    assert result.table["alarm"].tolist() == [True, True]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        pytest.param(lambda: ears([1, 2, 3]), "needs 7 earlier points", id="ears-too-short"),
        pytest.param(lambda: ears([1] * 20, method="C3", monitor_from=5), "needs 11 earlier points", id="c3-too-early"),
        pytest.param(
            lambda: cusum([0, 0, 0, 4], monitor_from=3), "expected count is zero", id="cusum-all-zero-baseline"
        ),
        pytest.param(lambda: cusum([1, 2], monitor_from=0), "needs at least one point", id="cusum-no-baseline"),
        pytest.param(
            lambda: farrington(OBSERVED[:40], DATES[:40], monitor_from=35, b=4),
            "before the start",
            id="farrington-short",
        ),
        pytest.param(
            lambda: farrington_flexible(OBSERVED[:60], DATES[:60], monitor_from=55, b=4),
            "outside the series",
            id="flexible-short",
        ),
    ],
)
def test_too_short_a_series_gives_a_reason(call: Any, reason: str) -> None:
    result = call()
    assert result.reason is not None
    assert reason in result.reason
    assert result.table.empty


def test_all_zero_series_gives_no_alarm_and_no_division_by_zero() -> None:
    result = ears([0] * 20, method="C3")
    assert not result.table["alarm"].any()
    assert (result.table["upperbound"] == 0).all()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: ears([1, -1, 2, 3, 4, 5, 6, 7, 8]), id="ears"),
        pytest.param(lambda: cusum([1, -1, 2], monitor_from=1), id="cusum"),
    ],
)
def test_negative_counts_raise_naming_observed(call: Any) -> None:
    with pytest.raises(ValueError, match="observed"):
        call()


def test_farrington_needs_weekly_dates() -> None:
    with pytest.raises(ValueError, match="dates"):
        farrington([1, 2, 3], [dt.date(2020, 1, 1), dt.date(2020, 1, 2), dt.date(2020, 1, 9)], monitor_from=2)
