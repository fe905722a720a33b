from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from medgov.governance.reports.svg import spc_svg

register = template.Library()


@register.simple_tag
def spc_chart_svg(chart: dict[str, Any]) -> SafeString:
    # Every text in the drawing is escaped by spc_svg.
    return mark_safe(spc_svg(chart))  # noqa: S308
