"""The SVG charts of the report and the dashboard, drawn on the server as plain functions of frames.

The report (:mod:`voc.report`) draws inline in its page: :func:`impact_bar_svg`
(one pain point's impact bar with its interval whisker, on a shared axis)
and :func:`volume_line_svg` (a theme's weekly volume); their colours come
from the page's stylesheet (``class`` names). The dashboard
(:mod:`voc.dashboard`) draws images for ``<img src>``
(:func:`svg_data_uri`): :func:`heatmap_svg` (cell colour = negative share,
number = records) and :func:`trend_svg` (volume bars and negative share
above, the NPS impact with its interval below), one element each for the
browser to draw, where a table of cells or a plotting library costs
hundreds of components or a multi-megabyte bundle on every filter click.
Every text drawn is escaped, so each function returns trusted SVG text,
tested without a browser.
"""

from __future__ import annotations

import base64
import math
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from . import columns as C
from .trends import week_label

RED = (192, 57, 43)
"""The negative colour of the dashboard's charts (the report's ``--bad``)."""
BAR = "#9db4d3"
"""The dashboard's volume bars."""


# --------------------------------------------------------------- the dashboard's charts
def heat_color(share: Any) -> str:
    """Background colour of a heatmap cell: white (0% negative) to red (100%); grey when unknown."""
    if share is None or pd.isna(share):
        return "#f3f3f3"
    a = min(max(float(share), 0.0), 1.0)
    r, g, b = (round(255 + (c - 255) * a) for c in RED)
    return f"rgb({r},{g},{b})"


