"""The home page: for the CMO and quality roles a cockpit of what needs attention now and the vital signs;
for everyone else their roles' starting points. Everything is read from stored results."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from medgov.analytics import api as analytics
from medgov.governance.accounts.choices import Role
from medgov.governance.quality.choices import SignalDirection, SignalState
from medgov.governance.quality.models import Measure, MeasureResult, Signal, Target
from medgov.interfaces.web import caching, charts


@dataclass(frozen=True)
class AttentionItem:
    """One thing on the cockpit's "needs attention" list."""

    category: str
    text: str
    url: str
    severity: str = "amber"  # red, amber or green, shown as a badge
    count: int | None = None


# Domains add a provider here: a function from the user to the items they should see now.
ATTENTION_PROVIDERS: list[Callable[[Any], list[AttentionItem]]] = []


def _signal_items(user: Any) -> list[AttentionItem]:
    if not user.has_perm("quality.view_quality"):
        return []
    new_signals = (
        Signal.objects.filter(state=SignalState.NEW).select_related("measure").defer("chart").order_by("-first_period")
    )
    items = []
    concerns = [signal for signal in new_signals if signal.direction == SignalDirection.CONCERN]
    improvements = [signal for signal in new_signals if signal.direction == SignalDirection.IMPROVEMENT]
    for signal in concerns[:5]:
        items.append(
            AttentionItem(
                "Concern signal",
                f"{signal.measure.title} in {signal.stratum_label}: {signal.rule} since {signal.first_period:%b %Y}",
                f"/quality/signals/{signal.pk}/",
                "red",
            )
        )
    if len(concerns) > 5:
        items.append(
            AttentionItem(
                "Concern signal",
                f"{len(concerns) - 5} more new concern signals",
                "/quality/signals/?direction=concern",
                "red",
                len(concerns) - 5,
            )
        )
    if improvements:
        items.append(
            AttentionItem(
                "Improvement signal",
                f"{len(improvements)} new improvement signal{'s' if len(improvements) != 1 else ''}",
                "/quality/signals/?direction=improvement",
                "green",
                len(improvements),
            )
        )
    return items


ATTENTION_PROVIDERS.append(_signal_items)


@dataclass(frozen=True)
class VitalSign:
    measure: Measure
    value: float | None
    low: float | None
    high: float | None
    oe_ratio: float | None
    period_label: str
    target: Target | None
    variation: str
    assurance: str
    sparkline: charts.Figure | None
    scale: float
    unit: str


VARIATION_LABELS = {
    "special_cause_improvement": "special cause: improvement",
    "special_cause_concern": "special cause: concern",
    "common_cause": "common cause variation",
}
ASSURANCE_LABELS = {
    "consistent_pass": "will consistently meet the target",
    "consistent_fail": "will consistently miss the target",
    "inconsistent": "may or may not meet the target",
}


def vital_signs(dimension: str = "all", stratum_key: str = "all") -> list[VitalSign]:
    """The headline measures for one unit (the whole organisation by default), cached until the stored results
    or targets change."""
    return list(
        caching.cached(
            "vital-signs",
            (dimension, stratum_key, caching.results_version()),
            lambda: _vital_signs(dimension, stratum_key),
        )
    )


def vital_signs_html(dimension: str = "all", stratum_key: str = "all", *, empty_text: str = "") -> str:
    """The vital-sign tiles of one unit as HTML ("" when there are none and no ``empty_text``), rendered once per
    version of the results: the tiles are the same for every user who may open the cockpit."""

    def render() -> str:
        signs = vital_signs(dimension, stratum_key)
        if not signs and not empty_text:
            return ""
        return render_to_string("web/_vital_signs.html", {"vital_signs": signs, "empty_text": empty_text})

    return mark_safe(  # noqa: S308  (rendered from our template, with autoescaping)
        caching.cached("vital-signs-html", (dimension, stratum_key, empty_text, caching.results_version()), render)
    )


