"""The arithmetic of impact: per-record metric values, point estimates, bootstrap, BH FDR, pain score."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import Config
from ..survey import as_float, nps_points, validate_scores

_BOOT_CELLS = 4_000_000
"""Bootstrap resamples are drawn in chunks of about this many weights."""


def pain_score(
    share: Any, negative_share: Any, impact: Any, n_with: Any, *, min_n: int = 30
) -> np.ndarray:
    """The documented pain-point score (higher = worse).

    ``100 * share * neg * (1 + max(0, -impact) * w / 10)`` with
    ``w = n_with / (n_with + min_n)``, which shrinks the impact of themes
    with few respondents. :func:`voc.rank.rank_pain_points` passes the complaint
    impact of the touchpoint's rank metric in points and its complaint
    respondents. A missing ``negative_share`` counts as 1 and a missing
    impact as 0 (volume x negativity only).

    Examples
    --------
    >>> pain_score([0.2], [0.5], [-10.0], [30], min_n=30).round(6).tolist()
    [15.0]
    """
    share = np.asarray(share, dtype=float)
    neg = np.nan_to_num(np.asarray(negative_share, dtype=float), nan=1.0)
    harm = np.maximum(0.0, -np.nan_to_num(np.asarray(impact, dtype=float), nan=0.0))
    n_with = np.nan_to_num(np.asarray(n_with, dtype=float), nan=0.0)
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


def metric_values(records: pd.DataFrame, config: Config) -> dict[str, tuple[np.ndarray, float]]:
    """Per-record values whose mean is the metric, and the impact sign.

    ``{"nps": (points, 1.0)}`` always (all NaN without an ``nps`` column),
    plus ``"csat"`` (100 for a satisfied answer, else 0) and ``"ces"`` (the
    score; sign -1 for ``lower_is_easier``) when their columns exist. NaN
    marks a record without that score.
    """
    n = len(records)
    vals: dict[str, tuple[np.ndarray, float]] = {
        "nps": (nps_points(records[C.NPS]) if C.NPS in records else np.full(n, np.nan), 1.0)
    }
    if C.CSAT in records:
        x = as_float(records[C.CSAT], "CSAT")
        validate_scores(x, "CSAT", config.csat_scale, integer=False)
        vals["csat"] = (np.where(np.isnan(x), np.nan, 100.0 * (x >= config.csat_satisfied_from)), 1.0)
    if C.CES in records:
        x = as_float(records[C.CES], "CES")
        validate_scores(x, "CES", config.ces_scale, integer=False)
        vals["ces"] = (x, 1.0 if config.ces_direction == "higher_is_easier" else -1.0)
    return vals


def impact_estimates(x: np.ndarray, member: Any) -> dict[str, np.ndarray]:
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


def bootstrap_impacts(xs: list[np.ndarray], member: Any, n_boot: int, rng) -> list[np.ndarray]:
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
