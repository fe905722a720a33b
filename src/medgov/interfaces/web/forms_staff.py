"""Forms of the medical staff office's actions: they parse input; the services validate and write."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from medgov.governance.staff import selectors
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
SAFETY_EVENT_REFERENCE = re.compile(r"^SE-[0-9]{5,}$")


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
    reason = forms.ChoiceField(choices=TemporaryReason.choices, label="Reason (TJC MS.06.01.13)")
    starts_on = forms.DateField(widget=DATE, label="From")
    ends_on = forms.DateField(widget=DATE, label="Until")


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
        reference = str(self.cleaned_data["safety_event_reference"]).strip().upper()
        if not SAFETY_EVENT_REFERENCE.match(reference):
            raise forms.ValidationError(f"{reference!r} is not a safety event reference such as SE-00012")
        return reference


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
