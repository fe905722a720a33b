"""The signed-in user's notices (from every module)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from medgov.governance.core.notices import do_mark_notices_read, notices_visible_to


def notices(request: HttpRequest) -> HttpResponse:
    page = Paginator(notices_visible_to(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "web/notices.html", {"page": page, "querystring": ""})


@require_POST
def mark_notices_read(request: HttpRequest) -> HttpResponse:
    do_mark_notices_read(request.user)
    return redirect("web:notices")
