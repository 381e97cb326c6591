"""The ranked pain-point table: one row per touchpoint x theme (and topic), the complaint rule."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import Config
from ..errors import InputError
from .impact import (
    bh_fdr,
    bootstrap_impacts,
    impact_estimates,
    metric_values,
    pain_score,
)
from .quotes import quotes_by_unit
from .readers import float_column, negative_flags, require_columns, touchpoint_groups

log = logging.getLogger(__name__)

LEVELS = ("topic", "theme")
"""Levels of the pain-point table's rows, in table order."""

COMPLAINT_SHARE = 0.5
"""A theme is a complaint theme when at least this share of its mentions is negative
(all its mentions are then complaints, see :func:`complaint_mentions`)."""

RANK_METRICS = ("nps", "csat", "ces")
"""Survey metrics the pain score may use, in order of preference (see :func:`rank_pain_points`)."""


def rank_pain_points(
    records: pd.DataFrame,
    mentions: pd.DataFrame,
    themes: pd.DataFrame | None = None,
    *,
    topics: pd.DataFrame | None = None,
    config: Config | None = None,
    complaint_share: float | None = COMPLAINT_SHARE,
) -> pd.DataFrame:
    """Rank themes (and topics) as pain points within every touchpoint (and overall).

    Parameters
    ----------
    records : DataFrame
        ``voc_id`` (unique) and optionally ``touchpoint``, ``nps``, ``csat``,
        ``ces``. Records without a score count for volume and sentiment, not
        for that score.
    mentions : DataFrame
        ``voc_id``, ``theme`` and optionally ``topic`` (the parent topic of
        the mention's theme, -1 = none), ``sentiment``, ``sentiment_label``,
        ``text``. Theme ``-1`` (noise) is ignored.
    themes : DataFrame, optional
        ``theme``, ``label``; themes without a label are called "theme <id>".
    topics : DataFrame, optional
        ``topic``, ``label``; topics without a label are called "topic <id>".
    config : Config, optional
        Uses ``min_n``, ``confidence``, ``n_bootstrap``, ``random_state``,
        ``csat_scale``, ``csat_satisfied_from``, ``ces_scale``,
        ``ces_direction``.
    complaint_share : float or None, default 0.5
        Share of negative mentions from which every mention of a theme is a
        complaint (:func:`complaint_mentions`); None: negative mentions only.

    Returns
    -------
    DataFrame
        One row per (touchpoint, level, theme or topic) with at least one
        mention, the ``"all"`` touchpoint first, topic rows before theme rows,
        sorted by rank (1 = worst) within each touchpoint and level. Without
        a ``topic`` column in ``mentions`` there are only theme rows
        (``level="theme"``, ``topic=-1``). Columns: touchpoint, level,
        topic, theme (nullable, <NA> on topic rows), label, rank,
        rank_metric, pain_score, mentions, records, complaint_records, share,
        negative_share, mean_sentiment; for NPS (always present, NaN without
        data) and for CSAT / CES (only when the column exists):
        ``<m>_with``, ``<m>_without``, ``<m>_with_n``, ``<m>_without_n``,
        ``<m>_impact``, ``<m>_impact_ci_low``, ``<m>_impact_ci_high``,
        ``<m>_impact_p``, ``<m>_impact_q``, ``<m>_reliable``; then the same
        for the complaint records, ``complaint_<m>_with``,
        ``complaint_<m>_without``, ``complaint_<m>_with_n``,
        ``complaint_<m>_impact`` (with ``_ci_low``, ``_ci_high``, ``_p``,
        ``_q``); then quotes.

    Notes
    -----
    ``<m>_impact = M(touchpoint) - M(touchpoint without the theme's
    records) = share_m * (<m>_with - <m>_without)``, where ``share_m`` is
    the share of the theme's records among respondents. The complaint
    records of a theme are its records with at least one complaint mention
    of it: a ``negative`` mention, or any mention of a complaint theme (at
    least ``complaint_share`` of its mentions negative; see
    :func:`complaint_mentions`); a topic's complaint mentions are its
    themes' complaint mentions. ``complaint_<m>_impact`` is the same formula
    over the complaint records.
    Negative means the theme makes the metric worse (for CES with
    ``lower_is_easier`` the sign is flipped so that this holds). The rank
    metric of a touchpoint is NPS if it has NPS answers there, else CSAT,
    else CES (``rank_metric``, None without any). ``pain_score = 100 *
    share * negative_share * (1 + max(0, -impact) * w / 10)`` with
    ``impact`` the rank metric's complaint impact in points (CES: percent
    of its scale range) and ``w = n / (n + min_n)``, ``n`` its complaint
    respondents; NaN negativity counts as 1 and NaN impact as 0, so
    without a survey metric the score is volume x negativity.

    Examples
    --------
    >>> recs = pd.DataFrame({"voc_id": ["a", "b", "c", "d"], "nps": [2, 3, 10, 9]})
    >>> ments = pd.DataFrame({"voc_id": ["a", "b", "c"], "theme": [0, 0, 1],
    ...                       "sentiment": [-0.8, -0.5, 0.7],
    ...                       "sentiment_label": ["negative", "negative", "positive"],
    ...                       "text": ["late", "very late", "great"]})
    >>> themes = pd.DataFrame({"theme": [0, 1], "label": ["delivery", "quality"]})
    >>> t = rank_pain_points(recs, ments, themes, config=Config(n_bootstrap=200))
    >>> t[["label", "rank", "records", "nps_impact", "complaint_records", "complaint_nps_impact"]].round(1)
          label  rank  records  nps_impact  complaint_records  complaint_nps_impact
    0  delivery     1        2      -100.0                  2                -100.0
    1   quality     2        1        33.3                  0                   NaN
    """
    config = config or Config()
    require_columns(records, [C.VOC_ID], "records")
    require_columns(mentions, [C.VOC_ID, C.THEME], "mentions")
    if not records[C.VOC_ID].is_unique:
        dup = records.loc[records[C.VOC_ID].duplicated(), C.VOC_ID].head(3).tolist()
        raise InputError(f"records '{C.VOC_ID}' must be unique. Duplicated: {dup}. Deduplicate the records.")

    # mentions of real themes, joined to their record position
    ments = mentions[mentions[C.THEME] != C.NOISE].reset_index(drop=True)
    pos = pd.Index(records[C.VOC_ID]).get_indexer(ments[C.VOC_ID])
    if (pos < 0).any():
        log.warning("%d mention(s) refer to no record and are ignored", int((pos < 0).sum()))
        ments, pos = ments[pos >= 0].reset_index(drop=True), pos[pos >= 0]
    theme_ids = np.array(sorted(ments[C.THEME].astype(int).unique()), dtype=int)
    tcol = np.searchsorted(theme_ids, ments[C.THEME].astype(int).to_numpy())
    units, rows, ucol = _units(ments, theme_ids, tcol)

    groups = touchpoint_groups(records)
    tp_of_record = np.empty(len(records), dtype=object)
    for name, idx in groups[1:]:
        tp_of_record[idx] = name
    # one row per (mention, unit): a mention counts for its theme and for its topic
    keep_cols = [c for c in (C.TEXT, C.SENTIMENT, C.SENTIMENT_LABEL) if c in ments]
    ments = ments[keep_cols].assign(
        _tp=tp_of_record[pos] if len(groups) > 1 else C.ALL_TOUCHPOINTS,
        _neg=negative_flags(ments),
        _sent=float_column(ments, C.SENTIMENT),
        _complaint=complaint_mentions(ments, min_share=complaint_share),
    )
    if len(rows) != len(ments):  # a topic's rows repeat its themes' mentions
        ments = ments.iloc[rows].reset_index(drop=True)
    ments = ments.assign(_tcol=ucol)
    rpos = pos[rows]
    # records x units membership, sparse: a record mentions a few themes, and a
    # dense float matrix of a million records would take gigabytes
    from scipy import sparse

    shape = (len(records), len(units))
    member = sparse.csr_matrix((np.ones(len(rpos)), (rpos, ucol)), shape=shape)
    member.data[:] = 1.0  # several mentions of a theme in a record count once
    neg = ments["_complaint"].to_numpy()
    complaint = sparse.csr_matrix((np.ones(int(neg.sum())), (rpos[neg], ucol[neg])), shape=shape)
    complaint.data[:] = 1.0

    metrics = metric_values(records, config)
    rng = np.random.default_rng(config.random_state)

    blocks = []
    for name, idx in groups:
        g_ments = ments if name == C.ALL_TOUCHPOINTS else ments[ments["_tp"] == name]
        block = _group_table(name, idx, member[idx], complaint[idx], g_ments, metrics, config, rng)
        if len(block):
            blocks.append(block)
    if not blocks:
        return _empty_table(metrics)
    table = pd.concat(blocks, ignore_index=True)
    u = units.iloc[table.pop("_unit").to_numpy()].reset_index(drop=True)
    labels = {"theme": label_map(themes, C.THEME), "topic": label_map(topics, C.TOPIC)}
    table.insert(1, "level", u["level"].to_numpy())
    table.insert(2, C.TOPIC, u[C.TOPIC].to_numpy())
    table.insert(3, C.THEME, u[C.THEME].array)
    table.insert(4, "label", [labels[lv].get(int(i), f"{lv} {int(i)}")
                              for lv, i in zip(u["level"], u["_id"])])
    for m in metrics:
        for p in ("", "complaint_"):
            q = np.full(len(table), np.nan)
            for lv in LEVELS:
                on = (table["level"] == lv).to_numpy()
                q[on] = bh_fdr(table.loc[on, f"{p}{m}_impact_p"].to_numpy(dtype=float))
            table[f"{p}{m}_impact_q"] = q
    impact, n_with = _rank_impact(table, metrics, config)
    table["pain_score"] = pain_score(table["share"], table["negative_share"], impact, n_with,
                                     min_n=config.min_n)
    order = {name: i for i, (name, _) in enumerate(groups)}
    table = table.assign(_o=table[C.TOUCHPOINT].map(order), _lv=table["level"].map(LEVELS.index),
                         _id=u["_id"].to_numpy()).sort_values(
        ["_o", "_lv", "pain_score", "records", "_id"], ascending=[True, True, False, False, True],
        kind="stable")
    table["rank"] = table.groupby(["_o", "_lv"]).cumcount() + 1
    return table[_column_order(metrics)].reset_index(drop=True)


