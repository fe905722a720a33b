import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from medgov.analytics.api import (
    DepartmentFunnel,
    DepartmentOppeResults,
    FunnelLimit,
    FunnelPoint,
    IndicatorDefinition,
    PractitionerIndicatorResult,
    PractitionerResults,
)
from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.staff import selectors, services
from medgov.governance.staff.choices import FppeTrigger, OppeStatus
from medgov.governance.staff.models import Fppe, OppeProfile

D = dt.date


@pytest.fixture
def committee_member(make_user, cmo):
    member = make_user(Role.CLINICIAN)
    services.do_appoint_peer_review_member(member, actor=cmo)
    return type(member).objects.get(pk=member.pk)


def test_conflict_of_interest_refuses_the_practitioner_and_their_partner(cmo, make_user, make_practitioner, office):
    own_user = make_user(Role.CLINICIAN)
    partner_user = make_user(Role.CLINICIAN)
    for user in (own_user, partner_user):
        services.do_appoint_peer_review_member(user, actor=cmo)
    practitioner = make_practitioner(user=own_user, practice_group="Harbor Cardiology")
    make_practitioner(user=partner_user, practice_group="Harbor Cardiology")
    case = services.do_refer_peer_review(
        practitioner, source="safety_event", reference="SE-1", summary="Delayed recognition of sepsis", actor=office
    )
    own_user = type(own_user).objects.get(pk=own_user.pk)
    partner_user = type(partner_user).objects.get(pk=partner_user.pk)
    with pytest.raises(ValidationError) as error:
        services.do_assign_peer_reviewer(case, own_user, actor=cmo)
    assert error.value.message_dict == {
        "reviewer": ["conflict of interest: a practitioner cannot review their own case"]
    }
    with pytest.raises(ValidationError) as error:
        services.do_assign_peer_reviewer(case, partner_user, actor=cmo)
    assert error.value.message_dict == {
        "reviewer": ["conflict of interest: the reviewer is a partner of the practitioner (Harbor Cardiology)"]
    }
    outsider = make_user(Role.CLINICIAN)
    with pytest.raises(ValidationError) as error:
        services.do_assign_peer_reviewer(case, outsider, actor=cmo)
    assert error.value.message_dict == {"reviewer": ["the reviewer must be a member of the peer-review committee"]}
    case.refresh_from_db()
    assert (case.status, case.reviewer) == ("referred", None)


def test_peer_review_ratings_and_determination(cmo, committee_member, make_practitioner, office):
    practitioner = make_practitioner()
    case = services.do_refer_peer_review(
        practitioner,
        source="trigger",
        reference="Return to OR within 48h",
        summary="Unplanned return to theatre",
        actor=office,
    )
    case = services.do_assign_peer_reviewer(case, committee_member, actor=cmo)
    with pytest.raises(PermissionDenied):
        services.do_rate_peer_review(case, care="appropriate", outcome="no_harm", documentation="adequate", actor=cmo)
    rating = services.do_rate_peer_review(
        case,
        care="questionable",
        outcome="temporary_harm",
        documentation="deficient",
        comments="Consent incomplete",
        actor=committee_member,
    )
    assert (rating.care, rating.outcome, rating.documentation) == ("questionable", "temporary_harm", "deficient")
    case = services.do_determine_peer_review(case, determination="educational_letter", actor=cmo)
    assert (case.status, case.determination, case.determined_on) == ("determined", "educational_letter", D(2026, 3, 10))


@pytest.mark.parametrize(
    "role",
    [
        None,
        Role.CLINICIAN,
        Role.MEDICAL_STAFF_OFFICE,
        Role.DEPARTMENT_CHIEF,
        Role.QUALITY_SAFETY,
        Role.BOARD_MEMBER,
        Role.AUDITOR,
        Role.ADMINISTRATOR,
    ],
)
def test_peer_review_files_are_closed_to_every_other_role(make_user, make_practitioner, office, role):
    case = services.do_refer_peer_review(
        make_practitioner(), source="signal", reference="", summary="secret", actor=office
    )
    reader = make_user(*([role] if role else []))
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        selectors.peer_review_cases_visible_to(reader)
    with pytest.raises(Http404):
        selectors.access_peer_review_case_by_id(reader, case.pk)
    assert AuditEvent.objects.count() == events


