"""Safety pages: report, follow up, triage, RCA workspace, actions and trends. Thin: parse, authorise through
the safety selectors, call one service, render."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medgov.governance.accounts.models import User
from medgov.governance.safety import selectors, services
from medgov.governance.safety.choices import ActionStrength, EventStatus
from medgov.governance.safety.selectors import Access
from medgov.interfaces.web import exports
from medgov.interfaces.web import forms_safety as forms
from medgov.interfaces.web.forms_safety import add_service_errors


def _actor(request: HttpRequest) -> User:
    # The site-wide login middleware lets only signed-in users reach these views.
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _report_input(data: dict[str, Any]) -> services.ReportInput:
    return services.ReportInput(
        event_class=data["event_class"],
        category=data["category"],
        occurred_at=data["occurred_at"],
        unit_code=data["unit"].code,
        description=data["description"],
        reported_harm=data["reported_harm"],
        immediate_actions=data["immediate_actions"],
        patient_mrn=data["patient_mrn"],
        health_it_contributed=data["health_it_contributed"],
    )


def _attachments(data: dict[str, Any]) -> list[services.Attachment]:
    upload = data.get("attachment")
    return [services.Attachment(name=upload.name, content=upload.read())] if upload else []


def home(request: HttpRequest) -> HttpResponseBase:
    user = _actor(request)
    own = selectors.own_reports(user) if user.has_perm("safety.report_event") else None
    try:
        shared = selectors.shared_events_visible_to(user)
    except PermissionDenied:
        shared = None
    if own is None and not (shared is not None and shared.exists()):
        raise PermissionDenied
    status = request.GET.get("status", "")
    if shared is not None and status in EventStatus.values:
        shared = shared.filter(status=status)
    is_team = user.has_perm("safety.view_safety_dashboard")
    today = timezone.localdate()
    rcas = selectors.rcas_visible_to(user).filter(status="open").order_by("due_on") if is_team else None
    team_actions = (
        selectors.actions_visible_to(user).filter(due_on__lt=today).exclude(status="implemented").order_by("due_on")
        if is_team
        else None
    )
    my_actions = (
        selectors.actions_visible_to(user).exclude(status="implemented").order_by("due_on") if not is_team else None
    )
    tables: dict[str, Any] = {}
    if shared is not None:
        tables["events"] = lambda: events_table(shared.order_by("-submitted_at"), "safety-events", "Events you handle")
    if own is not None:
        tables["own"] = lambda: events_table(
            own.order_by("-updated_at"), "safety-own-reports", "Your reports", own=True
        )
    if rcas is not None:
        tables["rcas"] = lambda: open_rcas_table(rcas, today)
    if team_actions is not None:
        tables["overdue_actions"] = lambda: actions_table(team_actions, "safety-overdue-actions", "Overdue actions")
    if my_actions is not None:
        tables["my_actions"] = lambda: actions_table(my_actions, "safety-my-actions", "Actions you own")
    export = exports.export_one_of_if_requested(request, tables)
    if export is not None:
        return export
    context: dict[str, Any] = {
        "own": own.order_by("-updated_at")[:50] if own is not None else None,
        "shared": shared.order_by("-submitted_at")[:200] if shared is not None else None,
        "statuses": EventStatus.choices,
        "status": status,
        "is_team": is_team,
        "today": today,
        "querystring": exports.querystring_of(request),
    }
    if is_team:
        context["triage_count"] = selectors.triage_queue(user).count()
        context["rcas"] = rcas
        context["overdue_actions"] = team_actions
    else:
        context["my_actions"] = my_actions
    return render(request, "safety/home.html", context)


EVENT_COLUMNS = ("Event", "Status", "Category", "Unit", "When", "Harm", "Flags")


def event_harm(event: Any, *, own: bool = False) -> str:
    """The harm as the list shows it: the triaged AHRQ level, or the reporter's own rating. A reporter's own list
    shows only their rating, as their view of the event hides the triage."""
    if event.harm_level and not own:
        return str(event.get_harm_level_display())
    return f"{event.get_reported_harm_display()} (reported)"


def event_flags(event: Any, *, own: bool = False) -> str:
    if own:
        return ""
    flags = []
    if event.is_sentinel_confirmed:
        flags.append("sentinel")
    elif event.is_potential_sentinel:
        flags.append("potential sentinel")
    if event.is_sensitive:
        flags.append("sensitive")
    return ", ".join(flags)


def events_table(events: Any, name: str, title: str, *, own: bool = False) -> exports.ExportTable:
    """Safety events with the list's columns. The reporter is never a column: whoever exports sees no identity."""

    def cells() -> Any:
        for event in events.iterator(chunk_size=2000):
            yield (
                event.reference,
                event.get_status_display(),
                event.get_category_display(),
                event.unit.name,
                timezone.localtime(event.occurred_at),
                event_harm(event, own=own),
                event_flags(event, own=own),
            )

    # Recording a reporter's export of their own reports would tie them to those reports in the audit trail,
    # which a protected reporter's reads never do (see selectors.access_event_by_id).
    return exports.ExportTable(name, EVENT_COLUMNS, cells(), title, object_type="safety.safetyevent", audited=not own)


