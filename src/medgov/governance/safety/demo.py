"""Demo data for ``medgov demo``: a year of patient-safety events at realistic rates on a fixed list of units,
one sentinel event with a completed RCA (its action verifiably reduced falls), one RCA in progress, and overdue
actions. Idempotent: does nothing when the demo units exist."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from medgov.governance.accounts.models import User
from medgov.governance.core import audit
from medgov.governance.safety import services
from medgov.governance.safety.choices import EventStatus
from medgov.governance.safety.models import Holiday, SafetyEvent, Unit

HOSPITAL = "Riverside General Hospital"
UNITS = (
    ("4W", "4 West Medical", "chief"),
    ("5E", "5 East Surgical", "chief"),
    ("ICU", "Medical-Surgical ICU", None),
    ("ED", "Emergency Department", None),
    ("LD", "Labour and Delivery", None),
    ("OR", "Operating Theatres", None),
    ("PED", "Paediatrics", None),
    ("ONC", "Oncology", None),
    ("BH", "Behavioural Health", None),
)
# Share of reports per category (typical hospital incident-reporting mix).
CATEGORY_MIX = (
    ("medication", 30),
    ("fall", 18),
    ("other", 14),
    ("device", 8),
    ("pressure_injury", 8),
    ("surgery", 6),
    ("blood", 4),
    ("perinatal", 4),
    ("vte", 4),
    ("anaesthesia", 4),
)
HARM_MIX = (("no_harm", 56), ("mild", 28), ("moderate", 11), ("severe", 3), ("unknown", 2))
CLASS_MIX = (("incident", 68), ("near_miss", 26), ("unsafe_condition", 6))
DESCRIPTIONS = {
    "medication": "Dose given late because the drug was not on the ward; pharmacy contacted.",
    "fall": "Patient found on the floor beside the bed during the night round.",
    "other": "Patient identification band missing on transfer from another unit.",
    "device": "Infusion pump alarmed repeatedly and stopped; replaced by biomedical engineering.",
    "pressure_injury": "Category 2 pressure injury found on the sacrum at the skin check.",
    "surgery": "Instrument count discrepancy at closure, resolved by X-ray.",
    "blood": "Blood sample label did not match the request form; sample repeated.",
    "perinatal": "Delay in escalating an abnormal fetal heart trace.",
    "vte": "VTE risk assessment not completed within 24 hours of admission.",
    "anaesthesia": "Difficult airway not documented from a previous anaesthetic.",
}
HOLIDAYS = (
    ("2025-12-25", "Christmas Day"),
    ("2026-01-01", "New Year's Day"),
    ("2026-01-19", "Martin Luther King Jr. Day"),
    ("2026-02-16", "Presidents' Day"),
    ("2026-05-25", "Memorial Day"),
    ("2026-06-19", "Juneteenth"),
    ("2026-07-03", "Independence Day (observed)"),
    ("2026-09-07", "Labor Day"),
    ("2026-11-26", "Thanksgiving Day"),
    ("2026-12-25", "Christmas Day"),
    ("2027-01-01", "New Year's Day"),
    ("2027-01-18", "Martin Luther King Jr. Day"),
    ("2027-02-15", "Presidents' Day"),
    ("2027-05-31", "Memorial Day"),
)


def _pick(rng: random.Random, mix: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in mix], weights=[weight for _, weight in mix])[0]


def _month_start(today: dt.date, months_back: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def load_demo_data() -> None:
    if Unit.objects.filter(code="4W").exists():
        print("  safety demo data already present")
        return
    rng = random.Random(20260301)
    users = {user.username: user for user in User.objects.all()}
    for day, name in HOLIDAYS:
        Holiday.objects.get_or_create(date=dt.date.fromisoformat(day), defaults={"name": name})
    units = {
        code: services.do_create_unit(
            code=code, name=name, hospital=HOSPITAL, manager=users.get(manager) if manager else None, actor=None
        )
        for code, name, manager in UNITS
    }
    if "quality" in users:
        services.do_designate_safety_lead(users["quality"], actor=None)
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    implemented_on = _month_start(today, 8)
    reporters = [users[name] for name in ("clinician", "chief", "quality") if name in users]
    events: list[SafetyEvent] = []
    for months_back in range(12, 0, -1):
        month = _month_start(today, months_back)
        next_month = _month_start(today, months_back - 1)
        days = (next_month - month).days
        # About 60 reports a month across the hospital, and extra falls on 4 West until hourly rounding began.
        plan = [("", 0)] * rng.randint(52, 68)
        extra_falls = 7 if month < implemented_on else 1
        plan += [("fall", 1)] * (extra_falls + rng.randint(0, 2))
        for forced_category, _ in plan:
            category = forced_category or _pick(rng, CATEGORY_MIX)
            unit = units["4W"] if forced_category else units[rng.choice(list(units))]
            event_class = _pick(rng, CLASS_MIX)
            harm = _pick(rng, HARM_MIX) if event_class == "incident" else "no_harm"
            occurred = dt.datetime.combine(
                month + dt.timedelta(days=rng.randrange(days)), dt.time(rng.randrange(24), rng.randrange(60)), tz
            )
            anonymous = rng.random() < 0.08
            reporter = None if anonymous else rng.choice(reporters)
            merp = ""
            if category == "medication":
                merp = {
                    "incident": {"no_harm": "C", "mild": "E", "moderate": "F", "severe": "G", "unknown": "D"}[harm],
                    "near_miss": "B",
                    "unsafe_condition": "A",
                }[event_class]
                if harm == "unknown":
                    harm = "no_harm"
            triaged_harm = harm if harm != "unknown" else "no_harm"
            events.append(
                SafetyEvent(
                    status=EventStatus.CLOSED if months_back > 1 else EventStatus.IN_REVIEW,
                    event_class=event_class,
                    category=category,
                    occurred_at=occurred,
                    unit=unit,
                    description=DESCRIPTIONS[category],
                    reported_harm=harm,
                    reporter=reporter,
                    created_by=reporter,
                    is_anonymous=anonymous,
                    submitted_at=occurred + dt.timedelta(hours=rng.randint(1, 30)),
                    harm_level=triaged_harm,
                    ncc_merp=merp,
                    triaged_at=occurred + dt.timedelta(days=2),
                    triaged_by=users.get("quality"),
                    closed_at=occurred + dt.timedelta(days=20) if months_back > 1 else None,
                    health_it_contributed=rng.random() < 0.05,
                )
            )
    with transaction.atomic():
        SafetyEvent.objects.bulk_create(events)
        audit.record(
            actor=None, action="safety.demo_import", object_type="safety.safetyevent", after={"events": len(events)}
        )
    _sentinel_with_completed_rca(users, units, implemented_on)
    _rca_in_progress(users, units)
    _recent_reports(users, units)
    print(f"  {len(events)} historical events on {len(units)} units, 2 RCAs, overdue actions")


def _sentinel_with_completed_rca(users: dict[str, User], units: dict[str, Unit], implemented_on: dt.date) -> None:
    quality, chief = users["quality"], users.get("chief")
    aware = implemented_on - dt.timedelta(days=75)
    occurred = timezone.make_aware(dt.datetime.combine(aware - dt.timedelta(days=1), dt.time(3, 10)))
    event = services.do_submit_event(
        services.ReportInput(
            event_class="incident",
            category="fall",
            occurred_at=occurred,
            unit_code="4W",
            reported_harm="severe",
            description="Patient (82, on sedatives) got up unassisted at night, fell and fractured the hip.",
            immediate_actions="Doctor on call assessed; X-ray; orthopaedic referral; family informed.",
        ),
        actor=users["clinician"],
    ).event
    SafetyEvent.objects.filter(pk=event.pk).update(submitted_at=occurred + dt.timedelta(hours=2))
    event = services.do_triage_event(
        event,
        services.TriageInput(
            event_class="incident",
            category="fall",
            harm_level="severe",
            permanent_harm=True,
            sac_severity="major",
            sac_probability="frequent",
        ),
        actor=quality,
    )
    rca = services.do_confirm_sentinel_event(event, aware_on=aware, actor=quality)
    services.do_update_rca_team(
        rca,
        leader_id=quality.pk,
        team_ids=[quality.pk, *([chief.pk] if chief else [])],
        summary="Unobserved night-time exits of high-risk patients on 4 West.",
        actor=quality,
    )
    services.do_add_timeline_entry(
        rca, occurred_at=occurred - dt.timedelta(hours=2), description="Night sedation given.", actor=quality
    )
    services.do_add_timeline_entry(
        rca, occurred_at=occurred, description="Patient found on the floor by the bed.", actor=quality
    )
    services.do_add_causal_statement(
        rca,
        text="Bed-exit alarms were off by default and rounding was every four hours, which left high-risk patients "
        "unobserved at night, which increased the likelihood of unassisted exits and the fall.",
        actor=quality,
    )
    services.do_add_contributing_factor(
        rca, category="environment_equipment", description="Bed-exit alarm off by default.", actor=quality
    )
    services.do_add_contributing_factor(
        rca, category="fatigue_scheduling", description="One nurse for 12 patients at night.", actor=quality
    )
    owner = chief or quality
    services.do_add_action(
        rca,
        services.ActionInput(
            description="Bed-exit alarms on by default for patients at high fall risk; hourly purposeful rounding at night.",
            strength="stronger",
            owner_id=owner.pk,
            due_on=implemented_on,
            status="implemented",
            implemented_on=implemented_on,
            effectiveness_measure="Falls per month on 4 West",
            measure_id="safety-events",
            measure_version="1",
            measure_stratum="category:fall/unit:4W",
        ),
        actor=quality,
    )
    services.do_add_action(
        rca,
        services.ActionInput(
            description="Falls-prevention refresher for night staff.",
            strength="weaker",
            owner_id=quality.pk,
            due_on=timezone.localdate() - dt.timedelta(days=20),
            effectiveness_measure="Attendance above 90%",
        ),
        actor=quality,
    )
    services.do_close_rca(rca, actor=quality)


def _rca_in_progress(users: dict[str, User], units: dict[str, Unit]) -> None:
    quality = users["quality"]
    occurred = timezone.now() - dt.timedelta(days=24)
    event = services.do_submit_event(
        services.ReportInput(
            event_class="incident",
            category="surgery",
            occurred_at=occurred,
            unit_code="OR",
            reported_harm="moderate",
            description="Retained surgical sponge found on imaging two days after abdominal surgery.",
            immediate_actions="Return to theatre; sponge removed; patient and family informed.",
        ),
        protect_identity=True,
        actor=users.get("chief", quality),
    ).event
    event = services.do_triage_event(
        event,
        services.TriageInput(
            event_class="incident",
            category="surgery",
            harm_level="moderate",
            sentinel_type="retained_object",
            sac_severity="major",
            sac_probability="uncommon",
            externally_reportable=True,
        ),
        actor=quality,
    )
    rca = services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(occurred), actor=quality)
    services.do_add_timeline_entry(
        rca, occurred_at=occurred, description="Count recorded as correct at closure.", actor=quality
    )
    services.do_add_action(
        rca,
        services.ActionInput(
            description="Radio-frequency sponge detection in all abdominal cases.",
            strength="stronger",
            owner_id=quality.pk,
            due_on=timezone.localdate() - dt.timedelta(days=3),
        ),
        actor=quality,
    )


def _recent_reports(users: dict[str, User], units: dict[str, Unit]) -> None:
    now = timezone.now()
    services.do_submit_event(
        services.ReportInput(
            event_class="near_miss",
            category="medication",
            occurred_at=now - dt.timedelta(hours=5),
            unit_code="4W",
            reported_harm="no_harm",
            description="Ten-fold insulin dose prescribed; caught by the pharmacist before administration.",
        ),
        actor=users["clinician"],
    )
    services.do_submit_event(
        services.ReportInput(
            event_class="unsafe_condition",
            category="device",
            occurred_at=now - dt.timedelta(days=1),
            unit_code="ICU",
            reported_harm="no_harm",
            description="Two ventilators share one oxygen outlet in bay 4.",
        ),
        anonymous=True,
        actor=users["clinician"],
    )


__all__ = ["load_demo_data"]
