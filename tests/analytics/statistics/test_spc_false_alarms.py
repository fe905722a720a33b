"""False-alarm rate of the Making Data Count rule set on stable (in-control) series.

Reference rate: on 24 independent normal points, with the XmR limits estimated from the same 24 points
(screened moving ranges, as NHSRplotthedots does), the NHS rule set raises at least one special cause in
18.7 % of series (20,000 simulated series, standard error 0.3 points). Most of it is the 7-point shift rule
(about 8 % of series), then a point beyond either limit (about 10 %), 2 of 3 near a limit (3 %) and 7-point
trends (0.5 %). With known process parameters the same rules give 21.6 %; estimating the mean from the same
points makes long one-sided runs rarer, hence the lower figure.

The test runs 500 seeded series and asserts the share lies within three binomial standard errors of 18.7 %:
``0.187 +/- 3 sqrt(0.187 x 0.813 / 500)``, i.e. between 13.5 % and 23.9 %. A share outside that band means the
limits or rules have drifted (e.g. a lost screening step or a 2-sigma limit used as 3-sigma).
"""

from __future__ import annotations

import math

import numpy as np

from medgov.analytics.statistics.spc import making_data_count_chart

REFERENCE_RATE = 0.187
SERIES = 500
POINTS = 24


def test_false_alarm_share_of_stable_series_stays_near_the_reference_rate() -> None:
    rng = np.random.default_rng(20240601)
    series = rng.normal(loc=50.0, scale=5.0, size=(SERIES, POINTS))
    alarms = sum(any(making_data_count_chart(values).special_cause_flag) for values in series)
    margin = 3 * math.sqrt(REFERENCE_RATE * (1 - REFERENCE_RATE) / SERIES)
    assert REFERENCE_RATE - margin <= alarms / SERIES <= REFERENCE_RATE + margin
    assert alarms == 82
