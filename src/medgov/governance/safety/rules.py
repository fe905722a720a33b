"""Pure rules of patient-safety events: classification consistency, sentinel flagging, the business-day
calendar behind RCA due dates, RCA closure, and input hygiene. No database access; unit-tested directly."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from medgov.governance.safety.choices import (
    ActionStrength,
    BehaviourType,
    EventCategory,
    EventClass,
    HarmLevel,
    JustCultureResponse,
    NccMerpCategory,
    SacProbability,
    SacSeverity,
)

#: The Joint Commission: a comprehensive systematic analysis and action plan within 45 business days of the
#: event or of becoming aware of it (Sentinel Event Policy, CAMH chapter SE).
RCA_BUSINESS_DAYS = 45

HARMFUL_LEVELS = frozenset({HarmLevel.MILD, HarmLevel.MODERATE, HarmLevel.SEVERE})
# TJC: an incident that reached the patient and resulted in death, permanent harm or severe temporary harm.
SENTINEL_HARM_LEVELS = frozenset({HarmLevel.DEATH, HarmLevel.SEVERE})


def add_business_days(start: dt.date, days: int, holidays: Collection[dt.date] = ()) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself not counted).

    Business days are Monday to Friday except ``holidays``. A start on a weekend or holiday counts from the
    next business day, as the count begins the day after the organisation became aware.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def business_days_between(start: dt.date, end: dt.date, holidays: Collection[dt.date] = ()) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            count += 1
    return count


def rca_due_on(aware_on: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    return add_business_days(aware_on, RCA_BUSINESS_DAYS, holidays)


_MERP_FOR_CLASS: dict[EventClass, frozenset[NccMerpCategory]] = {
    EventClass.UNSAFE_CONDITION: frozenset({NccMerpCategory.A}),
    EventClass.NEAR_MISS: frozenset({NccMerpCategory.B}),
    EventClass.INCIDENT: frozenset(
        {
            NccMerpCategory.C,
            NccMerpCategory.D,
            NccMerpCategory.E,
            NccMerpCategory.F,
            NccMerpCategory.G,
            NccMerpCategory.H,
            NccMerpCategory.I,
        }
    ),
}
_HARM_FOR_MERP: dict[NccMerpCategory, frozenset[HarmLevel]] = {
    NccMerpCategory.A: frozenset({HarmLevel.NO_HARM}),
    NccMerpCategory.B: frozenset({HarmLevel.NO_HARM}),
    NccMerpCategory.C: frozenset({HarmLevel.NO_HARM}),
    NccMerpCategory.D: frozenset({HarmLevel.NO_HARM}),
    NccMerpCategory.E: HARMFUL_LEVELS,
    NccMerpCategory.F: HARMFUL_LEVELS,
    NccMerpCategory.G: HARMFUL_LEVELS,
    NccMerpCategory.H: HARMFUL_LEVELS,
    NccMerpCategory.I: frozenset({HarmLevel.DEATH}),
}


def classification_errors(
    *,
    event_class: str,
    category: str,
    harm_level: str,
    ncc_merp: str = "",
    sentinel_type: str = "",
) -> dict[str, str]:
    """Field -> message for every inconsistency between class, harm, NCC MERP category and sentinel type.

    NCC MERP: A is an unsafe condition, B a near miss, C-I reached the patient, C-D without harm, E-H with harm
    short of death, I death. An event that did not reach the patient has no harm. Empty when consistent.
    """
    errors: dict[str, str] = {}
    klass = EventClass(event_class)
    harm = HarmLevel(harm_level) if harm_level else None
    if klass is not EventClass.INCIDENT and harm not in (None, HarmLevel.NO_HARM):
        errors["harm_level"] = (
            f"A {klass.label.split(' (')[0].lower()} did not reach the patient, so its harm level is 'No harm', "
            f"not '{harm.label if harm else ''}'."
        )
    if category == EventCategory.MEDICATION:
        if not ncc_merp:
            errors["ncc_merp"] = "A medication event needs its NCC MERP category (A to I)."
        else:
            merp = NccMerpCategory(ncc_merp)
            if merp not in _MERP_FOR_CLASS[klass]:
                allowed = ", ".join(sorted(m.value for m in _MERP_FOR_CLASS[klass]))
                errors["ncc_merp"] = (
                    f"NCC MERP category {merp.value} does not fit the class '{klass.label}': use {allowed}."
                )
            elif harm is not None and harm not in _HARM_FOR_MERP[merp]:
                allowed_harm = " or ".join(level.label for level in HarmLevel if level in _HARM_FOR_MERP[merp])
                errors["harm_level"] = (
                    f"NCC MERP category {merp.value} means harm '{allowed_harm}', "
                    f"which contradicts the harm level '{harm.label}'."
                )
    elif ncc_merp:
        errors["ncc_merp"] = "NCC MERP categories apply to medication events only; leave it empty."
    if sentinel_type and klass is not EventClass.INCIDENT:
        errors["sentinel_type"] = (
            "A sentinel event type describes an event that reached the patient; this event's class says it did not."
        )
    return errors


def is_potential_sentinel(
    *, event_class: str, harm_level: str, permanent_harm: bool = False, sentinel_type: str = ""
) -> bool:
    """TJC Sentinel Event Policy: a patient safety event that reached the patient and resulted in death,
    permanent harm or severe temporary harm, or one of the listed types regardless of harm."""
    if event_class != EventClass.INCIDENT:
        return False
    if sentinel_type:
        return True
    return harm_level in SENTINEL_HARM_LEVELS or (permanent_harm and harm_level in HARMFUL_LEVELS)


# VA National Center for Patient Safety Safety Assessment Code matrix: 3 highest risk (RCA required), 1 lowest.
_SAC_MATRIX: dict[SacProbability, dict[SacSeverity, int]] = {
    SacProbability.FREQUENT: {
        SacSeverity.CATASTROPHIC: 3,
        SacSeverity.MAJOR: 3,
        SacSeverity.MODERATE: 2,
        SacSeverity.MINOR: 1,
    },
    SacProbability.OCCASIONAL: {
        SacSeverity.CATASTROPHIC: 3,
        SacSeverity.MAJOR: 2,
        SacSeverity.MODERATE: 1,
        SacSeverity.MINOR: 1,
    },
    SacProbability.UNCOMMON: {
        SacSeverity.CATASTROPHIC: 3,
        SacSeverity.MAJOR: 2,
        SacSeverity.MODERATE: 1,
        SacSeverity.MINOR: 1,
    },
    SacProbability.REMOTE: {
        SacSeverity.CATASTROPHIC: 3,
        SacSeverity.MAJOR: 2,
        SacSeverity.MODERATE: 1,
        SacSeverity.MINOR: 1,
    },
}


def safety_assessment_code(severity: str, probability: str) -> int:
    """The SAC score (1-3) of a severity and probability on the VA NCPS matrix."""
    return _SAC_MATRIX[SacProbability(probability)][SacSeverity(severity)]


@dataclass(frozen=True)
class ActionFacts:
    description: str
    strength: str
    has_owner: bool
    due_on: dt.date | None
    has_effectiveness_measure: bool


def rca_closure_errors(actions: Iterable[ActionFacts], causal_statement_count: int) -> list[str]:
    """Why an RCA cannot be closed yet (empty when it can): RCA2 wants causal statements and an action plan
    whose every action has an owner, a due date and a measure of its effectiveness."""
    errors: list[str] = []
    actions = list(actions)
    if causal_statement_count == 0:
        errors.append("Add at least one causal statement.")
    if not actions:
        errors.append("Add at least one action to the action plan.")
    for number, action in enumerate(actions, start=1):
        missing = [
            label
            for label, present in (
                ("an owner", action.has_owner),
                ("a due date", action.due_on is not None),
                ("a measure of effectiveness", action.has_effectiveness_measure),
            )
            if not present
        ]
        if missing:
            errors.append(f"Action {number} ('{action.description[:60]}') lacks {', '.join(missing)}.")
    return errors


def only_weaker_actions(actions: Iterable[ActionFacts]) -> bool:
    """RCA2: an action plan of weaker actions alone is unlikely to prevent recurrence."""
    strengths = [action.strength for action in actions]
    return bool(strengths) and all(strength == ActionStrength.WEAKER for strength in strengths)


_JUST_CULTURE: dict[BehaviourType, JustCultureResponse] = {
    BehaviourType.HUMAN_ERROR: JustCultureResponse.CONSOLE,
    BehaviourType.AT_RISK: JustCultureResponse.COACH,
    BehaviourType.RECKLESS: JustCultureResponse.REMEDIAL,
}


def just_culture_response(behaviour: str) -> JustCultureResponse:
    """Just Culture: console human error, coach at-risk behaviour, remedial action for reckless behaviour."""
    return _JUST_CULTURE[BehaviourType(behaviour)]


_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>|javascript\s*:|on[a-z]+\s*=", re.IGNORECASE)


def contains_markup(text: str) -> bool:
    """True when free text carries HTML tags, script URLs or event-handler attributes.

    Comparisons such as "BP < 90" or "INR >4" are not markup and pass.
    """
    return bool(_MARKUP.search(text))


ALLOWED_ATTACHMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
}


def attachment_error(name: str, size: int, head: bytes, *, max_bytes: int) -> str | None:
    """Why an attachment is refused, or None. The file's first bytes must match its extension."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in ALLOWED_ATTACHMENT_TYPES:
        allowed = ", ".join(sorted(key.lstrip(".").upper() for key in ALLOWED_ATTACHMENT_TYPES))
        return f"'{name}' is not an accepted file type; attach {allowed} files."
    if size > max_bytes:
        return f"'{name}' is {size / 1_048_576:.1f} MB; attachments may be at most {max_bytes / 1_048_576:.0f} MB."
    if size == 0:
        return f"'{name}' is empty."
    if not any(head.startswith(magic) for magic in ALLOWED_ATTACHMENT_TYPES[suffix]):
        return f"'{name}' does not contain {suffix.lstrip('.').upper()} data; its content does not match its name."
    return None


def triage_is_overdue(
    submitted_on: dt.date, today: dt.date, triage_business_days: int, holidays: Collection[dt.date] = ()
) -> bool:
    return today > add_business_days(submitted_on, triage_business_days, holidays)
