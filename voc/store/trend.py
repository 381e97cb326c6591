"""Trends in SQL: one metric per period over every stored record (:meth:`Store.trend`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, StoreError
from ..survey import DETRACTOR_UPTO, PROMOTER_FROM, nps_from_totals
from ..trends import TREND_METRICS  # metrics of Store.trend and voc.trends.metric_trend: one definition

SCORE_TRENDS = ("nps", "csat", "ces")
"""Trend metrics that are a survey score of the records mentioning a theme."""

IMPACT_TRENDS = ("nps_impact", "csat_impact", "ces_impact")
"""Trend metrics that are a score's difference with and without a theme's records."""

FREQS = {"D": "day", "W": "week", "M": "month"}
"""Trend periods: pandas-style code -> DuckDB ``date_trunc`` unit."""


class StoreTrends:
    """:meth:`trend` of :class:`voc.store.Store`."""

    # provided by Store (voc.store.core): _query(); and run_info() (voc.store.read)
    path: Path
    timeout: float

    def _csat_satisfied_from(self) -> float:
        """The CSAT threshold of the latest run's config (4 without runs)."""
        try:
            cfg = self.run_info().get("config") or {}
        except StoreError:
            return 4
        if cfg.get("csat_threshold") is not None:
            return float(cfg["csat_threshold"])
        return float((cfg.get("csat_scale") or (1, 5))[1] - 1)

    def trend(
        self,
        metric: str,
        *,
        theme: int | None = None,
        touchpoint: str | None = None,
        freq: str = "W",
        csat_satisfied_from: float | None = None,
    ) -> pd.DataFrame:
        """One metric per period over every stored record, computed in DuckDB.

        Parameters
        ----------
        metric : str
            One of :data:`TREND_METRICS` (definitions in
            :func:`voc.trends.metric_trend`, which computes the same on frames).
        theme : int, optional
            Restrict to records/mentions of this theme (required for
            ``nps_impact``, ``csat_impact``, ``ces_impact``).
        touchpoint : str, optional
            Restrict to one touchpoint.
        freq : {"W", "D", "M"}
            Period: ISO week (starting Monday), day or month.
        csat_satisfied_from : float, optional
            CSAT counts answers >= this as satisfied; by default the latest
            run's setting (``csat_threshold``, else the top two boxes of
            ``csat_scale``), 4 without runs.

        Returns
        -------
        DataFrame
            period (Timestamp of the period start), value, n (the base of
            the value), one row per period that has dated records.
        """
        if csat_satisfied_from is None:
            csat_satisfied_from = self._csat_satisfied_from() if metric.startswith("csat") else 4
        sql, params = trend_sql(metric, theme=theme, touchpoint=touchpoint, freq=freq,
                                csat_satisfied_from=csat_satisfied_from)
        df = self._query(sql, params)
        if metric == "nps":
            df["value"] = _nps_of(df, "")
        elif metric == "nps_impact":
            df["value"] = _nps_of(df, "all_") - _nps_of(df, "rest_")
        df = df[["period", "value", "n"]].copy()
        df["period"] = pd.to_datetime(df["period"])
        df["value"] = df["value"].astype(float)
        df["n"] = df["n"].astype(int)
        return df


def _nps_of(df: pd.DataFrame, prefix: str) -> Any:
    """NPS per row from the counts :func:`trend_sql` selects (NaN where a period has none)."""
    p, d, scored = (df[f"{prefix}{c}"].astype(float).to_numpy() for c in ("promoters", "detractors", "scored"))
    return nps_from_totals(p, d, scored).value


def _nps_counts_sql(where: str = "TRUE", prefix: str = "") -> str:
    """SQL counts of promoters, detractors and scored records of ``r`` (the NPS formula is
    :func:`voc.survey.nps_from_totals`, applied by :meth:`Store.trend`)."""
    return (f"count(*) FILTER (WHERE nps >= {PROMOTER_FROM} AND {where}) AS {prefix}promoters, "
            f"count(*) FILTER (WHERE nps <= {DETRACTOR_UPTO} AND {where}) AS {prefix}detractors, "
            f"count(*) FILTER (WHERE {where}) AS {prefix}scored")


def _score_sql(score: str, where: str = "", *, csat_satisfied_from: float = 4) -> str:
    """SQL aggregate of CSAT (%) or mean CES over ``r``."""
    f = f" FILTER (WHERE {where})" if where else ""
    if score == "csat":
        return f"100.0 * avg(CASE WHEN csat >= {float(csat_satisfied_from)!r} THEN 1.0 ELSE 0.0 END){f}"
    return f"avg(ces){f}"


