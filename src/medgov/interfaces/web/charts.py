"""Plotly figures as plain dicts: rendered in the browser from the page's own JSON, and as tables for
screen readers and print. No network access is needed: plotly.js is served from the installed package."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

POINT_COLOURS = {
    "special_cause_improvement": "#1f6fb2",
    "special_cause_concern": "#d9822b",
    "common_cause": "#7b8794",
    "special_cause_neutral_high": "#6b4fbb",
    "special_cause_neutral_low": "#6b4fbb",
}
POINT_LABELS = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "common_cause": "common cause",
    "special_cause_neutral_high": "special cause (high)",
    "special_cause_neutral_low": "special cause (low)",
}


@dataclass(frozen=True)
class Figure:
    """A chart and the table behind it (the text alternative)."""

    element_id: str
    title: str
    figure: dict[str, Any]
    table_headers: tuple[str, ...]
    table_rows: tuple[tuple[str, ...], ...]
    note: str = ""


def _clean(values: Sequence[float]) -> list[float | None]:
    return [None if value is None or not math.isfinite(value) else float(value) for value in values]


def _fmt(value: float | None, scale: float, digits: int) -> str:
    if value is None or not math.isfinite(value):
        return "\u2013"
    return f"{value * scale:.{digits}f}"


def spc_figure(
    element_id: str,
    title: str,
    periods: Sequence[dt.date],
    chart: Any,
    *,
    scale: float = 1.0,
    unit: str = "",
    target: float | None = None,
    marker_date: dt.date | None = None,
    marker_label: str = "",
) -> Figure:
    """An SPC chart (Making Data Count colours) from a chart contract returned by the analytics facade."""
    x = [period.isoformat() for period in periods]
    values = [v * scale if v is not None else None for v in _clean(chart.values)]
    mean = [v * scale if v is not None else None for v in _clean(chart.mean)]
    lower = [v * scale if v is not None else None for v in _clean(chart.lower_process_limit)]
    upper = [v * scale if v is not None else None for v in _clean(chart.upper_process_limit)]
    colours = [POINT_COLOURS.get(str(kind), "#7b8794") for kind in chart.point_type]
    data: list[dict[str, Any]] = [
        {
            "x": x,
            "y": upper,
            "name": "Upper process limit",
            "mode": "lines",
            "line": {"dash": "dash", "color": "#9aa5b1"},
        },
        {
            "x": x,
            "y": lower,
            "name": "Lower process limit",
            "mode": "lines",
            "line": {"dash": "dash", "color": "#9aa5b1"},
        },
        {"x": x, "y": mean, "name": "Mean", "mode": "lines", "line": {"color": "#102a43"}},
        {
            "x": x,
            "y": values,
            "name": title,
            "mode": "lines+markers",
            "line": {"color": "#bcccdc"},
            "marker": {"color": colours, "size": 8},
        },
    ]
    if target is not None:
        data.append(
            {
                "x": [x[0], x[-1]] if x else [],
                "y": [target * scale] * (2 if x else 0),
                "name": "Target",
                "mode": "lines",
                "line": {"color": "#1f7a3a", "dash": "dot"},
            }
        )
    layout: dict[str, Any] = {
        "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
        "height": 320,
        "yaxis": {"title": {"text": unit}},
        "legend": {"orientation": "h", "y": -0.2},
        "shapes": [],
        "annotations": [],
    }
    if marker_date is not None:
        layout["shapes"].append(
            {
                "type": "line",
                "x0": marker_date.isoformat(),
                "x1": marker_date.isoformat(),
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#b3261e", "dash": "dot"},
            }
        )
        layout["annotations"].append(
            {"x": marker_date.isoformat(), "yref": "paper", "y": 1, "text": marker_label, "showarrow": False}
        )
    rows = tuple(
        (
            x[i],
            _fmt(chart.values[i], scale, 2),
            _fmt(chart.mean[i], scale, 2),
            _fmt(chart.lower_process_limit[i], scale, 2),
            _fmt(chart.upper_process_limit[i], scale, 2),
            POINT_LABELS.get(str(chart.point_type[i]), str(chart.point_type[i])),
        )
        for i in range(len(x))
    )
    return Figure(
        element_id=element_id,
        title=title,
        figure={"data": data, "layout": layout},
        table_headers=(
            "Period",
            f"Value ({unit})" if unit else "Value",
            "Mean",
            "Lower limit",
            "Upper limit",
            "Variation",
        ),
        table_rows=rows,
        note=chart.reason or "",
    )


def sparkline(element_id: str, periods: Sequence[dt.date], values: Sequence[float], *, scale: float = 1.0) -> Figure:
    x = [period.isoformat() for period in periods]
    y = [v * scale if v is not None else None for v in _clean(values)]
    figure = {
        "data": [{"x": x, "y": y, "mode": "lines", "line": {"color": "#0b5cad", "width": 2}, "hoverinfo": "x+y"}],
        "layout": {
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "height": 48,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
        },
        "config": {"staticPlot": True},
    }
    rows = tuple((x[i], _fmt(values[i], scale, 2)) for i in range(len(x)))
    return Figure(
        element_id=element_id, title="trend", figure=figure, table_headers=("Period", "Value"), table_rows=rows
    )


def funnel_figure(
    element_id: str,
    title: str,
    labels: Sequence[str],
    denominators: Sequence[float],
    values: Sequence[float],
    limits: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    flags: Sequence[str],
    *,
    centre: float,
    scale: float = 1.0,
    unit: str = "",
    x_title: str = "Cases",
) -> Figure:
    """A funnel plot: each unit's value against its size, with control limits around the centre."""
    colours = ["#d9822b" if flag == "high" else "#1f6fb2" if flag == "low" else "#7b8794" for flag in flags]
    data: list[dict[str, Any]] = []
    for name, (xs, low, high) in limits.items():
        data.append(
            {
                "x": list(xs),
                "y": [v * scale for v in high],
                "mode": "lines",
                "name": f"{name} upper",
                "line": {"dash": "dash", "color": "#9aa5b1"},
            }
        )
        data.append(
            {
                "x": list(xs),
                "y": [v * scale for v in low],
                "mode": "lines",
                "name": f"{name} lower",
                "line": {"dash": "dash", "color": "#9aa5b1"},
            }
        )
    xs_all = [x for xs, _, _ in limits.values() for x in xs]
    if xs_all:
        data.append(
            {
                "x": [min(xs_all), max(xs_all)],
                "y": [centre * scale] * 2,
                "mode": "lines",
                "name": "Overall",
                "line": {"color": "#102a43"},
            }
        )
    data.append(
        {
            "x": list(denominators),
            "y": [v * scale for v in values],
            "text": list(labels),
            "mode": "markers",
            "name": "Units",
            "marker": {"color": colours, "size": 9},
            "hovertemplate": "%{text}: %{y:.2f} (n=%{x})<extra></extra>",
        }
    )
    layout = {
        "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
        "height": 360,
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": unit}},
        "legend": {"orientation": "h", "y": -0.25},
    }
    rows = tuple(
        (labels[i], f"{denominators[i]:.0f}", _fmt(values[i], scale, 2), flags[i] or "within limits")
        for i in range(len(labels))
    )
    return Figure(
        element_id=element_id,
        title=title,
        figure={"data": data, "layout": layout},
        table_headers=("Unit", x_title, f"Value ({unit})" if unit else "Value", "Funnel"),
        table_rows=rows,
    )
