"""The weekly meeting report: one self-contained HTML page and a Markdown twin.

Functions over the tables, no report object:

- :func:`report_content` gathers what the report says (KPIs, pain points,
  heatmap, trends, emerging themes, spikes, quotes, n) into a dict of
  plain values and DataFrames;
- :func:`render_html` / :func:`render_markdown` turn the tables into text
  (they call :func:`report_content`);
- :func:`write_report` reads a :class:`~voc.store.Store` (or an Analysis)
  and writes ``report.html`` and ``report.md`` atomically.

The HTML opens offline: no script, no web font, no external resource; the
charts are inline SVG drawn here. Every customer text and label is escaped.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from . import trends as T
from ._atomic import write_text_atomic
from .errors import ConfigError
from .rank import QUOTE_SEP
from .script import has_japanese

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Content-Security-Policy of the page: no script, no network, inline styles only."""
MAX_QUOTE = 180

KPI_NAMES = {"nps": "NPS", "ces": "CES", "csat": "CSAT", "volume": "Volume", "sentiment": "Sentiment"}
HEATMAP_BY = ("pain", "volume")
_DELTA_DIGITS = {"volume": 0, "nps": 1, "csat": 1}  # decimals shown; 2 for the others


# --------------------------------------------------------------------- content
def report_content(
    records: pd.DataFrame,
    mentions: pd.DataFrame,
    *,
    themes: pd.DataFrame | None = None,
    pain_points: pd.DataFrame | None = None,
    touchpoints: pd.DataFrame | None = None,
    lineage: pd.DataFrame | None = None,
    run: dict | None = None,
    week: str | None = None,
    top: int = 3,
    top_trends: int = 5,
    n_quotes: int = 3,
    heatmap_top: int = 15,
    heatmap_by: str = "pain",
    title: str = "Voice of the customer: weekly report",
) -> dict[str, Any]:
    """Everything the report shows, as plain values and DataFrames.

    Parameters
    ----------
    records, mentions : DataFrame
        All records and mentions up to (at least) the reported week; records
        need ``date`` for trends and KPIs.
    themes : DataFrame, optional
        theme, label (labels of theme ids; "theme <id>" otherwise), and
        optionally topic, topic_label: the pain points are then shown by
        topic with their leaf themes beneath.
    pain_points, touchpoints : DataFrame, optional
        The ranked tables of the run (see :mod:`voc.rank`).
    lineage : DataFrame, optional
        :meth:`voc.Store.lineage`, for "new" themes.
    run : dict, optional
        The run record (its ``config`` sets the CSAT threshold and CES
        direction; its id is shown).
    week : str, optional
        ``YYYY-Www``; the latest week with data when None.
    top : int
        Pain points shown per touchpoint.
    top_trends : int
        Themes (by volume this week) drawn as trend lines.
    n_quotes : int
        Quotes per item (2-3 reads well).
    heatmap_top : int
        Themes shown as heatmap rows; the rest of the week's themes are
        folded into one "other themes (k)" row.
    heatmap_by : {"pain", "volume"}
        Which themes get the rows: most negative records this week ("pain",
        ties by records), or most records ("volume").
    """
    if heatmap_by not in HEATMAP_BY:
        raise ConfigError(f"heatmap_by must be one of {', '.join(HEATMAP_BY)}. Got {heatmap_by!r}.")
    if not isinstance(heatmap_top, int) or heatmap_top < 1:
        raise ConfigError(f"heatmap_top must be a positive integer. Got {heatmap_top!r}.")
    run = run or {}
    cfg = run.get("config") or {}
    csat_scale = tuple(cfg.get("csat_scale") or (1, 5))
    satisfied = cfg.get("csat_threshold") or csat_scale[1] - 1
    ces_direction = cfg.get("ces_direction", "higher_is_easier")
    labels = _labels(themes)

    dated = records[records[C.DATE].notna()] if C.DATE in records else records.iloc[:0]
    if dated.empty:
        raise ConfigError("The report needs dated records: map a date column (--date-col).")
    all_periods = sorted(T.periods(dated[C.DATE]).unique())
    if week is None:
        period = all_periods[-1]
    else:
        period = T.parse_week(week)
        if period not in all_periods:
            weeks = ", ".join(T.week_label(p) for p in all_periods[-12:])
            raise ConfigError(f"No records in week {week}. Weeks with data: {weeks}.")
    end = period + pd.Timedelta(days=7)
    upto = records[records[C.DATE].notna() & (pd.to_datetime(records[C.DATE]) < end)]
    upto_m = mentions[mentions[C.VOC_ID].isin(upto[C.VOC_ID])]
    week_ids = set(upto.loc[T.periods(upto[C.DATE]) == period, C.VOC_ID])
    week_m = upto_m[upto_m[C.VOC_ID].isin(week_ids)]

    kpis = T.kpis(upto, period=period, csat_satisfied_from=satisfied)
    trends = T.theme_trends(upto, upto_m)
    spikes = T.detect_spikes(trends, period=period)
    new = T.new_themes(trends, period=period, lineage=lineage)
    for df in (spikes, new):
        df["label"] = [labels.get(int(t), f"theme {int(t)}") for t in df[C.THEME]]
        df["quotes"] = [_quotes_for(week_m, int(t), n_quotes) for t in df[C.THEME]]

    this = trends[trends["period"] == period].sort_values("volume", ascending=False)
    top_ids = [int(t) for t in this.loc[this["volume"] > 0, C.THEME].head(top_trends)]
    lines = {t: trends[trends[C.THEME] == t].sort_values("period").tail(12) for t in top_ids}

    heat = _heatmap(upto[upto[C.VOC_ID].isin(week_ids)], week_m, labels)
    pains = _pain_sections(pain_points, themes, top=top, n_quotes=n_quotes)
    week_records = upto[upto[C.VOC_ID].isin(week_ids)]
    n = {
        "records": len(week_records),
        "mentions": len(week_m),
        "themed_mentions": int((week_m[C.THEME] != C.NOISE).sum()),
        "nps": int(week_records[C.NPS].notna().sum()) if C.NPS in week_records else 0,
        "csat": int(week_records[C.CSAT].notna().sum()) if C.CSAT in week_records else 0,
        "ces": int(week_records[C.CES].notna().sum()) if C.CES in week_records else 0,
        "weeks": len([p for p in all_periods if p <= period]),
        "records_total": len(upto),
    }
    return {
        "title": title,
        "week": T.week_label(period),
        "period": period,
        "period_end": end - pd.Timedelta(days=1),
        "previous": T.week_label(kpis.attrs["previous_period"]) if kpis.attrs.get("previous_period") is not None else None,
        "run_id": (run.get("store") or {}).get("run_id") or run.get("run_id"),
        "kpis": kpis,
        "ces_direction": ces_direction,
        "csat_satisfied_from": satisfied,
        "csat_scale": csat_scale,
        "ces_scale": tuple(cfg.get("ces_scale") or (1, 7)),
        "ces_configured": bool(cfg.get("ces_configured", True)),
        "pain_sections": pains,
        "impact": _impact_column(pain_points),
        "heatmap": heat,
        "heatmap_themes": _heatmap_themes(heat, top=heatmap_top, by=heatmap_by),
        "heatmap_by": heatmap_by,
        "trend_lines": lines,
        "labels": labels,
        "spikes": spikes,
        "new_themes": new,
        "n": n,
        "touchpoints": touchpoints,
        "code_frame": _code_frame(run, week_m, week_records),
    }


