"""Medical staff office pages: thin views over staff services and selectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medgov.governance.emergency.selectors import open_activations
from medgov.governance.staff import nppes, selectors, services
from medgov.governance.staff.choices import (
    AppointmentCategory,
    CareRating,
    CredentialKind,
    DocumentationRating,
    FppeStatus,
    FppeTrigger,
    GrantKind,
    GrantStatus,
    OppeDecision,
    OutcomeRating,
    PeerReviewDetermination,
    ReviewStep,
    StepOutcome,
    VerificationResult,
)
from medgov.governance.staff.models import Department
from medgov.interfaces.web import exports, forms_staff

DATE = forms.DateInput(attrs={"type": "date"})


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


class PractitionerForm(forms.Form):
    npi = forms.CharField(label="NPI", max_length=20)
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    credential_text = forms.CharField(label="Credentials (MD, DO)", max_length=50, required=False)
    taxonomy_code = forms.CharField(label="NUCC taxonomy code", max_length=10, required=False)
    specialty = forms.CharField(max_length=150, required=False)
    department: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    appointment_category = forms.ChoiceField(choices=AppointmentCategory.choices)
    practice_group = forms.CharField(max_length=150, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.departments_visible_to(user)  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponseBase:
    text = request.GET.get("q", "").strip()
    practitioners = selectors.practitioners_visible_to(request.user, text=text)
    if request.method == "GET":
        export = exports.export_if_requested(request, lambda: practitioners_table(practitioners))
        if export is not None:
            return export
    form = PractitionerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            practitioner = services.do_create_practitioner(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{practitioner} added.")
            return redirect("staff:practitioner", practitioner.pk)
    context = {
        "practitioners": practitioners[:200],
        "count": practitioners.count(),
        "q": text,
        "querystring": exports.querystring_of(request),
        "form": form,
        "can_manage": request.user.has_perm("staff.manage_staff"),
        "can_read_peer_review": selectors.can_view_peer_review(request.user),
        "pending_requests": selectors.privilege_requests_visible_to(request.user, pending_only=True).count(),
        "open_fppes": selectors.fppes_visible_to(request.user, open_only=True).count(),
    }
    return render(request, "staff/home.html", context)


def practitioners_table(practitioners: Any) -> exports.ExportTable:
    rows = (
        (
            str(person),
            person.npi,
            person.specialty or person.taxonomy_code,
            str(person.department) if person.department else "",
            person.get_appointment_category_display(),
            person.get_status_display(),
        )
        for person in practitioners.iterator(chunk_size=2000)
    )
    return exports.ExportTable(
        "practitioners",
        ("Name", "NPI", "Specialty", "Department", "Category", "Status"),
        rows,
        "Practitioners",
        object_type="staff.practitioner",
    )


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(choices=CredentialKind.choices)
    issuer = forms.CharField(max_length=200)
    number = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False)
    issued_on = forms.DateField(required=False, widget=DATE)
    expires_on = forms.DateField(required=False, widget=DATE)
    result = forms.ChoiceField(choices=[("", "Not verified yet"), *VerificationResult.choices], required=False)
    verified_on = forms.DateField(required=False, widget=DATE)
    verification_source = forms.CharField(max_length=200, required=False, label="Primary source")
    source_document = forms.FileField(required=False)


def practitioner(request: HttpRequest, practitioner_id: int) -> HttpResponseBase:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    today = timezone.localdate()
    specials = selectors.special_grants_of(request.user, person, now=timezone.now())
    grants = list(selectors.grants_of(request.user, person))
    context: dict[str, Any] = {
        "practitioner": person,
        "credentials": person.credentials.select_related("verified_by"),
        "grant_rows": [{"grant": grant, "special": specials.get(grant.pk)} for grant in grants],
        "appointments": person.appointments.all(),
        "fppes": person.fppes.select_related("grant__item"),
        "requests": person.privilege_requests.prefetch_related("items"),
        "oppe_profiles": list(selectors.oppe_profiles_visible_to(request.user).filter(practitioner=person))
        if request.user.has_perm("staff.manage_staff")
        or request.user.has_perm("staff.decide_oppe")
        or request.user.has_perm("staff.decide_privileges")
        else [],
        "lapse_reasons": services.credential_lapse_reasons(person, today),
        "holds_disaster_privileges": any(
            grant.kind == GrantKind.DISASTER and grant.status == GrantStatus.ACTIVE for grant in grants
        ),
        "blockers": services.decision_blockers(person, decision_on=today),
        "credential_form": CredentialForm(),
        "can_manage": request.user.has_perm("staff.manage_staff"),
    }
    builders: dict[str, Callable[[], exports.ExportTable]] = {
        "credentials": lambda: credentials_table(person, context["credentials"]),
        "privileges": lambda: grants_table(person, context["grant_rows"]),
        "appointments": lambda: appointments_table(person, context["appointments"]),
        "fppes": lambda: practitioner_fppes_table(person, context["fppes"]),
    }
    if context["oppe_profiles"]:
        # Only those who see the OPPE history on the page have it as a table to export.
        builders["oppe"] = lambda: practitioner_oppe_table(person, context["oppe_profiles"])
    export = exports.export_one_of_if_requested(request, builders)
    if export is not None:
        return export
    return render(request, "staff/practitioner.html", context)


def _slug(person: Any) -> str:
    return f"practitioner-{person.pk}"


def credentials_table(person: Any, credentials: Any) -> exports.ExportTable:
    def verified(credential: Any) -> str:
        text = str(credential.verified_on or "not verified")
        if credential.verified_by:
            text += f" by {credential.verified_by}"
        if credential.verification_source:
            text += f" ({credential.verification_source})"
        return text

    rows = (
        (
            credential.get_kind_display(),
            credential.issuer,
            f"{credential.number} {credential.state}".strip(),
            credential.issued_on,
            credential.expires_on,
            verified(credential),
            credential.get_result_display(),
            credential.get_status_display(),
        )
        for credential in credentials
    )
    return exports.ExportTable(
        f"{_slug(person)}-credentials",
        ("Credential", "Issuer", "Number", "Issued", "Expires", "Verified", "Result", "Status"),
        rows,
        "Credentials",
        object_type="staff.credential",
    )


def grant_kind_text(grant: Any) -> str:
    text = str(grant.get_kind_display())
    if grant.temporary_reason:
        text += f" ({grant.get_temporary_reason_display()})"
    if grant.activation:
        text += f" under “{grant.activation}”"
    return text


def deadlines_text(special: selectors.SpecialGrant | None) -> str:
    """The clocks of a temporary or disaster grant as the page's Deadlines column states them, as plain text."""
    if special is None:
        return ""
    grant = special.grant
    if not special.is_disaster:
        return (
            "" if special.days_left is None else f"{special.days_left} day{'s' if special.days_left != 1 else ''} left"
        )
    if grant.licence_verified_at:
        verification = (
            f"verified {_moment(grant.licence_verified_at)} {grant.get_licence_verification_result_display()}, "
            f"{grant.licence_verification_source}"
            + (f", by {grant.licence_verified_by}" if grant.licence_verified_by else "")
        )
    else:
        verification = _pending(special.verification_overdue, special.is_open, special.verification_hours_left)
    if grant.continuation_decided_at:
        continuation = (
            f"{grant.get_continuation_decision_display() or 'decided'} {_moment(grant.continuation_decided_at)}"
        )
        if grant.continuation_decided_by:
            continuation += f" by {grant.continuation_decided_by}"
        if grant.continuation_reason:
            continuation += f": {grant.continuation_reason}"
    else:
        continuation = _pending(special.continuation_overdue, special.is_open, special.continuation_hours_left)
    return (
        f"Licence verification due {_moment(grant.licence_verification_due_at)}: {verification}; "
        f"Continuation decision due {_moment(grant.continuation_due_at)}: {continuation}"
    )


def _pending(overdue: bool, is_open: bool, hours_left: int | None) -> str:
    if overdue:
        return "overdue"
    return f"{hours_left} h left" if is_open else "not recorded"


def grants_table(person: Any, grant_rows: list[dict[str, Any]]) -> exports.ExportTable:
    rows = (
        (
            row["grant"].item.name,
            grant_kind_text(row["grant"]),
            row["grant"].starts_on,
            row["grant"].ends_on,
            row["grant"].get_status_display(),
            deadlines_text(row["special"]),
        )
        for row in grant_rows
    )
    return exports.ExportTable(
        f"{_slug(person)}-privileges",
        ("Privilege", "Kind", "From", "To", "Status", "Deadlines"),
        rows,
        "Privileges",
        object_type="staff.privilegegrant",
    )


def appointments_table(person: Any, appointments: Any) -> exports.ExportTable:
    rows = (
        (
            appointment.get_category_display(),
            appointment.starts_on,
            appointment.ends_on,
            appointment.reappointment_due_on,
        )
        for appointment in appointments
    )
    return exports.ExportTable(
        f"{_slug(person)}-appointments",
        ("Category", "From", "To", "Reappointment due"),
        rows,
        "Appointments",
        object_type="staff.appointment",
    )


def practitioner_oppe_table(person: Any, profiles: list[Any]) -> exports.ExportTable:
    rows = (
        (
            profile.period_start,
            profile.period_end,
            profile.get_status_display(),
            "flagged" if profile.is_flagged else "",
        )
        for profile in profiles
    )
    return exports.ExportTable(
        f"{_slug(person)}-oppe",
        ("Period from", "Period to", "Status", "Flag"),
        rows,
        "OPPE",
        object_type="staff.oppeprofile",
    )


