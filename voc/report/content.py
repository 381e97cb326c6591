"""What the weekly report says, as plain values and DataFrames (no markup).

:func:`report_content` gathers the KPIs, pain points, heatmap, trends,
emerging themes, spikes, quotes and counts of one week from the tables of a
run (an Analysis, or a store: :func:`store_report_content` reads one week of it
in bounded memory); :mod:`voc.report.render`
turns that dict into HTML and Markdown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .. import trends as T
from ..errors import ConfigError, StoreError
from ..rank import QUOTE_SEP, impact_column, label_map, rank_metric_used, trim_quote
from .format import isnum

MAX_QUOTE = 180
"""Characters of a quote shown in the report (longer ones are cut with "…")."""
KPI_NAMES = {"nps": "NPS", "ces": "CES", "csat": "CSAT", "volume": "Volume", "sentiment": "Sentiment"}
"""How the report names each KPI."""
HEATMAP_BY = ("pain", "volume")
"""The orders of the heatmap's rows (``heatmap_by``)."""


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
    _check_options({"heatmap_top": heatmap_top, "heatmap_by": heatmap_by})
    return content_from_slices(
        week_slices(records, mentions, week=week), themes=themes, pain_points=pain_points,
        touchpoints=touchpoints, lineage=lineage, run=run, top=top, top_trends=top_trends, n_quotes=n_quotes,
        heatmap_top=heatmap_top, heatmap_by=heatmap_by, title=title)


def _check_options(options: dict[str, Any]) -> None:
    """Raise ConfigError for a bad ``heatmap_by`` or ``heatmap_top`` among ``options`` (absent
    ones keep their valid defaults), before any data is read."""
    heatmap_by, heatmap_top = options.get("heatmap_by", HEATMAP_BY[0]), options.get("heatmap_top", 1)
    if heatmap_by not in HEATMAP_BY:
        raise ConfigError(f"heatmap_by must be one of {', '.join(HEATMAP_BY)}. Got {heatmap_by!r}.")
    if not isinstance(heatmap_top, int) or heatmap_top < 1:
        raise ConfigError(f"heatmap_top must be a positive integer. Got {heatmap_top!r}.")


@dataclass(frozen=True)
class WeekSlices:
    """The parts of the history one weekly report reads (:func:`week_slices`, :func:`store_week_slices`).

    ``recent`` holds at least the records of the reported period and of the
    previous period with data (the KPIs and their deltas); ``records`` and
    ``mentions`` are the period's own; ``trends`` has, for every period with
    dated records up to the reported one and every theme, the columns of
    :func:`voc.trends.theme_trends` the alerts and trend lines use (period,
    theme, volume, mentions, negative_mentions, negative_share, nps_impact,
    period_records, volume_delta).
    """

    period: pd.Timestamp
    weeks: int
    records_total: int
    recent: pd.DataFrame
    records: pd.DataFrame
    mentions: pd.DataFrame
    trends: pd.DataFrame


def _pick_period(all_periods: list, week: str | None) -> pd.Timestamp:
    """The reported period: ``week`` (``YYYY-Www``) if it has data, else the latest."""
    if not all_periods:
        raise ConfigError("The report needs dated records: map a date column (--date-col).")
    if week is None:
        return pd.Timestamp(all_periods[-1])
    period = T.parse_week(week)
    if period not in all_periods:
        weeks = ", ".join(T.week_label(p) for p in all_periods[-12:])
        raise ConfigError(f"No records in week {week}. Weeks with data: {weeks}.")
    return period


