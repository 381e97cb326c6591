"""Trends and alerts over time: weekly metrics, deltas, spikes, new themes.

Pure functions over the ``records`` and ``mentions`` frames (data first,
options keyword-only), so they work on an :class:`~voc.pipeline.Analysis`
and on the frames of a :class:`~voc.store.Store` alike. Records without a
``date`` are left out of every trend.

Definitions (per period, optionally per touchpoint)
---------------------------------------------------
- ``volume``: records mentioning the theme (all records when no theme).
- ``mentions``: mentions (units) of the theme.
- ``negative_share``: share of the theme's mentions labelled negative.
- ``sentiment``: mean mention sentiment.
- ``nps``: NPS (% promoters 9-10 minus % detractors 0-6) of the records
  mentioning the theme that have a score.
- ``nps_impact``: NPS(all scored records of the period) - NPS(scored records
  of the period that do not mention the theme). Negative: the theme drags
  NPS down.
- ``csat``, ``csat_impact``: the same for CSAT, the % of answers >=
  ``csat_satisfied_from`` (default 4, the top two boxes of 1-5).
- ``ces``, ``ces_impact``: the same for CES, the mean answer (the raw
  difference: with ``lower_is_easier`` a positive impact is worse).

Spikes (:func:`detect_spikes`)
------------------------------
- volume: this period's count ``c`` of records mentioning a theme against a
  Poisson with mean ``lambda = N * (sum of the theme's counts over the
  trailing ``window`` periods / sum of all records in them)``, i.e. the
  trailing rate scaled to this period's total volume ``N``; flagged when
  ``c >= min_count`` and ``P(X >= c) < alpha``.
- negative share: one-sided two-proportion z-test of this period's
  negative share of the theme's mentions against the trailing periods'
  pooled share; flagged when this period has ``>= min_count`` negative
  mentions and ``p < alpha``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import columns as C
from . import survey
from .errors import ConfigError, InputError

FREQS = ("D", "W", "M")
TREND_METRICS = ("volume", "mentions", "negative_share", "sentiment", "nps", "nps_impact",
                 "csat", "csat_impact", "ces", "ces_impact")
_IMPACTS = ("nps_impact", "csat_impact", "ces_impact")


def periods(dates: pd.Series, *, freq: str = "W") -> pd.Series:
    """Start of the period of each date: Monday of the ISO week (``"W"``),
    the day (``"D"``) or the first of the month (``"M"``)."""
    if freq not in FREQS:
        raise ConfigError(f"Unknown freq {freq!r}. Allowed: {', '.join(FREQS)}.")
    d = pd.to_datetime(dates, utc=True, errors="coerce").dt.tz_localize(None)
    if freq == "D":
        return d.dt.floor("D")
    rule = "W-SUN" if freq == "W" else "M"
    return d.dt.to_period(rule).dt.start_time.astype("datetime64[us]")


def parse_week(week: str) -> pd.Timestamp:
    """Monday of an ISO week given as ``YYYY-Www`` (e.g. ``2024-W07``)."""
    import datetime as dt
    import re

    m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", str(week).strip())
    try:
        if not m:
            raise ValueError
        return pd.Timestamp(dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
    except ValueError:
        raise ConfigError(f"Bad week {week!r}: use the ISO form YYYY-Www, e.g. 2024-W07.") from None


def week_label(period: pd.Timestamp) -> str:
    """``YYYY-Www`` label of a period start."""
    y, w, _ = pd.Timestamp(period).isocalendar()
    return f"{y}-W{w:02d}"


def _dated(records: pd.DataFrame, *, freq: str, touchpoint: str | None = None) -> pd.DataFrame:
    if C.DATE not in records.columns:
        raise InputError("Trends need a 'date' column in the records; map one with --date-col.")
    r = records[records[C.DATE].notna()].copy()
    if touchpoint is not None:
        r = r[r[C.TOUCHPOINT] == touchpoint]
    r["period"] = periods(r[C.DATE], freq=freq)
    if C.TOUCHPOINT not in r.columns:
        r[C.TOUCHPOINT] = C.ALL_TOUCHPOINTS
    return r


def _scored(values: pd.Series, score: str) -> np.ndarray:
    """Answers of a survey score as floats (NaN for missing), checked as :mod:`voc.survey` does:
    a non-number raises InputError, and so does an NPS answer that is not an integer 0-10."""
    x = survey.as_float(values, score.upper())
    if score == C.NPS:
        survey.validate_scores(x, "NPS", survey.NPS_SCALE, integer=True)
    return x


def _scores(values: pd.Series, score: str) -> pd.Series:
    """:func:`_scored` without the missing answers."""
    x = _scored(values, score)
    return pd.Series(x[~np.isnan(x)])


def _nps(scores: pd.Series) -> float:
    return float(survey.nps_from_counts(*survey.nps_counts(scores)).value)


def _nps_classes(scores: pd.Series) -> dict[str, np.ndarray]:
    """Per answer: scored (``_n``), promoter (``_p``) and detractor (``_d``) as 0/1, validated as :func:`voc.nps`."""
    points = survey.nps_points(scores)
    return {"_n": (~np.isnan(points)).astype(int), "_p": (points > 0).astype(int), "_d": (points < 0).astype(int)}


def _theme_mentions(records: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    """Mentions joined to their record's period, touchpoint and NPS."""
    cols = [C.VOC_ID, "period", C.TOUCHPOINT] + ([C.NPS] if C.NPS in records else [])
    return mentions[[C.VOC_ID, C.THEME, C.SENTIMENT, C.SENTIMENT_LABEL]].merge(
        records[cols], on=C.VOC_ID, how="inner")


