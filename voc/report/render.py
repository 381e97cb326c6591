"""The report's dict as text: Jinja2 templates for the HTML page and the Markdown twin.

The templates (``voc/report/templates``: ``report.html.j2``, ``report.md.j2``,
``report.css``) hold the markup and the wording; the functions here only
arrange the content's values for them (rows, classes, the impact axis).
Every value a template writes is escaped for its format: the HTML
environment autoescapes, and its ``finalize`` writes each value through
:func:`html.escape` (the page's escaping before templates, so the bytes are
the same); the Markdown one writes each value through
:func:`voc.report.format.md_escape`. Only :class:`markupsafe.Markup` passes
as is: the stylesheet, the policy and the charts of :mod:`voc.charts`
(which escape their own texts).

HTML templates are written one element per line for reading; the loader
strips each line and joins the lines, so the page has no whitespace the
template did not ask for (``{{ nl }}`` is a line break). Jinja2 is imported
on the first render, not with :mod:`voc`.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..charts import impact_bar_svg, volume_line_svg
from .content import KPI_NAMES, report_content
from .format import DELTA_DIGITS, filters, fmt_kpi, good_direction, isnum, md_escape

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Content-Security-Policy of the page: no script, no network, inline styles only."""


# ------------------------------------------------------------------ templates
def template_source(name: str) -> str:
    """The text of a file in ``voc/report/templates``; an ``.html.j2`` file stripped line by line and joined."""
    text = (resources.files("voc.report") / "templates" / name).read_text(encoding="utf-8")
    return "".join(line.strip() for line in text.splitlines()) if name.endswith(".html.j2") else text


def _html_value(v: Any) -> Any:
    """What an HTML template writes for ``{{ v }}``: Markup as is, None as nothing, the rest escaped."""
    from markupsafe import Markup

    return v if isinstance(v, Markup) else Markup(html.escape("" if v is None else str(v), quote=True))


@lru_cache(maxsize=2)
def environment(kind: str) -> Any:
    """The Jinja2 environment of the ``"html"`` or ``"md"`` templates (built once)."""
    import jinja2

    options = dict(loader=jinja2.FunctionLoader(template_source), undefined=jinja2.StrictUndefined,
                   keep_trailing_newline=True)
    if kind == "html":
        env = jinja2.Environment(autoescape=True, finalize=_html_value, **options)
    else:
        env = jinja2.Environment(autoescape=False, finalize=md_escape, trim_blocks=True, lstrip_blocks=True,
                                 **options)
    env.filters.update(filters())
    env.tests["known"] = isnum
    env.globals["nl"] = "\n"
    return env


# ----------------------------------------------------------------------- HTML
def render_html(records: pd.DataFrame, mentions: pd.DataFrame, **options: Any) -> str:
    """The report as one self-contained HTML page (no script, inline SVG).

    Takes the same arguments as :func:`~voc.report.report_content`.
    """
    return html_from_content(report_content(records, mentions, **options))


def html_from_content(c: dict[str, Any]) -> str:
    """Render the dict of :func:`~voc.report.report_content` as HTML."""
    from markupsafe import Markup

    css = (resources.files("voc.report") / "templates" / "report.css").read_text(encoding="utf-8")
    return environment("html").get_template("report.html.j2").render(
        c=c, csp=Markup(CSP), css=Markup(css), kpis=_kpi_cards(c), pains=_html_pains(c), heat=_html_heatmap(c),
        trends=_html_trends(c), has_touchpoint=C.TOUCHPOINT in c["spikes"].columns,
        new_themes=c["new_themes"].to_dict("records"), spikes=c["spikes"].to_dict("records"),
        code_frame=_code_frame(c))