def week_slices(records: pd.DataFrame, mentions: pd.DataFrame, *, week: str | None = None) -> WeekSlices:
    """:class:`WeekSlices` of in-memory frames (all records and mentions)."""
    dated = records[records[C.DATE].notna()] if C.DATE in records else records.iloc[:0]
    all_periods = sorted(T.periods(dated[C.DATE]).unique()) if len(dated) else []
    period = _pick_period(all_periods, week)
    end = period + pd.Timedelta(days=7)
    upto = records[records[C.DATE].notna() & (pd.to_datetime(records[C.DATE]) < end)]
    upto_m = mentions[mentions[C.VOC_ID].isin(upto[C.VOC_ID])]
    week_ids = set(upto.loc[T.periods(upto[C.DATE]) == period, C.VOC_ID])
    return WeekSlices(period=period, weeks=len([p for p in all_periods if p <= period]), records_total=len(upto),
                      recent=upto, records=upto[upto[C.VOC_ID].isin(week_ids)],
                      mentions=upto_m[upto_m[C.VOC_ID].isin(week_ids)], trends=T.theme_trends(upto, upto_m))


def store_week_slices(store: Any, *, week: str | None = None) -> WeekSlices:
    """:class:`WeekSlices` read from a run store, in bounded memory.

    Only the reported week's records and mentions (and the previous week's
    records, for the KPI deltas) are read into memory; the per-week theme
    counts of the trends and alerts are computed by DuckDB
    (:meth:`voc.Store.theme_week_trends`), so memory grows with one week's
    feedback, not with the history.
    """
    per_week = store.trend("volume")  # one row per week with dated records; n = its records
    all_periods = list(per_week["period"])
    period = _pick_period(all_periods, week)
    earlier = [p for p in all_periods if p < period]
    label = T.week_label(period)
    recent = store.records(weeks=(T.week_label(earlier[-1]) if earlier else label, label))
    this = recent[T.periods(recent[C.DATE]) == period] if len(recent) else recent
    trends = store.theme_week_trends(weeks=(None, label))
    trends["volume_delta"] = trends.groupby(C.THEME)["volume"].diff()
    upto = per_week[per_week["period"] <= period]
    return WeekSlices(period=period, weeks=len(upto), records_total=int(upto["n"].sum()), recent=recent,
                      records=this.reset_index(drop=True), mentions=store.mentions(weeks=label), trends=trends)


