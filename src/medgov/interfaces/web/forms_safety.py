"""Forms of the safety pages: they parse input; the services validate and write."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from medgov.governance.accounts.models import User
from medgov.governance.safety import rules, selectors
from medgov.governance.safety.choices import (
    ActionStatus,
    ActionStrength,
    BehaviourType,
    ContributingFactorCategory,
    EventCategory,
    EventClass,
    HarmLevel,
    JustCultureResponse,
    NccMerpCategory,
    SacProbability,
    SacSeverity,
    SentinelType,
)

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
BLANK = [("", "---------")]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where the field exists, else on the form."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = {"unit_code": "unit", "handler_ids": "handlers", "owner_id": "owner"}.get(name, name)
            form.add_error(target if target in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class UsernamesField(forms.CharField):
    """People named by user name, comma-separated. A text field, not a list of every member of staff: a full
    staff list on an event's page would also list an anonymous reporter."""

    def __init__(self, *args: Any, single: bool = False, **kwargs: Any) -> None:
        self.single = single
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "User name" if single else "User names, separated by commas")
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, User):
            return value.username
        if isinstance(value, list | tuple):
            return ", ".join(item.username if isinstance(item, User) else str(item) for item in value)
        return value

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        names = [name.strip() for name in text.split(",") if name.strip()]
        if self.single and len(names) > 1:
            raise ValidationError("Name one person.")
        found = {user.username.lower(): user for user in User.objects.filter(is_active=True, username__in=names)}
        unknown = [name for name in names if name.lower() not in found]
        if unknown:
            raise ValidationError(f"Unknown user name(s): {', '.join(unknown)}.")
        users = [found[name.lower()] for name in names]
        if self.single:
            return users[0] if users else None
        return users


class ReportForm(forms.Form):
    IDENTITY_CHOICES = [
        ("named", "Show my name to those who handle the report"),
        ("protected", "Protect my identity: only the safety team sees my name"),
        ("anonymous", "Anonymous: store nothing that identifies me"),
    ]
    event_class = forms.ChoiceField(choices=EventClass.choices, widget=forms.RadioSelect, label="What kind of event?")
    category = forms.ChoiceField(choices=BLANK + EventCategory.choices, label="Category")
    health_it_contributed = forms.BooleanField(
        required=False, label="Health IT (a system or device software) contributed"
    )
    occurred_at = forms.DateTimeField(
        input_formats=DATETIME_FORMATS,
        label="When did it happen?",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    unit = forms.ModelChoiceField(queryset=selectors.units(), to_field_name="code", label="Where (unit)?")
    patient_mrn = forms.CharField(required=False, max_length=40, label="Patient MRN (optional)")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="What happened?")
    immediate_actions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="What was done straight away?"
    )
    reported_harm = forms.ChoiceField(
        choices=HarmLevel.choices, widget=forms.RadioSelect, label="Harm to the patient, as you see it"
    )
    attachment = forms.FileField(required=False, label="Attachment (PDF, PNG or JPEG, optional)")
    identity = forms.ChoiceField(
        choices=IDENTITY_CHOICES, widget=forms.RadioSelect, initial="named", label="Your identity"
    )

    def __init__(self, *args: Any, allow_anonymous: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Any]", self.fields["unit"]).queryset = selectors.units()
        if not allow_anonymous:
            cast(forms.ChoiceField, self.fields["identity"]).choices = self.IDENTITY_CHOICES[:2]

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data.get("attachment")
        if upload is None:
            return None
        head = upload.read(16)
        upload.seek(0)
        message = rules.attachment_error(
            upload.name, upload.size, head, max_bytes=settings.MEDGOV_SAFETY_MAX_ATTACHMENT_BYTES
        )
        if message:
            raise ValidationError(message)
        return upload


class TriageForm(forms.Form):
    event_class = forms.ChoiceField(choices=EventClass.choices, label="Class")
    category = forms.ChoiceField(choices=EventCategory.choices)
    harm_level = forms.ChoiceField(choices=BLANK + HarmLevel.choices, label="Harm (AHRQ harm scale)")
    permanent_harm = forms.BooleanField(required=False, label="The harm is permanent")
    ncc_merp = forms.ChoiceField(
        choices=BLANK + NccMerpCategory.choices, required=False, label="NCC MERP category (medication events)"
    )
    sac_severity = forms.ChoiceField(choices=BLANK + SacSeverity.choices, required=False, label="SAC severity")
    sac_probability = forms.ChoiceField(choices=BLANK + SacProbability.choices, required=False, label="SAC probability")
    sentinel_type = forms.ChoiceField(
        choices=BLANK + SentinelType.choices, required=False, label="TJC sentinel event type"
    )
    potential_sentinel = forms.BooleanField(required=False, label="Potential sentinel event")
    sensitive = forms.BooleanField(required=False, label="Sensitive (only the named handlers see it)")
    externally_reportable = forms.BooleanField(required=False, label="Externally reportable")
    handlers = UsernamesField(label="Named handlers")


class DateForm(forms.Form):
    aware_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="The organisation became aware on")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Reason")


class MessageForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Message")


class FollowUpCodeForm(forms.Form):
    code = forms.CharField(max_length=40, label="Follow-up code", widget=forms.TextInput(attrs={"autocomplete": "off"}))


class JustCultureForm(forms.Form):
    individual = forms.CharField(max_length=150, label="Individual (by role)")
    behaviour = forms.ChoiceField(choices=BehaviourType.choices)
    response = forms.ChoiceField(choices=JustCultureResponse.choices)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RcaTeamForm(forms.Form):
    leader = UsernamesField(single=True)
    team = UsernamesField()
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TimelineForm(forms.Form):
    occurred_at = forms.DateTimeField(
        input_formats=DATETIME_FORMATS, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="When"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What happened")


class CausalStatementForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Causal statement")


class ContributingFactorForm(forms.Form):
    category = forms.ChoiceField(choices=ContributingFactorCategory.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Contributing factor")


class ActionForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Action")
    strength = forms.ChoiceField(choices=ActionStrength.choices, label="Strength (RCA² hierarchy)")
    owner = UsernamesField(single=True)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due on")
    effectiveness_measure = forms.CharField(required=False, max_length=300, label="Measure of effectiveness (in words)")
    measure_id = forms.CharField(required=False, max_length=100, label="medgov measure id")
    measure_version = forms.CharField(required=False, max_length=20, label="Measure version")
    measure_stratum = forms.CharField(required=False, max_length=100, label="Unit / stratum key")
    status = forms.ChoiceField(choices=ActionStatus.choices, initial=ActionStatus.PLANNED)
    implemented_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Implemented on"
    )


class TrendFilterForm(forms.Form):
    category = forms.ChoiceField(choices=[("", "All categories"), *EventCategory.choices], required=False)
    unit = forms.ModelChoiceField(
        queryset=selectors.units(), required=False, to_field_name="code", empty_label="All units"
    )
    harm = forms.ChoiceField(choices=[("", "Any harm"), *HarmLevel.choices], required=False)
    months = forms.IntegerField(min_value=6, max_value=60, initial=24, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Any]", self.fields["unit"]).queryset = selectors.units()