def _kpi_cards(c: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per KPI: metric, name, note, value, previous and delta (formatted), n, and the delta's
    arrow and class: ``up-good`` / ``up-bad`` by the metric's good direction, ``flat`` (``=``) when the
    change rounds to 0 at the shown precision, or for volume."""
    cards = []
    for _, row in c["kpis"].iterrows():
        m = row["metric"]
        d = row["delta"]
        good = good_direction(m, c["ces_direction"])
        if isnum(d) and round(float(d), DELTA_DIGITS.get(m, 2)) == 0:
            d = 0.0  # no change at the shown precision: a neutral marker, never a coloured arrow
            cls, arrow = "flat", "="
        elif not isnum(d) or good == 0:
            cls, arrow = "flat", ("▲" if isnum(d) and d > 0 else "▼" if isnum(d) and d < 0 else "")
        else:
            cls = "up-good" if (d > 0) == (good > 0) else "up-bad"
            arrow = "▲" if d > 0 else "▼"
        note = ""
        if m == "csat":
            note = f" (share ≥ {c['csat_satisfied_from']})"
        elif m == "ces":
            note = " (higher = easier)" if c["ces_direction"] == "higher_is_easier" else " (lower = easier)"
        cards.append({"metric": m, "name": KPI_NAMES.get(m, m), "note": note, "value": fmt_kpi(row["value"], m),
                      "previous": fmt_kpi(row["previous"], m), "delta": fmt_kpi(d, m, delta=True), "cls": cls,
                      "arrow": arrow, "n": int(row["n"])})
    return cards


def _item_header(section: pd.DataFrame) -> str:
    """Column title of a pain-point table: "Topic / theme" when themes are shown beneath topics."""
    return "Topic / theme" if any(len(x) for x in section.get("leaves", [])) else "Theme"


def _section_title(name: str) -> str:
    return "All touchpoints" if name == C.ALL_TOUCHPOINTS else name


def _html_pains(c: dict) -> dict[str, Any] | None:
    """The pain tables' rows, each with its impact bar on one axis for all tables."""
    if not c["pain_sections"]:
        return None
    from markupsafe import Markup

    key, title = c.get("impact", ("nps_impact", "NPS impact"))
    vals = []
    for _, g in c["pain_sections"]:
        for r in [*g.to_dict("records"), *(leaf for leaves in g["leaves"] for leaf in leaves)]:
            vals += [float(r[col]) for col in (key, f"{key}_ci_low", f"{key}_ci_high") if isnum(r.get(col))]
    lo, hi = (min(vals + [0.0]), max(vals + [0.0])) if vals else (-1.0, 1.0)
    pad = max((hi - lo) * 0.05, 0.5)
    domain = (lo - pad, hi + pad)

    def row(r: Any, leaf: bool) -> dict[str, Any]:
        drawn = isnum(r.get(key)) or (not leaf and isnum(r.get("records")))
        return {"leaf": leaf, "rank": "" if leaf else r.get("rank"), "label": r.get("label", ""),
                "quotes": r["quote_list"], "records": r.get("records"), "negative_share": r.get("negative_share"),
                "impact": r.get(key), "ci_low": r.get(f"{key}_ci_low"), "ci_high": r.get(f"{key}_ci_high"),
                "q": r.get(f"{key}_q"),
                "bar": Markup(impact_bar_svg(r.get(key), r.get(f"{key}_ci_low"), r.get(f"{key}_ci_high"), domain)
                              if drawn else "")}

    sections = [{"title": _section_title(name), "header": _item_header(g),
                 "rows": [x for _, r in g.iterrows() for x in [row(r, False), *(row(f, True) for f in r["leaves"])]]}
                for name, g in c["pain_sections"]]
    what = ("the metric of the touchpoint minus the metric without the records that complain about it"
            if key.startswith("complaint_") else "the metric of the touchpoint minus the metric without its records")
    return {"title": title, "what": what, "domain": domain, "sections": sections}


def _html_heatmap(c: dict) -> dict[str, Any] | None:
    """Touchpoints, and per shown theme (and one row for the rest) its cells: records, share, colour."""
    h = c["heatmap"]
    if h.empty:
        return None
    themes = c["heatmap_themes"]
    shown, rest = themes[themes["shown"]], themes[~themes["shown"]]
    tps = sorted(h[C.TOUCHPOINT].astype(str).unique())
    neg = (h["records"] * h["negative_share"].fillna(0))
    top = max(float(neg.max()), 1.0)
    cell = {(str(r[C.TOUCHPOINT]), int(r[C.THEME])): (r["records"], r["negative_share"]) for _, r in h.iterrows()}
    if len(rest):
        other = h[h[C.THEME].isin(rest[C.THEME])]
        for tp, g in other.groupby(other[C.TOUCHPOINT].astype(str)):
            n = float(g["records"].sum())
            cell[(tp, None)] = (n, float((g["records"] * g["negative_share"].fillna(0)).sum()) / n if n else np.nan)
    rows = [(int(t), str(lab), False) for t, lab in zip(shown[C.THEME], shown["label"])]
    if len(rest):
        rows.append((None, f"other themes ({len(rest)})", True))

    def shade(value: tuple | None) -> dict[str, Any] | None:
        if value is None:
            return None
        n, share = value
        alpha = 0.08 + 0.8 * min(float(n * (share if isnum(share) else 0)) / top, 1.0)
        return {"n": int(n), "share": share, "alpha": alpha, "ink": "#fff" if alpha > 0.55 else "#1d2330"}

    return {"order": "negative records" if c.get("heatmap_by", "pain") == "pain" else "records",
            "shown": len(shown), "rest": len(rest), "touchpoints": tps,
            "rows": [{"label": label, "other": other, "cells": [shade(cell.get((tp, theme))) for tp in tps]}
                     for theme, label, other in rows],
            "others": [{"label": lab, "records": int(n)} for lab, n in zip(rest["label"], rest["records"])]}


def _html_trends(c: dict) -> list[dict[str, Any]]:
    """One card per trend line: label, chart, and this week's numbers."""
    from markupsafe import Markup

    cards = []
    for t, s in c["trend_lines"].items():
        last = s.iloc[-1]
        cards.append({"label": c["labels"].get(t, f"theme {t}"), "chart": Markup(volume_line_svg(s)),
                      "volume": int(last["volume"]), "volume_delta": last["volume_delta"],
                      "negative_share": last["negative_share"], "nps_impact": last["nps_impact"]})
    return cards


def _code_frame(c: dict) -> dict[str, Any] | None:
    """The code-frame coverage rows (touchpoint name, mentions, shares), candidates and unseen themes."""
    cf = c.get("code_frame")
    if not cf:
        return None
    rows = [{"name": "all mentions" if r["level"] == "overall" else r["touchpoint"], "mentions": int(r["mentions"]),
             "code_frame_share": r["code_frame_share"], "discovered_share": r["discovered_share"]}
            for _, r in cf["table"].iterrows()]
    return {"version": cf["version"], "rows": rows, "candidates": cf["candidates"], "unseen": cf["empty"]}


# ------------------------------------------------------------------- Markdown
def render_markdown(records: pd.DataFrame, mentions: pd.DataFrame, **options: Any) -> str:
    """The report's headline content as pasteable Markdown.

    Takes the same arguments as :func:`~voc.report.report_content`.
    """
    return markdown_from_content(report_content(records, mentions, **options))


def markdown_from_content(c: dict[str, Any]) -> str:
    """Render the dict of :func:`~voc.report.report_content` as Markdown."""
    key, title = c.get("impact", ("nps_impact", "NPS impact"))

    def row(r: Any, leaf: bool) -> dict[str, Any]:
        return {"leaf": leaf, "rank": "" if leaf else r.get("rank"), "label": r.get("label", ""),
                "records": r.get("records"), "negative_share": r.get("negative_share"), "impact": r.get(key),
                "ci_low": r.get(f"{key}_ci_low"), "ci_high": r.get(f"{key}_ci_high"),
                "quote": r["quote_list"][0] if r["quote_list"] else ""}

    pains = [{"title": _section_title(name), "header": _item_header(g),
              "rows": [x for _, r in g.iterrows() for x in [row(r, False), *(row(f, True) for f in r["leaves"])]]}
             for name, g in c["pain_sections"]]
    return environment("md").get_template("report.md.j2").render(
        c=c, kpis=_kpi_cards(c), pains=pains, impact_title=title, new_themes=c["new_themes"].to_dict("records"),
        spikes=c["spikes"].to_dict("records"), code_frame=_code_frame(c))
