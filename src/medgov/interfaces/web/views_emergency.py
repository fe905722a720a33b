"""Emergency operations plan activations: open and close them (disaster privileges exist only while one is open)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medgov.governance.emergency import selectors, services
from medgov.governance.staff import selectors as staff_selectors
from medgov.governance.staff.selectors import SpecialGrant
from medgov.interfaces.web import exports
from medgov.interfaces.web.forms_safety import add_service_errors


class ActivationForm(forms.Form):
    title = forms.CharField(max_length=200, label="Activation title (incident)")


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponseBase:
    activations = selectors.activations_visible_to(request.user)
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            activation = services.do_open_activation(title=form.cleaned_data["title"], actor=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Activation “{activation}” is open.")
            return redirect("emergency:home")
    grants = _disaster_grants_by_activation(request)
    context: dict[str, Any] = {
        "activation_rows": [(activation, grants.get(activation.pk, [])) for activation in activations],
        "form": form,
        "may_view_staff": request.user.has_perm("staff.view_staff"),
    }
    if not form.is_bound:
        export = exports.export_if_requested(
            request, lambda: activations_table(context["activation_rows"], context["may_view_staff"])
        )
        if export is not None:
            return export
    return render(request, "emergency/home.html", context, status=400 if form.errors else 200)


def _volunteer(row: SpecialGrant) -> str:
    text = f"{row.grant.practitioner} ({row.grant.item.name})"
    if row.verification_overdue or row.continuation_overdue:
        return text + " overdue"
    if not row.grant.licence_verified_at:
        return text + " licence to verify"
    if not row.grant.continuation_decided_at:
        return text + " continuation to decide"
    return text


def activations_table(
    activation_rows: list[tuple[Any, list[SpecialGrant]]], may_view_staff: bool
) -> exports.ExportTable:
    """The activations as the page lists them; the volunteers under each only for readers of medical staff files."""

    def cells() -> Any:
        for activation, grants in activation_rows:
            row: list[exports.Cell] = [
                str(activation),
                timezone.localtime(activation.activated_at),
                str(activation.activated_by) if activation.activated_by else "system",
                timezone.localtime(activation.closed_at) if activation.closed_at else "open",
            ]
            if may_view_staff:
                volunteers = "; ".join(_volunteer(grant) for grant in grants)
                row.append(volunteers or ("" if activation.closed_at else "none active"))
            yield row

    headers = ("Activation", "Opened", "By", "Closed", *(("Disaster privileges",) if may_view_staff else ()))
    return exports.ExportTable(
        "emergency-activations", headers, cells(), "Activations", object_type="emergency.activation"
    )


def _disaster_grants_by_activation(request: HttpRequest) -> dict[int, list[SpecialGrant]]:
    """The active disaster privileges under each activation, for readers of medical staff files."""
    if not request.user.has_perm("staff.view_staff"):
        return {}
    grouped: dict[int, list[SpecialGrant]] = {}
    for row in staff_selectors.open_special_grants_visible_to(request.user, now=timezone.now()):
        if row.grant.activation_id is not None:
            grouped.setdefault(row.grant.activation_id, []).append(row)
    return grouped


@require_POST
def close(request: HttpRequest, activation_id: int) -> HttpResponse:
    activation = selectors.access_activation_by_id(request.user, activation_id)
    try:
        services.do_close_activation(activation, actor=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, f"Activation “{activation}” is closed; disaster privileges under it end.")
    return redirect("emergency:home")
