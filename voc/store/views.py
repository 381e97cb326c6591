"""Filter-aware dashboard reads of the run store (mixed into :class:`voc.Store`).

Every method here takes the same keyword-only filters and computes in
DuckDB, so a dashboard answers in well under a second on a million mentions:

``weeks``
    ``(first, last)`` ISO weeks ``"YYYY-Www"`` (inclusive; either may be
    None), or one week string.
``touchpoint``, ``channel``, ``language``
    Keep records with this value (``touchpoint="all"`` keeps every record);
    ``language`` also keeps only the mentions in that language (a record
    is ``ja`` when any of its text is Japanese, its mentions each have theirs).
``sentiment``
    ``"negative"``, ``"neutral"`` or ``"positive"``: keep the mentions with
    this label, and the records that have at least one of them.

The filtered records R and mentions M (mentions of R, after the sentiment
filter) are the base of every number: KPIs, pain points, heatmap, trends,
quotes and alerts, so the same filters give the same counts everywhere.
Filtered pain points use the *complaint impact* on NPS (the theme's records
with a negative mention of it, see :mod:`voc.rank`) with a normal-approximation
interval from the counts; the run's own bootstrap table stays
:meth:`Store.pain_points`.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..errors import ConfigError
from ..survey import DETRACTOR_UPTO, PROMOTER_FROM, nps_from_totals

FILTERS = ("weeks", "touchpoint", "channel", "language", "sentiment")
"""Keyword filters every dashboard read accepts."""

KPI_METRICS = ("nps", "csat", "ces")


def _weeks(weeks: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    from ..trends import parse_week

    if weeks is None:
        return None, None
    if isinstance(weeks, str):
        weeks = (weeks, weeks)
    try:
        first, last = weeks
    except (TypeError, ValueError):
        raise ConfigError(f"weeks= must be 'YYYY-Www' or a (first, last) pair of them. Got {weeks!r}.") from None
    return (parse_week(first) if first else None, parse_week(last) if last else None)


def week_bounds(weeks: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``weeks`` (``"YYYY-Www"`` or a ``(first, last)`` pair, None for open ends) as the
    half-open date range [start of first, end of last) (None: unbounded)."""
    first, last = _weeks(weeks)
    return first, (last + pd.Timedelta(days=7) if last is not None else None)


def filter_sql(*, weeks: Any = None, touchpoint: str | None = None, channel: str | None = None,
               language: str | None = None, sentiment: str | None = None) -> tuple[str, list]:
    """CTEs ``fr`` (filtered records) and ``fm`` (their filtered mentions) and their parameters."""
    if sentiment is not None and sentiment not in C.SENTIMENT_LABELS:
        raise ConfigError(f"sentiment= must be one of {', '.join(C.SENTIMENT_LABELS)}. Got {sentiment!r}.")
    first, end = week_bounds(weeks)
    where, params = ["TRUE"], []
    if first is not None:
        where.append("date >= ?")
        params.append(first.to_pydatetime())
    if end is not None:
        where.append("date < ?")
        params.append(end.to_pydatetime())
    for col, value in ((C.TOUCHPOINT, touchpoint), (C.CHANNEL, channel), (C.LANGUAGE, language)):
        if value is not None and not (col == C.TOUCHPOINT and value == C.ALL_TOUCHPOINTS):
            where.append(f"{col} = ?")
            params.append(value)
    label = ("AND m.sentiment_label = ? " if sentiment else "") + ("AND m.language = ?" if language else "")
    sent_rec = ("AND voc_id IN (SELECT voc_id FROM mentions WHERE sentiment_label = ?)" if sentiment else "")
    sql = (
        "fr AS (SELECT voc_id, date, date_trunc('week', date) AS period, touchpoint, channel, "
        f"language, nps, csat, ces FROM records WHERE {' AND '.join(where)} {sent_rec}), "
        "fm AS (SELECT m.voc_id, m.unit, m.text, m.language, m.theme, m.topic, m.sentiment, "
        "m.sentiment_label FROM mentions m WHERE m.voc_id IN (SELECT voc_id FROM fr) "
        f"{label})"
    )
    params = params + ([sentiment] if sentiment else []) + ([sentiment] if sentiment else []) + (
        [language] if language else [])
    return sql, params


