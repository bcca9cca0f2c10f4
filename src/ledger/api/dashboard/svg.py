"""Small server-side SVG charts: horizontal bars and line curves, accessible and CSP-safe.

Output uses presentation attributes only (no ``style`` attribute, no script), so it renders
under a Content-Security-Policy without ``unsafe-inline``. Every chart is ``role="img"`` with a
``<title>`` and ``<desc>`` (the text alternative) and scales to its container via ``viewBox``.
All text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8c6d00", "#00796b", "#c2185b",
           "#455a64")
"""Colours with at least 4.5:1 contrast on white."""
WIDTH = 640
"""Line charts' drawing width; bar charts are narrower so their text stays legible when a
phone scales them down."""
BAR_WIDTH = 480
ROW = 30
LEFT = 130
RIGHT = 64
TEXT = "#1a1a1a"
GRID = "#c8c8c8"


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]
    """(x, y) pairs; y None is a gap."""


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}%" if percent else f"{value:,.0f}"


def _open(title: str, desc: str, height: int, ident: str, width: int = WIDTH) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{ident}-t {ident}-d" class="chart" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def bar_chart(title: str, bars: Sequence[tuple[str, float | None]], *, ident: str,
              percent: bool = True, maximum: float | None = None) -> str:
    """One horizontal bar per (label, value); None is drawn as "n/a"."""
    known = [v for _, v in bars if v is not None]
    top = maximum if maximum is not None else max([*known, 0.0]) or 1.0
    height = max(1, len(bars)) * ROW + 20
    desc = "; ".join(f"{label}: {'n/a' if v is None else _fmt(v, percent)}" for label, v in bars)
    out = _open(title, desc or "no data", height, ident, BAR_WIDTH)
    span = BAR_WIDTH - LEFT - RIGHT
    out.append(f'<line x1="{LEFT}" y1="4" x2="{LEFT}" y2="{height - 12}" stroke="{GRID}"/>')
    for index, (label, value) in enumerate(bars):
        y = 6 + index * ROW
        out.append(f'<text x="{LEFT - 8}" y="{y + 15}" text-anchor="end" font-size="14" '
                   f'fill="{TEXT}">{escape(label[:18])}</text>')
        if value is None:
            out.append(f'<text x="{LEFT + 6}" y="{y + 15}" font-size="13" fill="{TEXT}">n/a'
                       '</text>')
            continue
        width = max(0.0, min(1.0, value / top)) * span
        out.append(f'<rect x="{LEFT}" y="{y + 2}" width="{width:.1f}" height="{ROW - 10}" '
                   f'fill="{PALETTE[0]}"/>')
        out.append(f'<text x="{LEFT + width + 6:.1f}" y="{y + 15}" font-size="14" '
                   f'fill="{TEXT}">{_fmt(value, percent)}</text>')
    if not bars:
        out.append(f'<text x="{LEFT}" y="22" font-size="13" fill="{TEXT}">no data</text>')
    out.append("</svg>")
    return "\n".join(out)


def line_chart(title: str, series: Sequence[Series], *, ident: str, x_label: str,
               percent: bool = True) -> str:
    """Lines over a shared x axis (e.g. months since placement), with a legend."""
    height, top_pad, bottom, left = 300, 16, 48, 56
    legend_rows = (len(series) + 3) // 4
    total = height + legend_rows * 20
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points if y is not None]
    x_max = max(xs, default=1) or 1
    y_max = max(ys, default=0) or (1.0 if percent else 1.0)
    plot_w, plot_h = WIDTH - left - 20, height - top_pad - bottom
    desc = "; ".join(
        f"{s.name}: " + ", ".join(f"{x:g}→{'n/a' if y is None else _fmt(y, percent)}"
                                  for x, y in s.points) for s in series)
    out = _open(title, desc or "no data", total, ident)

    def px(x: float) -> float:
        return left + x / x_max * plot_w

    def py(y: float) -> float:
        return top_pad + plot_h - y / y_max * plot_h

    for step in range(5):
        value = y_max * step / 4
        y = py(value)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                   f'fill="{TEXT}">{_fmt(value, percent)}</text>')
    ticks = sorted(set(xs))
    every = max(1, len(ticks) // 12)
    for x in ticks[::every]:
        out.append(f'<text x="{px(x):.1f}" y="{top_pad + plot_h + 18}" text-anchor="middle" '
                   f'font-size="12" fill="{TEXT}">{x:g}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12" fill="{TEXT}">{escape(x_label)}</text>')
    for index, line in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for x, y in line.points:
            if y is None:
                segments.append([])
            else:
                segments[-1].append(f"{px(x):.1f},{py(y):.1f}")
        for segment in segments:
            if len(segment) > 1:
                out.append(f'<polyline points="{" ".join(segment)}" fill="none" '
                           f'stroke="{colour}" stroke-width="2"/>')
            for point in segment:
                cx, cy = point.split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        lx, ly = left + (index % 4) * 140, height + 14 + (index // 4) * 20
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18}" y="{ly}" font-size="12" fill="{TEXT}">'
                   f'{escape(line.name[:16])}</text>')
    if not series:
        out.append(f'<text x="{left}" y="40" font-size="13" fill="{TEXT}">no data</text>')
    out.append("</svg>")
    return "\n".join(out)