def theme_rows(pain_points: pd.DataFrame) -> pd.DataFrame:
    """The theme-level rows of a pain-point table (all rows of a table without ``level``).

    Tables written before topics existed have no ``level`` column (or, read
    from a run store, an empty one): all their rows are theme rows.

    Examples
    --------
    >>> pp = pd.DataFrame({"level": ["topic", "theme"], "label": ["delivery", "late delivery"]})
    >>> theme_rows(pp)["label"].tolist()
    ['late delivery']
    """
    if "level" not in pain_points:
        return pain_points
    return pain_points[pain_points["level"].isna() | (pain_points["level"] == "theme")]


def impact_column(table: Any, metric: str) -> str:
    """The impact column shown for ``metric``: ``complaint_<metric>_impact`` (what ranks) when ``table``
    (a pain-point table, or one row as a dict) has it, else ``<metric>_impact`` (tables from before
    complaint impact). Its interval, p, q and n columns add ``_ci_low``, ``_ci_high``, ``_p``, ``_q``
    (``_with_n`` replaces ``_impact``).

    >>> impact_column({"nps_impact": -3.0, "complaint_nps_impact": -2.5}, "nps"), impact_column({}, "csat")
    ('complaint_nps_impact', 'csat_impact')
    """
    return f"complaint_{metric}_impact" if f"complaint_{metric}_impact" in table else f"{metric}_impact"