def metric_trend(
    records: pd.DataFrame,
    mentions: pd.DataFrame,
    metric: str,
    *,
    theme: int | None = None,
    touchpoint: str | None = None,
    freq: str = "W",
    csat_satisfied_from: float = 4,
) -> pd.DataFrame:
    """One metric per period: the frame twin of :meth:`voc.Store.trend`.

    Returns period, value, n with one row per period that has dated
    records (value NaN where undefined, e.g. no scored record).
    """
    if metric not in TREND_METRICS:
        raise ConfigError(f"Unknown trend metric {metric!r}. Allowed: {', '.join(TREND_METRICS)}.")
    if metric in _IMPACTS and theme is None:
        raise ConfigError(f"Trend metric '{metric}' needs a theme: pass theme=<id>.")
    r = _dated(records, freq=freq, touchpoint=touchpoint)
    score = metric.removesuffix("_impact")
    if score in C.SCORES and score in r:  # every answer checked once, as voc.survey does
        r[score] = _scored(r[score], score)

    def value_of(s: pd.Series) -> float:
        s = s.dropna()
        if not len(s):
            return np.nan
        if score == "nps":
            return _nps(s)
        return 100.0 * float((s >= csat_satisfied_from).mean()) if score == "csat" else float(s.mean())

    if theme is not None:
        ids = set(mentions.loc[mentions[C.THEME] == theme, C.VOC_ID])
        r["_has"] = r[C.VOC_ID].isin(ids)
    else:
        r["_has"] = True
    rows = []
    for period, g in r.groupby("period", sort=True):
        if metric == "volume":
            rows.append((period, float(g["_has"].sum()), len(g)))
        elif score in C.SCORES:
            scored = g[g[score].notna()] if score in g else g.iloc[:0]
            if metric == score:
                sub = scored[scored["_has"]]
                rows.append((period, value_of(sub[score]), len(sub)))
            else:
                rest = scored[~scored["_has"]]
                value = value_of(scored[score]) - value_of(rest[score]) if len(rest) else np.nan
                rows.append((period, value, int(scored["_has"].sum())))
        else:
            m = mentions[mentions[C.VOC_ID].isin(g[C.VOC_ID])]
            if theme is not None:
                m = m[m[C.THEME] == theme]
            value = {
                "mentions": float(len(m)),
                "negative_share": float((m[C.SENTIMENT_LABEL] == "negative").mean()) if len(m) else np.nan,
                "sentiment": float(m[C.SENTIMENT].mean()) if len(m) else np.nan,
            }[metric]
            rows.append((period, value, len(m)))
    out = pd.DataFrame(rows, columns=["period", "value", "n"])
    out["period"] = pd.to_datetime(out["period"])
    out["value"] = out["value"].astype(float)
    out["n"] = out["n"].astype(int)
    return out


