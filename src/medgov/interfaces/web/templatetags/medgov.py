from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.html import json_script

from medgov.interfaces.web.charts import Figure

register = template.Library()


@register.inclusion_tag("web/_chart.html")
def chart(figure: Figure, caption: str = "") -> dict[str, Any]:
    return {
        "figure": figure,
        "caption": caption or figure.title,
        "figure_json": json_script(figure.figure, f"{figure.element_id}-data"),
    }


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    return f"{value * 100:.{digits}f} %"


@register.filter
def number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    return f"{value:.{digits}f}"