def rank_metric_used(pain_points: pd.DataFrame) -> str | None:
    """The metric that ranked the overall (``"all"``) rows: ``nps``, ``csat``, ``ces`` or None."""
    if "rank_metric" not in pain_points or not len(pain_points):
        return None
    overall = pain_points.loc[pain_points[C.TOUCHPOINT] == C.ALL_TOUCHPOINTS, "rank_metric"].dropna()
    return str(overall.iloc[0]) if len(overall) else None


def _units(ments: pd.DataFrame, theme_ids: np.ndarray, tcol: np.ndarray):
    """The table's units (theme columns, then topic columns) and the (mention, unit) pairs.

    Returns ``units`` (level, topic, theme, _id per unit), ``rows`` (mention
    positions) and ``ucol`` (their unit). A theme's topic is the topic its
    mentions carry (the most common one); a topic is the union of its themes.
    """
    k = len(theme_ids)
    parent = np.full(k, C.NOISE, dtype=int)
    if C.TOPIC in ments and len(ments):
        pairs = pd.DataFrame({"t": tcol, C.TOPIC: pd.to_numeric(ments[C.TOPIC], errors="coerce")
                              .fillna(C.NOISE).astype(int).to_numpy()})
        top = pairs.value_counts().reset_index().sort_values(["t", "count", C.TOPIC],
                                                             ascending=[True, False, True])
        top = top.drop_duplicates("t")
        parent[top["t"].to_numpy()] = top[C.TOPIC].to_numpy()
    topic_ids = np.array(sorted(set(parent[parent != C.NOISE].tolist())), dtype=int)
    units = pd.DataFrame({
        "level": ["theme"] * k + ["topic"] * len(topic_ids),
        C.TOPIC: np.concatenate([parent, topic_ids]),
        C.THEME: pd.array(list(theme_ids) + [None] * len(topic_ids), dtype="Int64"),
        "_id": np.concatenate([theme_ids, topic_ids]),
    })
    rows, ucol = np.arange(len(tcol)), np.asarray(tcol, dtype=int)
    if topic_ids.size:
        of = parent[tcol]
        on = np.flatnonzero(of != C.NOISE)
        rows = np.concatenate([rows, on])
        ucol = np.concatenate([ucol, k + np.searchsorted(topic_ids, of[on])])
    return units, rows, ucol