def open_rcas_table(rcas: Any, today: dt.date) -> exports.ExportTable:
    rows = ((rca.event.reference, rca.due_on, rca.due_on < today) for rca in rcas)
    return exports.ExportTable(
        "safety-open-rcas", ("Event", "Due", "Overdue"), rows, "Open RCAs", object_type="safety.rootcauseanalysis"
    )


def actions_table(actions: Any, name: str, title: str) -> exports.ExportTable:
    rows = ((action.description, action.rca.event.reference, action.due_on) for action in actions)
    return exports.ExportTable(name, ("Action", "Event", "Due"), rows, title, object_type="safety.rcaaction")


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, event_id: int | None = None) -> HttpResponse:
    user = _actor(request)
    if not user.has_perm("safety.report_event"):
        raise PermissionDenied
    draft = selectors.access_own_draft(user, event_id) if event_id is not None else None
    initial: dict[str, Any] = {"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
    if draft is not None:
        initial = {
            "event_class": draft.event_class,
            "category": draft.category,
            "health_it_contributed": draft.health_it_contributed,
            "occurred_at": timezone.localtime(draft.occurred_at),
            "unit": draft.unit,
            "patient_mrn": draft.patient_mrn,
            "description": draft.description,
            "immediate_actions": draft.immediate_actions,
            "reported_harm": draft.reported_harm,
        }
    form = forms.ReportForm(request.POST or None, request.FILES or None, initial=initial, allow_anonymous=draft is None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        identity = data["identity"]
        try:
            if request.POST.get("action") == "draft":
                if identity == "anonymous":
                    raise ValidationError(
                        {
                            "identity": "An anonymous report cannot be saved as a draft, because a draft is kept with "
                            "its author. Submit it now, or choose another identity option."
                        }
                    )
                saved = services.do_save_draft(
                    _report_input(data), attachments=_attachments(data), event=draft, actor=user
                )
                messages.success(request, f"Draft {saved.reference} saved. Only you can see it.")
                return redirect("safety:home")
            submission = services.do_submit_event(
                _report_input(data),
                attachments=_attachments(data),
                event=draft,
                anonymous=identity == "anonymous",
                protect_identity=identity == "protected",
                actor=user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # Rendered, not redirected: the follow-up code is shown this once and never again.
            return render(request, "safety/submitted.html", {"submission": submission})
    return render(request, "safety/report.html", {"form": form, "draft": draft})


def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    user = _actor(request)
    granted = selectors.access_event_by_id(user, event_id)
    event = granted.event
    context: dict[str, Any] = {
        "event": event,
        "access": granted.access,
        "is_team": granted.access is Access.TEAM,
        "is_reporter_view": granted.access is Access.REPORTER,
        "reporter": selectors.reporter_label(user, event, granted.access),
        "messages_list": event.messages.select_related("author").all(),
        "message_form": forms.MessageForm(),
        "attachments": event.attachments.all(),
        "is_lead": user.has_perm("safety.lead_safety_programme") and granted.access >= Access.MANAGER,
    }
    if granted.access is Access.TEAM:
        context["handlers"] = event.handlers.all() if event.is_sensitive else []
        context["rca"] = getattr(event, "rca", None)
        if user.has_perm("safety.triage_event") and event.can_triage():
            context["triage_form"] = forms.TriageForm(
                initial={
                    "event_class": event.event_class,
                    "category": event.category,
                    "harm_level": event.harm_level or event.reported_harm,
                    "permanent_harm": event.permanent_harm,
                    "ncc_merp": event.ncc_merp,
                    "sac_severity": event.sac_severity,
                    "sac_probability": event.sac_probability,
                    "sentinel_type": event.sentinel_type,
                    "potential_sentinel": event.is_potential_sentinel,
                    "sensitive": event.is_sensitive,
                    "externally_reportable": event.is_externally_reportable,
                    "handlers": list(event.handlers.all()),
                }
            )
        aware = timezone.localdate(event.submitted_at) if event.submitted_at else timezone.localdate()
        context["date_form"] = forms.DateForm(initial={"aware_on": aware})
        context["reason_form"] = forms.ReasonForm()
    return render(request, "safety/event.html", context)


@require_POST
def triage(request: HttpRequest, event_id: int) -> HttpResponse:
    granted = selectors.access_event_by_id(request.user, event_id, minimum=Access.TEAM, audit_read=False)
    if not request.user.has_perm("safety.triage_event"):
        raise PermissionDenied
    form = forms.TriageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.do_triage_event(
                granted.event,
                services.TriageInput(
                    event_class=data["event_class"],
                    category=data["category"],
                    harm_level=data["harm_level"],
                    ncc_merp=data["ncc_merp"],
                    permanent_harm=data["permanent_harm"],
                    sac_severity=data["sac_severity"],
                    sac_probability=data["sac_probability"],
                    sentinel_type=data["sentinel_type"],
                    potential_sentinel=data["potential_sentinel"],
                    sensitive=data["sensitive"],
                    externally_reportable=data["externally_reportable"],
                    handler_ids=[user.pk for user in data["handlers"]],
                ),
                actor=_actor(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{granted.event.reference} triaged.")
            return redirect("safety:event", event_id)
    event = granted.event
    return render(
        request,
        "safety/event.html",
        {
            "event": event,
            "access": granted.access,
            "is_team": True,
            "reporter": selectors.reporter_label(request.user, event, granted.access),
            "triage_form": form,
            "messages_list": event.messages.all(),
            "message_form": forms.MessageForm(),
            "date_form": forms.DateForm(),
            "reason_form": forms.ReasonForm(),
        },
        status=400,
    )


def _post_event_action(request: HttpRequest, event_id: int, form_class: Any, call: Any, done: str) -> HttpResponse:
    granted = selectors.access_event_by_id(request.user, event_id, minimum=Access.TEAM, audit_read=False)
    form = form_class(request.POST) if form_class is not None else None
    if form is not None and not form.is_valid():
        for field_errors in form.errors.values():
            messages.error(request, " ".join(field_errors))
        return redirect("safety:event", event_id)
    try:
        result = call(granted.event, form.cleaned_data if form is not None else {})
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("safety:event", event_id)
    messages.success(request, done.format(result=result))
    return redirect("safety:event", event_id)


@require_POST
def confirm_sentinel(request: HttpRequest, event_id: int) -> HttpResponse:
    return _post_event_action(
        request,
        event_id,
        forms.DateForm,
        lambda event, data: services.do_confirm_sentinel_event(event, aware_on=data["aware_on"], actor=_actor(request)),
        "Sentinel event confirmed. The CMO and the safety lead were notified; the RCA is due on {result.due_on:%Y-%m-%d}.",
    )


@require_POST
def open_rca(request: HttpRequest, event_id: int) -> HttpResponse:
    return _post_event_action(
        request,
        event_id,
        forms.DateForm,
        lambda event, data: services.do_open_rca(event, aware_on=data["aware_on"], actor=_actor(request)),
        "RCA opened, due on {result.due_on:%Y-%m-%d}.",
    )


@require_POST
def close_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _post_event_action(
        request,
        event_id,
        None,
        lambda event, data: services.do_close_event(event, actor=_actor(request)),
        "Event closed.",
    )


@require_POST
def reopen_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _post_event_action(
        request,
        event_id,
        forms.ReasonForm,
        lambda event, data: services.do_reopen_event(event, reason=data["reason"], actor=_actor(request)),
        "Event reopened.",
    )


@require_POST
def remove_event(request: HttpRequest, event_id: int) -> HttpResponse:
    granted = selectors.access_event_by_id(request.user, event_id, minimum=Access.TEAM, audit_read=False)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the event is removed.")
        return redirect("safety:event", event_id)
    try:
        services.do_remove_event(granted.event, reason=form.cleaned_data["reason"], actor=_actor(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("safety:event", event_id)
    messages.success(request, f"{granted.event.reference} removed.")
    return redirect("safety:home")


@require_POST
def send_message(request: HttpRequest, event_id: int) -> HttpResponse:
    granted = selectors.access_event_by_id(request.user, event_id, audit_read=False)
    form = forms.MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a message (at most 5,000 characters).")
        return redirect("safety:event", event_id)
    try:
        if granted.access is Access.REPORTER:
            services.do_send_reporter_message(granted.event, form.cleaned_data["text"], actor=_actor(request))
        elif granted.access is Access.TEAM and request.user.has_perm("safety.triage_event"):
            services.do_send_team_message(granted.event, form.cleaned_data["text"], actor=_actor(request))
        else:
            raise PermissionDenied
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Message sent.")
    return redirect("safety:event", event_id)


@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest) -> HttpResponse:
    """The reporter's channel by follow-up code: works for anonymous reports, records nobody."""
    code_form = forms.FollowUpCodeForm(request.POST or None)
    event = None
    message_form = forms.MessageForm()
    if request.method == "POST" and code_form.is_valid():
        event = services.event_for_followup_code(code_form.cleaned_data["code"])
        if event is None:
            code_form.add_error("code", "No report has this follow-up code. Check it and try again.")
        elif "text" in request.POST:
            message_form = forms.MessageForm(request.POST)
            if message_form.is_valid():
                try:
                    services.do_send_reporter_message(event, message_form.cleaned_data["text"], actor=None)
                except ValidationError as error:
                    add_service_errors(message_form, error)
                else:
                    messages.success(request, "Message sent to the safety team.")
                    message_form = forms.MessageForm()
    return render(
        request,
        "safety/follow_up.html",
        {
            "code_form": code_form,
            "event": event,
            "message_form": message_form,
            "messages_list": event.messages.all() if event else [],
        },
    )


def attachment(request: HttpRequest, event_id: int, attachment_id: int) -> FileResponse:
    item = selectors.access_attachment(request.user, event_id, attachment_id)
    response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def just_culture(request: HttpRequest, event_id: int) -> HttpResponseBase:
    # Refuse before the event is opened: opening it records a read of the event in the audit trail.
    if not request.user.has_perm("safety.lead_safety_programme"):
        raise PermissionDenied
    granted = selectors.access_event_by_id(request.user, event_id, minimum=Access.MANAGER)
    reviews = selectors.just_culture_reviews_for(request.user, granted.event)
    form = forms.JustCultureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_record_just_culture_review(granted.event, actor=_actor(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Just Culture review recorded.")
            return redirect("safety:just_culture", event_id)
    export = exports.export_if_requested(request, lambda: just_culture_table(granted.event, reviews))
    if export is not None:
        return export
    return render(request, "safety/just_culture.html", {"event": granted.event, "reviews": reviews, "form": form})


def just_culture_table(event: Any, reviews: Any) -> exports.ExportTable:
    rows = (
        (
            timezone.localtime(review.created_at).date(),
            review.individual,
            review.get_behaviour_display(),
            review.get_response_display(),
            review.notes,
        )
        for review in reviews
    )
    return exports.ExportTable(
        f"safety-{event.reference}-just-culture",
        ("When", "Individual", "Behaviour", "Response", "Notes"),
        rows,
        "Just Culture reviews",
        object_type="safety.justculturereview",
    )


RCA_FORMS: dict[str, Any] = {
    "team": forms.RcaTeamForm,
    "timeline": forms.TimelineForm,
    "causal": forms.CausalStatementForm,
    "factor": forms.ContributingFactorForm,
    "action": forms.ActionForm,
}


def _action_input(data: dict[str, Any]) -> services.ActionInput:
    return services.ActionInput(
        description=data["description"],
        strength=data["strength"],
        owner_id=data["owner"].pk if data["owner"] else None,
        due_on=data["due_on"],
        effectiveness_measure=data["effectiveness_measure"],
        measure_id=data["measure_id"],
        measure_version=data["measure_version"],
        measure_stratum=data["measure_stratum"],
        status=data["status"],
        implemented_on=data["implemented_on"],
    )


@require_http_methods(["GET", "POST"])
def rca(request: HttpRequest, event_id: int) -> HttpResponseBase:
    user = _actor(request)
    analysis = selectors.access_rca(user, event_id)
    bound: dict[str, Any] = {}
    if request.method == "POST":
        if not user.has_perm("safety.manage_rca"):
            raise PermissionDenied
        which = request.POST.get("form", "")
        try:
            if which == "close":
                services.do_close_rca(analysis, actor=user)
                messages.success(request, "RCA closed; the event's actions are now in progress.")
                return redirect("safety:rca", event_id)
            if which not in RCA_FORMS:
                raise Http404
            form = RCA_FORMS[which](request.POST, auto_id=f"id_{which}_%s")
            bound[which] = form
            if form.is_valid():
                data = form.cleaned_data
                if which == "team":
                    services.do_update_rca_team(
                        analysis,
                        leader_id=data["leader"].pk if data["leader"] else None,
                        team_ids=[member.pk for member in data["team"]],
                        summary=data["summary"],
                        actor=user,
                    )
                elif which == "timeline":
                    services.do_add_timeline_entry(analysis, actor=user, **data)
                elif which == "causal":
                    services.do_add_causal_statement(analysis, actor=user, **data)
                elif which == "factor":
                    services.do_add_contributing_factor(analysis, actor=user, **data)
                else:
                    services.do_add_action(analysis, _action_input(data), actor=user)
                messages.success(request, "Saved.")
                return redirect("safety:rca", event_id)
        except ValidationError as error:
            if which == "close":
                for message in error.messages:
                    messages.error(request, message)
                return redirect("safety:rca", event_id)
            add_service_errors(bound[which], error)
    actions = list(analysis.actions.select_related("owner"))
    context = {
        "rca": analysis,
        "event": analysis.event,
        "team": analysis.team.all(),
        "timeline": analysis.timeline.all(),
        "causal_statements": analysis.causal_statements.all(),
        "factors": analysis.contributing_factors.all(),
        "actions": actions,
        "only_weaker": bool(actions) and all(a.strength == ActionStrength.WEAKER for a in actions),
        "closure_problems": services.rca_closure_problems(analysis) if analysis.status == "open" else [],
        "can_edit": user.has_perm("safety.manage_rca") and analysis.status == "open",
        "today": timezone.localdate(),
        "team_form": bound.get("team")
        or forms.RcaTeamForm(
            initial={"leader": analysis.leader, "team": list(analysis.team.all()), "summary": analysis.summary},
            auto_id="id_team_%s",
        ),
        "timeline_form": bound.get("timeline") or forms.TimelineForm(auto_id="id_timeline_%s"),
        "causal_form": bound.get("causal") or forms.CausalStatementForm(auto_id="id_causal_%s"),
        "factor_form": bound.get("factor") or forms.ContributingFactorForm(auto_id="id_factor_%s"),
        "action_form": bound.get("action") or forms.ActionForm(auto_id="id_action_%s"),
    }
    if not bound:
        export = exports.export_one_of_if_requested(
            request,
            {
                "actions": lambda: rca_actions_table(analysis, actions),
                "timeline": lambda: rca_timeline_table(analysis),
                "causal_statements": lambda: rca_causal_statements_table(analysis),
                "factors": lambda: rca_factors_table(analysis),
            },
        )
        if export is not None:
            return export
    return render(request, "safety/rca.html", context, status=400 if bound else 200)


def _rca_name(analysis: Any, table: str) -> str:
    return f"safety-{analysis.event.reference}-rca-{table}"


def _action_measure(action: Any) -> str:
    if not action.measure_id:
        return str(action.effectiveness_measure or "")
    text = str(action.measure_id)
    if action.measure_version:
        text += f" v{action.measure_version}"
    if action.measure_stratum:
        text += f" [{action.measure_stratum}]"
    return text


def rca_actions_table(analysis: Any, actions: list[Any]) -> exports.ExportTable:
    """The action plan as the page lists it, with each action's full description (the page shortens it)."""
    rows = (
        (
            action.description,
            str(action.get_strength_display()).split(" ")[0],
            str(action.owner) if action.owner else "",
            action.due_on,
            _action_measure(action),
            action.get_status_display(),
        )
        for action in actions
    )
    return exports.ExportTable(
        _rca_name(analysis, "actions"),
        ("Action", "Strength", "Owner", "Due", "Measure", "Status"),
        rows,
        "RCA actions",
        object_type="safety.rcaaction",
    )


def rca_timeline_table(analysis: Any) -> exports.ExportTable:
    rows = ((timezone.localtime(entry.occurred_at), entry.description) for entry in analysis.timeline.all())
    return exports.ExportTable(
        _rca_name(analysis, "timeline"),
        ("When", "What happened"),
        ((f"{when:%Y-%m-%d %H:%M}", text) for when, text in rows),
        "RCA timeline",
        object_type="safety.timelineentry",
    )


def rca_causal_statements_table(analysis: Any) -> exports.ExportTable:
    rows = ((number, statement.text) for number, statement in enumerate(analysis.causal_statements.all(), start=1))
    return exports.ExportTable(
        _rca_name(analysis, "causal-statements"),
        ("Number", "Causal statement"),
        rows,
        "RCA causal statements",
        object_type="safety.causalstatement",
    )


def rca_factors_table(analysis: Any) -> exports.ExportTable:
    rows = ((factor.get_category_display(), factor.description) for factor in analysis.contributing_factors.all())
    return exports.ExportTable(
        _rca_name(analysis, "contributing-factors"),
        ("Category", "Contributing factor"),
        rows,
        "RCA contributing factors",
        object_type="safety.contributingfactor",
    )


def _chart_payload(verification: Any, months: list[dt.date], implemented_on: dt.date, label: str) -> dict[str, Any]:
    chart = verification.chart

    def clean(values: Any) -> list[float | None]:
        return [None if (v is None or (isinstance(v, float) and math.isnan(v))) else round(float(v), 3) for v in values]

    return {
        "title": label,
        "x": [m.isoformat() for m in months],
        "values": clean(chart.values),
        "centre": clean(chart.centre),
        "upper": clean(chart.upper_limit),
        "lower": clean(chart.lower_limit),
        "marker": implemented_on.replace(day=1).isoformat(),
        "marker_label": f"implemented {implemented_on:%Y-%m-%d}",
    }


@require_http_methods(["GET", "POST"])
def action(request: HttpRequest, action_id: int) -> HttpResponse:
    user = _actor(request)
    item = selectors.access_action_by_id(user, action_id)
    initial = {
        "description": item.description,
        "strength": item.strength,
        "owner": item.owner,
        "due_on": item.due_on,
        "effectiveness_measure": item.effectiveness_measure,
        "measure_id": item.measure_id,
        "measure_version": item.measure_version,
        "measure_stratum": item.measure_stratum,
        "status": item.status,
        "implemented_on": item.implemented_on,
    }
    form = forms.ActionForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not user.has_perm("safety.manage_rca"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.do_update_action(item, _action_input(form.cleaned_data), actor=user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Action updated.")
                return redirect("safety:action", action_id)
    verification = selectors.action_effect(item)
    chart = None
    if verification is not None and item.implemented_on is not None:
        months = _months_of(verification, item.implemented_on)
        chart = _chart_payload(verification, months, item.implemented_on, f"{item.measure_id} {item.measure_stratum}")
    return render(
        request,
        "safety/action.html",
        {
            "action": item,
            "form": form,
            "verification": verification,
            "chart": chart,
            "can_edit": user.has_perm("safety.manage_rca"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _months_of(verification: Any, implemented_on: dt.date) -> list[dt.date]:
    count = len(verification.chart.values)
    start = implemented_on.replace(day=1)
    index = start.year * 12 + start.month - 1 - verification.change_index
    return [dt.date((index + i) // 12, (index + i) % 12 + 1, 1) for i in range(count)]


def trends(request: HttpRequest) -> HttpResponseBase:
    form = forms.TrendFilterForm(request.GET or None)
    if exports.requested_format(request) and form.is_bound and not form.is_valid():
        # The page shows the errors beside the filters; an export must not quietly ignore a filter.
        problems = "; ".join(
            f"{field}: {' '.join(str(error) for error in errors)}" for field, errors in form.errors.items()
        )
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "category": data["category"],
            "unit": data["unit"],
            "harm": data["harm"],
            "months": data["months"] or 24,
        }
    series, note = selectors.event_trends(request.user, **filters)
    signals = selectors.category_signals(request.user, months=filters.get("months", 24))
    chart = {
        "title": series.label + (" per 1,000 patient days" if series.patient_days else " (count per month)"),
        "x": [m.isoformat() for m in series.months],
        "values": [None if math.isnan(v) else round(v, 3) for v in series.chart.values],
        "centre": [None if math.isnan(v) else round(v, 3) for v in series.chart.centre],
        "upper": [None if math.isnan(v) else round(v, 3) for v in series.chart.upper_limit],
        "lower": [None if math.isnan(v) else round(v, 3) for v in series.chart.lower_limit],
    }
    rows = list(zip(series.months, series.counts, series.chart.values, strict=True))
    export = exports.export_one_of_if_requested(
        request,
        {
            "months": lambda: trend_months_table(request.user, series),
            "categories": lambda: trend_categories_table(request.user, signals),
        },
    )
    if export is not None:
        return export
    return render(
        request,
        "safety/trends.html",
        {
            "form": form,
            "series": series,
            "note": note,
            "chart": chart,
            "signals": signals,
            "rows": rows,
            "querystring": exports.querystring_of(request),
            "suppressed": exports.suppression_required(request.user),
        },
    )


def trend_months_table(user: Any, series: selectors.TrendSeries) -> exports.ExportTable:
    """Events per month as the table shows them; for viewers who get suppressed counts, a month with a hidden
    count also hides its plotted value (the count itself on a C chart, the count per patient days on a U chart)."""
    labels = [month.strftime("%Y-%m") for month in series.months]
    counts = exports.counts_for(user, labels, series.counts, series.patient_days or series.counts)
    rows = [
        (label, shown.numerator, None if shown.suppressed or math.isnan(value) else round(value, 3))
        for label, shown, value in zip(labels, counts, series.chart.values, strict=True)
    ]
    return exports.ExportTable(
        "safety-trends-per-month",
        ("Month", "Events", "Plotted value"),
        rows,
        series.label,
        object_type="safety.safetyevent",
    )


def trend_categories_table(user: Any, signals: list[selectors.TrendSeries]) -> exports.ExportTable:
    labels = [item.label for item in signals]
    totals = [item.total for item in signals]
    counts = exports.counts_for(user, labels, totals, totals)
    rows = [
        (item.label, shown.numerator, "shift or special cause" if item.signal else "")
        for item, shown in zip(signals, counts, strict=True)
    ]
    return exports.ExportTable(
        "safety-trends-by-category",
        ("Category", "Events", "Signal"),
        rows,
        "Signals by category",
        object_type="safety.safetyevent",
    )