def theme_week_sql(*, joined: bool | None = None, **filters: Any) -> tuple[str, list]:
    """SQL and parameters of :meth:`StoreViews.theme_week_trends`: per week and theme the counts
    volume, mentions, negative_mentions, n, p, d and the week's period_records, tot_n, tot_p, tot_d.

    ``joined`` (the default when a filter other than ``weeks`` is set)
    joins each mention to its record. Without it, the record counts come
    from the records' ``themes`` lists (the themes of their mentions, noise
    left out) and the mention counts from the mentions' own ``date``
    (copied from their record): the same numbers (tested), without a hash
    table of every record.
    """
    others = any(v is not None for k, v in filters.items() if k != "weeks")
    joined = others if joined is None else joined
    if others and not joined:
        raise ConfigError("theme_week_sql(joined=False) takes only the weeks= filter.")
    nps = (f"count(nps) AS {{0}}n, count(*) FILTER (WHERE nps >= {PROMOTER_FROM}) AS {{0}}p, "
           f"count(*) FILTER (WHERE nps <= {DETRACTOR_UPTO}) AS {{0}}d")
    if joined:
        cte, params = filter_sql(**filters)
        counts = f"""ri AS (SELECT voc_id, theme, count(*) AS m,
                        count(*) FILTER (WHERE sentiment_label = 'negative') AS neg
                 FROM fm WHERE theme IS NOT NULL AND theme >= 0 GROUP BY voc_id, theme),
          j AS (SELECT ri.*, fr.period, fr.nps FROM ri JOIN fr USING (voc_id) WHERE fr.period IS NOT NULL),
          g AS (SELECT period, theme, count(*) AS volume, {nps.format('')}, sum(m) AS mentions,
                       sum(neg) AS negative_mentions FROM j GROUP BY period, theme)"""
    else:
        first, end = week_bounds(filters.get("weeks"))
        bounds = [(b, op) for b, op in ((first, ">="), (end, "<")) if b is not None]
        dated = "".join(f" AND date {op} ?" for _, op in bounds)
        params = [b.to_pydatetime() for b, _ in bounds] * 2
        cte = f"fr AS (SELECT date_trunc('week', date) AS period, nps, themes FROM records WHERE date IS NOT NULL{dated})"
        counts = f"""gr AS (SELECT period, theme, count(*) AS volume, {nps.format('')}
                 FROM (SELECT period, nps, unnest(themes) AS theme FROM fr) WHERE theme >= 0 GROUP BY period, theme),
          gm AS (SELECT date_trunc('week', date) AS period, theme, count(*) AS mentions,
                        count(*) FILTER (WHERE sentiment_label = 'negative') AS negative_mentions
                 FROM mentions WHERE date IS NOT NULL AND theme >= 0{dated} GROUP BY 1, 2),
          g AS (SELECT gr.*, coalesce(gm.mentions, 0) AS mentions, coalesce(gm.negative_mentions, 0) AS negative_mentions
                FROM gr LEFT JOIN gm USING (period, theme))"""
    sql = f"""WITH {cte}, {counts},
          t AS (SELECT period, count(*) AS period_records, {nps.format('tot_')}
                FROM fr WHERE period IS NOT NULL GROUP BY period),
          th AS (SELECT DISTINCT theme FROM g)
          SELECT t.*, th.theme, coalesce(g.volume, 0) AS volume, coalesce(g.mentions, 0) AS mentions,
                 coalesce(g.negative_mentions, 0) AS negative_mentions,
                 coalesce(g.n, 0) AS n, coalesce(g.p, 0) AS p, coalesce(g.d, 0) AS d
          FROM t CROSS JOIN th LEFT JOIN g ON g.period = t.period AND g.theme = th.theme
          ORDER BY th.theme, t.period"""
    return sql, params


