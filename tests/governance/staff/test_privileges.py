import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.emergency import services as emergency_services
from medgov.governance.staff import services
from medgov.governance.staff.choices import (
    CredentialKind,
    FppeMethod,
    FppeTrigger,
    GrantKind,
    GrantStatus,
    PractitionerStatus,
    RequestStatus,
)
from medgov.governance.staff.models import Fppe, PrivilegeGrant, PrivilegeReview

D = dt.date


def _approve_all(request, chief, cmo, on=None):
    services.do_review_privilege_request(
        request, step="department_chief", outcome="approve", actor=chief, decided_on=on
    )
    for step in ("credentials_committee", "medical_executive_committee", "board"):
        request = services.do_review_privilege_request(request, step=step, outcome="approve", actor=cmo, decided_on=on)
    return request


def test_request_passes_every_step_and_the_board_grants_with_an_fppe_per_new_privilege(
    office, chief, cmo, make_practitioner, core_item, controlled_item
):
    practitioner = make_practitioner()
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item, controlled_item], is_complete=True, actor=office
    )
    request = _approve_all(request, chief, cmo)
    assert request.status == RequestStatus.GRANTED
    assert list(PrivilegeReview.objects.filter(request=request).values_list("step", "outcome", "decided_by")) == [
        ("department_chief", "approve", chief.pk),
        ("credentials_committee", "approve", cmo.pk),
        ("medical_executive_committee", "approve", cmo.pk),
        ("board", "approve", cmo.pk),
    ]
    grants = PrivilegeGrant.objects.filter(practitioner=practitioner).order_by("item__code")
    assert [(g.item.code, g.kind, g.status, g.starts_on) for g in grants] == [
        ("im-core", "regular", "active", D(2026, 3, 10)),
        ("sedation", "regular", "active", D(2026, 3, 10)),
    ]
    fppes = Fppe.objects.filter(practitioner=practitioner).order_by("grant__item__code")
    assert [(f.trigger, f.method, f.starts_on, f.ends_on, f.status) for f in fppes] == [
        ("new_applicant", "chart_review", D(2026, 3, 10), D(2026, 6, 8), "open"),
        ("new_applicant", "chart_review", D(2026, 3, 10), D(2026, 6, 8), "open"),
    ]
    practitioner.refresh_from_db()
    assert practitioner.status == PractitionerStatus.ACTIVE
    appointment = practitioner.appointments.get()
    assert (appointment.category, appointment.starts_on, appointment.reappointment_due_on) == (
        "provisional",
        D(2026, 3, 10),
        D(2029, 3, 10),
    )


def test_added_privilege_opens_fppe_even_for_a_board_certified_practitioner(
    office, chief, cmo, make_practitioner, core_item, controlled_item
):
    practitioner = make_practitioner()
    services.do_add_credential(
        practitioner,
        kind=CredentialKind.BOARD_CERTIFICATION,
        issuer="ABIM",
        number="B1",
        issued_on=D(2015, 1, 1),
        expires_on=D(2030, 12, 31),
        result="confirmed",
        verified_on=D(2026, 3, 1),
        verification_source="ABIM",
        actor=office,
    )
    _approve_all(
        services.do_submit_privilege_request(
            practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
        ),
        chief,
        cmo,
    )
    _approve_all(
        services.do_submit_privilege_request(
            practitioner, kind="added_privilege", items=[controlled_item], is_complete=True, actor=office
        ),
        chief,
        cmo,
    )
    assert sorted(Fppe.objects.values_list("trigger", "grant__item__code")) == [
        ("new_applicant", "im-core"),
        ("new_privilege", "sedation"),
    ]


