"""Per-touchpoint survey metrics and the ranked pain-point table.

Two plain functions over the pipeline's tables (column names from
:mod:`voc.columns`):

- :func:`touchpoint_summary` -- one row per touchpoint plus the overall row
  ``"all"``: volume, NPS / CSAT / CES with intervals, sentiment.
- :func:`rank_pain_points` -- one row per touchpoint x theme (and ``"all"`` x
  theme): volume, negativity, the score gap and impact of the theme on NPS
  (and CES / CSAT), bootstrap intervals, p-values with Benjamini-Hochberg
  FDR control, a pain score and its rank within the touchpoint, and two
  short negative quotes.

Every formula is written out in ``docs/metrics.md``.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .config import Config
from .errors import InputError
from .survey import _as_float, _validate, ces, csat, nps, nps_points

log = logging.getLogger(__name__)

QUOTE_SEP = " | "
UNKNOWN_TOUCHPOINT = "unknown"
"""Touchpoint name given to records whose touchpoint is missing."""

_BOOT_CELLS = 4_000_000
"""Bootstrap resamples are drawn in chunks of about this many weights."""


# --- touchpoint summary ---------------------------------------------------------------------


def touchpoint_summary(records: pd.DataFrame, *, config: Config | None = None) -> pd.DataFrame:
    """Volume, survey metrics and sentiment per touchpoint, plus an overall row.

    Parameters
    ----------
    records : DataFrame
        The records table: ``voc_id`` and optionally ``touchpoint``, ``text`` /
        ``has_text``, ``nps``, ``csat``, ``ces``, ``sentiment``,
        ``sentiment_label``.
    config : Config, optional
        Uses ``min_n``, ``confidence``, ``csat_scale``,
        ``csat_satisfied_from``, ``ces_scale`` and ``ces_direction``.

    Returns
    -------
    DataFrame
        One row per touchpoint, the overall row ``"all"`` first (only
        ``"all"`` when there is no touchpoint column). Columns: touchpoint,
        records, records_with_text, nps, nps_ci_low, nps_ci_high, nps_n,
        nps_reliable (NaN / 0 / False without NPS data), then csat*, ces*
        (and ces_easy_share) only when those columns exist, mean_sentiment,
        negative_share.

    Examples
    --------
    >>> recs = pd.DataFrame({"voc_id": ["a", "b", "c"], "touchpoint": ["app", "app", "web"],
    ...                      "nps": [10, 3, 9]})
    >>> touchpoint_summary(recs)[["touchpoint", "records", "nps", "nps_n"]].round(1)
      touchpoint  records    nps  nps_n
    0        all        3   33.3      3
    1        app        2    0.0      2
    2        web        1  100.0      1
    """
    config = config or Config()
    _require(records, [C.VOC_ID], "records")
    groups = _groups(records)
    has_text = _has_text(records)
    sent = _col_float(records, C.SENTIMENT)
    neg = _negative(records)
    rows = []
    for name, idx in groups:
        sub = records.iloc[idx]
        row: dict[str, Any] = {
            C.TOUCHPOINT: name,
            "records": len(idx),
            "records_with_text": int(has_text[idx].sum()),
        }
        scores = sub[C.NPS] if C.NPS in records else []
        row.update(_metric_cols(nps(scores, confidence=config.confidence, min_n=config.min_n)))
        if C.CSAT in records:
            m = csat(sub[C.CSAT], scale=config.csat_scale, satisfied_from=config.csat_satisfied_from,
                     confidence=config.confidence, min_n=config.min_n)
            row.update(_metric_cols(m))
        if C.CES in records:
            m = ces(sub[C.CES], scale=config.ces_scale, direction=config.ces_direction,
                    confidence=config.confidence, min_n=config.min_n)
            row.update(_metric_cols(m))
            row["ces_easy_share"] = m.extra["easy_share"]
        row["mean_sentiment"] = _nanmean(sent[idx])
        row["negative_share"] = _nanmean(neg[idx])
        rows.append(row)
    return pd.DataFrame(rows)


def _metric_cols(m: Any) -> dict[str, Any]:
    p = m.name
    return {p: m.value, f"{p}_ci_low": m.ci_low, f"{p}_ci_high": m.ci_high, f"{p}_n": m.n,
            f"{p}_reliable": m.reliable}


# --- pain points ----------------------------------------------------------------------------


def rank_pain_points(
    records: pd.DataFrame,
    mentions: pd.DataFrame,
    themes: pd.DataFrame | None = None,
    *,
    config: Config | None = None,
) -> pd.DataFrame:
    """Rank themes as pain points within every touchpoint (and overall).

    Parameters
    ----------
    records : DataFrame
        ``voc_id`` (unique) and optionally ``touchpoint``, ``nps``, ``csat``,
        ``ces``. Records without a score count for volume and sentiment, not
        for that score.
    mentions : DataFrame
        ``voc_id``, ``theme`` and optionally ``sentiment``,
        ``sentiment_label``, ``text``. Theme ``-1`` (noise) is ignored.
    themes : DataFrame, optional
        ``theme``, ``label``; themes without a label are called "theme <id>".
    config : Config, optional
        Uses ``min_n``, ``confidence``, ``n_bootstrap``, ``random_state``,
        ``csat_scale``, ``csat_satisfied_from``, ``ces_scale``,
        ``ces_direction``.

    Returns
    -------
    DataFrame
        One row per (touchpoint, theme) with at least one mention, the
        ``"all"`` touchpoint first, sorted by rank (1 = worst) within each
        touchpoint. Columns: touchpoint, theme, label, rank, pain_score,
        mentions, records, share, negative_share, mean_sentiment; for NPS
        (always present, NaN without data) and for CSAT / CES (only when the
        column exists): ``<m>_with``, ``<m>_without``, ``<m>_with_n``,
        ``<m>_without_n``, ``<m>_impact``, ``<m>_impact_ci_low``,
        ``<m>_impact_ci_high``, ``<m>_impact_p``, ``<m>_impact_q``,
        ``<m>_reliable``; then quotes.

    Notes
    -----
    ``<m>_impact = M(touchpoint) - M(touchpoint without the theme's
    records) = share_m * (<m>_with - <m>_without)``, where ``share_m`` is
    the share of the theme's records among respondents. Negative means the
    theme makes the metric worse (for CES with ``lower_is_easier`` the sign
    is flipped so that this holds). ``pain_score = 100 * share *
    negative_share * (1 + max(0, -nps_impact) * w / 10)`` with ``w =
    nps_with_n / (nps_with_n + min_n)``; NaN negativity counts as 1 and NaN
    impact as 0, so without NPS the score is volume x negativity.

    Examples
    --------
    >>> recs = pd.DataFrame({"voc_id": ["a", "b", "c", "d"], "nps": [2, 3, 10, 9]})
    >>> ments = pd.DataFrame({"voc_id": ["a", "b", "c"], "theme": [0, 0, 1],
    ...                       "sentiment": [-0.8, -0.5, 0.7],
    ...                       "sentiment_label": ["negative", "negative", "positive"],
    ...                       "text": ["late", "very late", "great"]})
    >>> themes = pd.DataFrame({"theme": [0, 1], "label": ["delivery", "quality"]})
    >>> t = rank_pain_points(recs, ments, themes, config=Config(n_bootstrap=200))
    >>> t[["label", "rank", "records", "nps_with", "nps_without", "nps_impact"]].round(1)
          label  rank  records  nps_with  nps_without  nps_impact
    0  delivery     1        2    -100.0        100.0      -100.0
    1   quality     2        1     100.0        -33.3        33.3
    """
    config = config or Config()
    _require(records, [C.VOC_ID], "records")
    _require(mentions, [C.VOC_ID, C.THEME], "mentions")
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
    # records x themes membership, sparse: a record mentions a few themes, and a
    # dense float matrix of a million records would take gigabytes
    from scipy import sparse

    member = sparse.csr_matrix((np.ones(len(pos)), (pos, tcol)), shape=(len(records), len(theme_ids)))
    member.data[:] = 1.0  # several mentions of a theme in a record count once

    groups = _groups(records)
    tp_of_record = np.empty(len(records), dtype=object)
    for name, idx in groups[1:]:
        tp_of_record[idx] = name
    ments = ments.assign(
        _tp=tp_of_record[pos] if len(groups) > 1 else C.ALL_TOUCHPOINTS,
        _pos=pos,
        _tcol=tcol,
        _neg=_negative(ments),
        _sent=_col_float(ments, C.SENTIMENT),
    )
    metrics = _metric_values(records, config)
    labels = _labels(themes)
    rng = np.random.default_rng(config.random_state)

    blocks = []
    for name, idx in groups:
        g_ments = ments if name == C.ALL_TOUCHPOINTS else ments[ments["_tp"] == name]
        block = _group_table(name, idx, member[idx], g_ments, theme_ids, metrics, config, rng)
        if len(block):
            blocks.append(block)
    if not blocks:
        return _empty_table(metrics)
    table = pd.concat(blocks, ignore_index=True)
    table.insert(2, "label", [labels.get(int(t), f"theme {int(t)}") for t in table[C.THEME]])
    for m in metrics:
        table[f"{m}_impact_q"] = bh_fdr(table[f"{m}_impact_p"].to_numpy(dtype=float))
    table["pain_score"] = pain_score(
        table["share"], table["negative_share"], table["nps_impact"], table["nps_with_n"],
        min_n=config.min_n,
    )
    order = {name: i for i, (name, _) in enumerate(groups)}
    table = table.assign(_o=table[C.TOUCHPOINT].map(order)).sort_values(
        ["_o", "pain_score", "records", C.THEME], ascending=[True, False, False, True], kind="stable"
    )
    table["rank"] = table.groupby("_o").cumcount() + 1
    return table[_column_order(metrics)].reset_index(drop=True)


def pain_score(
    share: Any, negative_share: Any, nps_impact: Any, nps_with_n: Any, *, min_n: int = 30
) -> np.ndarray:
    """The documented pain-point score (higher = worse).

    ``100 * share * neg * (1 + max(0, -nps_impact) * w / 10)`` with
    ``w = nps_with_n / (nps_with_n + min_n)``, which shrinks the impact of
    themes with few respondents. A missing ``negative_share`` counts as 1 and
    a missing impact as 0 (volume x negativity only).

    Examples
    --------
    >>> pain_score([0.2], [0.5], [-10.0], [30], min_n=30).round(6).tolist()
    [15.0]
    """
    share = np.asarray(share, dtype=float)
    neg = np.nan_to_num(np.asarray(negative_share, dtype=float), nan=1.0)
    harm = np.maximum(0.0, -np.nan_to_num(np.asarray(nps_impact, dtype=float), nan=0.0))
    n_with = np.nan_to_num(np.asarray(nps_with_n, dtype=float), nan=0.0)
    w = n_with / (n_with + min_n) if min_n > 0 else np.ones_like(n_with)
    return 100.0 * share * neg * (1.0 + harm * w / 10.0)


def bh_fdr(p: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN.

    ``q_(i) = min_{j >= i} min(1, m * p_(j) / j)`` over the ``m`` non-missing
    p-values sorted ascending.

    Examples
    --------
    >>> bh_fdr([0.01, 0.04, 0.03, 0.2]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = ranked
    q[ok] = out
    return q


def select_quotes(mentions: pd.DataFrame, *, n: int = 2, max_chars: int = 160) -> str:
    """Up to ``n`` short negative quotes from ``mentions``, ``" | "``-joined.

    Mentions labelled ``negative`` are preferred (all mentions when there is
    no ``sentiment_label`` column), most negative ``sentiment`` first;
    duplicates are skipped, whitespace collapsed, ``|`` replaced by ``/`` and
    each quote trimmed to ``max_chars`` characters (ending in "…").

    Examples
    --------
    >>> m = pd.DataFrame({"text": ["ok", "awful wait", "rude staff"], "sentiment": [0.1, -0.9, -0.6],
    ...                   "sentiment_label": ["neutral", "negative", "negative"]})
    >>> select_quotes(m)
    'awful wait | rude staff'
    """
    if C.TEXT not in mentions or not len(mentions):
        return ""
    return _pick(_negative_first(mentions)[C.TEXT], n=n, max_chars=max_chars)


def _negative_first(mentions: pd.DataFrame) -> pd.DataFrame:
    m = mentions
    if C.SENTIMENT_LABEL in m:
        m = m[m[C.SENTIMENT_LABEL] == "negative"]
    if C.SENTIMENT in m:
        m = m.sort_values(C.SENTIMENT, kind="stable", na_position="last")
    return m


def _pick(texts: Any, *, n: int, max_chars: int) -> str:
    out: list[str] = []
    seen: set[str] = set()
    for text in texts:
        quote = _trim(text if isinstance(text, str) else "", max_chars)
        if quote and quote.lower() not in seen:
            seen.add(quote.lower())
            out.append(quote)
            if len(out) == n:
                break
    return QUOTE_SEP.join(out)


def _quotes_by_theme(ments: pd.DataFrame, *, n: int = 2, max_chars: int = 160) -> dict[int, str]:
    """:func:`select_quotes` for every ``_tcol`` group at once (sorted once, few candidates each)."""
    if C.TEXT not in ments or not len(ments):
        return {}
    cand = _negative_first(ments[[c for c in ("_tcol", C.TEXT, C.SENTIMENT, C.SENTIMENT_LABEL)
                                  if c in ments]])
    cand = cand.groupby("_tcol", sort=False).head(10 * n)
    texts: dict[int, list[str]] = {}
    for t, text in zip(cand["_tcol"].tolist(), cand[C.TEXT].tolist()):
        texts.setdefault(t, []).append(text)
    return {t: _pick(v, n=n, max_chars=max_chars) for t, v in texts.items()}


# --- internals ------------------------------------------------------------------------------


def _group_table(name, idx, member, ments, theme_ids, metrics, config, rng) -> pd.DataFrame:
    """The rows of one touchpoint (``idx``: its record positions)."""
    n_rec = len(idx)
    counts = np.asarray(member.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts > 0)
    if keep.size == 0:
        return pd.DataFrame()
    sub = member[:, keep]
    stats = ments.groupby("_tcol").agg(
        mentions=(C.THEME, "size"), negative_share=("_neg", "mean"), mean_sentiment=("_sent", "mean")
    ).reindex(keep)
    quotes = _quotes_by_theme(ments)
    cols: dict[str, Any] = {
        C.TOUCHPOINT: name,
        C.THEME: theme_ids[keep],
        "mentions": stats["mentions"].fillna(0).astype(int).to_numpy(),
        "records": counts[keep].astype(int),
        "share": counts[keep] / n_rec,
        "negative_share": stats["negative_share"].to_numpy(dtype=float),
        "mean_sentiment": stats["mean_sentiment"].to_numpy(dtype=float),
    }
    xs = {m: v[idx] for m, (v, _) in metrics.items()}
    live = [m for m in metrics if (~np.isnan(xs[m])).any()]
    boot = _bootstrap(
        [xs[m] for m in live], sub, config.n_bootstrap, rng
    ) if live else []
    boot_of = dict(zip(live, boot))
    lo_q, hi_q = (1 - config.confidence) / 2, 1 - (1 - config.confidence) / 2
    for m, (_, sign) in metrics.items():
        est = _impact(xs[m], sub)
        impact = sign * est["impact"]
        ci_lo = np.full(keep.size, np.nan)
        ci_hi = np.full(keep.size, np.nan)
        if m in boot_of:
            b = sign * boot_of[m]
            ok = np.isfinite(impact) & (np.isfinite(b).sum(axis=0) > 0)
            if ok.any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    qs = np.nanquantile(b[:, ok], [lo_q, hi_q], axis=0)
                ci_lo[ok], ci_hi[ok] = qs[0], qs[1]
        cols.update({
            f"{m}_with": est["with"],
            f"{m}_without": est["without"],
            f"{m}_with_n": est["n_with"].astype(int),
            f"{m}_without_n": est["n_without"].astype(int),
            f"{m}_impact": impact,
            f"{m}_impact_ci_low": ci_lo,
            f"{m}_impact_ci_high": ci_hi,
            f"{m}_impact_p": est["p"],
            f"{m}_reliable": (est["n_with"] >= config.min_n) & (est["n_without"] >= config.min_n),
        })
    cols["quotes"] = [quotes.get(t, "") for t in keep]
    return pd.DataFrame(cols)


def _impact(x: np.ndarray, member: Any) -> dict[str, np.ndarray]:
    """Point estimates for every theme column of ``member`` (metric = mean of ``x``).

    ``impact = mean(all) - mean(without)``; NaN when the theme has no
    respondents or every respondent mentions it. ``p``: two-sided z test of
    ``with - without`` using the pooled variance of the touchpoint's
    respondents (normal approximation of a permutation test).
    """
    answered = ~np.isnan(x)
    xv = np.where(answered, x, 0.0)
    n_all = answered.sum()
    s_all = xv.sum()
    n_w = member.T @ answered.astype(float)
    s_w = member.T @ xv
    n_o = n_all - n_w
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_all = s_all / n_all if n_all else np.nan
        m_w = np.where(n_w > 0, s_w / n_w, np.nan)
        m_o = np.where(n_o > 0, (s_all - s_w) / n_o, np.nan)
        impact = mean_all - m_o
        impact = np.where(n_w > 0, impact, np.nan)
        var = float(np.mean(x[answered] ** 2) - np.mean(x[answered]) ** 2) if n_all else np.nan
        se = np.sqrt(max(var, 0.0) * (1 / n_w + 1 / n_o)) if n_all else np.full(n_w.shape, np.nan)
        z = np.abs(m_w - m_o) / se
    from scipy.special import erfc

    p = np.where(se > 0, erfc(z / math.sqrt(2)), 1.0)
    p = np.where(np.isfinite(impact), p, np.nan)
    return {"with": m_w, "without": m_o, "n_with": n_w, "n_without": n_o, "impact": impact, "p": p}


def _bootstrap(xs: list[np.ndarray], member: Any, n_boot: int, rng) -> list[np.ndarray]:
    """Bootstrap impacts (n_boot x themes) for each metric in ``xs``, all from the same resamples.

    Records are resampled with replacement; a resample is a row of
    multinomial counts, so every cell is a weighted sum computed for all
    themes at once by matrix products.
    """
    n = member.shape[0]
    parts = [((~np.isnan(x)).astype(float), np.nan_to_num(x, nan=0.0)) for x in xs]
    out: list[list[np.ndarray]] = [[] for _ in xs]
    chunk = max(1, min(n_boot, _BOOT_CELLS // max(n, 1)))
    for start in range(0, n_boot, chunk):
        c = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(c, n)) + (np.arange(c) * n)[:, None]
        w = np.bincount(draws.ravel(), minlength=c * n).reshape(c, n).astype(float)
        for k, (a, xv) in enumerate(parts):
            wa, wx = w * a, w * xv
            n_all = wa.sum(axis=1)[:, None]
            s_all = wx.sum(axis=1)[:, None]
            n_w = (member.T @ wa.T).T
            s_w = (member.T @ wx.T).T
            with np.errstate(invalid="ignore", divide="ignore"):
                imp = s_all / n_all - (s_all - s_w) / (n_all - n_w)
            imp = np.where(n_w > 0, imp, 0.0)  # no theme record drawn: removing nothing changes nothing
            imp = np.where((n_all - n_w) > 0, imp, np.nan)
            out[k].append(imp)
    return [np.vstack(o) for o in out]


def _metric_values(records: pd.DataFrame, config: Config) -> dict[str, tuple[np.ndarray, float]]:
    """Per-record values whose mean is the metric, and the impact sign."""
    n = len(records)
    vals: dict[str, tuple[np.ndarray, float]] = {
        "nps": (nps_points(records[C.NPS]) if C.NPS in records else np.full(n, np.nan), 1.0)
    }
    if C.CSAT in records:
        x = _as_float(records[C.CSAT], "CSAT")
        _validate(x, "CSAT", config.csat_scale, integer=False)
        vals["csat"] = (np.where(np.isnan(x), np.nan, 100.0 * (x >= config.csat_satisfied_from)), 1.0)
    if C.CES in records:
        x = _as_float(records[C.CES], "CES")
        _validate(x, "CES", config.ces_scale, integer=False)
        vals["ces"] = (x, 1.0 if config.ces_direction == "higher_is_easier" else -1.0)
    return vals


def _groups(records: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """``[("all", every position), (touchpoint, positions), ...]`` sorted by name."""
    out = [(C.ALL_TOUCHPOINTS, np.arange(len(records)))]
    if C.TOUCHPOINT not in records:
        return out
    tp = records[C.TOUCHPOINT].astype(object).where(records[C.TOUCHPOINT].notna(), UNKNOWN_TOUCHPOINT)
    tp = tp.map(str).to_numpy()
    is_all = tp == C.ALL_TOUCHPOINTS
    if is_all.any() and not is_all.all():
        log.warning("a touchpoint is literally named %r; it is merged with the overall rows",
                    C.ALL_TOUCHPOINTS)
    for name in sorted(set(tp) - {C.ALL_TOUCHPOINTS}):
        out.append((name, np.flatnonzero(tp == name)))
    return out


def _has_text(records: pd.DataFrame) -> np.ndarray:
    if C.HAS_TEXT in records:
        return records[C.HAS_TEXT].fillna(False).astype(bool).to_numpy()
    if C.TEXT in records:
        return records[C.TEXT].fillna("").astype(str).str.strip().ne("").to_numpy()
    return np.zeros(len(records), dtype=bool)


def _negative(df: pd.DataFrame) -> np.ndarray:
    """1.0 for negative, 0.0 for other labels, NaN when unlabelled."""
    if C.SENTIMENT_LABEL not in df:
        return np.full(len(df), np.nan)
    lab = df[C.SENTIMENT_LABEL]
    return np.where(lab.isna(), np.nan, (lab == "negative").astype(float))


def _col_float(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else math.nan


def _labels(themes: pd.DataFrame | None) -> dict[int, str]:
    if themes is None or C.THEME not in themes or "label" not in themes:
        return {}
    return {int(t): str(lab) for t, lab in zip(themes[C.THEME], themes["label"]) if pd.notna(lab)}


def _require(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df]
    if missing:
        raise InputError(
            f"{what} table is missing column(s) {', '.join(missing)}. Got columns: "
            f"{', '.join(map(str, df.columns))}. Pass the {what} table of voc.analyze."
        )


def _column_order(metrics) -> list[str]:
    cols = [C.TOUCHPOINT, C.THEME, "label", "rank", "pain_score", "mentions", "records", "share",
            "negative_share", "mean_sentiment"]
    for m in metrics:
        cols += [f"{m}_with", f"{m}_without", f"{m}_with_n", f"{m}_without_n", f"{m}_impact",
                 f"{m}_impact_ci_low", f"{m}_impact_ci_high", f"{m}_impact_p", f"{m}_impact_q",
                 f"{m}_reliable"]
    return cols + ["quotes"]


def _empty_table(metrics) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in _column_order(metrics)})


def _trim(text: str, max_chars: int) -> str:
    text = re.sub(r"\s+", " ", text.replace("|", "/")).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"
