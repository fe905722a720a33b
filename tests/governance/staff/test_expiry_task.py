import datetime as dt

import pytest
from django.core import mail

from medgov.governance.core.models import AuditEvent, Notice
from medgov.governance.staff import services, tasks
from medgov.governance.staff.choices import GrantStatus, PractitionerStatus, RequestKind
from medgov.governance.staff.models import CredentialReminder, PrivilegeRequest

D = dt.date


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _at(time_machine, day):
    time_machine.move_to(dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=dt.UTC), tick=False)


def _privileged(make_practitioner, office, chief, cmo, item, **fields):
    practitioner = make_practitioner(**fields)
    request = services.do_submit_privilege_request(
        practitioner, kind="initial", items=[item], is_complete=True, actor=office
    )
    services.do_review_privilege_request(request, step="department_chief", outcome="approve", actor=chief)
    for step in ("credentials_committee", "medical_executive_committee", "board"):
        services.do_review_privilege_request(request, step=step, outcome="approve", actor=cmo)
    practitioner.refresh_from_db()
    return practitioner


def test_licence_expiry_suspends_on_the_expiry_date_with_audit_and_notice(
    office, chief, cmo, make_practitioner, core_item, time_machine, django_capture_on_commit_callbacks
):
    practitioner = _privileged(make_practitioner, office, chief, cmo, core_item)
    licence = practitioner.credentials.get(kind="state_licence")
    licence.expires_on = D(2026, 6, 30)
    licence.save()
    _at(time_machine, D(2026, 6, 29))
    result = tasks.daily_staff_scan.enqueue().return_value
    assert result["suspended"] == 0
    practitioner.refresh_from_db()
    assert practitioner.status == PractitionerStatus.ACTIVE
    mail.outbox.clear()

    _at(time_machine, D(2026, 6, 30))
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.daily_staff_scan.enqueue().return_value
    assert result["suspended"] == 1
    practitioner.refresh_from_db()
    assert practitioner.status == PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE
    assert list(practitioner.grants.values_list("status", flat=True)) == [GrantStatus.SUSPENDED_CREDENTIAL_LAPSE]
    event = AuditEvent.objects.get(action="staff.practitioner_suspend_credential_lapse")
    assert (event.actor, event.actor_label, event.after) == (
        None,
        "system",
        {
            "status": "suspended_credential_lapse",
            "reasons": ["state licence MD-1001 expired on 2026-06-30"],
            "effective_on": "2026-06-30",
        },
    )
    text = (
        f"{practitioner} is suspended (credential lapse) from 2026-06-30: state licence MD-1001 expired on 2026-06-30"
    )
    assert sorted(Notice.objects.filter(subject=text).values_list("recipient__username", flat=True)) == sorted(
        [office.username, chief.username, cmo.username]
    )
    assert sorted(
        address for message in mail.outbox if message.subject == f"[medgov] {text}" for address in message.to
    ) == [
        "chief@example.org",
        "cmo@example.org",
        "mso@example.org",
    ]
    # The next run does nothing more; a renewed, verified licence reinstates the privileges.
    assert tasks.daily_staff_scan.enqueue().return_value["suspended"] == 0
    services.do_add_credential(
        practitioner,
        kind="state_licence",
        issuer="State Medical Board",
        number="MD-1001",
        state="MA",
        issued_on=D(2026, 6, 30),
        expires_on=D(2028, 6, 30),
        result="confirmed",
        verified_on=D(2026, 6, 30),
        verification_source="board",
        actor=office,
    )
    practitioner.refresh_from_db()
    assert practitioner.status == PractitionerStatus.ACTIVE
    assert list(practitioner.grants.values_list("status", flat=True)) == [GrantStatus.ACTIVE]


def test_dea_expiry_suspends_only_practitioners_who_prescribe_controlled_substances(
    office, chief, cmo, make_practitioner, core_item, controlled_item, time_machine
):
    prescriber = _privileged(make_practitioner, office, chief, cmo, controlled_item)
    other = _privileged(make_practitioner, office, chief, cmo, core_item)
    for practitioner in (prescriber, other):
        practitioner.credentials.filter(kind="dea_registration").update(expires_on=D(2026, 4, 1))
    _at(time_machine, D(2026, 4, 1))
    assert tasks.daily_staff_scan.enqueue().return_value["suspended"] == 1
    prescriber.refresh_from_db()
    other.refresh_from_db()
    assert (prescriber.status, other.status) == (
        PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE,
        PractitionerStatus.ACTIVE,
    )