def test_steps_must_come_in_order_and_only_the_departments_chief_recommends(
    office, chief, cmo, make_user, make_practitioner, core_item
):
    practitioner = make_practitioner()
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    with pytest.raises(ValidationError) as error:
        services.do_review_privilege_request(request, step="board", outcome="approve", actor=cmo)
    assert error.value.messages == [
        "this request is awaiting department chief; the next step is department chief recommendation"
    ]
    other_chief = make_user(Role.DEPARTMENT_CHIEF)
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=other_chief)
    with pytest.raises(PermissionDenied):
        services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=office)
    assert (AuditEvent.objects.count(), PrivilegeReview.objects.count()) == (events, 0)
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        pytest.param(None, False, id="no-role"),
        pytest.param(Role.CLINICIAN, False, id="clinician"),
        pytest.param(Role.MEDICAL_STAFF_OFFICE, False, id="office"),
        pytest.param(Role.DEPARTMENT_CHIEF, False, id="chief"),
        pytest.param(Role.BOARD_MEMBER, False, id="board-member"),
        pytest.param(Role.ADMINISTRATOR, False, id="administrator"),
        pytest.param(Role.CMO, True, id="cmo"),
    ],
)
def test_who_may_record_committee_decisions(make_user, office, chief, make_practitioner, core_item, role, allowed):
    practitioner = make_practitioner()
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    actor = make_user(*([role] if role else []))
    events = AuditEvent.objects.count()
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.do_review_privilege_request(request, step="credentials_committee", outcome="approve", actor=actor)
        assert (AuditEvent.objects.count(), PrivilegeReview.objects.count()) == (events, 1)
        return
    request = services.do_review_privilege_request(
        request, step="credentials_committee", outcome="approve", actor=actor
    )
    assert request.status == RequestStatus.CREDENTIALS_COMMITTEE_APPROVED