def theme_trends(
    records: pd.DataFrame,
    mentions: pd.DataFrame,
    *,
    freq: str = "W",
    by_touchpoint: bool = False,
) -> pd.DataFrame:
    """Per period and theme (and touchpoint): volume, negative share, NPS,
    impact, with period-over-period deltas.

    Returns
    -------
    DataFrame
        period, [touchpoint,] theme, volume (records mentioning the theme),
        mentions, negative_mentions, negative_share, sentiment, nps, nps_n,
        nps_impact, period_records (all records of the period),
        volume_delta, negative_share_delta, nps_delta, nps_impact_delta
        (change against the previous period of the same theme). Every
        theme gets a row for every period (volume 0 where absent).
    """
    r = _dated(records, freq=freq)
    keys = ["period", C.TOUCHPOINT] if by_touchpoint else ["period"]
    m = _theme_mentions(r, mentions)
    m = m[m[C.THEME] != C.NOISE]
    m["_neg"] = (m[C.SENTIMENT_LABEL] == "negative").astype(int)
    has_nps = C.NPS in r.columns
    g = m.groupby(keys + [C.THEME])
    out = pd.DataFrame({
        "mentions": g.size(),
        "negative_mentions": g["_neg"].sum(),
        "sentiment": g[C.SENTIMENT].mean(),
    })
    rec = m.drop_duplicates(keys + [C.THEME, C.VOC_ID])
    rg = rec.groupby(keys + [C.THEME])
    out["volume"] = rg.size()
    if has_nps:
        rec = rec.assign(**_nps_classes(rec[C.NPS]))
        rg = rec.groupby(keys + [C.THEME])
        out[["_n", "_p", "_d"]] = rg[["_n", "_p", "_d"]].sum()
    # full grid: every theme in every period (of its touchpoint)
    tot = r.groupby(keys)
    totals = pd.DataFrame({"period_records": tot.size()})
    if has_nps:
        r2 = r.assign(**_nps_classes(r[C.NPS]))
        totals[["_N", "_P", "_D"]] = r2.groupby(keys)[["_n", "_p", "_d"]].sum().to_numpy()
    themes = sorted(int(t) for t in m[C.THEME].unique())
    grid = totals.reset_index().merge(pd.DataFrame({C.THEME: themes}), how="cross")
    out = grid.merge(out.reset_index(), on=keys + [C.THEME], how="left")
    for col in ("mentions", "negative_mentions", "volume"):
        out[col] = out[col].fillna(0).astype(int)
    out["negative_share"] = np.where(out["mentions"] > 0,
                                     out["negative_mentions"] / out["mentions"].clip(lower=1), np.nan)
    if has_nps:
        for col in ("_n", "_p", "_d"):
            out[col] = out[col].fillna(0)
        out["nps"] = survey.nps_from_totals(out["_p"], out["_d"], out["_n"]).value
        nps_all = survey.nps_from_totals(out["_P"], out["_D"], out["_N"]).value
        nps_rest = survey.nps_from_totals(out["_P"] - out["_p"], out["_D"] - out["_d"],
                                          out["_N"] - out["_n"]).value
        out["nps_impact"] = nps_all - nps_rest
        out["nps_n"] = out["_n"].astype(int)
    else:
        out["nps"] = np.nan
        out["nps_impact"] = np.nan
        out["nps_n"] = 0
    out = out.drop(columns=[c for c in out.columns if c.startswith("_")])
    group = keys[1:] + [C.THEME]
    out = out.sort_values(group + ["period"]).reset_index(drop=True)
    for col in ("volume", "negative_share", "nps", "nps_impact"):
        out[f"{col}_delta"] = out.groupby(group)[col].diff()
    cols = keys + [C.THEME, "volume", "mentions", "negative_mentions", "negative_share", "sentiment",
                   "nps", "nps_n", "nps_impact", "period_records", "volume_delta",
                   "negative_share_delta", "nps_delta", "nps_impact_delta"]
    return out[cols]