def test_a_suspended_licence_suspends_at_once(office, chief, cmo, make_practitioner, core_item):
    practitioner = _privileged(make_practitioner, office, chief, cmo, core_item)
    services.do_set_credential_status(practitioner.credentials.get(kind="state_licence"), "suspended", actor=office)
    practitioner.refresh_from_db()
    assert practitioner.status == PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE
    event = AuditEvent.objects.get(action="staff.practitioner_suspend_credential_lapse")
    assert event.after["reasons"] == ["state licence MD-1001 is suspended"]


def test_reminders_go_once_per_window(office, make_practitioner, time_machine):
    practitioner = make_practitioner()
    practitioner.credentials.filter(kind="malpractice_coverage").update(expires_on=D(2026, 9, 1))
    practitioner.credentials.exclude(kind="malpractice_coverage").update(expires_on=None)
    for day, expected in [
        (D(2026, 5, 3), 0),  # 121 days
        (D(2026, 5, 4), 1),  # 120 days
        (D(2026, 5, 5), 0),
        (D(2026, 6, 3), 1),  # 90 days
        (D(2026, 7, 18), 1),  # 45 days: the 60-day window
        (D(2026, 8, 2), 1),  # 30 days
        (D(2026, 8, 3), 0),
    ]:
        _at(time_machine, day)
        assert tasks.daily_staff_scan.enqueue().return_value["reminders"] == expected, day
    assert sorted(CredentialReminder.objects.values_list("window_days", flat=True)) == [30, 60, 90, 120]
    assert Notice.objects.filter(recipient=office, subject__contains="expires on 2026-09-01 (30 days)").count() == 1


def test_reappointment_application_is_sent_120_days_before_the_due_date(
    office, chief, cmo, make_practitioner, core_item, time_machine
):
    practitioner = _privileged(make_practitioner, office, chief, cmo, core_item)
    appointment = practitioner.appointments.get()
    assert appointment.reappointment_due_on == D(2029, 3, 10)
    practitioner.credentials.update(expires_on=None)
    _at(time_machine, D(2028, 11, 9))  # 121 days before
    assert tasks.daily_staff_scan.enqueue().return_value["reappointment_applications"] == 0
    _at(time_machine, D(2028, 11, 10))  # 120 days before
    assert tasks.daily_staff_scan.enqueue().return_value["reappointment_applications"] == 1
    request = PrivilegeRequest.objects.get(kind=RequestKind.REAPPOINTMENT)
    assert ([item.code for item in request.items.all()], request.submitted_on) == (["im-core"], D(2028, 11, 10))
    _at(time_machine, D(2028, 11, 11))
    assert tasks.daily_staff_scan.enqueue().return_value["reappointment_applications"] == 0


def test_temporary_privileges_end_after_their_end_date(office, cmo, make_practitioner, core_item, time_machine):
    practitioner = make_practitioner()
    [grant] = services.do_grant_temporary_privileges(
        practitioner,
        items=[core_item],
        reason="patient_care_need",
        starts_on=D(2026, 3, 10),
        ends_on=D(2026, 3, 20),
        actor=cmo,
    )
    _at(time_machine, D(2026, 3, 20))
    assert tasks.daily_staff_scan.enqueue().return_value["grants_ended"] == 0
    _at(time_machine, D(2026, 3, 21))
    assert tasks.daily_staff_scan.enqueue().return_value["grants_ended"] == 1
    grant.refresh_from_db()
    assert (grant.status, grant.ends_on) == (GrantStatus.EXPIRED, D(2026, 3, 21))


def test_the_hourly_disaster_clock_scan_reminds_then_ends_an_unverified_volunteer(
    office, cmo, make_practitioner, core_item, time_machine
):
    from medgov.governance.emergency import services as emergency

    emergency.do_open_activation(title="Flood", actor=None)
    presented = dt.datetime(2026, 3, 10, 7, 0, tzinfo=dt.UTC)
    [grant] = services.do_grant_disaster_privileges(
        make_practitioner(), items=[core_item], presented_at=presented, actor=None
    )
    time_machine.move_to(presented + dt.timedelta(hours=50), tick=False)
    assert tasks.disaster_clock_scan.enqueue().return_value == {
        "at": "2026-03-12T09:00:00+00:00",
        "disaster_clock_reminders": 2,
        "grants_ended": 0,
    }
    time_machine.move_to(presented + dt.timedelta(hours=73), tick=False)
    result = tasks.disaster_clock_scan.enqueue().return_value
    assert (result["disaster_clock_reminders"], result["grants_ended"]) == (0, 1)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXPIRED
