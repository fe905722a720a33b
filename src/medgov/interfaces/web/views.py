from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from medgov.governance.accounts import selectors as account_selectors
from medgov.governance.accounts import services as account_services
from medgov.governance.accounts.choices import Role
from medgov.governance.accounts.models import User
from medgov.governance.core.models import AuditEvent
from medgov.governance.core.selectors import AuditFilter, audit_events_visible_to
from medgov.interfaces.web import exports


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    from medgov.interfaces.web.home import home_context

    return render(request, "web/home.html", home_context(request.user))


class AuditFilterForm(forms.Form):
    text = forms.CharField(required=False, label="Record or action contains")
    action = forms.CharField(required=False, label="Action")
    object_type = forms.CharField(required=False, label="Record type")
    actor = forms.CharField(required=False, label="Actor (user name)")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


def _audit_filter(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilter]:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, AuditFilter(
            text=data["text"],
            action=data["action"],
            object_type=data["object_type"],
            actor=data["actor"],
            since=data["since"],
            until=data["until"],
        )
    return form, AuditFilter()


@require_safe
def audit_trail(request: HttpRequest) -> HttpResponseBase:
    form, query = _audit_filter(request)
    events = audit_events_visible_to(request.user, query)
    export = exports.export_if_requested(request, lambda: audit_table(events))
    if export is not None:
        return export
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    querystring.pop("format", None)
    return render(request, "web/audit_trail.html", {"form": form, "page": page, "querystring": querystring.urlencode()})


def audit_table(events: QuerySet[AuditEvent]) -> exports.ExportTable:
    def cells() -> Iterator[tuple[exports.Cell, ...]]:
        for event in events.iterator(chunk_size=2000):
            yield (
                event.occurred_at.isoformat(),
                event.actor_label,
                event.action,
                event.object_type,
                event.object_id,
                event.object_repr,
                _json(event.before),
                _json(event.after),
                event.request_id,
                "yes" if event.is_read else "no",
            )

    return exports.ExportTable(
        "audit-trail",
        (
            "occurred_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object",
            "before",
            "after",
            "request_id",
            "read",
        ),
        cells(),
        "Audit trail",
        object_type="core.auditevent",
    )


@require_safe
def audit_trail_csv(request: HttpRequest) -> HttpResponseBase:
    _, query = _audit_filter(request)
    return exports.audited_export_response(request, audit_table(audit_events_visible_to(request.user, query)), "csv")


def _json(value: object) -> str:
    import json

    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


class CreateUserForm(forms.Form):
    username = forms.CharField(max_length=150)
    display_name = forms.CharField(max_length=150, required=False, label="Full name")
    email = forms.EmailField(required=False)
    department = forms.CharField(max_length=100, required=False)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 12 characters, not a common password.")
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)


class UserRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False)


@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    people = account_selectors.users_visible_to(request.user)  # type: ignore[arg-type]
    form = CreateUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_services.do_create_user(
                username=data["username"],
                password=data["password"],
                roles=[Role(value) for value in data["roles"]],
                email=data["email"],
                display_name=data["display_name"],
                department=data["department"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                form.add_error("password", error.messages)
        else:
            messages.success(request, f"User {data['username']} created.")
            return redirect("web:users")
    return render(request, "web/users.html", {"people": people, "form": form, "roles": Role})


@require_POST
def user_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    person = account_selectors.access_user_by_id(request.user, user_id)  # type: ignore[arg-type]
    form = UserRolesForm(request.POST)
    if not form.is_valid():
        raise PermissionDenied
    actor = request.user
    assert isinstance(actor, User)
    account_services.do_set_user_roles(person, [Role(value) for value in form.cleaned_data["roles"]], actor=actor)
    messages.success(request, f"Roles of {person.username} updated.")
    return redirect("web:users")