def _group_table(name, idx, member, complaint, ments, metrics, config, rng) -> pd.DataFrame:
    """The rows of one touchpoint (``idx``: its record positions)."""
    from scipy import sparse

    n_rec = len(idx)
    counts = np.asarray(member.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts > 0)
    if keep.size == 0:
        return pd.DataFrame()
    k = keep.size
    # whole-unit columns, then complaint columns: one pass for estimates and bootstrap
    sub = sparse.hstack([member[:, keep], complaint[:, keep]], format="csr")
    stats = ments.groupby("_tcol").agg(
        mentions=("_neg", "size"), negative_share=("_neg", "mean"), mean_sentiment=("_sent", "mean")
    ).reindex(keep)
    quotes = quotes_by_unit(ments)
    cols: dict[str, Any] = {
        C.TOUCHPOINT: name,
        "_unit": keep,
        "mentions": stats["mentions"].fillna(0).astype(int).to_numpy(),
        "records": counts[keep].astype(int),
        "complaint_records": np.asarray(complaint[:, keep].sum(axis=0)).ravel().astype(int),
        "share": counts[keep] / n_rec,
        "negative_share": stats["negative_share"].to_numpy(dtype=float),
        "mean_sentiment": stats["mean_sentiment"].to_numpy(dtype=float),
    }
    xs = {m: v[idx] for m, (v, _) in metrics.items()}
    live = [m for m in metrics if (~np.isnan(xs[m])).any()]
    cols["rank_metric"] = next((m for m in RANK_METRICS if m in live), None)
    boot = bootstrap_impacts(
        [xs[m] for m in live], sub, config.n_bootstrap, rng
    ) if live else []
    boot_of = dict(zip(live, boot))
    lo_q, hi_q = (1 - config.confidence) / 2, 1 - (1 - config.confidence) / 2
    complaint_cols: dict[str, Any] = {}
    for m, (_, sign) in metrics.items():
        est = impact_estimates(xs[m], sub)
        impact = sign * est["impact"]
        ci_lo = np.full(2 * k, np.nan)
        ci_hi = np.full(2 * k, np.nan)
        if m in boot_of:
            b = sign * boot_of[m]
            ok = np.isfinite(impact) & (np.isfinite(b).sum(axis=0) > 0)
            if ok.any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    qs = np.nanquantile(b[:, ok], [lo_q, hi_q], axis=0)
                ci_lo[ok], ci_hi[ok] = qs[0], qs[1]
        whole, comp = slice(0, k), slice(k, 2 * k)
        cols.update({
            f"{m}_with": est["with"][whole],
            f"{m}_without": est["without"][whole],
            f"{m}_with_n": est["n_with"][whole].astype(int),
            f"{m}_without_n": est["n_without"][whole].astype(int),
            f"{m}_impact": impact[whole],
            f"{m}_impact_ci_low": ci_lo[whole],
            f"{m}_impact_ci_high": ci_hi[whole],
            f"{m}_impact_p": est["p"][whole],
            f"{m}_reliable": (est["n_with"][whole] >= config.min_n) & (est["n_without"][whole] >= config.min_n),
        })
        complaint_cols.update({
            f"complaint_{m}_with": est["with"][comp],
            f"complaint_{m}_without": est["without"][comp],
            f"complaint_{m}_with_n": est["n_with"][comp].astype(int),
            f"complaint_{m}_impact": impact[comp],
            f"complaint_{m}_impact_ci_low": ci_lo[comp],
            f"complaint_{m}_impact_ci_high": ci_hi[comp],
            f"complaint_{m}_impact_p": est["p"][comp],
        })
    cols.update(complaint_cols)
    cols["quotes"] = [quotes.get(t, "") for t in keep]
    return pd.DataFrame(cols)