def _code_frame(run: dict, week_m: pd.DataFrame, week_records: pd.DataFrame) -> dict | None:
    """This week's coverage by the analysts' code frame (``run["taxonomy"]``), or None."""
    tax = run.get("taxonomy")
    if not tax:
        return None
    from .themes.taxonomy import coverage_table

    m = week_m.drop(columns=[c for c in (C.TOUCHPOINT, C.DATE) if c in week_m.columns])
    if C.TOUCHPOINT in week_records:
        m = m.join(week_records.drop_duplicates(C.VOC_ID).set_index(C.VOC_ID)[[C.TOUCHPOINT]], on=C.VOC_ID)
    table = coverage_table(m, list((tax.get("themes") or {}).values()))
    sugg = tax.get("suggestions") or {}
    return {"version": tax.get("version"), "table": table[table["level"] != "by_week"],
            "candidates": sugg.get("candidates", []), "empty": sugg.get("empty", [])}


def _labels(themes: pd.DataFrame | None) -> dict[int, str]:
    if themes is None or themes.empty or "label" not in themes:
        return {}
    return {int(t): str(lab) for t, lab in zip(themes[C.THEME], themes["label"]) if pd.notna(lab)}


def _trim(text: str, limit: int = MAX_QUOTE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quotes_for(mentions: pd.DataFrame, theme: int, n: int) -> list[str]:
    """Up to ``n`` distinct quotes of a theme, most negative first."""
    m = mentions[(mentions[C.THEME] == theme) & mentions[C.TEXT].fillna("").astype(str).str.strip().ne("")]
    if C.SENTIMENT in m:
        m = m.sort_values(C.SENTIMENT, kind="stable")
    out: list[str] = []
    for text in m[C.TEXT]:
        q = _trim(text)
        if q not in out:
            out.append(q)
        if len(out) == n:
            break
    return out


def _split_quotes(value: Any, n: int) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = value.split(QUOTE_SEP)
    else:
        items = []
    return [_trim(q) for q in items if q and q.strip()][:n]


LEAVES_PER_TOPIC = 3
"""Leaf themes shown beneath each topic in the pain-point sections."""


def _pain_sections(pain_points: pd.DataFrame | None, themes: pd.DataFrame | None = None, *, top: int,
                   n_quotes: int) -> list[tuple[str, pd.DataFrame]]:
    """Top ``top`` pain points per touchpoint; by topic when topics are known.

    With a ``level`` column, the topic rows are the headline and the theme
    rows of the same topic go beneath (``leaves``). Without it, theme rows
    are grouped under their topic (``themes`` with ``topic``,
    ``topic_label``): a topic ranks by its best theme and has no numbers of
    its own. Without topics every row is a theme and ``leaves`` is empty.
    """
    if pain_points is None or pain_points.empty:
        return []
    pp = pain_points.copy()
    if "level" in pp:  # read from a store, runs from before levels have an empty level
        pp = pp.drop(columns="level") if pp["level"].isna().all() else pp.assign(level=pp["level"].fillna("theme"))
    if "rank" not in pp:
        pp["rank"] = pp.groupby(C.TOUCHPOINT).cumcount() + 1
    topic_of, topic_label = {}, {}
    if themes is not None and C.TOPIC in themes:
        known = themes[themes[C.TOPIC].notna()]
        topic_of = {int(t): int(p) for t, p in zip(known[C.THEME], known[C.TOPIC])}
        if "topic_label" in known:
            topic_label = {int(p): str(lab) for p, lab in zip(known[C.TOPIC], known["topic_label"])}
    levels = "level" in pp
    if C.TOPIC not in pp or pp[C.TOPIC].isna().all():
        pp[C.TOPIC] = [topic_of.get(int(t), C.NOISE) if _isnum(t) else C.NOISE for t in pp.get(C.THEME, [])]
    grouped = levels or bool(topic_of)
    names = sorted(pp[C.TOUCHPOINT].astype(str).unique(), key=lambda s: (s != C.ALL_TOUCHPOINTS, s))
    out = []
    for name in names:
        here = pp[pp[C.TOUCHPOINT].astype(str) == name].sort_values("rank", kind="stable")
        leaves = here[here["level"] == "theme"] if levels else here
        if levels:
            heads = here[here["level"] == "topic"].head(top).copy()
        elif grouped:
            firsts = leaves.drop_duplicates(C.TOPIC).head(top)
            heads = pd.DataFrame({C.TOPIC: firsts[C.TOPIC].to_numpy(), "rank": np.arange(1, len(firsts) + 1),
                                  "label": [topic_label.get(int(t), f"topic {int(t)}") for t in firsts[C.TOPIC]]})
        else:
            heads = here.head(top).copy()
        heads["quote_list"] = [_split_quotes(q, n_quotes) for q in heads.get("quotes", pd.Series([""] * len(heads)))]
        heads["leaves"] = [
            [dict(r, quote_list=_split_quotes(r.get("quotes", ""), 1))
             for r in leaves[leaves[C.TOPIC] == t].head(LEAVES_PER_TOPIC).to_dict("records")]
            if grouped else [] for t in heads.get(C.TOPIC, [C.NOISE] * len(heads))]
        out.append((name, heads.reset_index(drop=True)))
    return out


def _impact_column(pain_points: pd.DataFrame | None) -> tuple[str, str]:
    """(column, title) of the impact the pain tables show: the complaint impact
    of the metric that ranked them (:func:`voc.rank.rank_metric_used`); NPS, and
    the whole-theme impact, for tables from before complaint impact."""
    from .rank import rank_metric_used

    m = (rank_metric_used(pain_points) if pain_points is not None else None) or "nps"
    if pain_points is not None and f"complaint_{m}_impact" in pain_points:
        return f"complaint_{m}_impact", f"{KPI_NAMES.get(m, m.upper())} complaint impact"
    return f"{m}_impact", f"{KPI_NAMES.get(m, m.upper())} impact"


def _heatmap(records: pd.DataFrame, mentions: pd.DataFrame, labels: dict[int, str]) -> pd.DataFrame:
    """Long table touchpoint, theme, label, records, negative_share of the week."""
    cols = [C.TOUCHPOINT, C.THEME, "label", "records", "negative_share"]
    if C.TOUCHPOINT not in records or mentions.empty:
        return pd.DataFrame(columns=cols)
    m = mentions.loc[mentions[C.THEME] != C.NOISE, [C.VOC_ID, C.THEME, C.SENTIMENT_LABEL]].merge(
        records[[C.VOC_ID, C.TOUCHPOINT]], on=C.VOC_ID)
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.assign(_neg=(m[C.SENTIMENT_LABEL] == "negative").astype(float))
    g = m.groupby([C.TOUCHPOINT, C.THEME])
    out = pd.DataFrame({"records": g[C.VOC_ID].nunique(), "negative_share": g["_neg"].mean()}).reset_index()
    out["label"] = [labels.get(int(t), f"theme {int(t)}") for t in out[C.THEME]]
    return out[cols]


def _heatmap_themes(heat: pd.DataFrame, *, top: int, by: str) -> pd.DataFrame:
    """The week's themes in heatmap order: theme, label, records, negative, shown.

    ``negative`` is the number of negative records (records x negative share,
    summed over touchpoints); the first ``top`` by ``by`` are ``shown``.
    """
    if heat.empty:
        return pd.DataFrame(columns=[C.THEME, "label", "records", "negative", "shown"])
    h = heat.assign(negative=heat["records"] * heat["negative_share"].fillna(0))
    t = h.groupby([C.THEME, "label"], as_index=False)[["records", "negative"]].sum()
    keys = ["negative", "records"] if by == "pain" else ["records", "negative"]
    t = t.sort_values(keys + [C.THEME], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    t["shown"] = t.index < top
    return t


# ---------------------------------------------------------------- formatting
def _isnum(v: Any) -> bool:
    try:
        return v is not None and not (isinstance(v, float) and math.isnan(v)) and not pd.isna(v)
    except (TypeError, ValueError):
        return False


def _fmt_kpi(metric: str, v: Any, *, delta: bool = False) -> str:
    if not _isnum(v):
        return "–"
    v = float(v)
    if delta and round(v, _DELTA_DIGITS.get(metric, 2)) == 0:
        v = 0.0  # no "-0.00" or "+0.00": unchanged at the shown precision
    sign = "+" if delta and v > 0 else ""
    if metric == "volume":
        return f"{sign}{v:,.0f}"
    if metric in ("nps",):
        return f"{sign}{v:.1f}"
    if metric == "csat":
        return f"{sign}{v:.1f}%" if not delta else f"{sign}{v:.1f} pt"
    return f"{sign}{v:.2f}"


def _good_direction(metric: str, ces_direction: str) -> int:
    """+1 when a higher value is better, -1 when worse, 0 when neutral."""
    if metric == "volume":
        return 0
    if metric == "ces":
        return 1 if ces_direction == "higher_is_easier" else -1
    return 1


def _num(v: Any, fmt: str = "{:.1f}", default: str = "–") -> str:
    return fmt.format(float(v)) if _isnum(v) else default


def _pct(v: Any) -> str:
    return f"{100 * float(v):.0f}%" if _isnum(v) else "–"


# ---------------------------------------------------------------------- SVG
def _impact_svg(value: Any, lo: Any, hi: Any, domain: tuple[float, float], *, width: int = 260) -> str:
    """One horizontal impact bar with a CI whisker, on a shared domain."""
    a, b = domain
    height = 22

    def x(v: float) -> float:
        return 8 + (width - 16) * (float(v) - a) / (b - a)

    parts = [f'<svg class="bar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="NPS impact {_num(value)}">',
             f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="{height - 2}" class="zero"/>']
    if _isnum(value):
        x0, x1 = sorted((x(0), x(value)))
        cls = "neg" if round(float(value), 1) < 0 else "pos" if round(float(value), 1) > 0 else "nil"
        parts.append(f'<rect x="{x0:.1f}" y="6" width="{max(x1 - x0, 1):.1f}" height="10" class="{cls}"/>')
    if _isnum(lo) and _isnum(hi):
        l_, h_ = x(lo), x(hi)
        parts.append(f'<line x1="{l_:.1f}" y1="11" x2="{h_:.1f}" y2="11" class="ci"/>'
                     f'<line x1="{l_:.1f}" y1="6" x2="{l_:.1f}" y2="16" class="ci"/>'
                     f'<line x1="{h_:.1f}" y1="6" x2="{h_:.1f}" y2="16" class="ci"/>')
    parts.append("</svg>")
    return "".join(parts)


def _line_svg(series: pd.DataFrame, *, width: int = 300, height: int = 110) -> str:
    """A small line chart of weekly volume with first/last week labels."""
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
    labels = [T.week_label(p) for p in series["period"]]
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
        out.append(f'<text x="{left}" y="{height - 6}" class="tick">{html.escape(labels[0])}</text>')
        out.append(f'<text x="{width - right}" y="{height - 6}" class="tick" text-anchor="end">'
                   f'{html.escape(labels[-1])}</text>')
        a, b = pts[-1]
        out.append(f'<text x="{a - 4:.1f}" y="{max(b - 5, 9):.1f}" class="val" text-anchor="end">'
                   f'{vals[-1]:.0f}</text>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------- HTML
_CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bad:#c0392b;--good:#1e8449;--accent:#2b5fab;}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Hiragino Sans","Noto Sans CJK JP","Yu Gothic",sans-serif;
color:var(--ink);margin:0 auto;max-width:1120px;padding:24px 28px;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:1.02em;margin:16px 0 6px}.sub{color:var(--muted);margin:0 0 12px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.kpi .name{color:var(--muted);font-size:.85em;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:1.7em;font-weight:650}.kpi .delta{font-size:.9em}.kpi .n{color:var(--muted);font-size:.8em}
.up-good{color:var(--good)}.up-bad{color:var(--bad)}.flat{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{font-size:.82em;color:var(--muted);font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
.quotes{margin:2px 0 0;padding-left:18px;color:#333;font-size:.9em}.quotes li{margin:1px 0}
.quotes li::before{content:"“"}.quotes li::after{content:"”"}
svg .zero{stroke:#888;stroke-width:1}svg .neg{fill:var(--bad);opacity:.8}svg .pos{fill:var(--good);opacity:.8}
svg .ci{stroke:#222;stroke-width:1.4}svg .axis{stroke:#aaa;stroke-width:1}svg .trend{fill:none;stroke:var(--accent);stroke-width:2}
svg .dot{fill:var(--accent)}svg .tick{font-size:10px;fill:var(--muted)}svg .val{font-size:11px;fill:var(--ink);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;break-inside:avoid}
.card h3{margin:0 0 4px}.meta{color:var(--muted);font-size:.85em}
.scroll{overflow-x:auto;max-width:100%}
/* pain tables: columns #, theme, records, negative, impact [CI], bar, q; the theme (with its quotes)
   keeps a readable width, the numbers never wrap, and what does not fit scrolls sideways */
table.pains{table-layout:fixed;min-width:calc(688px + 16em)}
table.pains col.c-rank{width:34px}table.pains col.c-num{width:84px}table.pains col.c-imp{width:150px}
table.pains col.c-bar{width:276px}table.pains col.c-q{width:60px}
table.pains td:nth-child(2){overflow-wrap:anywhere}
table.pains tr.leaf td{font-size:.92em;border-bottom-style:dotted}table.pains .leaf-mark{color:var(--muted)}
.heat td.cell{text-align:center;font-size:.85em;min-width:64px;white-space:nowrap}
.heat th.theme{min-width:11em;max-width:22em;overflow-wrap:anywhere}.heat tr.other th,.heat tr.other td{font-style:italic;border-top:2px solid var(--line)}
details.more{color:var(--muted);font-size:.85em;margin:4px 0 0}details.more summary{cursor:pointer}
svg .nil{fill:var(--muted);opacity:.6}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:.78em;background:#eef2f8;color:var(--accent);margin-left:6px}
.badge.spike{background:#fdecea;color:var(--bad)}.badge.new{background:#e9f7ef;color:var(--good)}
.methods{color:#333;font-size:.9em}.methods code{font-size:.95em}
.empty{color:var(--muted);font-style:italic}
@media (max-width:1000px){body{padding:16px}
table.pains{min-width:calc(388px + 14em)}table.pains col.c-bar{width:0}
table.pains th:nth-child(6),table.pains td:nth-child(6){padding:0;font-size:0;border-left:0;border-right:0}
table.pains td:nth-child(6) svg{display:none}table.pains col.c-num{width:72px}}
@media (max-width:600px){body{padding:10px;font-size:14px}
table.pains,table.pains tbody,table.pains tr,table.pains td{display:block;width:auto;min-width:0}
table.pains td:nth-child(6){display:none}table.pains td:nth-child(n+3){display:inline-block;margin-right:12px}
table.pains colgroup,table.pains thead{display:none}table.pains tr{border-bottom:1px solid var(--line);padding:6px 0}
table.pains td{border:0;padding:1px 4px;text-align:left;min-width:0}
table.pains td:nth-child(1)::before{content:"# "}table.pains td:nth-child(3)::before{content:"Records "}
table.pains td:nth-child(4)::before{content:"Negative "}table.pains td:nth-child(5)::before{content:"Impact [CI] "}
table.pains td:nth-child(7)::before{content:"q "}table.pains td::before{color:var(--muted);font-size:.85em}}
@page{margin:12mm}
@media print{body{max-width:none;padding:0;font-size:10pt;line-height:1.35}
h2{break-after:avoid;margin-top:16px}h3{break-after:avoid}.card,.kpi,tr{break-inside:avoid}
thead{display:table-header-group}.scroll{overflow:visible}
details.more{display:none}table.pains{min-width:0}table.pains col.c-bar{width:0}
table.pains th:nth-child(6),table.pains td:nth-child(6){padding:0;font-size:0}table.pains td:nth-child(6) svg{display:none}
table.pains col.c-num{width:64px}table.pains col.c-imp{width:140px}table.pains col.c-q{width:48px}
.quotes{font-size:.88em}table.pains .quotes li:nth-child(n+3){display:none}
table.pains .quotes li{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
table.pains col.c-rank{width:26px}.heat{font-size:8.5pt}.heat th.theme{min-width:9em}.heat td.cell{min-width:0;padding:3px 4px}
.cards{grid-template-columns:repeat(2,1fr)}
a{color:inherit;text-decoration:none}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _lang(text: str) -> str:
    return "ja" if has_japanese(text) else "en"


def _quote_list(quotes: list[str]) -> str:
    if not quotes:
        return ""
    items = "".join(f'<li lang="{_lang(q)}">{_e(q)}</li>' for q in quotes)
    return f'<ul class="quotes">{items}</ul>'


def render_html(records: pd.DataFrame, mentions: pd.DataFrame, **options: Any) -> str:
    """The report as one self-contained HTML page (no script, inline SVG).

    Takes the same arguments as :func:`report_content`.
    """
    return html_from_content(report_content(records, mentions, **options))


def html_from_content(c: dict[str, Any]) -> str:
    """Render the dict of :func:`report_content` as HTML."""
    body = [
        f"<header><h1>{_e(c['title'])}</h1>",
        f'<p class="sub">Week <strong id="week">{_e(c["week"])}</strong> '
        f"({c['period']:%Y-%m-%d} to {c['period_end']:%Y-%m-%d})"
        + (f" compared with {_e(c['previous'])}" if c["previous"] else "")
        + (f" · run <code>{_e(c['run_id'])}</code>" if c.get("run_id") else "")
        + f" · {c['n']['records']:,} records, {c['n']['mentions']:,} mentions</p></header>",
        _html_kpis(c),
        _html_alerts(c),
        _html_pains(c),
        _html_heatmap(c),
        _html_trends(c),
        _html_code_frame(c),
        _html_methods(c),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f"<title>{_e(c['title'])} {_e(c['week'])}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_kpis(c: dict) -> str:
    cards = []
    for _, row in c["kpis"].iterrows():
        m = row["metric"]
        d = row["delta"]
        good = _good_direction(m, c["ces_direction"])
        if _isnum(d) and round(float(d), _DELTA_DIGITS.get(m, 2)) == 0:
            d = 0.0  # no change at the shown precision: a neutral marker, never a coloured arrow
            cls, arrow = "flat", "="
        elif not _isnum(d) or good == 0:
            cls, arrow = "flat", ("▲" if _isnum(d) and d > 0 else "▼" if _isnum(d) and d < 0 else "")
        else:
            cls = "up-good" if (d > 0) == (good > 0) else "up-bad"
            arrow = "▲" if d > 0 else "▼"
        name = KPI_NAMES.get(m, m)
        note = ""
        if m == "csat":
            note = f" (share ≥ {c['csat_satisfied_from']})"
        elif m == "ces":
            note = " (higher = easier)" if c["ces_direction"] == "higher_is_easier" else " (lower = easier)"
        cards.append(
            f'<div class="kpi" id="kpi-{_e(m)}"><div class="name">{_e(name)}{_e(note)}</div>'
            f'<div class="value">{_e(_fmt_kpi(m, row["value"]))}</div>'
            f'<div class="delta {cls}">{arrow} {_e(_fmt_kpi(m, d, delta=True))} vs previous week</div>'
            f'<div class="n">n = {int(row["n"]):,}</div></div>'
        )
    return f'<section id="kpis"><h2>Headline</h2><div class="kpis">{"".join(cards)}</div></section>'


def _html_pains(c: dict) -> str:
    out = ['<section id="pain-points"><h2>Top pain points per touchpoint</h2>']
    if not c["pain_sections"]:
        out.append('<p class="empty">No pain-point table in this run.</p></section>')
        return "".join(out)
    key, title = c.get("impact", ("nps_impact", "NPS impact"))
    vals = []
    for _, g in c["pain_sections"]:
        for r in [*g.to_dict("records"), *(leaf for leaves in g["leaves"] for leaf in leaves)]:
            vals += [float(r[col]) for col in (key, f"{key}_ci_low", f"{key}_ci_high") if _isnum(r.get(col))]
    lo, hi = (min(vals + [0.0]), max(vals + [0.0])) if vals else (-1.0, 1.0)
    pad = max((hi - lo) * 0.05, 0.5)
    domain = (lo - pad, hi + pad)
    what = ("the metric of the touchpoint minus the metric without the records that complain about it"
            if key.startswith("complaint_") else "the metric of the touchpoint minus the metric without its records")
    out.append(f'<p class="sub">Bars: {_e(title)} in points ({what}); whiskers: confidence interval. '
               f'Axis {domain[0]:.0f} to {domain[1]:.0f}.</p>')
    for name, g in c["pain_sections"]:
        title = "All touchpoints" if name == C.ALL_TOUCHPOINTS else name
        out.append(f'<h3 lang="{_lang(title)}">{_e(title)}</h3><div class="scroll"><table class="pains">'
                   '<colgroup><col class="c-rank"><col><col class="c-num"><col class="c-num"><col class="c-imp">'
                   '<col class="c-bar"><col class="c-q"></colgroup><thead><tr>'
                   f'<th class="num">#</th><th>{_item_header(g)}</th><th class="num">Records</th><th class="num">Negative</th>'
                   f'<th class="num">{_e(title)} [CI]</th><th>Impact</th><th class="num">q</th></tr></thead><tbody>')
        for _, r in g.iterrows():
            out.append(_html_pain_row(r, domain, key=key))
            out += [_html_pain_row(leaf, domain, key=key, leaf=True) for leaf in r["leaves"]]
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "".join(out)


def _item_header(section: pd.DataFrame) -> str:
    """Column title of a pain-point table: "Topic / theme" when themes are shown beneath topics."""
    return "Topic / theme" if any(len(x) for x in section.get("leaves", [])) else "Theme"


def _html_pain_row(r: Any, domain: tuple[float, float], *, key: str = "nps_impact", leaf: bool = False) -> str:
    """One row of a pain-point table: a topic (or theme) in bold, or a leaf theme beneath it.

    ``key`` is the impact column shown (with ``_ci_low``, ``_ci_high``, ``_q``)."""
    ci = (f" [{_num(r.get(f'{key}_ci_low'))}, {_num(r.get(f'{key}_ci_high'))}]"
          if _isnum(r.get(f"{key}_ci_low")) else "")
    label = r.get("label", "")
    name = f'<span class="leaf-mark">↳ </span>{_e(label)}' if leaf else f"<strong>{_e(label)}</strong>"
    bar = (_impact_svg(r.get(key), r.get(f"{key}_ci_low"), r.get(f"{key}_ci_high"), domain)
           if _isnum(r.get(key)) or (not leaf and _isnum(r.get("records"))) else "")
    row_class = ' class="leaf"' if leaf else ""
    rank = "" if leaf else _e(r.get("rank"))
    return (
        f"<tr{row_class}><td class=\"num\">{rank}</td>"
        f"<td lang=\"{_lang(label)}\">{name}{_quote_list(r['quote_list'])}</td>"
        f"<td class=\"num\">{_num(r.get('records'), '{:,.0f}')}</td>"
        f"<td class=\"num\">{_pct(r.get('negative_share'))}</td>"
        f"<td class=\"num\">{_num(r.get(key))}{_e(ci)}</td>"
        f"<td>{bar}</td>"
        f"<td class=\"num\">{_num(r.get(f'{key}_q'), '{:.3f}')}</td></tr>"
    )


def _html_heatmap(c: dict) -> str:
    h = c["heatmap"]
    out = ['<section id="heatmap"><h2>Touchpoint × theme (this week)</h2>']
    if h.empty:
        out.append('<p class="empty">No themed mentions this week.</p></section>')
        return "".join(out)
    themes = c["heatmap_themes"]
    shown, rest = themes[themes["shown"]], themes[~themes["shown"]]
    order = "negative records" if c.get("heatmap_by", "pain") == "pain" else "records"
    out.append('<p class="sub">Cell: records mentioning the theme (negative share); darker = more negative '
               f'records. The {len(shown)} themes with the most {order} this week'
               + (f'; the other {len(rest)} are summed in the last row.' if len(rest) else '.') + '</p>')
    tps = sorted(h[C.TOUCHPOINT].astype(str).unique())
    neg = (h["records"] * h["negative_share"].fillna(0))
    top = max(float(neg.max()), 1.0)
    cell = {(str(r[C.TOUCHPOINT]), int(r[C.THEME])): (r["records"], r["negative_share"]) for _, r in h.iterrows()}
    if len(rest):
        other = h[h[C.THEME].isin(rest[C.THEME])]
        for tp, g in other.groupby(other[C.TOUCHPOINT].astype(str)):
            n = float(g["records"].sum())
            cell[(tp, None)] = (n, float((g["records"] * g["negative_share"].fillna(0)).sum()) / n if n else np.nan)
    out.append('<div class="scroll"><table class="heat"><thead><tr><th class="theme">Theme</th>'
               + "".join(f'<th class="num" lang="{_lang(t)}">{_e(t)}</th>' for t in tps) + "</tr></thead><tbody>")
    rows = [(int(t), str(lab), "") for t, lab in zip(shown[C.THEME], shown["label"])]
    if len(rest):
        rows.append((None, f"other themes ({len(rest)})", ' class="other"'))
    for theme, label, cls in rows:
        row = [f'<th class="theme" lang="{_lang(label)}">{_e(label)}</th>']
        for tp in tps:
            value = cell.get((tp, theme))
            if value is None:
                row.append('<td class="cell"></td>')
                continue
            n, share = value
            alpha = 0.08 + 0.8 * min(float(n * (share if _isnum(share) else 0)) / top, 1.0)
            ink = "#fff" if alpha > 0.55 else "#1d2330"
            row.append(f'<td class="cell" style="background:rgba(192,57,43,{alpha:.2f});color:{ink}">'
                       f'{int(n)} ({_pct(share)})</td>')
        out.append(f"<tr{cls}>" + "".join(row) + "</tr>")
    out.append("</tbody></table></div>")
    if len(rest):
        names = ", ".join(f'<span lang="{_lang(lab)}">{_e(lab)}</span> ({int(n)})'
                          for lab, n in zip(rest["label"], rest["records"]))
        out.append(f'<details class="more"><summary>The other {len(rest)} themes</summary><p>{names}</p></details>')
    out.append("</section>")
    return "".join(out)


def _html_trends(c: dict) -> str:
    out = ['<section id="trends"><h2>Weekly trend of the top themes</h2>']
    if not c["trend_lines"]:
        out.append('<p class="empty">No themes this week.</p></section>')
        return "".join(out)
    out.append('<p class="sub">Records mentioning the theme per week (last 12 weeks).</p><div class="cards">')
    for t, s in c["trend_lines"].items():
        label = c["labels"].get(t, f"theme {t}")
        last = s.iloc[-1]
        out.append(
            f'<div class="card"><h3 lang="{_lang(label)}">{_e(label)}</h3>{_line_svg(s)}'
            f'<div class="meta">this week {int(last["volume"])} records '
            f'({_num(last["volume_delta"], "{:+.0f}", "new")} vs previous), negative {_pct(last["negative_share"])}, '
            f'NPS impact {_num(last["nps_impact"])}</div></div>'
        )
    out.append("</div></section>")
    return "".join(out)


def _html_alerts(c: dict) -> str:
    out = ['<section id="alerts"><h2>Emerging themes and spikes</h2><div class="cards">']
    new, spikes = c["new_themes"], c["spikes"]
    for _, r in new.iterrows():
        out.append(
            f'<div class="card new"><h3 lang="{_lang(r["label"])}">{_e(r["label"])}'
            f'<span class="badge new">new this week</span></h3>'
            f'<div class="meta">{int(r["volume"])} records, negative {_pct(r["negative_share"])}, '
            f'NPS impact {_num(r["nps_impact"])}</div>{_quote_list(r["quotes"])}</div>'
        )
    for _, r in spikes.iterrows():
        if r["kind"] == "volume":
            what = (f'{int(r["observed"])} records vs {r["expected"]:.1f} expected '
                    f'(Poisson p = {r["p_value"]:.2g})')
        else:
            what = (f'negative share {_pct(r["observed"])} vs {_pct(r["expected"])} before '
                    f'(z-test p = {r["p_value"]:.2g})')
        where = f' · {r[C.TOUCHPOINT]}' if C.TOUCHPOINT in spikes.columns else ""
        out.append(
            f'<div class="card spike"><h3 lang="{_lang(r["label"])}">{_e(r["label"])}'
            f'<span class="badge spike">{_e("spike" if r["kind"] == "volume" else "more negative")}</span></h3>'
            f'<div class="meta">{_e(what)}{_e(where)}</div>{_quote_list(r["quotes"])}</div>'
        )
    if new.empty and spikes.empty:
        out.append('<p class="empty">No new themes and no spikes this week.</p>')
    out.append("</div></section>")
    return "".join(out)


def _html_code_frame(c: dict) -> str:
    cf = c.get("code_frame")
    if not cf:
        return ""
    rows = "".join(
        f"<tr><td>{_e('all mentions' if r['level'] == 'overall' else r['touchpoint'])}</td>"
        f"<td>{int(r['mentions']):,}</td><td>{_pct(r['code_frame_share'])}</td>"
        f"<td>{_pct(r['discovered_share'])}</td></tr>" for _, r in cf["table"].iterrows())
    out = [f'<section id="code-frame"><h2>Code frame coverage (taxonomy {_e(cf["version"])})</h2>',
           "<table><tr><th>Touchpoint</th><th>Mentions</th><th>In the code frame</th><th>Discovered</th></tr>",
           rows, "</table>"]
    if cf["candidates"]:
        out.append("<p>Candidate additions (discovered themes near a seeded theme):</p><ul>")
        out += [f"<li>{_e(x['label'])} (near {_e(x['near'])}, similarity {x['similarity']:.2f}, "
                f"{x['mentions']} mentions){_quote_list(x['exemplars'][:2])}</li>" for x in cf["candidates"]]
        out.append("</ul>")
    if cf["empty"]:
        out.append("<p>Seeded themes with no mentions: " + ", ".join(_e(x["name"]) for x in cf["empty"]) + "</p>")
    out.append("</section>")
    return "".join(out)


def _html_methods(c: dict) -> str:
    n = c["n"]
    lo, hi = c["csat_scale"]
    items = [
        f"<li><b>NPS</b> = % promoters (9–10) − % detractors (0–6), −100…100; n = {n['nps']:,} scored "
        "records this week.</li>",
        f"<li><b>CSAT</b> = share of answers ≥ {c['csat_satisfied_from']} on the {lo}–{hi} scale; "
        f"n = {n['csat']:,}.</li>",
        f"<li><b>CES</b> = mean answer on the {c['ces_scale'][0]}–{c['ces_scale'][1]} scale "
        f"({'higher = easier' if c['ces_direction'] == 'higher_is_easier' else 'lower = easier'}"
        f"{'; scale and direction assumed, not configured' if not c['ces_configured'] else ''}); "
        f"n = {n['ces']:,}.</li>",
        "<li><b>Sentiment</b> = mean record sentiment in [−1, 1]; <b>negative share</b> = share of a theme's "
        "mentions labelled negative.</li>",
        "<li><b>NPS impact</b> of a theme = NPS(touchpoint) − NPS(touchpoint without the theme's records); "
        "negative means the theme pulls NPS down. Intervals are bootstrap intervals; q is the "
        "Benjamini–Hochberg adjusted p-value.</li>",
        "<li><b>Spike</b>: this week's count c of records mentioning a theme against Poisson(λ), λ = this "
        "week's records × the theme's rate over the 4 previous weeks; flagged when c ≥ 5 and P(X ≥ c) &lt; 0.01. "
        "<b>More negative</b>: one-sided two-proportion z-test of the negative share against the 4 previous "
        "weeks (≥ 5 negative mentions, p &lt; 0.01). <b>New this week</b>: first seen this week.</li>",
        f"<li>This week: {n['records']:,} records, {n['mentions']:,} mentions ({n['themed_mentions']:,} in a "
        f"theme); history: {n['weeks']} weeks, {n['records_total']:,} records.</li>",
    ]
    return f'<section id="methods" class="methods"><h2>Methods</h2><ul>{"".join(items)}</ul></section>'


# ------------------------------------------------------------------ Markdown
def _md(v: Any) -> str:
    """Escape a value for a Markdown table cell or line (pipes, HTML, newlines)."""
    s = " ".join(str("" if v is None else v).split())
    for ch in ("\\", "|", "<", ">", "`", "*", "_", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s


def render_markdown(records: pd.DataFrame, mentions: pd.DataFrame, **options: Any) -> str:
    """The report's headline content as pasteable Markdown.

    Takes the same arguments as :func:`report_content`.
    """
    return markdown_from_content(report_content(records, mentions, **options))


def markdown_from_content(c: dict[str, Any]) -> str:
    """Render the dict of :func:`report_content` as Markdown."""
    n = c["n"]
    lines = [f"# {_md(c['title'])}: {c['week']}", "",
             f"{c['period']:%Y-%m-%d} to {c['period_end']:%Y-%m-%d}; {n['records']:,} records, "
             f"{n['mentions']:,} mentions" + (f"; compared with {c['previous']}" if c["previous"] else "") + ".",
             "", "## Headline", "", "| Metric | This week | Previous | Change | n |", "|---|---:|---:|---:|---:|"]
    for _, r in c["kpis"].iterrows():
        m = r["metric"]
        lines.append(f"| {KPI_NAMES.get(m, m)} | {_fmt_kpi(m, r['value'])} | {_fmt_kpi(m, r['previous'])} | "
                     f"{_fmt_kpi(m, r['delta'], delta=True)} | {int(r['n']):,} |")
    lines += ["", "## Top pain points"]
    if not c["pain_sections"]:
        lines += ["", "_No pain-point table in this run._"]
    key, impact_title = c.get("impact", ("nps_impact", "NPS impact"))
    for name, g in c["pain_sections"]:
        title = "All touchpoints" if name == C.ALL_TOUCHPOINTS else name
        lines += ["", f"### {_md(title)}", "",
                  f"| # | {_item_header(g)} | Records | Negative | {impact_title} [CI] | Quote |",
                  "|---:|---|---:|---:|---:|---|"]
        for _, r in g.iterrows():
            for row, leaf in [(r, False), *((x, True) for x in r["leaves"])]:
                ci = (f" [{_num(row.get(f'{key}_ci_low'))}, {_num(row.get(f'{key}_ci_high'))}]"
                      if _isnum(row.get(f"{key}_ci_low")) else "")
                quote = row["quote_list"][0] if row["quote_list"] else ""
                name = f"↳ {_md(row.get('label', ''))}" if leaf else _md(row.get("label", ""))
                lines.append(f"| {'' if leaf else _md(row.get('rank'))} | {name} | "
                             f"{_num(row.get('records'), '{:,.0f}')} | {_pct(row.get('negative_share'))} | "
                             f"{_num(row.get(key))}{ci} | {_md(quote)} |")
    lines += ["", "## Emerging themes and spikes", ""]
    for _, r in c["new_themes"].iterrows():
        lines.append(f"- **New:** {_md(r['label'])}: {int(r['volume'])} records, negative "
                     f"{_pct(r['negative_share'])}, NPS impact {_num(r['nps_impact'])}")
        lines += [f"  - \"{_md(q)}\"" for q in r["quotes"][:2]]
    for _, r in c["spikes"].iterrows():
        if r["kind"] == "volume":
            what = f"{int(r['observed'])} records vs {r['expected']:.1f} expected (p = {r['p_value']:.2g})"
        else:
            what = f"negative share {_pct(r['observed'])} vs {_pct(r['expected'])} (p = {r['p_value']:.2g})"
        lines.append(f"- **Spike:** {_md(r['label'])}: {what}")
        lines += [f"  - \"{_md(q)}\"" for q in r["quotes"][:2]]
    if c["new_themes"].empty and c["spikes"].empty:
        lines.append("No new themes and no spikes this week.")
    cf = c.get("code_frame")
    if cf:
        lines += ["", f"## Code frame coverage (taxonomy {cf['version']})", "",
                  "| Touchpoint | Mentions | In the code frame | Discovered |", "|---|---:|---:|---:|"]
        for _, r in cf["table"].iterrows():
            name = "all mentions" if r["level"] == "overall" else r["touchpoint"]
            lines.append(f"| {_md(name)} | {int(r['mentions']):,} | {_pct(r['code_frame_share'])} | "
                         f"{_pct(r['discovered_share'])} |")
        for x in cf["candidates"]:
            lines.append(f"- **Candidate addition:** {_md(x['label'])} (near {_md(x['near'])}, similarity "
                         f"{x['similarity']:.2f}, {x['mentions']} mentions)")
        if cf["empty"]:
            lines.append("- **Seeded themes with no mentions:** " + ", ".join(_md(x["name"]) for x in cf["empty"]))
    lines += ["", "## Methods", "",
              "NPS = % promoters (9-10) - % detractors (0-6). NPS impact = NPS(touchpoint) - NPS(touchpoint "
              "without the theme's records). Spike = Poisson test of this week's count against the 4-week "
              f"trailing rate (c >= 5, p < 0.01). n: {n['nps']:,} NPS answers, {n['records']:,} records this week.",
              ""]
    return "\n".join(lines)


# -------------------------------------------------------------------- write
def write_report(source: Any, out_dir: str | Path, *, week: str | None = None, **options: Any) -> dict[str, Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir`` atomically.

    Parameters
    ----------
    source : Store, str, Path or Analysis
        A run store (or its path), or an Analysis-like object with records,
        mentions, themes, pain_points, touchpoints and run.
    out_dir : str or Path
        Folder to write into (created if needed).
    week : str, optional
        ``YYYY-Www``; the latest week with data when None.
    **options
        Passed to :func:`report_content` (top, top_trends, n_quotes, title).

    Returns
    -------
    dict
        ``{"html": Path, "md": Path}``.
    """
    from .store import Store

    if isinstance(source, (str, Path)):
        source = Store(source)
    if isinstance(source, Store):
        tables = _tables_from_store(source, week=week)
    else:
        tables = {k: getattr(source, k, None) for k in ("themes", "pain_points", "touchpoints", "run")}
        tables.update(records=source.records, mentions=source.mentions, lineage=None)
    records, mentions = tables.pop("records"), tables.pop("mentions")
    content = report_content(records, mentions, week=week, **tables, **options)
    out_dir = Path(out_dir)
    paths = {"html": out_dir / "report.html", "md": out_dir / "report.md"}
    write_text_atomic(paths["html"], html_from_content(content))
    write_text_atomic(paths["md"], markdown_from_content(content))
    return paths


def _tables_from_store(store: Any, *, week: str | None) -> dict[str, Any]:
    runs = store.runs()
    if runs.empty:
        from .errors import StoreError

        raise StoreError(f"Store '{store.path}' has no runs yet. Write a run first.")
    run_id = runs["run_id"].iloc[-1]
    if week is not None:
        end = T.parse_week(week) + pd.Timedelta(days=7)
        covering = runs[runs["date_min"].notna() & (pd.to_datetime(runs["date_min"]) < end)]
        if len(covering):
            run_id = covering["run_id"].iloc[-1]
    labels = store.theme_labels()[[C.THEME, "label"]]
    themes = store.themes(run_id)
    if len(themes):
        keep = [c for c in (C.THEME, "label", C.TOPIC, "topic_label") if c in themes]
        labels = pd.concat([themes[keep], labels]).drop_duplicates(C.THEME)
    run = json.loads(runs.loc[runs["run_id"] == run_id, "run"].iloc[0] or "{}")
    run.setdefault("store", {})["run_id"] = run_id
    return {
        "records": store.records(),
        "mentions": store.mentions(),
        "themes": labels,
        "pain_points": store.pain_points(run_id),
        "touchpoints": store.touchpoints(run_id),
        "lineage": store.lineage(),
        "run": run,
    }
