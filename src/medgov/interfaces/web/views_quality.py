"""Quality pages: measure catalogue, measure detail (SPC, funnel, equity, drill-down) and the signal register.

Every page renders from stored results; none recomputes a measure during the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from medgov.analytics import api as analytics
from medgov.governance.accounts.models import User
from medgov.governance.quality import selectors, services
from medgov.governance.quality.choices import ImprovementDirection, SignalDirection, SignalState
from medgov.governance.quality.models import Measure, MeasureResult
from medgov.interfaces.web import caching, charts, exports
from medgov.interfaces.web.templatetags.medgov import chart as chart_context

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


@require_safe
def catalogue(request: HttpRequest) -> HttpResponseBase:
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
    export = exports.export_if_requested(request, lambda: catalogue_table(rows))
    if export is not None:
        return export
    return render(request, "quality/catalogue.html", {"rows": rows})


def catalogue_table(rows: list[dict[str, Any]]) -> exports.ExportTable:
    def cells() -> Any:
        for row in rows:
            measure, latest = row["measure"], row["latest"]
            calculable = latest is not None and latest.calculable
            yield (
                measure.measure_id,
                measure.version,
                measure.title,
                measure.source,
                measure.get_improvement_direction_display(),
                latest.period_start if latest else None,
                latest.rate if calculable else None,
                latest.rate_low if calculable else None,
                latest.rate_high if calculable else None,
                measure.unit_label,
                latest.oe_ratio if latest else None,
                row["open_signals"],
            )

    return exports.ExportTable(
        "quality-measures",
        (
            "measure_id",
            "version",
            "title",
            "source",
            "better_when",
            "latest_year",
            "rate",
            "rate_low",
            "rate_high",
            "unit",
            "oe_ratio",
            "open_signals",
        ),
        cells(),
        "Quality measures",
        object_type="quality.measure",
    )


@dataclass(frozen=True)
class MeasureAnalysis:
    """What a measure page shows that is the same for every viewer: computed once per version of the results."""

    year: dt.date | None
    spc_html: str
    funnel_html: str
    equity_html: str


def measure_analysis(
    measure: Measure, dimension: str, parent: str, target: float | None, version: str
) -> MeasureAnalysis:
    """The SPC chart, breakdown, funnel plot and equity tables of a measure, cached until the stored results or
    targets change (the charts are kept as rendered HTML: they are the slowest part of the page to build)."""

    def compute() -> MeasureAnalysis:
        org_series = series(measure)
        spc = spc_for(measure, org_series, "spc-organisation", target=target)
        year = latest_full_year(measure)
        # Units are judged against all their peers at this level, even when the table shows one parent's children.
        funnel = None
        if year is not None:
            peers = MeasureResult.objects.filter(measure=measure, grain="year", dimension=dimension, period_start=year)
            funnel = funnel_for(measure, list(peers.order_by("stratum_label")), f"funnel-{dimension}")
        return MeasureAnalysis(
            year=year,
            spc_html=render_chart(spc, "Monthly SPC chart with process limits") if spc else "",
            funnel_html=render_chart(funnel, "Funnel plot across units") if funnel else "",
            equity_html=render_to_string(
                "quality/_equity.html", {"equity": equity_tables(measure, year) if year else [], "year": year}
            ),
        )

    return caching.cached("measure-analysis", analysis_key(measure, dimension, parent, target, version), compute)


def breakdown_strata(measure: Measure, dimension: str, parent: str, year: dt.date | None) -> list[MeasureResult]:
    """The rows of the breakdown table: the year's results at ``dimension``, within ``parent`` when given."""
    strata = MeasureResult.objects.filter(measure=measure, grain="year", dimension=dimension)
    if year is not None:
        strata = strata.filter(period_start=year)
    if parent:
        strata = strata.filter(parent_key=parent)
    return list(strata.order_by("stratum_label"))


def analysis_key(
    measure: Measure, dimension: str, parent: str, target: float | None, version: str
) -> tuple[object, ...]:
    """``version`` is :func:`caching.results_version`, read once per request."""
    return (measure.pk, dimension, parent, target, version)