def _rank_impact(table: pd.DataFrame, metrics, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the complaint impact of its rank metric in points, and its complaint respondents."""
    impact = np.full(len(table), np.nan)
    n_with = np.zeros(len(table))
    for m in metrics:
        on = (table["rank_metric"] == m).to_numpy()
        impact[on] = table.loc[on, f"complaint_{m}_impact"].to_numpy(dtype=float) * _points(m, config)
        n_with[on] = table.loc[on, f"complaint_{m}_with_n"].to_numpy(dtype=float)
    return impact, n_with


def _points(metric: str, config: Config) -> float:
    """Factor from a metric's impact to the pain score's points: 1 for NPS and CSAT
    (already points on a 0-100 or -100..100 scale), 100 / scale range for CES."""
    if metric == "ces":
        low, high = config.ces_scale
        return 100.0 / (high - low)
    return 1.0


def complaint_mentions(mentions: pd.DataFrame, *, min_share: float | None = COMPLAINT_SHARE) -> np.ndarray:
    """Whether each mention is a complaint of its theme (and topic): bool per row.

    A mention is a complaint when its sentiment label is ``negative``, or
    when it belongs to a **complaint theme**: a theme (``theme`` column,
    not -1) at least ``min_share`` of whose labelled mentions in
    ``mentions`` are negative. Sentence sentiment misses plain complaints
    ("my parcel came a week late" read as neutral or positive); where most
    of a theme's mentions are negative, its other mentions are taken to be
    the same complaint. ``min_share=None``: negative labels only.

    Examples
    --------
    >>> m = pd.DataFrame({"theme": [0, 0, 0, 1, 1],
    ...                   "sentiment_label": ["negative", "negative", "neutral", "negative", "positive"]})
    >>> complaint_mentions(m).tolist()
    [True, True, True, True, True]
    >>> complaint_mentions(m, min_share=0.6).tolist()
    [True, True, True, True, False]
    >>> complaint_mentions(m, min_share=None).tolist()
    [True, True, False, True, False]
    """
    neg = negative_flags(mentions)
    out = neg == 1.0
    if min_share is None or C.THEME not in mentions or not len(mentions):
        return out
    theme = pd.to_numeric(mentions[C.THEME], errors="coerce").fillna(C.NOISE).astype(int).to_numpy()
    labelled = (theme != C.NOISE) & ~np.isnan(neg)
    if not labelled.any():
        return out
    share = pd.Series(neg[labelled]).groupby(theme[labelled]).mean()
    themes = share.index[share.to_numpy() >= min_share].to_numpy()
    return out | ((theme != C.NOISE) & np.isin(theme, themes))


def label_map(table: pd.DataFrame | None, key: str = C.THEME) -> dict[int, str]:
    """``{id: label}`` of a themes (or topics) table keyed by ``key``; rows without an id or label are left out.

    ``{}`` without a table, a ``key`` or a ``label`` column (the report then names themes "theme <id>").

    >>> label_map(pd.DataFrame({"theme": [0, 1, None], "label": ["late delivery", None, "x"]}))
    {0: 'late delivery'}
    """
    if table is None or key not in table or "label" not in table:
        return {}
    return {int(t): str(lab) for t, lab in zip(table[key], table["label"]) if pd.notna(t) and pd.notna(lab)}


def _column_order(metrics) -> list[str]:
    cols = [C.TOUCHPOINT, "level", C.TOPIC, C.THEME, "label", "rank", "rank_metric", "pain_score",
            "mentions", "records", "complaint_records", "share", "negative_share", "mean_sentiment"]
    for m in metrics:
        cols += [f"{m}_with", f"{m}_without", f"{m}_with_n", f"{m}_without_n", f"{m}_impact",
                 f"{m}_impact_ci_low", f"{m}_impact_ci_high", f"{m}_impact_p", f"{m}_impact_q",
                 f"{m}_reliable"]
    for m in metrics:
        cols += [f"complaint_{m}_with", f"complaint_{m}_without", f"complaint_{m}_with_n",
                 f"complaint_{m}_impact", f"complaint_{m}_impact_ci_low", f"complaint_{m}_impact_ci_high",
                 f"complaint_{m}_impact_p", f"complaint_{m}_impact_q"]
    return cols + ["quotes"]


def _empty_table(metrics) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in _column_order(metrics)})
