"""Quality pages: measure catalogue, measure detail (SPC, funnel, equity, drill-down) and the signal register.

Every page renders from stored results; none recomputes a measure during the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from medgov.analytics import api as analytics
from medgov.governance.accounts.models import User
from medgov.governance.quality import selectors, services
from medgov.governance.quality.choices import ImprovementDirection, SignalDirection, SignalState
from medgov.governance.quality.models import Measure, MeasureResult, Signal
from medgov.interfaces.web import charts

DIMENSION_LABELS = {
    "all": "Whole organisation",
    "hospital": "Hospital",
    "service_line": "Service line",
    "department": "Department",
    "practitioner": "Attending practitioner",
    "payer": "Payer",
    "race": "Race",
    "ethnicity": "Ethnicity",
    "language": "Language",
    "sex": "Sex",
    "age_band": "Age band",
}
DRILL_ORDER = ("hospital", "department", "practitioner")
EQUITY_DIMENSIONS = ("race", "ethnicity", "language", "payer", "sex", "age_band")


def measure_scale(measure: Measure) -> tuple[float, str]:
    """How stored rates are shown: proportions as per cent, others as stored with their unit label."""
    if measure.scoring == "proportion":
        return 100.0, "%"
    return 1.0, measure.unit_label


def series(
    measure: Measure, *, dimension: str = "all", stratum_key: str = "all", grain: str = "month"
) -> list[MeasureResult]:
    return list(
        MeasureResult.objects.filter(
            measure=measure, dimension=dimension, stratum_key=stratum_key, grain=grain
        ).order_by("period_start")
    )


def spc_for(
    measure: Measure,
    results: list[MeasureResult],
    element_id: str,
    *,
    target: float | None = None,
    marker_date: dt.date | None = None,
    marker_label: str = "",
) -> charts.Figure | None:
    if not results:
        return None
    value_field = "oe_ratio" if measure.scoring == "ratio" and results[0].oe_ratio is not None else "rate"
    values = [
        getattr(row, value_field) if row.calculable and getattr(row, value_field) is not None else float("nan")
        for row in results
    ]
    chart = analytics.measure_control_chart(values, improvement_direction=measure.improvement_direction, target=target)
    scale, unit = measure_scale(measure)
    return charts.spc_figure(
        element_id,
        f"{measure.title}",
        [row.period_start for row in results],
        chart,
        scale=scale,
        unit=unit,
        target=target,
        marker_date=marker_date,
        marker_label=marker_label,
    )


def catalogue(request: HttpRequest) -> HttpResponse:
    measures = list(selectors.measures_visible_to(request.user))
    latest: dict[int, MeasureResult] = {}
    for result in MeasureResult.objects.filter(measure__in=measures, dimension="all", grain="year").order_by(
        "period_start"
    ):
        latest[result.measure_id] = result
    open_signals: dict[int, int] = {}
    for signal in selectors.signals_visible_to(request.user, open_only=True).values("measure_id"):
        open_signals[signal["measure_id"]] = open_signals.get(signal["measure_id"], 0) + 1
    rows = [
        {
            "measure": measure,
            "latest": latest.get(measure.pk),
            "open_signals": open_signals.get(measure.pk, 0),
            "scale": measure_scale(measure),
        }
        for measure in measures
    ]
    return render(request, "quality/catalogue.html", {"rows": rows})


def measure_detail(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = selectors.access_measure_by_id(request.user, measure_id)
    dimension = request.GET.get("dimension", "department")
    if dimension not in DIMENSION_LABELS or dimension == "all":
        dimension = "department"
    parent = request.GET.get("parent", "")
    target = selectors.targets_for(request.user, measure).filter(dimension="all", stratum_key="all").first()
    org_series = series(measure)
    spc = spc_for(measure, org_series, "spc-organisation", target=target.value if target else None)
    years = sorted(
        set(MeasureResult.objects.filter(measure=measure, grain="year").values_list("period_start", flat=True))
    )
    year = years[-1] if years else None
    strata = MeasureResult.objects.filter(measure=measure, grain="year", dimension=dimension)
    if year is not None:
        strata = strata.filter(period_start=year)
    if parent:
        strata = strata.filter(parent_key=parent)
    strata_list = list(strata.order_by("stratum_label"))
    drill_next = None
    if dimension in DRILL_ORDER and DRILL_ORDER.index(dimension) + 1 < len(DRILL_ORDER):
        drill_next = DRILL_ORDER[DRILL_ORDER.index(dimension) + 1]
    scale, unit = measure_scale(measure)
    funnel = funnel_for(measure, strata_list, f"funnel-{dimension}") if strata_list else None
    equity = equity_tables(measure, year) if year else []
    context: dict[str, Any] = {
        "measure": measure,
        "spc": spc,
        "latest": org_series[-1] if org_series else None,
        "year": year,
        "dimension": dimension,
        "dimension_label": DIMENSION_LABELS[dimension],
        "dimensions": [(key, label) for key, label in DIMENSION_LABELS.items() if key != "all"],
        "strata": strata_list,
        "parent": parent,
        "drill_next": drill_next,
        "funnel": funnel,
        "equity": equity,
        "target": target,
        "signals": selectors.signals_visible_to(request.user).filter(measure=measure)[:20],
        "scale": scale,
        "unit": unit,
        "can_view_phi": request.user.has_perm("quality.view_phi"),
        "can_set_target": request.user.has_perm("quality.manage_targets"),
        "target_form": TargetForm(),
        "target_history": list(target.changes.select_related("changed_by")) if target else [],
    }
    return render(request, "quality/measure_detail.html", context)


def funnel_for(measure: Measure, strata: list[MeasureResult], element_id: str) -> charts.Figure | None:
    """Funnel plot of the strata's O/E ratios (risk-adjusted) or rates, from the facade's funnel limits."""
    points = [row for row in strata if row.calculable and row.denominator]
    if len(points) < 2:
        return None
    scale, unit = measure_scale(measure)
    if all(row.expected for row in points):
        plot = analytics.funnel_for_ratios(
            [row.observed or 0.0 for row in points], [row.expected or 0.0 for row in points]
        )
        return charts.funnel_figure(
            element_id,
            f"{measure.title}: observed / expected",
            [row.stratum_label for row in points],
            [row.expected or 0.0 for row in points],
            [(row.observed or 0.0) / (row.expected or 1.0) for row in points],
            plot.limits,
            plot.flags,
            centre=1.0,
            unit="O/E",
            x_title="Expected events",
        )
    plot = analytics.funnel_for_proportions([row.numerator for row in points], [row.denominator for row in points])
    return charts.funnel_figure(
        element_id,
        measure.title,
        [row.stratum_label for row in points],
        [row.denominator for row in points],
        [row.numerator / row.denominator for row in points],
        plot.limits,
        plot.flags,
        centre=plot.centre,
        scale=scale,
        unit=unit,
        x_title="Denominator",
    )


def equity_tables(measure: Measure, year: dt.date) -> list[dict[str, Any]]:
    """Rates by group for each equity dimension, small cells suppressed before they reach the page."""
    tables = []
    for dimension in EQUITY_DIMENSIONS:
        rows = list(
            MeasureResult.objects.filter(
                measure=measure, grain="year", period_start=year, dimension=dimension
            ).order_by("stratum_label")
        )
        if not rows:
            continue
        shown = analytics.suppress_small_cells(
            [row.stratum_label for row in rows],
            [row.numerator for row in rows],
            [row.denominator for row in rows],
            rate_scale=100.0 if measure.scoring == "proportion" else 1.0,
        )
        tables.append({"dimension": DIMENSION_LABELS[dimension], "rows": shown})
    return tables


def signals(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    direction = request.GET.get("direction", "")
    items = selectors.signals_visible_to(request.user, open_only=state == "open")
    if state in SignalState.values:
        items = selectors.signals_visible_to(request.user).filter(state=state)
    if direction in SignalDirection.values:
        items = items.filter(direction=direction)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "quality/signals.html",
        {
            "page": page,
            "state": state,
            "direction": direction,
            "states": SignalState.choices,
            "querystring": querystring.urlencode(),
        },
    )


class TargetForm(forms.Form):
    value = forms.FloatField(help_text="For a percentage measure give a fraction: 0.15 for 15 %.")
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why")


@require_POST
def set_target(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = selectors.access_measure_by_id(request.user, measure_id)
    actor = request.user
    assert isinstance(actor, User)
    form = TargetForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "; ".join(f"{field}: {', '.join(str(e) for e in errors)}" for field, errors in form.errors.items())
        )
        return redirect("quality:measure", measure_id=measure.measure_id)
    try:
        services.do_set_target(
            measure,
            value=form.cleaned_data["value"],
            direction=ImprovementDirection(measure.improvement_direction),
            owner=actor,
            effective_from=form.cleaned_data["effective_from"],
            reason=form.cleaned_data["reason"],
            actor=actor,
        )
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, "Target saved.")
    return redirect("quality:measure", measure_id=measure.measure_id)


class CloseSignalForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Reason for closing")
    action_reference = forms.CharField(
        required=False, max_length=200, label="Action that addresses it (e.g. safety.rcaaction:12)"
    )


def signal_detail(request: HttpRequest, signal_id: int) -> HttpResponse:
    signal = selectors.access_signal_by_id(request.user, signal_id)
    results = series(signal.measure, dimension=signal.dimension, stratum_key=signal.stratum_key)
    figure = spc_for(signal.measure, results, "spc-signal", marker_date=signal.first_period, marker_label="signal")
    return render(
        request,
        "quality/signal_detail.html",
        {
            "signal": signal,
            "figure": figure,
            "close_form": CloseSignalForm(),
            "can_manage": request.user.has_perm("quality.manage_signals"),
        },
    )


@require_POST
def signal_transition(request: HttpRequest, signal_id: int, action: str) -> HttpResponse:
    signal = selectors.access_signal_by_id(request.user, signal_id)
    actor = request.user
    assert isinstance(actor, User)
    try:
        if action == "acknowledge":
            services.do_acknowledge_signal(signal, actor=actor)
        elif action == "review":
            services.do_start_signal_review(signal, actor=actor)
        elif action == "close":
            form = CloseSignalForm(request.POST)
            form.is_valid()
            services.do_close_signal(
                signal,
                reason=form.cleaned_data.get("reason", ""),
                action_reference=form.cleaned_data.get("action_reference", ""),
                actor=actor,
            )
        else:
            return redirect("quality:signal", signal_id=signal.pk)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, "Signal updated.")
    return redirect("quality:signal", signal_id=signal.pk)


def _signal_link(signal: Signal) -> str:
    return f"/quality/signals/{signal.pk}/"