def breakdown_html(
    user: Any,
    measure: Measure,
    dimension: str,
    parent: str,
    target: float | None,
    analysis: MeasureAnalysis,
    version: str,
) -> str:
    """The breakdown table; its counts are suppressed for some viewers, so it is cached once per way of showing
    them (suppressed or not), never per user."""
    suppressed = exports.suppression_required(user)
    drill_next = None
    if dimension in DRILL_ORDER and DRILL_ORDER.index(dimension) + 1 < len(DRILL_ORDER):
        drill_next = DRILL_ORDER[DRILL_ORDER.index(dimension) + 1]

    def render_table() -> str:
        strata = breakdown_strata(measure, dimension, parent, analysis.year)
        counts = exports.counts_for(
            user,
            [row.stratum_label for row in strata],
            [row.numerator for row in strata],
            [row.denominator for row in strata],
        )
        context = {
            "measure": measure,
            "strata": strata,
            # The page shows counts as the exports do: suppressed for viewers without access to patient-level data.
            "strata_rows": [{"row": row, "counts": shown} for row, shown in zip(strata, counts, strict=True)],
            "dimension_label": DIMENSION_LABELS[dimension],
            "parent": parent,
            "drill_next": drill_next,
        }
        return render_to_string("quality/_breakdown.html", context)

    key = (*analysis_key(measure, dimension, parent, target, version), suppressed)
    return mark_safe(caching.cached("measure-breakdown", key, render_table))  # noqa: S308


def signals_html(user: Any, measure: Measure) -> str:
    """The measure's latest signals as this user may see them, cached per user until a governance record changes
    (every signal transition is audited, which moves :func:`caching.governance_version`)."""

    def render_list() -> str:
        # Their charts are not shown here, and decoding them is most of the query's cost.
        visible = selectors.signals_visible_to(user).filter(measure=measure).defer("chart")[:20]
        return render_to_string("quality/_measure_signals.html", {"signals": list(visible)})

    key = (user.pk, measure.pk, caching.governance_version())
    return mark_safe(caching.cached("measure-signals", key, render_list))  # noqa: S308


def render_chart(figure: charts.Figure, caption: str) -> str:
    """A chart with its data table, as the ``{% chart %}`` tag renders it."""
    return mark_safe(render_to_string("web/_chart.html", chart_context(figure, caption)))  # noqa: S308


@require_safe
def measure_detail(request: HttpRequest, measure_id: str) -> HttpResponseBase:
    measure = selectors.access_measure_by_id(request.user, measure_id)
    dimension = request.GET.get("dimension", "department")
    if dimension not in DIMENSION_LABELS or dimension == "all":
        dimension = "department"
    parent = request.GET.get("parent", "")
    target = selectors.targets_for(request.user, measure).filter(dimension="all", stratum_key="all").first()
    target_value = target.value if target else None
    version = caching.results_version()
    analysis = measure_analysis(measure, dimension, parent, target_value, version)
    export = exports.export_one_of_if_requested(
        request,
        {
            "breakdown": lambda: breakdown_table(
                request.user,
                measure,
                dimension,
                analysis.year,
                breakdown_strata(measure, dimension, parent, analysis.year),
            ),
            "equity": lambda: equity_table(measure, analysis.year),
            "target_history": lambda: target_history_table(measure, target),
        },
    )
    if export is not None:
        return export
    context: dict[str, Any] = {
        "measure": measure,
        "spc_html": analysis.spc_html,
        "year": analysis.year,
        "dimension": dimension,
        "dimension_label": DIMENSION_LABELS[dimension],
        "dimensions": [(key, label) for key, label in DIMENSION_LABELS.items() if key != "all"],
        "parent": parent,
        "funnel_html": analysis.funnel_html,
        "breakdown_html": breakdown_html(request.user, measure, dimension, parent, target_value, analysis, version),
        "equity_html": analysis.equity_html,
        "target": target,
        "signals_html": signals_html(request.user, measure),
        "can_view_phi": request.user.has_perm("quality.view_phi"),
        "can_set_target": request.user.has_perm("quality.manage_targets"),
        "target_form": TargetForm(),
        "target_history": list(target.changes.select_related("changed_by")) if target else [],
    }
    return render(request, "quality/measure_detail.html", context)


def breakdown_table(
    user: Any, measure: Measure, dimension: str, year: dt.date | None, strata: list[MeasureResult]
) -> exports.ExportTable:
    """The breakdown table; for viewers who get suppressed counts, a stratum with a hidden count also hides
    every value that would give the count back (rate, observed, O/E)."""
    counts = exports.counts_for(
        user,
        [row.stratum_label for row in strata],
        [row.numerator for row in strata],
        [row.denominator for row in strata],
    )

    def cells() -> Any:
        for row, shown in zip(strata, counts, strict=True):
            hide = shown.suppressed
            yield (
                dimension,
                row.stratum_key,
                row.stratum_label,
                year,
                shown.denominator,
                shown.numerator,
                None if hide or not row.calculable else row.rate,
                None if hide else row.rate_low,
                None if hide else row.rate_high,
                None if hide else row.observed,
                row.expected,
                None if hide else row.oe_ratio,
                None if hide else row.oe_low,
                None if hide else row.oe_high,
                "suppressed" if hide else ("" if row.calculable else row.reason or "not calculable"),
            )

    return exports.ExportTable(
        f"{measure.measure_id}-by-{dimension}",
        (
            "dimension",
            "stratum_key",
            "stratum",
            "year",
            "denominator",
            "numerator",
            "rate",
            "rate_low",
            "rate_high",
            "observed",
            "expected",
            "oe_ratio",
            "oe_low",
            "oe_high",
            "note",
        ),
        cells(),
        measure.title,
        object_type="quality.measureresult",
    )


