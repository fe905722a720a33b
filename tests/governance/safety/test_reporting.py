import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from medgov.governance.core.models import AuditEvent, Notice
from medgov.governance.safety import services
from medgov.governance.safety.models import EventAttachment, SafetyEvent
from tests.governance.safety.conftest import report_input

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def test_a_named_report_is_submitted_routed_and_audited(people, units, submit, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit()
    event = submission.event
    assert (event.status, event.reporter, event.is_anonymous, event.protect_identity) == (
        "submitted",
        people["reporter"],
        False,
        False,
    )
    assert len(submission.followup_code) == 23
    assert event.followup_code_digest != submission.followup_code
    entry = AuditEvent.objects.get(action="safety_event.submit")
    assert (entry.actor, entry.object_repr) == (people["reporter"], f"{event.reference} Fall")
    recipients = set(Notice.objects.values_list("recipient__username", flat=True))
    assert recipients == {"wardmanager", "safetyofficer", "safetyofficer2", "safetylead"}
    assert sorted(message.to[0] for message in mail.outbox) == ["lead@example.org", "so@example.org", "wm@example.org"]
    assert mail.outbox[0].subject == f"[medgov] New safety event {event.reference}: Fall on 4 West Medical"


def test_an_anonymous_report_stores_no_identity(people, units, submit):
    event = submit(anonymous=True).event
    event.refresh_from_db()
    assert (event.reporter, event.created_by, event.updated_by, event.is_anonymous) == (None, None, None, True)
    entry = AuditEvent.objects.get(action="safety_event.submit")
    assert (entry.actor, entry.actor_label) == (None, "anonymous reporter")
    assert sorted(entry.after) == [
        "category",
        "event_class",
        "health_it_contributed",
        "is_anonymous",
        "occurred_at",
        "protect_identity",
        "reported_harm",
        "status",
        "unit",
    ]
    assert services.event_for_followup_code("x") is None


def test_the_follow_up_code_opens_the_report_and_carries_messages_both_ways(people, units, submit):
    submission = submit(anonymous=True)
    event = services.event_for_followup_code(submission.followup_code.lower().replace("-", " "))
    assert event == submission.event
    services.do_send_team_message(event, "Which pump was it?", actor=people["safety"])
    services.do_send_reporter_message(event, "The one in bay 3.", actor=None)
    assert list(event.messages.values_list("from_reporter", "author", "text")) == [
        (False, people["safety"].pk, "Which pump was it?"),
        (True, None, "The one in bay 3."),
    ]
    entry = AuditEvent.objects.get(action="safety_event.reporter_message")
    assert (entry.actor, entry.actor_label) == (None, "anonymous reporter")


def test_a_protected_report_keeps_the_reporter_out_of_the_audit_trail(people, units, submit):
    event = submit(protect_identity=True).event
    assert event.reporter == people["reporter"]
    entry = AuditEvent.objects.get(action="safety_event.submit")
    assert (entry.actor, entry.actor_label) == (None, "reporter (identity protected)")


def test_a_draft_is_saved_then_submitted(people, units):
    draft = services.do_save_draft(report_input(), actor=people["reporter"])
    assert draft.status == "draft"
    assert AuditEvent.objects.get(action="safety_event.save_draft").actor_label == "reporter"
    submission = services.do_submit_event(report_input(description="Updated."), event=draft, actor=people["reporter"])
    assert (submission.event.pk, submission.event.status, submission.event.description) == (
        draft.pk,
        "submitted",
        "Updated.",
    )


def test_a_draft_cannot_be_submitted_anonymously_or_by_someone_else(people, units):
    draft = services.do_save_draft(report_input(), actor=people["reporter"])
    with pytest.raises(ValidationError, match="cannot be submitted anonymously"):
        services.do_submit_event(report_input(), event=draft, anonymous=True, actor=people["reporter"])
    with pytest.raises(PermissionDenied):
        services.do_submit_event(report_input(), event=draft, actor=people["other_clinician"])
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_users_without_the_reporting_permission_cannot_report(people, units):
    with pytest.raises(PermissionDenied):
        services.do_submit_event(report_input(), actor=people["board"])
    assert SafetyEvent.objects.count() == 0


BAD_INPUT = [
    ({"occurred_at": "future"}, "occurred_at", "The event cannot be in the future"),
    ({"unit_code": "NOPE"}, "unit", "Unknown unit 'NOPE'; choose one of the hospital's units."),
    ({"description": "<script>alert(1)</script>"}, "description", "Remove the HTML markup"),
    ({"immediate_actions": '<img src=x onerror="alert(1)">'}, "immediate_actions", "Remove the HTML markup"),
    ({"description": "  "}, "description", "Describe what happened."),
    ({"category": "teleportation"}, "category", "Unknown category 'teleportation'"),
    ({"patient_mrn": "MRN9999"}, "patient_mrn", "No patient with MRN 'MRN9999' is known"),
    ({"patient_mrn": "1; DROP TABLE patient"}, "patient_mrn", "'1; DROP TABLE patient' is not an MRN"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT, ids=[f for _, f, _ in BAD_INPUT])
def test_bad_input_is_refused_and_nothing_is_stored(people, units, warehouse, overrides, field, message):
    if overrides.get("occurred_at") == "future":
        overrides["occurred_at"] = timezone.now() + dt.timedelta(hours=2)
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.do_submit_event(report_input(**overrides), actor=people["reporter"])
    assert list(caught.value.message_dict) == [field]
    assert caught.value.message_dict[field][0].startswith(message)
    assert (SafetyEvent.objects.count(), AuditEvent.objects.count(), Notice.objects.count()) == (0, audit_before, 0)


def test_a_known_mrn_is_accepted(people, units, warehouse):
    event = services.do_submit_event(report_input(patient_mrn="MRN1002"), actor=people["reporter"]).event
    assert event.patient_mrn == "MRN1002"


def test_an_mrn_cannot_be_verified_without_the_warehouse(people, units, no_warehouse):
    with pytest.raises(ValidationError) as caught:
        services.do_submit_event(report_input(patient_mrn="MRN1001"), actor=people["reporter"])
    assert caught.value.message_dict == {
        "patient_mrn": [
            "MRN 'MRN1001' cannot be verified because the clinical warehouse is not available; "
            "leave the MRN empty and the safety team will add it."
        ]
    }
    assert SafetyEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "'virus.exe' is not an accepted file type"),
        ("photo.png", b"GIF89a" + b"\x00" * 10, "'photo.png' does not contain PNG data"),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048, "'huge.png' is 0.0 MB; attachments may be at most 0 MB."),
    ],
    ids=["wrong-type", "wrong-content", "oversized"],
)
def test_bad_attachments_are_refused_and_nothing_is_stored(people, units, settings, name, content, message):
    settings.MEDGOV_SAFETY_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(ValidationError) as caught:
        services.do_submit_event(
            report_input(), attachments=[services.Attachment(name, content)], actor=people["reporter"]
        )
    assert caught.value.message_dict["attachments"][0].startswith(message)
    assert (SafetyEvent.objects.count(), EventAttachment.objects.count()) == (0, 0)


def test_an_anonymous_reporters_file_name_is_not_kept(people, units, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    event = services.do_submit_event(
        report_input(),
        attachments=[services.Attachment("C_Users_qzylberstein_photo.png", PNG)],
        anonymous=True,
        actor=people["reporter"],
    ).event
    assert list(event.attachments.values_list("name", "size")) == [("attachment-1.png", len(PNG))]
    assert "qzylberstein" not in event.attachments.get().file.name