def _impact(P, D, N, p, d, n, z):
    """Complaint impact ``NPS(all) - NPS(rest)`` with its normal interval, from counts.

    ``impact = w * (NPS(complaint) - NPS(rest))`` with ``w = n / N``; its
    variance ``w**2 * (var(complaint) + var(rest))``, the variances those of
    :func:`voc.survey.nps_from_totals`.
    """
    P, D, N, p, d, n = (np.asarray(x, dtype=float) for x in (P, D, N, p, d, n))
    rest = nps_from_totals(P - p, D - d, N - n)
    value = np.where((n > 0) & (N - n > 0), nps_from_totals(P, D, N).value - rest.value, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = n / N
        half = z * np.sqrt(w ** 2 * (nps_from_totals(p, d, n).variance + rest.variance))
    return value, value - half, value + half


class StoreViews:
    """Dashboard reads; see the module docstring for the filters."""

    # provided by Store
    path: Path
    timeout: float
    memory_limit: str | None

    # ------------------------------------------------------------ snapshot
    def snapshot(self, folder: str | Path, *, timeout: float | None = None) -> Any:
        """Copy the store into ``folder`` and return a read-only
        :class:`~voc.snapshot.SnapshotStore` on the copy.

        The copy is taken under DuckDB's shared read lock, so it always holds
        complete runs: a run being written is either fully in it or not at
        all. A reader (a dashboard) then answers from the copy and never waits
        for a weekly run. ``timeout`` (default the store's) bounds the wait
        for a writer's transaction; then :class:`~voc.errors.StoreError`.
        The copy is a new file each call (``<name>.<random>.snapshot``); the
        snapshot keeps one connection open and remembers its answers.
        """
        from .core import Store
        from .snapshot import SnapshotStore

        src = Store(self.path, timeout=self.timeout if timeout is None else timeout)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{self.path.name}.{uuid.uuid4().hex[:8]}.snapshot"
        with src._connect():  # shared lock: no writer commits while we copy
            tmp = dest.with_name(dest.name + ".part")
            shutil.copyfile(self.path, tmp)
            wal = self.path.with_name(self.path.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
                os.replace(tmp.with_name(tmp.name + ".wal"), dest.with_name(dest.name + ".wal"))
            os.replace(tmp, dest)
        return SnapshotStore(dest, timeout=self.timeout, memory_limit=self.memory_limit)

    # ------------------------------------------------------------- helpers
    def _settings(self) -> dict[str, Any]:
        """min_n, confidence, CSAT threshold, CES scale and direction of the latest run."""
        try:
            cfg = self.run_info().get("config") or {}  # type: ignore[attr-defined]
        except Exception:
            cfg = {}
        csat_scale = tuple(cfg.get("csat_scale") or (1, 5))
        return {
            "min_n": int(cfg.get("min_n") or 30),
            "confidence": float(cfg.get("confidence") or 0.95),
            "csat_scale": csat_scale,
            "csat_satisfied_from": float(cfg.get("csat_threshold") or csat_scale[1] - 1),
            "ces_scale": tuple(cfg.get("ces_scale") or (1, 7)),
            "ces_direction": cfg.get("ces_direction") or "higher_is_easier",
        }

    def _z(self, confidence: float) -> float:
        from scipy.stats import norm

        return float(norm.ppf(0.5 + confidence / 2))

    def _labels(self) -> pd.DataFrame:
        """theme, label, keywords, topic, topic_label of the latest run (older themes: latest label)."""
        themes = self.themes()  # type: ignore[attr-defined]
        keep = [c for c in (C.THEME, "label", "keywords", C.TOPIC, "topic_label") if c in themes]
        out = themes[keep]
        old = self.theme_labels()  # type: ignore[attr-defined]
        return pd.concat([out, old[[C.THEME, "label"]]]).drop_duplicates(C.THEME).reset_index(drop=True)

    # ------------------------------------------------------------ filters
    def filter_options(self) -> dict[str, list]:
        """Values the filters can take: weeks (``YYYY-Www``, oldest first),
        touchpoints, channels, languages, sentiments."""
        from ..trends import week_label

        df = self._query(  # type: ignore[attr-defined]
            "SELECT 'week' AS k, CAST(date_trunc('week', date) AS VARCHAR) AS v FROM records WHERE date IS NOT NULL "
            "GROUP BY 2 UNION ALL SELECT 'touchpoint', touchpoint FROM records GROUP BY 2 "
            "UNION ALL SELECT 'channel', channel FROM records GROUP BY 2 "
            "UNION ALL SELECT 'language', language FROM records GROUP BY 2")
        df = df[df["v"].notna()]
        get = lambda k: sorted(df.loc[df["k"] == k, "v"].astype(str))  # noqa: E731
        return {
            "weeks": [week_label(pd.Timestamp(w)) for w in get("week")],
            "touchpoints": sorted(get("touchpoint"), key=lambda s: (s != C.ALL_TOUCHPOINTS, s)),
            "channels": get("channel"),
            "languages": get("language"),
            "sentiments": list(C.SENTIMENT_LABELS),
        }

    # ---------------------------------------------------------------- KPIs
    def kpi_summary(self, **filters: Any) -> pd.DataFrame:
        """NPS, CSAT and CES of the latest filtered week against the week before.

        Returns one row per metric with answers: metric, value, ci_low,
        ci_high, n, reliable (``n >= min_n`` of the latest run's config),
        previous, delta, period (Timestamp of the latest week) and
        previous_period. Intervals are those of :mod:`voc.survey` (NPS
        normal approximation, CSAT Wilson, CES Student t); settings
        (CSAT threshold, CES scale and direction) come from the latest run.
        Also a ``volume`` row (records; no interval).
        """
        from .. import survey

        cte, params = filter_sql(**filters)
        weeks = self._query(f"WITH {cte} SELECT DISTINCT period FROM fr WHERE period IS NOT NULL "  # type: ignore[attr-defined]
                            "ORDER BY period DESC LIMIT 2", params)
        cols = ["metric", "value", "ci_low", "ci_high", "n", "reliable", "previous", "delta", "period",
                "previous_period"]
        if weeks.empty:
            return pd.DataFrame(columns=cols)
        periods = [pd.Timestamp(p) for p in weeks["period"]]
        cur_p, prev_p = periods[0], (periods[1] if len(periods) > 1 else None)
        scores = self._query(  # type: ignore[attr-defined]
            f"WITH {cte} SELECT period, nps, csat, ces FROM fr WHERE period IN (SELECT unnest(?))",
            params + [[p.to_pydatetime() for p in periods]])
        scores["period"] = pd.to_datetime(scores["period"])
        s = self._settings()
        rows = []
        for metric in ("volume", *KPI_METRICS):
            vals = {}
            for p in (cur_p, prev_p):
                if p is None:
                    continue
                g = scores[scores["period"] == p]
                if metric == "volume":
                    vals[p] = survey.Metric("volume", float(len(g)), len(g), math.nan, math.nan, True)
                    continue
                x = pd.to_numeric(g[metric], errors="coerce").dropna().to_numpy(float)
                kw = dict(confidence=s["confidence"], min_n=s["min_n"])
                if metric == "nps":
                    vals[p] = survey.nps(x.astype(int), **kw)
                elif metric == "csat":
                    vals[p] = survey.csat(x, scale=s["csat_scale"], satisfied_from=s["csat_satisfied_from"], **kw)
                else:
                    vals[p] = survey.ces(x, scale=s["ces_scale"], direction=s["ces_direction"], **kw)
            m = vals[cur_p]
            if metric != "volume" and m.n == 0 and (prev_p is None or vals[prev_p].n == 0):
                continue
            prev = vals[prev_p].value if prev_p is not None else math.nan
            rows.append({"metric": metric, "value": m.value, "ci_low": m.ci_low, "ci_high": m.ci_high,
                         "n": int(m.n), "reliable": bool(m.reliable), "previous": prev,
                         "delta": m.value - prev if not (math.isnan(m.value) or math.isnan(prev)) else math.nan,
                         "period": cur_p, "previous_period": prev_p})
        return pd.DataFrame(rows, columns=cols)

    # --------------------------------------------------------- pain points
    def _impact_table(self, keys: list[str], *, level: str, item: int | None, filters: dict,
                      by_all: bool) -> pd.DataFrame:
        """Counts and complaint NPS impact grouped by ``keys`` (+ the item column)."""
        if level not in ("theme", "topic"):
            raise ConfigError(f"level= must be 'theme' or 'topic'. Got {level!r}.")
        col = C.THEME if level == "theme" else C.TOPIC
        cte, params = filter_sql(**filters)
        item_where = f"AND {col} = {int(item)}" if item is not None else ""
        gk = ", ".join(keys)
        if by_all:  # the per-touchpoint rows plus the all-touchpoint rows
            sets = f"GROUPING SETS (({gk}, item), (item))"
            tsets = f"GROUPING SETS (({gk}), ())"
        else:
            sets, tsets = f"{gk}, item", gk
        sql = f"""WITH {cte},
          ri AS (SELECT voc_id, {col} AS item, count(*) AS m,
                        count(*) FILTER (WHERE sentiment_label = 'negative') AS neg
                 FROM fm WHERE {col} IS NOT NULL AND {col} >= 0 {item_where} GROUP BY voc_id, {col}),
          j AS (SELECT ri.*, fr.touchpoint, fr.period, fr.nps FROM ri JOIN fr USING (voc_id)),
          g AS (SELECT {gk}, item, sum(m) AS mentions, count(*) AS records, sum(neg) AS negative_mentions,
                       count(*) FILTER (WHERE neg > 0) AS complaint_records,
                       count(nps) FILTER (WHERE neg > 0) AS n,
                       count(*) FILTER (WHERE neg > 0 AND nps >= {PROMOTER_FROM}) AS p,
                       count(*) FILTER (WHERE neg > 0 AND nps <= {DETRACTOR_UPTO}) AS d
                FROM j GROUP BY {sets}),
          t AS (SELECT {gk}, count(*) AS base_records, count(nps) AS tot_n,
                       count(*) FILTER (WHERE nps >= {PROMOTER_FROM}) AS tot_p,
                       count(*) FILTER (WHERE nps <= {DETRACTOR_UPTO}) AS tot_d
                FROM fr GROUP BY {tsets})
          SELECT g.*, t.base_records, t.tot_n, t.tot_p, t.tot_d FROM g LEFT JOIN t
          ON {' AND '.join(f'g.{k} IS NOT DISTINCT FROM t.{k}' for k in keys)}"""
        df = self._query(sql, params)  # type: ignore[attr-defined]
        s = self._settings()
        value, lo, hi = _impact(df["tot_p"], df["tot_d"], df["tot_n"], df["p"], df["d"], df["n"], self._z(s["confidence"]))
        df["nps_impact"], df["nps_impact_ci_low"], df["nps_impact_ci_high"] = value, lo, hi
        df["negative_share"] = df["negative_mentions"] / df["mentions"].where(df["mentions"] > 0)
        df["nps_n"] = df["n"].astype(int)
        df["reliable"] = df["nps_n"] >= s["min_n"]
        df = df.rename(columns={"item": col}).drop(columns=["tot_n", "tot_p", "tot_d", "n", "p", "d"])
        if by_all:  # data with one touchpoint named "all" gives the same rows twice
            df[C.TOUCHPOINT] = df[C.TOUCHPOINT].fillna(C.ALL_TOUCHPOINTS)
            df = df.drop_duplicates([C.TOUCHPOINT, col]).copy()
        for c in ("mentions", "records", "negative_mentions", "complaint_records", "base_records"):
            df[c] = df[c].fillna(0).astype(int)
        df[col] = df[col].astype(int)
        return df

    def pain_table(self, *, level: str = "theme", top: int | None = None, **filters: Any) -> pd.DataFrame:
        """Pain points per touchpoint (``"all"`` first) over the filtered data.

        Parameters
        ----------
        level : {"theme", "topic"}
            Rows per theme, or per parent topic (mentions' ``topic``).
        top : int, optional
            Keep the first ``top`` rows of each touchpoint.
        **filters
            See the module docstring.

        Returns
        -------
        DataFrame
            touchpoint, theme (or topic), label, keywords (and topic,
            topic_label for themes; themes, a ``|``-joined list of the
            topic's theme labels, for topics), records, mentions,
            negative_mentions, negative_share, complaint_records,
            nps_impact with nps_impact_ci_low/high (complaint impact on NPS
            in points), nps_n (complaint respondents), reliable
            (``nps_n >= min_n``), base_records (the touchpoint's filtered
            records), rank (1 = worst: lowest impact, then most complaint
            records; items without NPS by complaint records).
        """
        df = self._impact_table([C.TOUCHPOINT], level=level, item=None, filters=filters, by_all=True)
        df = self._with_labels(df, level)
        df = df.assign(_imp=df["nps_impact"].fillna(np.inf), _all=df[C.TOUCHPOINT] != C.ALL_TOUCHPOINTS)
        key = C.THEME if level == "theme" else C.TOPIC
        df = df.sort_values(["_all", C.TOUCHPOINT, "_imp", "complaint_records", key],
                            ascending=[True, True, True, False, True], kind="stable")
        df["rank"] = df.groupby(C.TOUCHPOINT).cumcount() + 1
        if top is not None:
            df = df[df["rank"] <= top]
        return df.drop(columns=["_imp", "_all"]).reset_index(drop=True)

    def _with_labels(self, df: pd.DataFrame, level: str) -> pd.DataFrame:
        labels = self._labels()
        if level == "theme":
            out = df.merge(labels, on=C.THEME, how="left")
            out["label"] = out["label"].fillna(out[C.THEME].map(lambda t: f"theme {t}"))
            return out
        topics = self.topics()  # type: ignore[attr-defined]
        tl = topics[[c for c in (C.TOPIC, "label", "keywords") if c in topics]] if len(topics) else \
            pd.DataFrame(columns=[C.TOPIC, "label", "keywords"])
        if C.TOPIC in labels:
            members = labels.dropna(subset=[C.TOPIC]).groupby(C.TOPIC)["label"].agg(
                lambda s: " | ".join(s.astype(str)))
            tl = tl.assign(themes=tl[C.TOPIC].map(members))
        out = df.merge(tl, on=C.TOPIC, how="left")
        out["label"] = out["label"].fillna(out[C.TOPIC].map(lambda t: f"topic {t}"))
        return out

    def heatmap(self, *, level: str = "theme", **filters: Any) -> pd.DataFrame:
        """Touchpoint x theme (or topic) over the filtered data: touchpoint,
        theme, label, records, negative_share (as the report's heatmap),
        without the ``all`` rows; the same numbers as :meth:`pain_table`."""
        key = C.THEME if level == "theme" else C.TOPIC
        df = self._impact_table([C.TOUCHPOINT], level=level, item=None, filters=filters, by_all=False)
        df = self._with_labels(df, level)
        return df[[C.TOUCHPOINT, key, "label", "records", "negative_share"]].sort_values(
            [C.TOUCHPOINT, key]).reset_index(drop=True)

    def pain_trend(self, theme: int | None = None, *, topic: int | None = None, **filters: Any) -> pd.DataFrame:
        """Weekly trend of one theme (or topic) over the filtered data.

        Returns period (week start), records (volume), mentions,
        negative_share, nps_impact with nps_impact_ci_low/high and nps_n
        (complaint impact, as :meth:`pain_table`) and base_records (all
        filtered records of the week); one row per week with filtered
        records (zeros where the theme is absent).
        """
        if (theme is None) == (topic is None):
            raise ConfigError("pain_trend needs exactly one of theme= or topic=.")
        level, item = ("theme", theme) if theme is not None else ("topic", topic)
        df = self._impact_table(["period"], level=level, item=item, filters=filters, by_all=False)
        cte, params = filter_sql(**filters)
        weeks = self._query(f"WITH {cte} SELECT period, count(*) AS base_records FROM fr "  # type: ignore[attr-defined]
                            "WHERE period IS NOT NULL GROUP BY period", params)
        df = weeks.merge(df.drop(columns=["base_records"]), on="period", how="left")
        for c in ("mentions", "records", "negative_mentions", "complaint_records", "nps_n"):
            df[c] = df[c].fillna(0).astype(int)
        df["period"] = pd.to_datetime(df["period"])
        cols = ["period", "records", "mentions", "negative_mentions", "negative_share", "complaint_records",
                "nps_impact", "nps_impact_ci_low", "nps_impact_ci_high", "nps_n", "base_records"]
        return df[cols].sort_values("period").reset_index(drop=True)

    # -------------------------------------------------------------- quotes
    def quotes(self, theme: int | None = None, *, topic: int | None = None, per_language: int = 5,
               **filters: Any) -> pd.DataFrame:
        """Real quotes of one theme (or topic), negative first, in each language.

        Up to ``per_language`` mentions per language (most negative
        sentiment first), then all of them most negative first: text,
        language, sentiment, sentiment_label, date, touchpoint, channel,
        nps, csat, ces, voc_id. Texts are as stored: escape them for display.
        """
        if (theme is None) == (topic is None):
            raise ConfigError("quotes needs exactly one of theme= or topic=.")
        col, item = (C.THEME, theme) if theme is not None else (C.TOPIC, topic)
        cte, params = filter_sql(**filters)
        sql = f"""WITH {cte},
          q AS (SELECT fm.text, fm.language, fm.sentiment, fm.sentiment_label, fr.date, fr.touchpoint,
                       fr.channel, fr.nps, fr.csat, fr.ces, fm.voc_id, fm.unit,
                       row_number() OVER (PARTITION BY fm.language ORDER BY fm.sentiment, fr.date DESC,
                                          fm.voc_id, fm.unit) AS k
                FROM fm JOIN fr USING (voc_id) WHERE fm.{col} = ? AND fm.text IS NOT NULL AND fm.text <> '')
          SELECT * EXCLUDE (k, unit) FROM q WHERE k <= ? ORDER BY sentiment, date DESC, voc_id, unit"""
        df = self._query(sql, params + [int(item), int(per_language)])  # type: ignore[attr-defined]
        return df.reset_index(drop=True)

    # -------------------------------------------------------------- alerts
    def theme_week_trends(self, **filters: Any) -> pd.DataFrame:
        """Per week and theme over the filtered data, in the shape of
        :func:`voc.trends.theme_trends`: period, theme, volume, mentions,
        negative_mentions, negative_share, nps_impact (all-records impact),
        period_records; every theme in every week (volume 0 where absent).

        With no filter but ``weeks`` (the report, the unfiltered alerts) the
        counts come from the records' ``themes`` lists and the mentions' own
        dates, with no join: DuckDB then holds one row per week and theme,
        not per record, so memory does not grow with the store.
        """
        sql, params = theme_week_sql(**filters)
        df = self._query(sql, params)  # type: ignore[attr-defined]
        df["period"] = pd.to_datetime(df["period"])
        nps_all = nps_from_totals(df["tot_p"], df["tot_d"], df["tot_n"]).value
        nps_rest = nps_from_totals(df["tot_p"] - df["p"], df["tot_d"] - df["d"], df["tot_n"] - df["n"]).value
        df["nps_impact"] = nps_all - nps_rest
        df["negative_share"] = df["negative_mentions"] / df["mentions"].where(df["mentions"] > 0)
        for c in ("volume", "mentions", "negative_mentions", "period_records"):
            df[c] = df[c].astype(int)
        df[C.THEME] = df[C.THEME].astype(int)
        return df[["period", C.THEME, "volume", "mentions", "negative_mentions", "negative_share",
                   "nps_impact", "period_records"]].reset_index(drop=True)

    def alerts(self, **filters: Any) -> dict[str, Any]:
        """Emerging themes and spikes of the latest filtered week, as in the report.

        The same tests as :func:`voc.report.report_content`
        (:func:`voc.trends.detect_spikes` and :func:`voc.trends.new_themes`
        with the store's lineage) over :meth:`theme_week_trends`. Returns
        ``{"period": Timestamp or None, "spikes": DataFrame, "new_themes":
        DataFrame}``, both frames with a ``label`` column.
        """
        from .. import trends as T

        tr = self.theme_week_trends(**filters)
        if tr.empty:
            return {"period": None, "spikes": T.detect_spikes(tr).assign(label=[]),
                    "new_themes": T.new_themes(tr).assign(label=[])}
        period = tr["period"].max()
        spikes = T.detect_spikes(tr, period=period)
        new = T.new_themes(tr, period=period, lineage=self.lineage())  # type: ignore[attr-defined]
        labels = self._labels().set_index(C.THEME)["label"].to_dict()
        for df in (spikes, new):
            df["label"] = [labels.get(int(t), f"theme {int(t)}") for t in df[C.THEME]]
        return {"period": period, "spikes": spikes, "new_themes": new}