def heatmap_grid(h: pd.DataFrame, *, rows: int = 15) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``rows`` themes with the most negative mentions (then records) as rows, touchpoints as columns.

    ``h`` is :meth:`voc.Store.heatmap`. Returns ``(order, records, share)``:
    ``order`` has theme and label of the rows, top first; ``records`` and
    ``share`` are theme x touchpoint frames in that order (NaN where absent).
    """
    if h.empty:
        empty = pd.DataFrame()
        return pd.DataFrame(columns=[C.THEME, "label"]), empty, empty
    neg = h.assign(neg=h["records"] * h["negative_share"].fillna(0))
    order = (neg.groupby([C.THEME, "label"], as_index=False)[["neg", "records"]].sum()
             .sort_values(["neg", "records", C.THEME], ascending=[False, False, True]).head(rows))
    h = h[h[C.THEME].isin(order[C.THEME])]
    tps = sorted(h[C.TOUCHPOINT].astype(str).unique())
    piv = lambda v: h.pivot(index=C.THEME, columns=C.TOUCHPOINT, values=v).reindex(  # noqa: E731
        index=order[C.THEME], columns=tps)
    return order[[C.THEME, "label"]].reset_index(drop=True), piv("records"), piv("negative_share")


def heatmap_svg(order: pd.DataFrame, records: pd.DataFrame, share: pd.DataFrame, *, label_chars: int = 42) -> str:
    """SVG text of the heatmap grid (:func:`heatmap_grid`): one row per theme (label and id),
    one column per touchpoint, cell colour = negative share, cell number = records.

    One image instead of a table of a few hundred cells keeps every filter click
    cheap to draw in the browser. Labels are XML-escaped (and an SVG in an
    ``<img>`` never runs script).
    """
    tps = [str(t) for t in records.columns]
    row_h, col_w, head, pad = 24, 74, 26, 8
    label_w = 7 * label_chars
    width = pad + label_w + col_w * max(len(tps), 1) + pad
    height = head + row_h * len(order) + pad
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Noto Sans, Noto Sans CJK JP, sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="#fff"/>']
    x0 = pad + label_w
    for j, tp in enumerate(tps):
        out.append(f'<text x="{x0 + col_w * (j + 0.5):.1f}" y="{head - 9}" text-anchor="middle" '
                   f'font-weight="600">{escape(tp[:12])}</text>')
    for i, (t, label) in enumerate(zip(order[C.THEME], order["label"])):
        y = head + row_h * i
        text = f"{label}"
        text = text if len(text) <= label_chars else text[: label_chars - 1] + "…"
        out.append(f'<text x="{pad}" y="{y + row_h * 0.68:.1f}">{escape(text)} ({int(t)})</text>')
        for j, tp in enumerate(records.columns):
            n, sh = records.at[t, tp], share.at[t, tp]
            x = x0 + col_w * j
            out.append(f'<rect x="{x + 1}" y="{y + 1}" width="{col_w - 2}" height="{row_h - 2}" '
                       f'fill="{heat_color(sh)}"/>')
            if not pd.isna(n):
                fill = "#fff" if not pd.isna(sh) and sh > 0.6 else "#222"
                out.append(f'<text x="{x + col_w / 2:.1f}" y="{y + row_h * 0.68:.1f}" text-anchor="middle" '
                           f'fill="{fill}">{int(n):,}</text>')
    out.append("</svg>")
    return "".join(out)


def _nice_max(v: float) -> float:
    if not v or v <= 0 or math.isnan(v):
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    return next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= v)


def trend_svg(tr: pd.DataFrame, *, width: int = 860, height: int = 300) -> str:
    """SVG text of a pain point's weekly trend (:meth:`voc.Store.pain_trend`).

    Top panel: records per week (bars, left axis) and negative share (red
    line, right axis 0-100%). Bottom panel: complaint NPS impact per week
    (black points, grey whiskers = interval, dashed line at 0). Weeks
    without respondents have no impact point. Every text is XML-escaped.
    """
    left, right, top, gap, bottom = 52, 48, 22, 26, 34
    plot_w = width - left - right
    h1 = (height - top - gap - bottom) * 0.58
    h2 = height - top - gap - bottom - h1
    y2_top = top + h1 + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="#fff"/>']
    n = len(tr)
    if n == 0:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#666">No weeks</text></svg>')
        return "".join(out)
    step = plot_w / n
    xs = [left + step * (i + 0.5) for i in range(n)]
    rec = tr["records"].astype(float).to_numpy()
    rmax = _nice_max(float(rec.max()))
    y_rec = lambda v: top + h1 * (1 - v / rmax)  # noqa: E731
    y_sh = lambda v: top + h1 * (1 - v)  # noqa: E731
    # axes and legend
    out.append(f'<text x="{left}" y="13" fill="#333">'
               f'<tspan fill="{BAR}">■</tspan> records   <tspan fill="rgb{RED}">●</tspan> negative share   '
               '● NPS impact (complaint records) with interval</text>')
    for v in (0, rmax / 2, rmax):
        y = y_rec(v)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{v:,.0f}</text>'
                   f'<text x="{left + plot_w + 4}" y="{y + 4:.1f}" fill="rgb{RED}">{100 * v / rmax:.0f}%</text>')
    bw = max(step * 0.7, 1)
    for x, v in zip(xs, rec):
        y = y_rec(v)
        out.append(f'<rect x="{x - bw / 2:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{top + h1 - y:.1f}" '
                   f'fill="{BAR}"/>')
    share = tr["negative_share"].astype(float).to_numpy()
    pts = [(x, y_sh(s)) for x, s in zip(xs, share) if not math.isnan(s)]
    if pts:
        out.append('<polyline fill="none" stroke="rgb{}" stroke-width="1.5" points="{}"/>'.format(
            RED, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="rgb{RED}"/>' for x, y in pts)
    # impact panel
    imp = tr[["nps_impact", "nps_impact_ci_low", "nps_impact_ci_high"]].astype(float)
    finite = imp.to_numpy()[~pd.isna(imp.to_numpy())]
    lim = _nice_max(float(max(abs(finite).max(), 1.0))) if finite.size else 10.0
    y_imp = lambda v: y2_top + h2 * (0.5 - v / (2 * lim))  # noqa: E731
    for v in (-lim, 0, lim):
        y = y_imp(v)
        dash = ' stroke-dasharray="4 3" stroke="#999"' if v == 0 else ' stroke="#eee"'
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"{dash}/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{v:+.0f}</text>')
    out.append(f'<text x="{left + plot_w + 4}" y="{y2_top + h2 / 2 + 4:.1f}" fill="#333">NPS</text>')
    for x, (v, lo, hi) in zip(xs, imp.itertuples(index=False)):
        if math.isnan(v):
            continue
        if not (math.isnan(lo) or math.isnan(hi)):
            lo_c, hi_c = max(lo, -lim), min(hi, lim)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_imp(lo_c):.1f}" y2="{y_imp(hi_c):.1f}" '
                       'stroke="#aaa" stroke-width="2"/>')
        out.append(f'<circle cx="{x:.1f}" cy="{y_imp(min(max(v, -lim), lim)):.1f}" r="2.6" fill="#222"/>')
    # week labels: at most ~10
    every = max(1, math.ceil(n / 10))
    for i, p in enumerate(tr["period"]):
        if i % every == 0 or i == n - 1:
            label = pd.Timestamp(p).strftime("%G-W%V") if pd.notna(p) else ""
            out.append(f'<text x="{xs[i]:.1f}" y="{height - 12}" text-anchor="middle" fill="#555">'
                       f'{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_data_uri(svg: str) -> str:
    """An ``<img src>`` for SVG text (the page's Content-Security-Policy allows ``data:`` images only)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _shown(v: Any) -> bool:
    """Whether ``v`` is a number to draw (not None, not NaN)."""
    try:
        return v is not None and not pd.isna(v)
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------ the report's charts
def impact_bar_svg(value: Any, lo: Any, hi: Any, domain: tuple[float, float], *, width: int = 260) -> str:
    """One horizontal impact bar with its interval whisker, on the shared axis ``domain`` (report).

    The bar runs from 0 to ``value`` (class ``neg``, ``pos``, or ``nil`` when it
    rounds to 0.0); the whisker from ``lo`` to ``hi``; a missing number draws
    nothing but the zero line.
    """
    a, b = domain
    height = 22

    def x(v: float) -> float:
        return 8 + (width - 16) * (float(v) - a) / (b - a)

    shown = f"{float(value):.1f}" if _shown(value) else "–"
    parts = [f'<svg class="bar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="NPS impact {shown}">',
             f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="{height - 2}" class="zero"/>']
    if _shown(value):
        x0, x1 = sorted((x(0), x(value)))
        cls = "neg" if round(float(value), 1) < 0 else "pos" if round(float(value), 1) > 0 else "nil"
        parts.append(f'<rect x="{x0:.1f}" y="6" width="{max(x1 - x0, 1):.1f}" height="10" class="{cls}"/>')
    if _shown(lo) and _shown(hi):
        l_, h_ = x(lo), x(hi)
        parts.append(f'<line x1="{l_:.1f}" y1="11" x2="{h_:.1f}" y2="11" class="ci"/>'
                     f'<line x1="{l_:.1f}" y1="6" x2="{l_:.1f}" y2="16" class="ci"/>'
                     f'<line x1="{h_:.1f}" y1="6" x2="{h_:.1f}" y2="16" class="ci"/>')
    parts.append("</svg>")
    return "".join(parts)


def volume_line_svg(series: pd.DataFrame, *, width: int = 300, height: int = 110) -> str:
    """A small line chart of weekly ``volume`` (rows by ``period``) with first/last week labels (report)."""
    vals = series["volume"].astype(float).to_numpy()
    n = len(vals)
    top = max(float(vals.max()) if n else 1.0, 1.0)
    left, right, up, bottom = 30, 10, 10, 22

    def pt(i: int, v: float) -> tuple[float, float]:
        xx = left + (width - left - right) * (i / max(n - 1, 1))
        yy = up + (height - up - bottom) * (1 - v / top)
        return xx, yy

    pts = [pt(i, v) for i, v in enumerate(vals)]
    poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
    labels = [week_label(p) for p in series["period"]]
    base_y = height - bottom
    out = [f'<svg class="line" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="weekly volume">',
           f'<line x1="{left}" y1="{base_y}" x2="{width - right}" y2="{base_y}" class="axis"/>',
           f'<line x1="{left}" y1="{up}" x2="{left}" y2="{base_y}" class="axis"/>',
           f'<text x="{left - 4}" y="{up + 8}" class="tick" text-anchor="end">{top:.0f}</text>',
           f'<text x="{left - 4}" y="{base_y}" class="tick" text-anchor="end">0</text>',
           f'<polyline points="{poly}" class="trend"/>']
    out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" class="dot"/>' for a, b in pts]
    if n:
        out.append(f'<text x="{left}" y="{height - 6}" class="tick">{escape(labels[0])}</text>')
        out.append(f'<text x="{width - right}" y="{height - 6}" class="tick" text-anchor="end">'
                   f'{escape(labels[-1])}</text>')
        a, b = pts[-1]
        out.append(f'<text x="{a - 4:.1f}" y="{max(b - 5, 9):.1f}" class="val" text-anchor="end">'
                   f'{vals[-1]:.0f}</text>')
    out.append("</svg>")
    return "".join(out)