def test_stale_verification_blocks_a_committee_decision(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(verified_on=D(2025, 11, 9))  # 121 days before 10 March 2026
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    with pytest.raises(ValidationError) as error:
        services.do_review_privilege_request(request, step="credentials_committee", outcome="approve", actor=cmo)
    assert error.value.messages == [
        "cannot approve: DEA registration AB1234563 was verified 121 days before the decision (limit 120)",
        "cannot approve: Malpractice coverage POL-9 was verified 121 days before the decision (limit 120)",
        "cannot approve: NPDB query Q-1 was verified 121 days before the decision (limit 120)",
        "cannot approve: OIG exclusion screening (LEIE) was verified 121 days before the decision (limit 120)",
        "cannot approve: SAM exclusion screening was verified 121 days before the decision (limit 120)",
        "cannot approve: State licence MD-1001 was verified 121 days before the decision (limit 120)",
    ]
    request.refresh_from_db()
    assert request.status == RequestStatus.CHIEF_RECOMMENDED
    # 120 days is still fresh
    fresh = make_practitioner(verified_on=D(2025, 11, 10))
    request = services.do_submit_privilege_request(
        fresh, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    assert _approve_all(request, chief, cmo).status == RequestStatus.GRANTED


def test_a_denial_is_not_blocked_and_ends_the_request(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(verified_on=None)
    request = services.do_submit_privilege_request(practitioner, kind="initial", items=[core_item], actor=office)
    request = services.do_review_privilege_request(request, step="department_chief", outcome="deny", actor=chief)
    assert request.status == RequestStatus.DENIED
    assert PrivilegeGrant.objects.count() == 0


def _grant_regular(practitioner, office, chief, cmo, item, on, kind="initial"):
    request = services.do_submit_privilege_request(
        practitioner, kind=kind, items=[item], is_complete=True, submitted_on=on, actor=office
    )
    return _approve_all(request, chief, cmo, on=on)


def test_reappointment_is_blocked_by_an_old_npdb_query_and_an_open_fppe(
    office, chief, cmo, make_practitioner, core_item, time_machine
):
    practitioner = make_practitioner()
    _grant_regular(practitioner, office, chief, cmo, core_item, D(2026, 3, 10))
    request = services.do_submit_privilege_request(
        practitioner, kind="reappointment", items=[core_item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    with pytest.raises(ValidationError) as error:
        services.do_review_privilege_request(request, step="credentials_committee", outcome="approve", actor=cmo)
    assert error.value.messages == ["cannot approve: an FPPE opened on 2026-03-10 is still open"]
    services.do_conclude_fppe(practitioner.fppes.get(), satisfactory=True, conclusion="Ten charts reviewed", actor=cmo)
    # A policy with a long verification window isolates the NPDB two-year rule.
    from medgov.governance.staff.models import StaffPolicy

    StaffPolicy.objects.create(hospital="", verification_window_days=1000)
    practitioner.credentials.filter(kind="npdb_query").update(verified_on=D(2024, 3, 9))
    with pytest.raises(ValidationError) as error:
        services.do_review_privilege_request(request, step="credentials_committee", outcome="approve", actor=cmo)
    assert error.value.messages == [
        "cannot approve: the NPDB query of 2024-03-09 is more than two years old (valid until 2026-03-09)"
    ]
    practitioner.credentials.filter(kind="npdb_query").update(verified_on=D(2024, 3, 10))
    request = services.do_review_privilege_request(request, step="credentials_committee", outcome="approve", actor=cmo)
    assert request.status == RequestStatus.CREDENTIALS_COMMITTEE_APPROVED


def test_reappointment_renews_without_a_new_fppe_and_appoints_from_the_due_date(
    office, chief, cmo, make_practitioner, core_item
):
    practitioner = make_practitioner()
    services.do_appoint_practitioner(practitioner, starts_on=D(2023, 6, 1), category="active", actor=office)
    _grant_regular(practitioner, office, chief, cmo, core_item, D(2026, 3, 10), kind="added_privilege")
    services.do_conclude_fppe(practitioner.fppes.get(), satisfactory=True, conclusion="ok", actor=cmo)
    request = services.do_submit_privilege_request(
        practitioner, kind="reappointment", items=[core_item], is_complete=True, actor=office
    )
    _approve_all(request, chief, cmo)
    assert Fppe.objects.count() == 1
    assert PrivilegeGrant.objects.count() == 1
    assert list(practitioner.appointments.order_by("starts_on").values_list("starts_on", "ends_on")) == [
        (D(2023, 6, 1), D(2026, 5, 31)),
        (D(2026, 6, 1), D(2029, 5, 31)),
    ]


def test_temporary_privileges_for_a_clean_pending_application_open_an_fppe(
    office, chief, cmo, make_practitioner, core_item
):
    practitioner = make_practitioner()
    services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    with pytest.raises(ValidationError) as error:
        services.do_grant_temporary_privileges(
            practitioner,
            items=[core_item],
            reason="pending_clean_application",
            starts_on=D(2026, 3, 10),
            ends_on=D(2026, 7, 8),
            actor=cmo,
        )
    assert error.value.messages == ["temporary privileges for a pending application last at most 120 days, not 121"]
    assert (PrivilegeGrant.objects.count(), Fppe.objects.count()) == (0, 0)
    [grant] = services.do_grant_temporary_privileges(
        practitioner,
        items=[core_item],
        reason="pending_clean_application",
        starts_on=D(2026, 3, 10),
        ends_on=D(2026, 7, 7),
        actor=cmo,
    )
    assert (grant.kind, grant.temporary_reason, grant.starts_on, grant.ends_on) == (
        GrantKind.TEMPORARY,
        "pending_clean_application",
        D(2026, 3, 10),
        D(2026, 7, 7),
    )
    fppe = Fppe.objects.get()
    assert (fppe.grant, fppe.trigger, fppe.starts_on) == (grant, FppeTrigger.NEW_APPLICANT, D(2026, 3, 10))
    # The board's later grant ends the temporary one and does not open a second FPPE for the same privilege.
    request = practitioner.privilege_requests.get()
    _approve_all(request, chief, cmo)
    grant.refresh_from_db()
    assert (grant.status, grant.ends_on) == (GrantStatus.ENDED, D(2026, 3, 10))
    assert Fppe.objects.count() == 1


def test_temporary_privileges_need_a_clean_application(office, cmo, make_practitioner, core_item):
    practitioner = make_practitioner()
    services.do_add_credential(
        practitioner,
        kind="malpractice_claims",
        issuer="Carrier",
        result="adverse",
        verified_on=D(2026, 3, 1),
        verification_source="carrier",
        actor=office,
    )
    services.do_submit_privilege_request(
        practitioner, kind="initial", items=[core_item], is_complete=True, actor=office
    )
    with pytest.raises(ValidationError) as error:
        services.do_grant_temporary_privileges(
            practitioner,
            items=[core_item],
            reason="pending_clean_application",
            starts_on=D(2026, 3, 10),
            ends_on=D(2026, 4, 10),
            actor=cmo,
        )
    assert error.value.messages == ["there is no complete, clean application awaiting approval for this practitioner"]
    with pytest.raises(ValidationError) as error:
        services.do_grant_temporary_privileges(
            practitioner,
            items=[core_item],
            reason="staffing",
            starts_on=D(2026, 3, 10),
            ends_on=D(2026, 4, 10),
            actor=cmo,
        )
    assert error.value.messages == [
        "temporary privileges are granted only for 'patient_care_need' or 'pending_clean_application', not 'staffing'"
    ]
    grants = services.do_grant_temporary_privileges(
        practitioner,
        items=[core_item],
        reason="patient_care_need",
        starts_on=D(2026, 3, 10),
        ends_on=D(2026, 3, 20),
        actor=cmo,
    )
    assert len(grants) == 1
    assert Fppe.objects.get().grant == grants[0]


def test_disaster_privileges_only_while_an_activation_is_open(office, cmo, make_practitioner, core_item, time_machine):
    practitioner = make_practitioner()
    presented = dt.datetime(2026, 3, 10, 7, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as error:
        services.do_grant_disaster_privileges(practitioner, items=[core_item], presented_at=presented, actor=cmo)
    assert error.value.messages == [
        "disaster privileges can be granted only while an emergency operations plan activation is open"
    ]
    activation = emergency_services.do_open_activation(title="Mass casualty: highway pile-up", actor=office)
    [grant] = services.do_grant_disaster_privileges(practitioner, items=[core_item], presented_at=presented, actor=cmo)
    assert (grant.kind, grant.activation, grant.starts_on) == (GrantKind.DISASTER, activation, D(2026, 3, 10))
    assert Fppe.objects.get().method == FppeMethod.PROCTORING
    time_machine.move_to(presented + dt.timedelta(hours=73), tick=False)
    with pytest.raises(ValidationError) as error:
        services.do_record_disaster_verification(
            grant,
            verified_at=presented + dt.timedelta(hours=72, minutes=1),
            source="State board licence lookup",
            result="confirmed",
            actor=office,
        )
    assert error.value.messages == [
        "the licence was verified more than 72 hours after the volunteer presented; the privileges have to be "
        "granted again"
    ]
    services.do_record_disaster_verification(
        grant,
        verified_at=presented + dt.timedelta(hours=72),
        source="State board licence lookup",
        result="confirmed",
        actor=office,
    )
    grant = services.do_decide_disaster_continuation(
        grant,
        continue_privileges=True,
        decided_at=presented + dt.timedelta(hours=71),
        reason="Licence verified; safe practice observed in the emergency department",
        actor=cmo,
    )
    assert grant.status == GrantStatus.ACTIVE


def test_for_cause_fppe_from_a_safety_event(chief, make_practitioner, make_safety_event):
    practitioner = make_practitioner()
    event = make_safety_event()
    fppe = services.do_open_for_cause_fppe(
        practitioner,
        trigger="for_cause_safety_event",
        criteria="Review of airway management",
        method="proctoring",
        starts_on=D(2026, 3, 10),
        duration_days=60,
        safety_event_reference=f"se-{event.pk:05d}",
        actor=chief,
    )
    assert (fppe.trigger, fppe.ends_on, fppe.safety_event, fppe.safety_event_reference) == (
        "for_cause_safety_event",
        D(2026, 5, 9),
        event,
        event.reference,
    )
    with pytest.raises(ValidationError) as error:
        services.do_open_for_cause_fppe(
            practitioner,
            trigger="for_cause_safety_event",
            criteria="x",
            method="proctoring",
            starts_on=D(2026, 3, 10),
            duration_days=60,
            actor=chief,
        )
    assert error.value.message_dict == {"safety_event_reference": ["name the safety event the FPPE comes from"]}