def equity_table(measure: Measure, year: dt.date | None) -> exports.ExportTable:
    """The equity tables of the page in one sheet, a row per group, with the small cells suppressed exactly as the
    page shows them (for every viewer: the page suppresses them for everyone)."""

    def number(text: str) -> int | str:
        return int(text) if text.isdigit() else text

    def cells() -> Any:
        for table in equity_tables(measure, year) if year else []:
            for row in table["rows"]:
                rate: float | str = float(row.rate) if row.rate and not row.suppressed else row.rate
                yield (table["dimension"], row.label, number(row.denominator), number(row.numerator), rate)

    return exports.ExportTable(
        f"{measure.measure_id}-equity" + (f"-{year:%Y}" if year else ""),
        ("Dimension", "Group", "Denominator", "Numerator", "Rate"),
        cells(),
        f"{measure.title} equity",
        object_type="quality.measureresult",
    )


def target_history_table(measure: Measure, target: Any) -> exports.ExportTable:
    changes = target.changes.select_related("changed_by") if target else []
    rows = (
        (
            f"{timezone.localtime(change.changed_at):%Y-%m-%d %H:%M}",
            str(change.changed_by) if change.changed_by else "",
            change.old_value,
            change.new_value,
            change.effective_from,
            change.reason,
        )
        for change in changes
    )
    return exports.ExportTable(
        f"{measure.measure_id}-target-history",
        ("When", "Who", "Old", "New", "From", "Why"),
        rows,
        f"{measure.title} target",
        object_type="quality.targetchange",
    )


def latest_full_year(measure: Measure) -> dt.date | None:
    """The latest year with results for all twelve months (a year still running would compare part-years);
    the latest year at all when none is complete."""
    years = sorted(
        set(MeasureResult.objects.filter(measure=measure, grain="year").values_list("period_start", flat=True))
    )
    if not years:
        return None
    months = MeasureResult.objects.filter(measure=measure, grain="month", dimension="all", stratum_key="all")
    for year in reversed(years):
        if months.filter(period_start__year=year.year).count() == 12:
            return year
    return years[-1]


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


@require_safe
def signals(request: HttpRequest) -> HttpResponseBase:
    state = request.GET.get("state", "open")
    direction = request.GET.get("direction", "")
    items = selectors.signals_visible_to(request.user, open_only=state == "open")
    if state in SignalState.values:
        items = selectors.signals_visible_to(request.user).filter(state=state)
    if direction in SignalDirection.values:
        items = items.filter(direction=direction)
    export = exports.export_if_requested(request, lambda: signals_table(items))
    if export is not None:
        return export
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    querystring.pop("format", None)
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


def signals_table(items: Any) -> exports.ExportTable:
    def cells() -> Any:
        for signal in items:
            yield (
                signal.pk,
                signal.get_direction_display(),
                signal.get_kind_display(),
                signal.measure.measure_id,
                signal.measure.title,
                signal.dimension,
                signal.stratum_label,
                signal.rule,
                signal.detail,
                signal.first_period,
                signal.last_period,
                signal.get_state_display(),
                signal.close_reason,
                signal.action_reference,
            )

    return exports.ExportTable(
        "signal-register",
        (
            "id",
            "direction",
            "kind",
            "measure_id",
            "measure",
            "dimension",
            "unit",
            "rule",
            "detail",
            "first_period",
            "last_period",
            "state",
            "close_reason",
            "action_reference",
        ),
        cells(),
        "Signal register",
        object_type="quality.signal",
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


@require_safe
def signal_detail(request: HttpRequest, signal_id: int) -> HttpResponseBase:
    signal = selectors.access_signal_by_id(request.user, signal_id)
    results = series(signal.measure, dimension=signal.dimension, stratum_key=signal.stratum_key)
    figure = spc_for(signal.measure, results, "spc-signal", marker_date=signal.first_period, marker_label="signal")
    export = exports.export_if_requested(request, lambda: signal_chart_table(signal, figure))
    if export is not None:
        return export
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


def signal_chart_table(signal: Any, figure: charts.Figure | None) -> exports.ExportTable:
    """The data table of the signal's SPC chart, as the page shows it under the chart."""
    return exports.ExportTable(
        f"signal-{signal.pk}-{signal.measure.measure_id}-spc",
        figure.table_headers if figure else ("Period", "Value"),
        figure.table_rows if figure else (),
        f"Signal {signal.pk}",
        object_type="quality.measureresult",
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
