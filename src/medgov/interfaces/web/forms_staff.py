"""Forms of the medical staff office's actions: they parse input; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms

from medgov.governance.staff import rules, selectors
from medgov.governance.staff.choices import (
    FppeMethod,
    ReferralSource,
    RequestKind,
    TemporaryReason,
    VerificationResult,
)
from medgov.governance.staff.models import PrivilegeItem

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class _ItemsForm(forms.Form):
    """A form that offers the privilege catalogue, the practitioner's own department first."""

    items: forms.ModelMultipleChoiceField[PrivilegeItem] = forms.ModelMultipleChoiceField(
        queryset=PrivilegeItem.objects.none(), label="Privileges", widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].queryset = selectors.privilege_items_visible_to(user)  # type: ignore[attr-defined]


class PrivilegeRequestForm(_ItemsForm):
    kind = forms.ChoiceField(choices=RequestKind.choices, label="Kind of request")
    is_complete = forms.BooleanField(
        required=False, label="The application is complete (every item answered, every document received)"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class TemporaryPrivilegesForm(_ItemsForm):
    reason = forms.ChoiceField(
        choices=TemporaryReason.choices,
        widget=forms.RadioSelect,
        label="Reason (TJC MS.06.01.13: one of these two only)",
    )
    starts_on = forms.DateField(widget=DATE, label="From")
    ends_on = forms.DateField(
        widget=DATE,
        label="Until",
        help_text=f"For a pending application at most {rules.TEMPORARY_PRIVILEGE_MAX_DAYS} days, the first and "
        "last day included.",
    )


class DisasterPrivilegesForm(_ItemsForm):
    presented_at = forms.DateTimeField(
        widget=DATETIME, input_formats=DATETIME_FORMATS, label="The volunteer presented at"
    )


class ForCauseFppeForm(forms.Form):
    criteria = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Criteria the evaluation applies")
    method = forms.ChoiceField(choices=FppeMethod.choices)
    starts_on = forms.DateField(widget=DATE, label="Starts on")
    duration_days = forms.IntegerField(min_value=1, max_value=730, initial=90, label="Duration (days)")


class SafetyEventFppeForm(ForCauseFppeForm):
    field_order = ["safety_event_reference", "criteria", "method", "starts_on", "duration_days"]
    safety_event_reference = forms.CharField(max_length=100, label="Safety event (SE-00012)")

    def clean_safety_event_reference(self) -> str:
        reference = str(self.cleaned_data["safety_event_reference"])
        try:
            rules.safety_event_id(reference)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return reference.strip().upper()


class FppeConclusionForm(forms.Form):
    satisfactory = forms.TypedChoiceField(
        choices=[("yes", "Competence confirmed"), ("no", "Concerns remain")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Finding",
    )
    conclusion = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What the evaluation found")


class PeerReviewReferralForm(forms.Form):
    source = forms.ChoiceField(choices=ReferralSource.choices, label="Referred from")
    reference = forms.CharField(max_length=100, required=False, label="Safety event, signal or trigger id")
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What is referred")


class ReviewerForm(forms.Form):
    reviewer: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label="Reviewer")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = selectors.peer_review_committee(user)  # type: ignore[attr-defined]


class CommitteeAppointmentForm(forms.Form):
    member: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label="Appoint")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = selectors.peer_review_committee_candidates(user)  # type: ignore[attr-defined]


class VerificationForm(forms.Form):
    verified_on = forms.DateField(widget=DATE, label="Verified on")
    result = forms.ChoiceField(choices=VerificationResult.choices, label="The primary source confirmed")
    verification_source = forms.CharField(max_length=200, label="Primary source")
    source_document = forms.FileField(required=False)


class LicenceVerificationForm(forms.Form):
    """The primary-source verification of a disaster volunteer's licence, due 72 hours after they presented."""

    source = forms.CharField(max_length=200, label="Primary source (licensing board, its website, a CVO)")
    verified_by: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label="Verified by")
    verified_at = forms.DateTimeField(widget=DATETIME, input_formats=DATETIME_FORMATS, label="Verified at")
    result = forms.ChoiceField(choices=VerificationResult.choices, label="The primary source")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verified_by"].queryset = selectors.medical_staff_office(user)  # type: ignore[attr-defined]


class ContinuationForm(forms.Form):
    """Whether disaster privileges continue, due 72 hours after the volunteer arrived."""

    continue_privileges = forms.TypedChoiceField(
        choices=[("continue", "Continue the disaster privileges"), ("end", "End the disaster privileges")],
        coerce=lambda value: value == "continue",
        widget=forms.RadioSelect,
        label="Decision",
    )
    decided_at = forms.DateTimeField(widget=DATETIME, input_formats=DATETIME_FORMATS, label="Decided at")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason")