def _vital_signs(dimension: str, stratum_key: str) -> list[VitalSign]:
    measures = list(Measure.objects.filter(is_headline=True, is_current=True).order_by("title"))
    monthly: dict[int, list[MeasureResult]] = {measure.pk: [] for measure in measures}
    quarterly: dict[int, MeasureResult] = {}
    results = MeasureResult.objects.filter(
        measure__in=measures, dimension=dimension, stratum_key=stratum_key, grain__in=["month", "quarter"]
    ).order_by("period_start")
    for result in results:
        if result.grain == "month":
            monthly[result.measure_id].append(result)
        else:
            quarterly[result.measure_id] = result
    targets = {
        target.measure_id: target
        for target in Target.objects.filter(measure__in=measures, dimension=dimension, stratum_key=stratum_key)
    }
    signs = []
    for measure in measures:
        series = monthly[measure.pk]
        latest = quarterly.get(measure.pk)
        target = targets.get(measure.pk)
        use_ratio = latest is not None and latest.oe_ratio is not None and measure.scoring == "ratio"
        values: list[float] = []
        for row in series:
            value = (row.oe_ratio if use_ratio else row.rate) if row.calculable else None
            values.append(math.nan if value is None else value)
        variation, assurance, spark = "", "", None
        scale, unit = (100.0, "%") if measure.scoring == "proportion" else (1.0, measure.unit_label)
        if series:
            chart = analytics.measure_control_chart(
                values, improvement_direction=measure.improvement_direction, target=target.value if target else None
            )
            variation = VARIATION_LABELS.get(str(chart.variation_type or ""), "")
            assurance = ASSURANCE_LABELS.get(str(chart.assurance or ""), "")
            spark = charts.sparkline(
                f"spark-{dimension}-{stratum_key}-{measure.measure_id}",
                [row.period_start for row in series[-24:]],
                values[-24:],
                scale=scale,
            )
        signs.append(
            VitalSign(
                measure=measure,
                value=(latest.rate if latest and latest.calculable else None),
                low=latest.rate_low if latest else None,
                high=latest.rate_high if latest else None,
                oe_ratio=latest.oe_ratio if latest else None,
                period_label=f"Q{(latest.period_start.month - 1) // 3 + 1} {latest.period_start.year}"
                if latest
                else "",
                target=target,
                variation=variation,
                assurance=assurance,
                sparkline=spark,
                scale=scale,
                unit=unit,
            )
        )
    return signs


def attention_items(user: Any) -> list[AttentionItem]:
    """What needs the user's attention now, from every provider. Cached per user (items depend on what each user
    may see) until anything is written (a new or closed signal, a safety event, an RCA action, a credential, a
    role), the user's roles or department change, or the day changes (due dates and expiry windows count from
    today)."""
    from django.utils import timezone

    def collect() -> list[AttentionItem]:
        attention: list[AttentionItem] = []
        for provider in ATTENTION_PROVIDERS:
            attention.extend(provider(user))
        return attention

    parts = (user.pk, user.role_names, user.department, timezone.localdate(), caching.governance_version())
    return list(caching.cached("attention", parts, collect))


def home_context(user: Any) -> dict[str, Any]:
    role_labels = [Role(name).label for name in user.role_names if name in Role.values]
    context: dict[str, Any] = {"role_labels": role_labels, "is_cockpit": False}
    if user.has_perm("quality.view_quality"):
        context.update(
            {
                "is_cockpit": True,
                "attention": attention_items(user),
                "vital_signs_html": vital_signs_html(empty_text="No headline measures have results yet."),
            }
        )
        department = chiefs_department(user)
        if department is not None:
            context.update(
                {
                    "department_label": department[1],
                    "department_signs_html": vital_signs_html("department", department[0]),
                }
            )
    return context


def chiefs_department(user: Any) -> tuple[str, str] | None:
    """The department a department chief leads, as the measure results name it: the stratum whose label starts
    with the user's department (e.g. "Internal Medicine" matches "Internal Medicine (Lakeshore ...)")."""
    if not user.department or Role.DEPARTMENT_CHIEF.value not in user.role_names:
        return None

    def find() -> tuple[str, str] | None:
        match = (
            MeasureResult.objects.filter(dimension="department", stratum_label__istartswith=user.department)
            .values_list("stratum_key", "stratum_label")
            .order_by("stratum_label")
            .first()
        )
        return (str(match[0]), str(match[1])) if match else None

    # A tuple in a list, so that "no department" is cached too (a cached None reads as missing).
    return caching.cached("chiefs-department", (user.department, caching.results_version()), lambda: [find()])[0]