def touchpoint_trends(
    records: pd.DataFrame,
    *,
    freq: str = "W",
    csat_satisfied_from: float = 4,
) -> pd.DataFrame:
    """Per period and touchpoint (plus ``"all"``): records, NPS, CSAT (share
    of answers >= ``csat_satisfied_from``, in %), CES (mean answer), mean
    record sentiment and negative share of records, with deltas."""
    r = _dated(records, freq=freq)
    both = pd.concat([r, r.assign(**{C.TOUCHPOINT: C.ALL_TOUCHPOINTS})]) if (
        r[C.TOUCHPOINT].nunique() > 1 or (r[C.TOUCHPOINT] != C.ALL_TOUCHPOINTS).any()) else r
    rows = []
    for (period, tp), g in both.groupby(["period", C.TOUCHPOINT], sort=True):
        row = {"period": period, C.TOUCHPOINT: tp, "records": len(g)}
        row.update(_score_kpis(g, csat_satisfied_from=csat_satisfied_from))
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values([C.TOUCHPOINT, "period"]).reset_index(drop=True)
    for col in ("records", "nps", "csat", "ces", "sentiment"):
        if col in out:
            out[f"{col}_delta"] = out.groupby(C.TOUCHPOINT)[col].diff()
    return out


def _score_kpis(g: pd.DataFrame, *, csat_satisfied_from: float) -> dict:
    row: dict = {}
    if C.NPS in g:
        s = _scores(g[C.NPS], C.NPS)
        row["nps"], row["nps_n"] = (_nps(s) if len(s) else np.nan), len(s)
    if C.CSAT in g:
        s = _scores(g[C.CSAT], C.CSAT)
        row["csat"] = 100.0 * float((s >= csat_satisfied_from).mean()) if len(s) else np.nan
        row["csat_n"] = len(s)
    if C.CES in g:
        s = _scores(g[C.CES], C.CES)
        row["ces"], row["ces_n"] = (float(s.mean()) if len(s) else np.nan), len(s)
    if C.SENTIMENT in g:
        s = pd.to_numeric(g[C.SENTIMENT], errors="coerce").astype(float).dropna()
        row["sentiment"] = float(s.mean()) if len(s) else np.nan
    return row


def kpis(
    records: pd.DataFrame,
    *,
    period: pd.Timestamp | None = None,
    freq: str = "W",
    csat_satisfied_from: float = 4,
) -> pd.DataFrame:
    """Headline KPIs of ``period`` (latest when None) against the previous
    period: metric (volume, nps, csat, ces, sentiment), value, previous,
    delta, n. Metrics whose column is absent are left out."""
    r = _dated(records, freq=freq)
    if r.empty:
        return pd.DataFrame(columns=["metric", "value", "previous", "delta", "n"])
    period = pd.Timestamp(period) if period is not None else r["period"].max()
    earlier = r.loc[r["period"] < period, "period"]
    prev = earlier.max() if len(earlier) else None
    cur_g, prev_g = r[r["period"] == period], (r[r["period"] == prev] if prev is not None else r.iloc[:0])
    cur = {"volume": len(cur_g), "volume_n": len(cur_g),
           **_score_kpis(cur_g, csat_satisfied_from=csat_satisfied_from)}
    old = {"volume": len(prev_g) if prev is not None else np.nan,
           **_score_kpis(prev_g, csat_satisfied_from=csat_satisfied_from)}
    rows = []
    for metric in ("nps", "ces", "csat", "volume", "sentiment"):
        if metric not in cur:
            continue
        value, before = cur[metric], old.get(metric, np.nan)
        n = cur.get(f"{metric}_n", len(cur_g))
        rows.append({"metric": metric, "value": value, "previous": before,
                     "delta": value - before if pd.notna(value) and pd.notna(before) else np.nan,
                     "n": int(n)})
    out = pd.DataFrame(rows)
    out.attrs["period"] = period
    out.attrs["previous_period"] = prev
    return out