def content_from_slices(
    data: WeekSlices,
    *,
    themes: pd.DataFrame | None = None,
    pain_points: pd.DataFrame | None = None,
    touchpoints: pd.DataFrame | None = None,
    lineage: pd.DataFrame | None = None,
    run: dict | None = None,
    top: int = 3,
    top_trends: int = 5,
    n_quotes: int = 3,
    heatmap_top: int = 15,
    heatmap_by: str = "pain",
    title: str = "Voice of the customer: weekly report",
) -> dict[str, Any]:
    """:func:`report_content` of the :class:`WeekSlices` of one week (same options)."""
    _check_options({"heatmap_top": heatmap_top, "heatmap_by": heatmap_by})
    run = run or {}
    cfg = run.get("config") or {}
    csat_scale = tuple(cfg.get("csat_scale") or (1, 5))
    satisfied = cfg.get("csat_threshold") or csat_scale[1] - 1
    ces_direction = cfg.get("ces_direction", "higher_is_easier")
    labels = label_map(themes)
    period, trends = data.period, data.trends
    end = period + pd.Timedelta(days=7)
    week_m, week_records = data.mentions, data.records

    kpis = T.kpis(data.recent, period=period, csat_satisfied_from=satisfied)
    spikes = T.detect_spikes(trends, period=period)
    new = T.new_themes(trends, period=period, lineage=lineage)
    for df in (spikes, new):
        df["label"] = [labels.get(int(t), f"theme {int(t)}") for t in df[C.THEME]]
        df["quotes"] = [_quotes_for(week_m, int(t), n_quotes) for t in df[C.THEME]]

    this = trends[trends["period"] == period].sort_values("volume", ascending=False)
    top_ids = [int(t) for t in this.loc[this["volume"] > 0, C.THEME].head(top_trends)]
    lines = {t: trends[trends[C.THEME] == t].sort_values("period").tail(12) for t in top_ids}

    heat = _heatmap(week_records, week_m, labels)
    pains = _pain_sections(pain_points, themes, top=top, n_quotes=n_quotes)
    n = {
        "records": len(week_records),
        "mentions": len(week_m),
        "themed_mentions": int((week_m[C.THEME] != C.NOISE).sum()),
        "nps": int(week_records[C.NPS].notna().sum()) if C.NPS in week_records else 0,
        "csat": int(week_records[C.CSAT].notna().sum()) if C.CSAT in week_records else 0,
        "ces": int(week_records[C.CES].notna().sum()) if C.CES in week_records else 0,
        "weeks": data.weeks,
        "records_total": data.records_total,
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
    from ..themes.taxonomy import coverage_table

    m = week_m.drop(columns=[c for c in (C.TOUCHPOINT, C.DATE) if c in week_m.columns])
    if C.TOUCHPOINT in week_records:
        m = m.join(week_records.drop_duplicates(C.VOC_ID).set_index(C.VOC_ID)[[C.TOUCHPOINT]], on=C.VOC_ID)
    table = coverage_table(m, list((tax.get("themes") or {}).values()))
    sugg = tax.get("suggestions") or {}
    return {"version": tax.get("version"), "table": table[table["level"] != "by_week"],
            "candidates": sugg.get("candidates", []), "empty": sugg.get("empty", [])}


def _quotes_for(mentions: pd.DataFrame, theme: int, n: int) -> list[str]:
    """Up to ``n`` distinct quotes of a theme, most negative first."""
    m = mentions[(mentions[C.THEME] == theme) & mentions[C.TEXT].fillna("").astype(str).str.strip().ne("")]
    if C.SENTIMENT in m:
        m = m.sort_values(C.SENTIMENT, kind="stable")
    out: list[str] = []
    for text in m[C.TEXT]:
        q = trim_quote(text, MAX_QUOTE, at_word=False)
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
    return [trim_quote(q, MAX_QUOTE, at_word=False) for q in items if q and q.strip()][:n]


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
        pp[C.TOPIC] = [topic_of.get(int(t), C.NOISE) if isnum(t) else C.NOISE for t in pp.get(C.THEME, [])]
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
    of the metric that ranked them (:func:`voc.rank.rank_metric_used`), by
    :func:`voc.rank.impact_column`; NPS for tables that do not say."""
    m = (rank_metric_used(pain_points) if pain_points is not None else None) or "nps"
    column = impact_column(pain_points if pain_points is not None else {}, m)
    kind = "complaint impact" if column.startswith("complaint_") else "impact"
    return column, f"{KPI_NAMES.get(m, m.upper())} {kind}"


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


def tables_from_store(store: Any, *, week: str | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`report_content` (with records and mentions) read from a store.

    This reads every stored record and mention into memory; the report
    itself (:func:`store_report_content`, :func:`voc.report.write_report`)
    reads only the reported week.
    """
    tables = _run_tables(store, week=week)
    return {"records": store.records(), "mentions": store.mentions(), **tables}


def store_report_content(store: Any, *, week: str | None = None, **options: Any) -> dict[str, Any]:
    """:func:`report_content` of a run store, in bounded memory (:func:`store_week_slices`).

    Gives the same content as ``report_content(**tables_from_store(store))``
    (tested), reading one week of feedback instead of the whole history.
    ``options`` are those of :func:`report_content` (top, top_trends, ...).
    """
    _check_options(options)
    tables = _run_tables(store, week=week)
    return content_from_slices(store_week_slices(store, week=week), **tables, **options)


def _run_tables(store: Any, *, week: str | None) -> dict[str, Any]:
    """The run-level tables of the report: themes (labels), pain points, touchpoints, lineage, run.

    The run reported on is the latest run, or with ``week`` the latest run
    whose data starts before that week ends; theme labels are the run's,
    then the store's latest. Raises :class:`~voc.errors.StoreError` for a
    store without runs.
    """
    runs = store.runs()
    if runs.empty:
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
        "themes": labels,
        "pain_points": store.pain_points(run_id),
        "touchpoints": store.touchpoints(run_id),
        "lineage": store.lineage(),
        "run": run,
    }