def test_every_peer_review_read_is_audited(cmo, committee_member, make_practitioner, office):
    case = services.do_refer_peer_review(
        make_practitioner(), source="signal", reference="", summary="secret", actor=office
    )
    for reader in (cmo, committee_member):
        assert selectors.access_peer_review_case_by_id(reader, case.pk) == case
        assert list(selectors.peer_review_cases_visible_to(reader)) == [case]
    reads = AuditEvent.objects.filter(is_read=True).order_by("id")
    assert list(reads.values_list("actor", "action", "object_id")) == [
        (cmo.pk, "staff.peer_review_read", str(case.pk)),
        (cmo.pk, "staff.peer_review_list_read", ""),
        (committee_member.pk, "staff.peer_review_read", str(case.pk)),
        (committee_member.pk, "staff.peer_review_list_read", ""),
    ]
    assert "secret" not in str(list(AuditEvent.objects.values_list("object_repr", "before", "after")))


INDICATORS = (
    IndicatorDefinition("volume", "Inpatient discharges", "volume", higher_is_worse=False),
    IndicatorDefinition("mortality-oe", "Risk-adjusted mortality (O/E)", "observed_expected"),
    IndicatorDefinition("readmission-oe", "30-day readmission (O/E)", "observed_expected"),
)


def _results(outlier_id, peer_id):
    return DepartmentOppeResults(
        department_id="org-medicine",
        period_start=D(2025, 1, 1),
        period_end=D(2025, 12, 31),
        source="mortality-oe v1; readmission-oe v1",
        indicators=INDICATORS,
        practitioners=(
            PractitionerResults(
                outlier_id,
                (
                    PractitionerIndicatorResult("volume", 212, observed=212, value=212),
                    PractitionerIndicatorResult(
                        "mortality-oe",
                        212,
                        observed=19,
                        expected=8.3,
                        value=2.289,
                        lower=1.378,
                        upper=3.575,
                        funnel_lower=0.35,
                        funnel_upper=1.92,
                    ),
                    PractitionerIndicatorResult(
                        "readmission-oe",
                        200,
                        observed=30,
                        expected=28.4,
                        value=1.056,
                        lower=0.713,
                        upper=1.508,
                        funnel_lower=0.52,
                        funnel_upper=1.58,
                    ),
                ),
            ),
            PractitionerResults(
                peer_id,
                (
                    PractitionerIndicatorResult("volume", 198, observed=198, value=198),
                    PractitionerIndicatorResult(
                        "mortality-oe",
                        198,
                        observed=8,
                        expected=7.9,
                        value=1.013,
                        lower=0.437,
                        upper=1.995,
                        funnel_lower=0.33,
                        funnel_upper=1.98,
                    ),
                    PractitionerIndicatorResult(
                        "readmission-oe",
                        190,
                        observed=25,
                        expected=26.1,
                        value=0.958,
                        lower=0.62,
                        upper=1.414,
                        funnel_lower=0.51,
                        funnel_upper=1.6,
                    ),
                ),
            ),
        ),
        funnels=(
            DepartmentFunnel(
                "mortality-oe",
                1.0,
                (FunnelPoint(outlier_id, 212, 2.289), FunnelPoint(peer_id, 198, 1.013)),
                (FunnelLimit(50, 0.1, 2.9), FunnelLimit(200, 0.34, 1.95)),
            ),
        ),
    )


def _privileged(practitioner, item, office, chief, cmo):
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    for step in ("credentials_committee", "medical_executive_committee", "board"):
        services.do_review_privilege_request(request, step=step, outcome="approve", actor=cmo)


