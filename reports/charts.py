"""Small SVG charts drawn here (no JavaScript, no CDN): they render the same in a browser, in
Chromium's PDF printer and in a mail client. Every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6fb2", "#e07b22", "#2a9d55", "#c0392b", "#7d4fb5")


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               width: int = 640, height: int = 220, percent: bool = False, title: str = "") -> str:
    """Trend lines: one polyline per series, gaps where a value is None (no data in that bucket)."""
    left, right, top, bottom = 44, 12, 26, 34
    w, h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    vmax = 1.0 if percent else max([*values, 1.0])
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h - h * v / vmax

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if title:
        out.append(f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>')
    for k in range(5):  # grid and y axis labels
        g = vmax * k / 4
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y(g):.1f}" y2="{y(g):.1f}" stroke="#ddd"/>')
        text = f"{g * 100:.0f}%" if percent else _fmt(g)
        out.append(f'<text x="{left - 4}" y="{y(g) + 4:.1f}" font-size="10" text-anchor="end">{text}</text>')
    step = max(1, n // 12)
    for i, lab in enumerate(labels):
        if i % step == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{top + h + 16}" font-size="10" text-anchor="middle">'
                       f'{escape(lab)}</text>')
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(run)}"/>')
            for pt in run:
                cx, cy = pt.split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
        lx = left + s * 140
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{lx + 14}" y="{height - 3}" font-size="11">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(items: Sequence[tuple[str, float]], *, width: int = 640, bar: int = 18, percent: bool = False,
              title: str = "") -> str:
    """Horizontal bars, largest first as given; labels on the left, values at the bar's end."""
    label_w, top = 170, 26
    height = top + bar * len(items) + 8 * len(items) + 8
    vmax = 1.0 if percent else max([v for _, v in items] + [1.0])
    w = width - label_w - 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if title:
        out.append(f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>')
    for i, (name, v) in enumerate(items):
        yy = top + i * (bar + 8)
        length = max(1.0, w * v / vmax)
        text = f"{v * 100:.1f}%" if percent else _fmt(v)
        out.append(f'<text x="{label_w - 6}" y="{yy + bar - 5}" font-size="11" text-anchor="end">'
                   f'{escape(name[:14])}</text>'
                   f'<rect x="{label_w}" y="{yy}" width="{length:.1f}" height="{bar}" fill="{PALETTE[0]}"/>'
                   f'<text x="{label_w + length + 4:.1f}" y="{yy + bar - 5}" font-size="11">{text}</text>')
    out.append("</svg>")
    return "".join(out)
