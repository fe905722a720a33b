"""SPC charts as inline SVG for the PDF, drawn from the chart stored in the snapshot.

WeasyPrint renders SVG itself, so the PDF needs no browser and no network. The point colours are NHS Making
Data Count's, the same as the web charts (a test keeps the two palettes equal).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape
from typing import Any

POINT_COLOURS = {
    "special_cause_improvement": "#1f6fb2",
    "special_cause_concern": "#d9822b",
    "common_cause": "#7b8794",
    "special_cause_neutral_high": "#6b4fbb",
    "special_cause_neutral_low": "#6b4fbb",
}
WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 24, 12, 44


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not high > low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _scaled(values: Sequence[float | None], scale: float) -> list[float | None]:
    return [None if v is None or not math.isfinite(v) else v * scale for v in values]


def _polyline(points: list[tuple[float, float] | None], **attributes: str) -> str:
    """One path per run of consecutive points (gaps break the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    extra = " ".join(f'{name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    paths = []
    for run in runs:
        if len(run) == 1:
            run = [run[0], (run[0][0] + 0.01, run[0][1])]
        if len(run) >= 2:
            d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in run)
            paths.append(f'<path d="{d}" fill="none" {extra}/>')
    return "".join(paths)


def spc_svg(chart: dict[str, Any]) -> str:
    """An SVG drawing of one stored SPC chart: values coloured by variation type, mean, process limits and
    target, with y-axis ticks in the chart's unit and month labels on the x-axis."""
    scale = float(chart.get("scale", 1.0))
    periods = [dt.date.fromisoformat(p) for p in chart["periods"]]
    values = _scaled(chart["values"], scale)
    mean = _scaled(chart["mean"], scale)
    lower = _scaled(chart["lower"], scale)
    upper = _scaled(chart["upper"], scale)
    target = chart.get("target")
    target_scaled = target * scale if target is not None else None
    everything = [v for series in (values, mean, lower, upper) for v in series if v is not None]
    if target_scaled is not None:
        everything.append(target_scaled)
    title = escape(str(chart.get("title", "")))
    if not everything or not periods:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40" role="img" aria-label="{title}">'
            f'<text x="4" y="24" font-size="11">No values to chart.</text></svg>'
        )
    ticks = _nice_ticks(min(everything), max(everything))
    y_low, y_high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(periods)

    def x_of(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (value - y_low) / (y_high - y_low))

    def points(series: list[float | None]) -> list[tuple[float, float] | None]:
        return [None if v is None else (x_of(i), y_of(v)) for i, v in enumerate(series)]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="SPC chart: {title}" font-family="DejaVu Sans, sans-serif">'
    ]
    for tick in ticks:
        y = y_of(tick)
        label = f"{tick:.{_decimals(ticks)}f}"
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#52606d">{label}</text>'
        )
    step = max(1, math.ceil(count / 12))
    for index in range(0, count, step):
        x = x_of(index)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="8.5" text-anchor="middle" fill="#52606d">'
            f"{periods[index]:%b %y}</text>"
        )
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#9aa5b1"/>')
    unit = escape(str(chart.get("unit", "")))
    if unit:
        parts.append(
            f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="9" fill="#52606d" text-anchor="middle" '
            f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{unit}</text>'
        )
    parts.append(_polyline(points(upper), stroke="#9aa5b1", stroke_dasharray="4 3", stroke_width="1"))
    parts.append(_polyline(points(lower), stroke="#9aa5b1", stroke_dasharray="4 3", stroke_width="1"))
    parts.append(_polyline(points(mean), stroke="#102a43", stroke_width="1.2"))
    if target_scaled is not None:
        y = y_of(target_scaled)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#1f7a3a" '
            f'stroke-dasharray="1.5 2.5" stroke-width="1.5"/>'
        )
    parts.append(_polyline(points(values), stroke="#bcccdc", stroke_width="1.2"))
    for index, value in enumerate(values):
        if value is None:
            continue
        colour = POINT_COLOURS.get(chart["point_type"][index], "#7b8794")
        parts.append(f'<circle cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3.2" fill="{colour}"/>')
    legend_y = HEIGHT - 10
    legend = [
        ("#102a43", "mean", ""),
        ("#9aa5b1", "process limits", "4 3"),
        ("#1f7a3a", "target", "1.5 2.5"),
    ]
    x = LEFT
    for colour, label, dash in legend:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 16}" y1="{legend_y - 3}" y2="{legend_y - 3}" stroke="{colour}" '
            f'stroke-width="1.5"{dash_attr}/><text x="{x + 20}" y="{legend_y}" font-size="8.5" fill="#52606d">'
            f"{label}</text>"
        )
        x += 30 + 5 * len(label)
    for colour, label in (("#1f6fb2", "improvement"), ("#d9822b", "concern"), ("#7b8794", "common cause")):
        parts.append(
            f'<circle cx="{x + 4}" cy="{legend_y - 3}" r="3.2" fill="{colour}"/>'
            f'<text x="{x + 11}" y="{legend_y}" font-size="8.5" fill="#52606d">{label}</text>'
        )
        x += 22 + 5 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def _decimals(ticks: Sequence[float]) -> int:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    if step >= 1:
        return 0 if all(float(t).is_integer() for t in ticks) else 1
    return min(
        4,
        max(
            1,
            -math.floor(math.log10(step))
            + (0 if round(step / 10 ** math.floor(math.log10(step)), 6).is_integer() else 1),
        ),
    )
