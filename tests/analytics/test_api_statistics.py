import math

from medgov.analytics import api


def test_special_causes_against_a_fixed_baseline():
    values = [5, 5.2, 4.9, 5.1, 5, 4.8, 5.2, 5.1, 5, 4.9, 5.1, 5, 7, 7.2, 7.1, 7.3, 7.0, 7.2, 7.1, 7.4, 9.5]
    causes = api.special_causes(values, improvement_direction="decrease", baseline_points=12)
    assert causes == (api.SpecialCause(first_index=12, last_index=20, rule="Above UCL", direction="concern"),)


def test_special_causes_on_a_stable_series_is_empty():
    values = [10, 11, 9, 10, 12, 9, 10, 11, 10, 9, 11, 10]
    assert api.special_causes(values, improvement_direction="increase") == ()


def test_special_causes_on_degenerate_series_explain_rather_than_fail():
    assert api.special_causes([], improvement_direction="increase") == ()
    assert api.special_causes([3.0, 3.0, 3.0, 3.0], improvement_direction="increase") == ()
    chart = api.measure_control_chart([3.0, 3.0, 3.0], improvement_direction="increase")
    assert chart.reason == "the series is constant: every moving range is zero, so there is no variation to bound"
    chart = api.measure_control_chart([math.nan, 2.0], improvement_direction="increase")
    assert "needs at least two values" in (chart.reason or "")


def test_funnel_for_proportions_flags_the_planted_outlier():
    numerators = [50, 52, 48, 51, 49, 120]
    denominators = [1000] * 6
    view = api.funnel_for_proportions(numerators, denominators)
    assert view.flags == ("", "", "", "", "", "high")
    assert round(view.centre, 6) == round(370 / 6000, 6)


def test_funnel_keeps_the_callers_order():
    view = api.funnel_for_ratios([40, 10, 11, 9, 10], [10.0, 10.0, 10.0, 10.0, 10.0])
    assert view.flags[0] == "high"
    assert view.flags[1:] == ("", "", "", "")


def test_no_events_where_a_fraction_of_one_was_expected_is_not_a_low_outlier():
    # Sixteen departments of a small hospital in one year: 1 fall with injury among them, 0.05-0.53 expected each.
    # The continuous limits put each lower limit a hair above zero (2.8e-12 for 0.25 expected), but no falls is what
    # such a department usually has (exp(-0.25) = 0.78), so none is flagged.
    expected = [0.2504, 0.4093, 0.0532, 0.0433, 0.2804, 0.3336, 0.0932, 0.1556, 0.0907, 0.2704, 0.5308, 0.1389]
    observed = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    view = api.funnel_for_ratios(observed, expected)
    assert 0 < view.unit_limits["99.8 %"][0][0] < 1e-9
    assert view.flags == ("",) * 12


def test_zero_events_are_a_low_outlier_once_they_are_improbable_as_a_count():
    # exp(-9) = 0.00012 < 0.001: no events where nine were expected is a real low outlier.
    view = api.funnel_for_ratios([0, 10, 11, 9, 10, 10], [9.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    assert view.flags == ("low", "", "", "", "", "")
    proportions = api.funnel_for_proportions([0, 60, 55, 62, 58, 61], [300, 300, 300, 300, 300, 300])
    assert proportions.flags[0] == "low"
    assert proportions.flags[1:] == ("",) * 5


def test_suppression_hides_small_cells_and_their_complements():
    rows = api.suppress_small_cells(["White", "Black", "Asian", "Other"], [40, 5, 12, 30], [500, 80, 150, 300])
    assert [(row.label, row.numerator, row.denominator, row.rate) for row in rows] == [
        ("White", "40", "500", "8.0"),
        ("Black", "<11", "80", "suppressed"),
        ("Asian", "<11", "150", "suppressed"),
        ("Other", "30", "300", "10.0"),
    ]