def _staff_items(user: Any) -> list[AttentionItem]:
    """Credentials expiring within 30 days or expired, practitioners suspended for a lapse, decisions waiting."""
    if not user.has_perm("staff.view_staff"):
        return []
    from django.utils import timezone

    from medgov.governance.staff import selectors as staff_selectors
    from medgov.governance.staff import services as staff_services
    from medgov.governance.staff.choices import ExpirableBucket, PractitionerStatus

    today = timezone.localdate()
    policy = staff_services.policy_for()
    expirables = staff_selectors.expirables_visible_to(
        user, today=today, warning_days=tuple(policy.expiry_warning_days)
    )
    expired = [row for row in expirables if row.bucket == ExpirableBucket.EXPIRED]
    soon = [
        row
        for row in expirables
        if row.bucket == ExpirableBucket.EXPIRING and row.expires_on is not None and (row.expires_on - today).days <= 30
    ]
    items = []
    if expired:
        items.append(
            AttentionItem(
                "Credentials",
                f"{len(expired)} expired credential{'s' if len(expired) != 1 else ''}",
                "/staff/expirables/",
                "red",
                len(expired),
            )
        )
    if soon:
        items.append(
            AttentionItem(
                "Credentials",
                f"{len(soon)} credential{'s' if len(soon) != 1 else ''} expiring within 30 days",
                "/staff/expirables/",
                "amber",
                len(soon),
            )
        )
    suspended = staff_selectors.practitioners_visible_to(user).filter(
        status=PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE
    )
    for practitioner in suspended[:5]:
        items.append(
            AttentionItem(
                "Suspended",
                f"{practitioner} suspended for a credential lapse",
                f"/staff/practitioners/{practitioner.pk}/",
                "red",
            )
        )
    waiting = staff_selectors.privilege_requests_visible_to(user, pending_only=True).count()
    if waiting:
        items.append(
            AttentionItem(
                "Privileges",
                f"{waiting} privilege decision{'s' if waiting != 1 else ''} waiting",
                "/staff/requests/",
                "amber",
                waiting,
            )
        )
    return items


ATTENTION_PROVIDERS.append(_staff_items)


def _safety_items(user: Any) -> list[AttentionItem]:
    """Potential sentinel events awaiting a decision, confirmed ones with open RCAs, overdue RCAs and actions,
    and events waiting for triage; only what the user may see (sensitive events stay with their handlers)."""
    if not user.has_perm("safety.view_safety_dashboard"):
        return []
    from django.utils import timezone

    from medgov.governance.safety import selectors as safety_selectors
    from medgov.governance.safety.choices import ActionStatus, RcaStatus

    today = timezone.localdate()
    visible = safety_selectors.shared_events_visible_to(user)
    items = []
    for event in (
        visible.filter(is_potential_sentinel=True, is_sentinel_confirmed=False)
        .select_related("unit")
        .order_by("-occurred_at")[:5]
    ):
        items.append(
            AttentionItem(
                "Potential sentinel event",
                f"Event #{event.pk} in {event.unit.name}: decide whether it is a sentinel event",
                f"/safety/events/{event.pk}/",
                "red",
            )
        )
    rcas = safety_selectors.rcas_visible_to(user).filter(status=RcaStatus.OPEN)
    for rca in rcas.filter(event__is_sentinel_confirmed=True).order_by("due_on")[:5]:
        late = rca.due_on < today
        items.append(
            AttentionItem(
                "Sentinel event RCA",
                f"RCA for event #{rca.event_id} {'was due' if late else 'due'} {rca.due_on:%d %b %Y}",
                f"/safety/events/{rca.event_id}/rca/",
                "red" if late else "amber",
            )
        )
    late_actions = (
        safety_selectors.actions_visible_to(user)
        .filter(due_on__lt=today)
        .exclude(status=ActionStatus.IMPLEMENTED)
        .count()
    )
    if late_actions:
        items.append(
            AttentionItem(
                "Overdue actions",
                f"{late_actions} RCA action{'s' if late_actions != 1 else ''} past due",
                "/safety/",
                "red",
                late_actions,
            )
        )
    waiting = safety_selectors.triage_queue(user).count()
    if waiting:
        items.append(
            AttentionItem(
                "Triage",
                f"{waiting} safety event{'s' if waiting != 1 else ''} waiting for triage",
                "/safety/",
                "amber",
                waiting,
            )
        )
    return items


ATTENTION_PROVIDERS.insert(1, _safety_items)