def trend_sql(metric: str, *, theme: int | None, touchpoint: str | None,
              freq: str, csat_satisfied_from: float = 4) -> tuple[str, list]:
    """The SQL of :meth:`Store.trend` (shared with the benchmark): period, value, n per period.

    For ``nps`` and ``nps_impact`` DuckDB only counts: the value column is
    NULL and the rows carry ``promoters``, ``detractors``, ``scored``
    (``nps_impact``: with prefixes ``all_`` and ``rest_``, the records
    without the theme), from which :meth:`Store.trend` computes the NPS.
    """
    _check_trend_args(metric, theme, freq)
    unit = FREQS[freq]
    tp = "AND touchpoint = ?" if touchpoint is not None else ""
    params: list = [touchpoint] if touchpoint is not None else []
    has = f"list_contains(themes, {int(theme)})" if theme is not None else "TRUE"
    base = (f"WITH r AS (SELECT voc_id, nps, csat, ces, themes, date_trunc('{unit}', date) AS period "
            f"FROM records WHERE date IS NOT NULL {tp}), "
            "p AS (SELECT DISTINCT period FROM r)")
    score = metric.removesuffix("_impact")
    t = {"csat_satisfied_from": csat_satisfied_from}
    if metric == "volume":
        agg = f"SELECT period, count(*) FILTER (WHERE {has}) AS value, count(*) AS n FROM r GROUP BY period"
    elif metric == "nps":
        agg = (f"SELECT period, {_nps_counts_sql()}, count(*) AS n FROM r "
               f"WHERE nps IS NOT NULL AND {has} GROUP BY period")
    elif metric == "nps_impact":
        agg = (f"SELECT period, {_nps_counts_sql(prefix='all_')}, {_nps_counts_sql(f'NOT {has}', 'rest_')}, "
               f"count(*) FILTER (WHERE {has}) AS n FROM r WHERE nps IS NOT NULL GROUP BY period")
    elif metric in SCORE_TRENDS:
        agg = (f"SELECT period, {_score_sql(score, **t)} AS value, count(*) AS n FROM r "
               f"WHERE {score} IS NOT NULL AND {has} GROUP BY period")
    elif metric in IMPACT_TRENDS:
        agg = (
            "SELECT period, all_value - without_value AS value, n FROM ("
            f"SELECT period, {_score_sql(score, **t)} AS all_value, "
            f"{_score_sql(score, f'NOT {has}', **t)} AS without_value, count(*) FILTER (WHERE {has}) AS n "
            f"FROM r WHERE {score} IS NOT NULL GROUP BY period)"
        )
    else:
        theme_filter = f"AND theme = {int(theme)}" if theme is not None else ""
        value = {
            "mentions": "count(*)",
            "negative_share": "avg(CASE WHEN sentiment_label = 'negative' THEN 1.0 ELSE 0.0 END)",
            "sentiment": "avg(sentiment)",
        }[metric]
        # mentions carry their record's date and touchpoint: no join needed
        agg = (f"SELECT date_trunc('{unit}', date) AS period, {value} AS value, count(*) AS n "
               f"FROM mentions WHERE date IS NOT NULL {tp} {theme_filter} GROUP BY 1")
        params = params * 2
    fill = "0" if metric == "mentions" else "NULL"
    value = "NULL" if score == "nps" else f"coalesce(a.value, {fill})"
    counts = "".join(f", a.{pre}{c}" for pre in {"nps": ("",), "nps_impact": ("all_", "rest_")}.get(metric, ())
                     for c in ("promoters", "detractors", "scored"))
    sql = (f"{base}, a AS ({agg}) SELECT p.period, {value} AS value, "
           f"coalesce(a.n, 0) AS n{counts} FROM p LEFT JOIN a USING (period) ORDER BY p.period")
    return sql, params


def _check_trend_args(metric: str, theme: Any, freq: str) -> None:
    if metric not in TREND_METRICS:
        raise ConfigError(
            f"Unknown trend metric {metric!r}. Allowed: {', '.join(TREND_METRICS)}."
        )
    if freq not in FREQS:
        raise ConfigError(f"Unknown freq {freq!r}. Allowed: {', '.join(FREQS)}.")
    if metric in IMPACT_TRENDS and theme is None:
        raise ConfigError(f"Trend metric '{metric}' needs a theme: pass theme=<id>.")