def practitioner_fppes_table(person: Any, fppes: Any) -> exports.ExportTable:
    rows = (
        (
            fppe.get_trigger_display(),
            fppe.grant.item.name if fppe.grant else "",
            fppe.get_method_display(),
            fppe.starts_on,
            fppe.ends_on,
            fppe.get_status_display(),
        )
        for fppe in fppes
    )
    return exports.ExportTable(
        f"{_slug(person)}-fppes",
        ("Trigger", "Privilege", "Method", "From", "To", "Status"),
        rows,
        "FPPE",
        object_type="staff.fppe",
    )


@require_POST
def add_credential(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    form = CredentialForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.do_add_credential(
                person,
                kind=data["kind"],
                issuer=data["issuer"],
                number=data["number"],
                state=data["state"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                result=data["result"],
                verified_on=data["verified_on"],
                verification_source=data["verification_source"],
                source_document=data["source_document"],
                actor=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Credential recorded.")
            return redirect("staff:practitioner", person.pk)
    context = {"practitioner": person, "credential_form": form}
    return render(request, "staff/credential_form.html", context, status=400)


class NppesImportForm(forms.Form):
    header_file = forms.FileField(label="NPPES header file (…_fileheader.csv)")
    data_file = forms.FileField(label="NPPES data file (npidata_pfile_….csv)")
    department: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.departments_visible_to(user)  # type: ignore[attr-defined]


def _read_upload(upload: Any) -> str:
    raw = upload.read()
    try:
        return str(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise nppes.NppesFileError(f"{upload.name}: not UTF-8 text") from None


@require_http_methods(["GET", "POST"])
def import_nppes(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("staff.manage_staff"):
        raise PermissionDenied
    form = NppesImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        header, data = form.cleaned_data["header_file"], form.cleaned_data["data_file"]
        try:
            report = services.do_import_nppes(
                header_text=_read_upload(header),
                data_text=_read_upload(data),
                header_name=header.name,
                data_name=data.name,
                department=form.cleaned_data["department"],
                actor=request.user,
            )
        except nppes.NppesFileError as error:
            form.add_error(None, f"Nothing was imported: {error}")
        else:
            messages.success(request, f"NPPES import: {report}.")
            return redirect("staff:home")
    return render(request, "staff/import.html", {"form": form}, status=400 if form.errors else 200)


def expirables(request: HttpRequest) -> HttpResponseBase:
    today = timezone.localdate()
    policy = services.policy_for()
    rows = selectors.expirables_visible_to(request.user, today=today, warning_days=tuple(policy.expiry_warning_days))
    export = exports.export_if_requested(request, lambda: expirables_table(rows, today))
    if export is not None:
        return export
    return render(
        request, "staff/expirables.html", {"rows": rows, "today": today, "windows": sorted(policy.expiry_warning_days)}
    )


def expirables_table(rows: list[selectors.Expirable], today: Any) -> exports.ExportTable:
    cells = (
        (
            str(row.practitioner),
            row.kind_label + (f" {row.credential.number}" if row.credential and row.credential.number else ""),
            row.bucket,
            row.expires_on,
            f"≤ {row.window_days} days" if row.window_days else "",
        )
        for row in rows
    )
    return exports.ExportTable(
        f"expirables-{today.isoformat()}",
        ("Practitioner", "Credential", "State", "Expires", "Window"),
        cells,
        "Expirables",
        object_type="staff.credential",
    )


def requests(request: HttpRequest) -> HttpResponseBase:
    pending = selectors.privilege_requests_visible_to(request.user, pending_only=True)
    export = exports.export_if_requested(request, lambda: privilege_requests_table(pending))
    if export is not None:
        return export
    return render(request, "staff/requests.html", {"requests": pending})


def privilege_requests_table(pending: Any) -> exports.ExportTable:
    rows = (
        (
            str(record.practitioner),
            record.get_kind_display(),
            record.submitted_on,
            ", ".join(item.name for item in record.items.all()),
            record.get_status_display(),
        )
        for record in pending
    )
    return exports.ExportTable(
        "pending-privilege-requests",
        ("Practitioner", "Kind", "Submitted", "Privileges", "Awaiting"),
        rows,
        "Pending privilege requests",
        object_type="staff.privilegerequest",
    )


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=StepOutcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


@require_http_methods(["GET", "POST"])
def privilege_request(request: HttpRequest, request_id: int) -> HttpResponse:
    record = selectors.access_privilege_request_by_id(request.user, request_id)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and record.next_step:
        try:
            services.do_review_privilege_request(
                record,
                step=record.next_step,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("staff:request", record.pk)
    step = ReviewStep(record.next_step).label if record.next_step else None
    return render(
        request,
        "staff/request.html",
        {
            "record": record,
            "form": form,
            "step": step,
            "blockers": services.decision_blockers(
                record.practitioner, decision_on=timezone.localdate(), reappointment=record.kind == "reappointment"
            ),
        },
        status=400 if form.errors else 200,
    )


def oppe_list(request: HttpRequest) -> HttpResponseBase:
    profiles = selectors.oppe_profiles_visible_to(request.user)
    export = exports.export_if_requested(request, lambda: oppe_profiles_table(profiles))
    if export is not None:
        return export
    return render(request, "staff/oppe_list.html", {"profiles": profiles})


def oppe_profiles_table(profiles: Any) -> exports.ExportTable:
    rows = (
        (
            str(profile.practitioner),
            str(profile.department),
            profile.period_start,
            profile.period_end,
            "outside the funnel" if profile.is_flagged else "",
            profile.get_status_display() + (f": {profile.get_decision_display()}" if profile.decision else ""),
        )
        for profile in profiles
    )
    return exports.ExportTable(
        "oppe-profiles",
        ("Practitioner", "Department", "Period from", "Period to", "Flag", "Status"),
        rows,
        "OPPE",
        object_type="staff.oppeprofile",
    )


@require_http_methods(["GET", "POST"])
def oppe_due(request: HttpRequest) -> HttpResponseBase:
    """Practitioners due for OPPE; the office queues the run (it evaluates measures, so it never blocks a page)."""
    due = selectors.practitioners_due_for_oppe(request.user, today=timezone.localdate())
    if request.method == "GET":
        export = exports.export_if_requested(request, lambda: oppe_due_table(due))
        if export is not None:
            return export
    if request.method == "POST":
        if not request.user.has_perm("staff.manage_staff"):
            raise PermissionDenied
        from medgov.governance.staff.tasks import record_due_oppe

        record_due_oppe.enqueue()
        messages.success(request, "OPPE run queued: profiles appear on the OPPE page when it finishes.")
        return redirect("staff:oppe_due")
    return render(request, "staff/oppe_due.html", {"due": due})


def oppe_due_table(due: list[selectors.OppeDue]) -> exports.ExportTable:
    rows = (
        (
            str(row.practitioner),
            str(row.practitioner.department),
            row.first_granted_on,
            row.last_period_end or "never",
            row.due_on,
        )
        for row in due
    )
    return exports.ExportTable(
        "due-for-oppe",
        ("Practitioner", "Department", "First granted", "Last OPPE period ended", "Due"),
        rows,
        "Due for OPPE",
        object_type="staff.practitioner",
    )


def fppe_list(request: HttpRequest) -> HttpResponseBase:
    status = request.GET.get("status", "")
    fppes = selectors.fppes_visible_to(request.user)
    if status in FppeStatus.values:
        fppes = fppes.filter(status=status)
    export = exports.export_if_requested(request, lambda: fppes_table(fppes))
    if export is not None:
        return export
    context = {
        "fppes": fppes,
        "status": status,
        "statuses": FppeStatus.choices,
        "querystring": exports.querystring_of(request),
    }
    return render(request, "staff/fppes.html", context)


def fppes_table(fppes: Any) -> exports.ExportTable:
    rows = (
        (
            str(record.practitioner),
            record.get_trigger_display(),
            record.grant.item.name if record.grant else "",
            record.get_method_display(),
            record.starts_on,
            record.ends_on,
            record.get_status_display(),
        )
        for record in fppes
    )
    return exports.ExportTable(
        "fppes",
        ("Practitioner", "Trigger", "Privilege", "Method", "From", "To", "Status"),
        rows,
        "FPPE",
        object_type="staff.fppe",
    )


class OppeDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=OppeDecision.choices)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


@require_http_methods(["GET", "POST"])
def oppe_profile(request: HttpRequest, profile_id: int) -> HttpResponseBase:
    profile = selectors.access_oppe_profile_by_id(request.user, profile_id)
    form = OppeDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_decide_oppe(profile, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "OPPE decision recorded.")
            return redirect("staff:oppe_profile", profile.pk)
    export = exports.export_if_requested(request, lambda: oppe_indicators_table(profile))
    if export is not None:
        return export
    funnels = [
        {
            "id": f"funnel-{indicator.pk}",
            "data_id": f"funnel-{indicator.pk}-data",
            "name": indicator.name,
            "data": indicator.funnel,
        }
        for indicator in profile.indicators.all()
        if indicator.funnel
    ]
    return render(
        request,
        "staff/oppe_profile.html",
        {"profile": profile, "form": form, "funnels": funnels},
        status=400 if form.errors else 200,
    )


def _interval(lower: float | None, upper: float | None) -> str:
    return "" if lower is None or upper is None else f"{lower:.2f}\u2013{upper:.2f}"


def oppe_indicators_table(profile: Any) -> exports.ExportTable:
    rows = (
        (
            indicator.name,
            indicator.cases,
            indicator.observed,
            indicator.expected,
            indicator.value,
            _interval(indicator.lower, indicator.upper),
            indicator.department_value,
            _interval(indicator.funnel_lower, indicator.funnel_upper),
            indicator.get_position_display(),
        )
        for indicator in profile.indicators.all()
    )
    return exports.ExportTable(
        f"oppe-{profile.pk}-indicators",
        (
            "Indicator",
            "Cases",
            "Observed",
            "Expected",
            "Value",
            "95% interval",
            "Department",
            "Funnel limits",
            "Position",
        ),
        rows,
        "OPPE indicators",
        object_type="staff.oppeindicator",
    )


def peer_review_list(request: HttpRequest) -> HttpResponseBase:
    try:
        cases = selectors.peer_review_cases_visible_to(request.user)
    except PermissionDenied:
        raise Http404 from None
    export = exports.export_if_requested(request, lambda: peer_review_table(cases))
    if export is not None:
        return export
    return render(request, "staff/peer_review_list.html", {"cases": cases})


def peer_review_table(cases: Any) -> exports.ExportTable:
    rows = (
        (
            str(case),
            str(case.practitioner),
            case.referred_on,
            case.get_referral_source_display(),
            str(case.reviewer) if case.reviewer else "unassigned",
            case.get_status_display() + (f": {case.get_determination_display()}" if case.determination else ""),
        )
        for case in cases
    )
    return exports.ExportTable(
        "peer-review-cases",
        ("Case", "Practitioner", "Referred", "Source", "Reviewer", "Status"),
        rows,
        "Peer review",
        object_type="staff.peerreviewcase",
    )


class RatingForm(forms.Form):
    care = forms.ChoiceField(choices=CareRating.choices, label="Care")
    outcome = forms.ChoiceField(choices=OutcomeRating.choices, label="Outcome")
    documentation = forms.ChoiceField(choices=DocumentationRating.choices, label="Documentation")
    comments = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class DeterminationForm(forms.Form):
    determination = forms.ChoiceField(choices=PeerReviewDetermination.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


@require_http_methods(["GET", "POST"])
def peer_review_case(request: HttpRequest, case_id: int) -> HttpResponseBase:
    case = selectors.access_peer_review_case_by_id(request.user, case_id)
    rating_form = RatingForm(request.POST if "care" in request.POST else None)
    determination_form = DeterminationForm(request.POST if "determination" in request.POST else None)
    reviewer_form = forms_staff.ReviewerForm(
        request.POST if "reviewer" in request.POST else None, user=request.user, initial={"reviewer": case.reviewer}
    )
    if reviewer_form.is_bound and reviewer_form.is_valid():
        try:
            services.do_assign_peer_reviewer(case, reviewer_form.cleaned_data["reviewer"], actor=request.user)
        except ValidationError as error:
            _add_errors(reviewer_form, error)
        else:
            messages.success(request, f"{reviewer_form.cleaned_data['reviewer']} is assigned as reviewer.")
            return redirect("staff:peer_review_case", case.pk)
    try:
        if rating_form.is_bound and rating_form.is_valid():
            services.do_rate_peer_review(case, actor=request.user, **rating_form.cleaned_data)
            return redirect("staff:peer_review_case", case.pk)
        if determination_form.is_bound and determination_form.is_valid():
            services.do_determine_peer_review(case, actor=request.user, **determination_form.cleaned_data)
            return redirect("staff:peer_review_case", case.pk)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    export = exports.export_if_requested(request, lambda: peer_review_ratings_table(case))
    if export is not None:
        return export
    return render(
        request,
        "staff/peer_review_case.html",
        {
            "case": case,
            "rating_form": rating_form,
            "determination_form": determination_form,
            "reviewer_form": reviewer_form,
            "is_reviewer": case.reviewer_id == request.user.pk,
        },
        status=400 if reviewer_form.errors else 200,
    )


def peer_review_ratings_table(case: Any) -> exports.ExportTable:
    rows = (
        (
            str(rating.reviewer),
            rating.get_care_display(),
            rating.get_outcome_display(),
            rating.get_documentation_display(),
            rating.comments,
        )
        for rating in case.ratings.all()
    )
    return exports.ExportTable(
        f"peer-review-case-{case.pk}-ratings",
        ("Reviewer", "Care", "Outcome", "Documentation", "Comments"),
        rows,
        "Peer review ratings",
        object_type="staff.peerreviewrating",
    )


# --- actions of the office, the committees and the chiefs -------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    """The POST data of a POST (an empty one too, so a form with nothing filled in reports what is missing)."""
    return request.POST if request.method == "POST" else None


def _require_any_perm(user: Any, *permissions: str) -> None:
    if not any(user.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def _action(
    request: HttpRequest,
    form: forms.Form,
    write: Callable[[dict[str, Any]], Any],
    *,
    title: str,
    submit: str,
    success: str | Callable[[Any], str],
    done: str,
    intro: str = "",
    back: str = "",
    multipart: bool = False,
) -> HttpResponse:
    """Render ``form`` on the action page; on a valid POST call ``write`` (one service) and go to ``done``.

    A service's ValidationError lands on the form and nothing is stored; the page answers 400."""
    if request.method == "POST" and form.is_valid():
        try:
            result = write(form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return redirect(done)
    context = {"form": form, "title": title, "submit": submit, "intro": intro, "back": back, "multipart": multipart}
    return render(request, "staff/action.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def submit_request(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    _require_any_perm(request.user, "staff.manage_staff")
    form = forms_staff.PrivilegeRequestForm(_posted(request), user=request.user)
    return _action(
        request,
        form,
        lambda data: services.do_submit_privilege_request(person, actor=request.user, **data),
        title=f"Privilege request for {person}",
        submit="Submit request",
        success="Privilege request submitted: it awaits the department chief's recommendation.",
        done=reverse("staff:practitioner", args=[person.pk]),
        back=reverse("staff:practitioner", args=[person.pk]),
    )


@require_POST
def mark_request_complete(request: HttpRequest, request_id: int) -> HttpResponse:
    record = selectors.access_privilege_request_by_id(request.user, request_id)
    _require_any_perm(request.user, "staff.manage_staff")
    services.do_mark_request_complete(record, actor=request.user)
    messages.success(request, "The application is marked complete.")
    return redirect("staff:request", record.pk)


@require_http_methods(["GET", "POST"])
def temporary_privileges(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    _require_any_perm(request.user, "staff.decide_privileges")
    form = forms_staff.TemporaryPrivilegesForm(_posted(request), user=request.user)
    return _action(
        request,
        form,
        lambda data: services.do_grant_temporary_privileges(person, actor=request.user, **data),
        title=f"Temporary privileges for {person}",
        intro="Temporary privileges are granted for one of two reasons only, for at most 120 days.",
        submit="Grant temporary privileges",
        success="Temporary privileges granted.",
        done=reverse("staff:practitioner", args=[person.pk]),
        back=reverse("staff:practitioner", args=[person.pk]),
    )


@require_http_methods(["GET", "POST"])
def disaster_privileges(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    _require_any_perm(request.user, "staff.decide_privileges")
    activation = open_activations().order_by("-activated_at").first()
    form = forms_staff.DisasterPrivilegesForm(
        _posted(request), user=request.user, initial={"presented_at": timezone.localtime().replace(second=0)}
    )
    intro = (
        f"Under the open activation “{activation}”. Verify the licence and decide on continuation within 72 hours."
        if activation is not None
        else "No emergency operations plan activation is open: disaster privileges cannot be granted."
    )
    return _action(
        request,
        form,
        lambda data: services.do_grant_disaster_privileges(person, actor=request.user, **data),
        title=f"Disaster privileges for {person}",
        intro=intro,
        submit="Grant disaster privileges",
        success="Disaster privileges granted.",
        done=reverse("staff:practitioner", args=[person.pk]),
        back=reverse("staff:practitioner", args=[person.pk]),
    )


def _moment(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _clock(due: Any, now: Any) -> str:
    if now > due:
        return f"{_moment(due)}, overdue by {int((now - due).total_seconds() // 3600)} h"
    return f"{_moment(due)}, {int((due - now).total_seconds() // 3600)} h left"


@require_http_methods(["GET", "POST"])
def licence_verification(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = selectors.access_grant_by_id(request.user, grant_id)
    _require_any_perm(request.user, "staff.manage_staff")
    if grant.kind != GrantKind.DISASTER or grant.licence_verification_due_at is None:
        raise Http404
    form = forms_staff.LicenceVerificationForm(
        _posted(request),
        user=request.user,
        initial={"verified_by": request.user, "verified_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    now = timezone.now()
    intro = (
        f"{grant.practitioner} presented at {_moment(grant.presented_at)} under “{grant.activation}”. "
        f"Licence verification due {_clock(grant.licence_verification_due_at, now)}. "
        "A licence the primary source does not confirm ends the disaster privileges."
    )
    return _action(
        request,
        form,
        lambda data: services.do_record_disaster_verification(grant, actor=request.user, **data),
        title=f"Licence verification: {grant}",
        intro=intro,
        submit="Record licence verification",
        success="Licence verification recorded.",
        done=reverse("staff:practitioner", args=[grant.practitioner_id]),
        back=reverse("staff:practitioner", args=[grant.practitioner_id]),
    )


@require_http_methods(["GET", "POST"])
def continuation(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = selectors.access_grant_by_id(request.user, grant_id)
    _require_any_perm(request.user, "staff.decide_privileges")
    if grant.kind != GrantKind.DISASTER or grant.continuation_due_at is None:
        raise Http404
    form = forms_staff.ContinuationForm(
        _posted(request), initial={"decided_at": timezone.localtime().replace(second=0, microsecond=0)}
    )
    now = timezone.now()
    verified = (
        f"Licence verified {_moment(grant.licence_verified_at)} ({grant.get_licence_verification_result_display()})."
        if grant.licence_verified_at
        else "The licence is not verified yet: the privileges can only be ended."
    )
    intro = (
        f"{grant.practitioner} arrived at {_moment(grant.presented_at)} under “{grant.activation}”. {verified} "
        f"Continuation decision due {_clock(grant.continuation_due_at, now)}."
    )
    return _action(
        request,
        form,
        lambda data: services.do_decide_disaster_continuation(grant, actor=request.user, **data),
        title=f"Continuation of disaster privileges: {grant}",
        intro=intro,
        submit="Record decision",
        success="Continuation decision recorded.",
        done=reverse("staff:practitioner", args=[grant.practitioner_id]),
        back=reverse("staff:practitioner", args=[grant.practitioner_id]),
    )


def special_privileges(request: HttpRequest) -> HttpResponseBase:
    """Active disaster and temporary privileges with their deadlines, the most pressing first."""
    now = timezone.now()
    rows = selectors.open_special_grants_visible_to(request.user, now=now)
    export = exports.export_if_requested(request, lambda: special_grants_table(rows))
    if export is not None:
        return export
    return render(
        request,
        "staff/special_privileges.html",
        {"rows": rows, "activations": list(open_activations()), "now": now},
    )


def special_grants_table(special_rows: list[selectors.SpecialGrant]) -> exports.ExportTable:
    def kind(grant: Any) -> str:
        text = grant_kind_text(grant)
        return text + (f", presented {_moment(grant.presented_at)}" if grant.activation and grant.presented_at else "")

    rows = (
        (
            str(row.grant.practitioner),
            row.grant.item.name,
            kind(row.grant),
            row.grant.starts_on,
            row.grant.ends_on,
            deadlines_text(row),
        )
        for row in special_rows
    )
    return exports.ExportTable(
        "special-privileges",
        ("Practitioner", "Privilege", "Kind", "From", "Until", "Deadlines"),
        rows,
        "Special privileges",
        object_type="staff.privilegegrant",
    )


@require_http_methods(["GET", "POST"])
def safety_event_fppe(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    _require_any_perm(request.user, "staff.decide_oppe", "staff.decide_privileges")
    form = forms_staff.SafetyEventFppeForm(_posted(request), initial={"starts_on": timezone.localdate()})
    return _action(
        request,
        form,
        lambda data: services.do_open_for_cause_fppe(
            person, trigger=FppeTrigger.FOR_CAUSE_SAFETY_EVENT, actor=request.user, **data
        ),
        title=f"For-cause FPPE for {person} after a safety event",
        submit="Open FPPE",
        success="For-cause FPPE opened.",
        done=reverse("staff:practitioner", args=[person.pk]),
        back=reverse("staff:practitioner", args=[person.pk]),
    )


@require_http_methods(["GET", "POST"])
def oppe_fppe(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = selectors.access_oppe_profile_by_id(request.user, profile_id)
    _require_any_perm(request.user, "staff.decide_oppe", "staff.decide_privileges")
    form = forms_staff.ForCauseFppeForm(
        _posted(request),
        initial={"starts_on": timezone.localdate(), "criteria": f"Indicators flagged in {profile}"},
    )
    return _action(
        request,
        form,
        lambda data: services.do_open_for_cause_fppe(
            profile.practitioner, trigger=FppeTrigger.FOR_CAUSE_OPPE, oppe=profile, actor=request.user, **data
        ),
        title=f"For-cause FPPE from {profile}",
        submit="Open FPPE",
        success="For-cause FPPE opened.",
        done=reverse("staff:oppe_profile", args=[profile.pk]),
        back=reverse("staff:oppe_profile", args=[profile.pk]),
    )


@require_http_methods(["GET", "POST"])
def fppe(request: HttpRequest, fppe_id: int) -> HttpResponse:
    record = selectors.access_fppe_by_id(request.user, fppe_id)
    may_conclude = request.user.has_perm("staff.decide_oppe") or request.user.has_perm("staff.decide_privileges")
    if request.method == "POST" and not may_conclude:
        raise PermissionDenied
    form = forms_staff.FppeConclusionForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.do_conclude_fppe(record, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "FPPE concluded.")
            return redirect("staff:fppe", record.pk)
    context = {
        "fppe": record,
        "form": form,
        "may_conclude": may_conclude and record.can_conclude(),
        "safety_event": selectors.fppe_safety_event_for(request.user, record),
    }
    return render(request, "staff/fppe.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def refer_peer_review(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    person = selectors.access_practitioner_by_id(request.user, practitioner_id)
    _require_any_perm(request.user, "staff.manage_staff", "staff.view_peer_review")
    form = forms_staff.PeerReviewReferralForm(_posted(request))
    return _action(
        request,
        form,
        lambda data: services.do_refer_peer_review(person, actor=request.user, **data),
        title=f"Refer {person} for peer review",
        intro="The file is privileged: once referred, only the peer-review committee and the CMO can read it.",
        submit="Refer",
        success="Referred to the peer-review committee.",
        done=reverse("staff:practitioner", args=[person.pk]),
        back=reverse("staff:practitioner", args=[person.pk]),
    )


@require_http_methods(["GET", "POST"])
def peer_review_committee(request: HttpRequest) -> HttpResponseBase:
    try:
        members = list(selectors.peer_review_committee(request.user))
        form = forms_staff.CommitteeAppointmentForm(_posted(request), user=request.user)
    except PermissionDenied:
        raise Http404 from None
    if request.method == "GET":
        export = exports.export_if_requested(request, lambda: committee_table(members))
        if export is not None:
            return export
    if request.method == "POST" and form.is_valid():
        member = form.cleaned_data["member"]
        services.do_appoint_peer_review_member(member, actor=request.user)
        messages.success(request, f"{member} is appointed to the peer-review committee.")
        return redirect("staff:peer_review_committee")
    return render(
        request,
        "staff/peer_review_committee.html",
        {"members": members, "form": form},
        status=400 if form.errors else 200,
    )


def committee_table(members: list[Any]) -> exports.ExportTable:
    return exports.ExportTable(
        "peer-review-committee",
        ("Member",),
        ((str(member),) for member in members),
        "Peer-review committee",
        object_type="accounts.user",
    )


@require_http_methods(["GET", "POST"])
def verify_credential(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = selectors.access_credential_by_id(request.user, credential_id)
    _require_any_perm(request.user, "staff.manage_staff")
    form = forms_staff.VerificationForm(
        _posted(request),
        request.FILES if request.method == "POST" else None,
        initial={"verified_on": timezone.localdate(), "verification_source": credential.verification_source},
    )
    return _action(
        request,
        form,
        lambda data: services.do_verify_credential(credential, actor=request.user, **data),
        title=f"Verify {credential}",
        intro=(
            f"Last verified {credential.verified_on.isoformat()} ({credential.get_result_display()})."
            if credential.verified_on
            else "Not verified yet."
        ),
        submit="Record verification",
        success="Verification recorded.",
        done=reverse("staff:practitioner", args=[credential.practitioner_id]),
        back=reverse("staff:practitioner", args=[credential.practitioner_id]),
        multipart=True,
    )


@require_http_methods(["GET", "POST"])
def import_warehouse(request: HttpRequest) -> HttpResponse:
    _require_any_perm(request.user, "staff.manage_staff")
    form = forms.Form(_posted(request))
    return _action(
        request,
        form,
        lambda _: services.do_import_practitioners_from_warehouse(Path(settings.MEDGOV_WAREHOUSE), actor=request.user),
        title="Import practitioners from the warehouse",
        intro=(
            "Links practitioners on file to the clinical warehouse by NPI and adds those not on file; "
            "an invalid NPI anywhere imports nothing."
        ),
        submit="Import from the warehouse",
        success=lambda report: f"Warehouse import: {report}.",
        done=reverse("staff:home"),
        back=reverse("staff:home"),
    )