def detect_spikes(
    trends: pd.DataFrame,
    *,
    period: pd.Timestamp | None = None,
    window: int = 4,
    min_count: int = 5,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Themes whose volume or negative share jumped in ``period``.

    Parameters
    ----------
    trends : DataFrame
        Output of :func:`theme_trends` (with or without touchpoints).
    period : Timestamp, optional
        The period to test; the latest when None.
    window : int
        Trailing periods that make the baseline.
    min_count : int
        Smallest count (records for volume, negative mentions for negative
        share) that may be flagged.
    alpha : float
        Significance level of the one-sided tests.

    Returns
    -------
    DataFrame
        [touchpoint,] theme, kind ("volume" | "negative_share"), observed,
        expected, p_value, plus the period's volume and negative_share;
        sorted by p_value. Themes with no trailing data are left to
        :func:`new_themes`.
    """
    from scipy import stats

    cols = ["theme", "kind", "observed", "expected", "p_value", "volume", "negative_share"]
    if trends.empty:
        return pd.DataFrame(columns=cols)
    period = pd.Timestamp(period) if period is not None else trends["period"].max()
    keys = [k for k in (C.TOUCHPOINT,) if k in trends.columns] + [C.THEME]
    past_periods = sorted(p for p in trends["period"].unique() if p < period)[-window:]
    cur = trends[trends["period"] == period].set_index(keys)
    past = trends[trends["period"].isin(past_periods)].groupby(keys)[
        ["volume", "period_records", "mentions", "negative_mentions"]].sum()
    rows = []
    for key, row in cur.iterrows():
        if key not in past.index or past.loc[key, "volume"] == 0:
            continue
        base = past.loc[key]
        key_d = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        c, n = int(row["volume"]), int(row["period_records"])
        if c >= min_count and base["period_records"] > 0:
            lam = n * base["volume"] / base["period_records"]
            p = float(stats.poisson.sf(c - 1, lam))
            if p < alpha:
                rows.append({**key_d, "kind": "volume", "observed": float(c), "expected": float(lam),
                             "p_value": p, "volume": c, "negative_share": row["negative_share"]})
        k1, n1 = int(row["negative_mentions"]), int(row["mentions"])
        k0, n0 = int(base["negative_mentions"]), int(base["mentions"])
        if k1 >= min_count and n1 and n0:
            p1, p0 = k1 / n1, k0 / n0
            pooled = (k1 + k0) / (n1 + n0)
            se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0)) if 0 < pooled < 1 else 0.0
            p = float(stats.norm.sf((p1 - p0) / se)) if se > 0 else (0.0 if p1 > p0 else 1.0)
            if p < alpha:
                rows.append({**key_d, "kind": "negative_share", "observed": p1, "expected": p0,
                             "p_value": p, "volume": c, "negative_share": p1})
    out = pd.DataFrame(rows, columns=keys[:-1] + cols)
    out = out.sort_values("p_value", kind="stable").reset_index(drop=True)
    out.attrs["period"] = period
    return out


def new_themes(
    trends: pd.DataFrame,
    *,
    period: pd.Timestamp | None = None,
    lineage: pd.DataFrame | None = None,
    freq: str = "W",
) -> pd.DataFrame:
    """Themes first seen in ``period`` (latest when None).

    A theme is new when its first period with any volume is ``period``, or
    when ``lineage`` (see :meth:`voc.Store.lineage`) has a ``new`` event for
    it from a run whose data ends in ``period``.

    Returns theme, volume, negative_share, nps_impact, source ("data" |
    "lineage"), sorted by volume.
    """
    cols = ["theme", "volume", "negative_share", "nps_impact", "source"]
    if trends.empty:
        return pd.DataFrame(columns=cols)
    period = pd.Timestamp(period) if period is not None else trends["period"].max()
    t = trends.groupby(["period", C.THEME], as_index=False).agg(
        volume=("volume", "sum"), mentions=("mentions", "sum"),
        negative_mentions=("negative_mentions", "sum"), nps_impact=("nps_impact", "first"))
    t["negative_share"] = t["negative_mentions"] / t["mentions"].where(t["mentions"] > 0)
    seen = t[t["volume"] > 0]
    first = seen.groupby(C.THEME)["period"].min()
    new = {int(k): "data" for k, v in first.items() if v == period}
    if lineage is not None and len(lineage) and "date_max" in lineage:
        themes_only = lineage["level"].fillna("theme") == "theme" if "level" in lineage else True
        ev = lineage[(lineage["event"] == "new") & lineage["date_max"].notna() & themes_only]
        ev_period = periods(ev["date_max"], freq=freq)
        for theme in ev.loc[ev_period == period, C.THEME]:
            new.setdefault(int(theme), "lineage")
    cur = t[(t["period"] == period) & t[C.THEME].isin(list(new))].copy()
    cur["source"] = cur[C.THEME].map(new)
    return cur[cols].sort_values("volume", ascending=False, kind="stable").reset_index(drop=True)