def test_oppe_stores_the_engines_numbers_flags_the_outlier_and_records_zero_case_practitioners(
    office, chief, cmo, make_practitioner, core_item
):
    outlier = make_practitioner(warehouse_id="prac-outlier")
    peer = make_practitioner(warehouse_id="prac-peer")
    quiet = make_practitioner(warehouse_id="prac-quiet")
    make_practitioner(warehouse_id="prac-unprivileged")
    for practitioner in (outlier, peer, quiet):
        _privileged(practitioner, core_item, office, chief, cmo)
    results = _results("prac-outlier", "prac-peer")
    profiles = services.do_record_oppe_results(core_item.department, results, actor=office)
    assert sorted(profile.practitioner.warehouse_id for profile in profiles) == [
        "prac-outlier",
        "prac-peer",
        "prac-quiet",
    ]
    stored = OppeProfile.objects.get(practitioner=outlier)
    mortality = stored.indicators.get(code="mortality-oe")
    expected = results.practitioners[0].indicators[1]
    assert (
        mortality.cases,
        mortality.observed,
        mortality.expected,
        mortality.value,
        mortality.lower,
        mortality.upper,
        mortality.funnel_lower,
        mortality.funnel_upper,
        mortality.department_value,
    ) == (
        expected.cases,
        expected.observed,
        expected.expected,
        expected.value,
        expected.lower,
        expected.upper,
        expected.funnel_lower,
        expected.funnel_upper,
        1.0,
    )
    assert (mortality.position, mortality.is_flagged, stored.is_flagged) == ("above", True, True)
    assert mortality.funnel["points"] == [
        {"cases": 212, "size": 212, "value": 2.289, "self": True},
        {"cases": 198, "size": 198, "value": 1.013, "self": False},
    ]
    assert OppeProfile.objects.get(practitioner=peer).is_flagged is False
    zero = OppeProfile.objects.get(practitioner=quiet)
    assert list(zero.indicators.values_list("code", "cases", "position")) == [
        ("volume", 0, "not_applicable"),
        ("mortality-oe", 0, "no_cases"),
        ("readmission-oe", 0, "no_cases"),
    ]
    # Recording the same period again keeps what is stored.
    assert services.do_record_oppe_results(core_item.department, results, actor=office) == []


def test_the_department_chief_decides_the_oppe_and_can_open_an_fppe(
    office, chief, cmo, make_user, make_practitioner, core_item
):
    outlier = make_practitioner(warehouse_id="prac-outlier")
    _privileged(outlier, core_item, office, chief, cmo)
    [profile] = services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    other_chief = make_user(Role.DEPARTMENT_CHIEF)
    events = AuditEvent.objects.count()
    for actor in (other_chief, office, cmo):
        with pytest.raises(PermissionDenied):
            services.do_decide_oppe(profile, decision="continue", rationale="fine", actor=actor)
    assert AuditEvent.objects.count() == events
    profile.refresh_from_db()
    assert profile.status == OppeStatus.AWAITING_DECISION
    profile = services.do_decide_oppe(
        profile,
        decision="open_fppe",
        rationale="Mortality O/E above the funnel",
        fppe_criteria="Review of 20 deaths",
        actor=chief,
    )
    assert (profile.status, profile.decision, profile.decided_by, profile.decided_on) == (
        "decided",
        "open_fppe",
        chief,
        D(2026, 3, 10),
    )
    fppe = Fppe.objects.get(trigger=FppeTrigger.FOR_CAUSE_OPPE)
    assert (fppe.oppe, fppe.criteria, fppe.starts_on, fppe.ends_on) == (
        profile,
        "Review of 20 deaths",
        D(2026, 3, 10),
        D(2026, 6, 8),
    )


def test_a_chief_sees_only_their_departments_oppe(office, chief, cmo, make_user, make_practitioner, core_item):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    assert selectors.oppe_profiles_visible_to(chief).count() == 1
    assert selectors.oppe_profiles_visible_to(make_user(Role.DEPARTMENT_CHIEF)).count() == 0
    assert selectors.oppe_profiles_visible_to(office).count() == 1
    with pytest.raises(PermissionDenied):
        selectors.oppe_profiles_visible_to(make_user(Role.CLINICIAN))
