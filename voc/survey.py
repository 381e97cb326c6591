"""Survey metrics: NPS, CSAT and CES with confidence intervals.

Plain functions over a sequence of answers (list, ndarray or Series).
Missing answers (``None``, ``NaN``, ``pd.NA``) are ignored and not counted
in ``n``. Every function returns a :class:`Metric`; below ``min_n``
respondents the metric is flagged ``reliable=False`` rather than hidden.
The exact formulas are in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .config import CES_DIRECTIONS  # one definition, in voc.config
from .errors import ConfigError, InputError

NPS_SCALE = (0, 10)


@dataclass(frozen=True)
class Metric:
    """One survey metric with its uncertainty.

    Attributes
    ----------
    name : str
        ``"nps"``, ``"csat"`` or ``"ces"``.
    value : float
        The metric (NaN when ``n == 0``).
    n : int
        Respondents with a valid answer.
    ci_low, ci_high : float
        Confidence interval at ``confidence`` (NaN when it cannot be computed).
    reliable : bool
        ``n >= min_n``.
    confidence : float
        Level of the interval.
    extra : dict
        Metric-specific extras (CES: ``easy_share``, ``easy_ci_low``,
        ``easy_ci_high``, ``scale``, ``direction``; CSAT: ``satisfied_from``).
    """

    name: str
    value: float
    n: int
    ci_low: float
    ci_high: float
    reliable: bool
    confidence: float = 0.95
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the fields plus the extras (a field wins a name clash)."""
        d = asdict(self)
        extra = d.pop("extra")
        d.update({k: v for k, v in extra.items() if k not in d})
        return d


def nps(scores: Any, *, confidence: float = 0.95, min_n: int = 30) -> Metric:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6).

    Parameters
    ----------
    scores : array-like
        Answers to "how likely are you to recommend...", integers 0..10.
        Missing values are ignored.
    confidence : float, default 0.95
        Level of the confidence interval.
    min_n : int, default 30
        Fewer respondents than this flag the result ``reliable=False``.

    Returns
    -------
    Metric
        ``value`` in [-100, 100]. The interval is the normal approximation
        ``value +- z * 100 * sqrt((pP + pD - (pP - pD)**2) / n)`` clipped to
        [-100, 100]. With no respondents the value is NaN.

    Raises
    ------
    InputError
        If an answer is not an integer from 0 to 10.

    Examples
    --------
    >>> m = nps([10, 9, 8, 6, None])
    >>> m.value, m.n, m.reliable
    (25.0, 4, False)
    """
    _check_level(confidence, min_n)
    x = _clean(scores, "NPS", NPS_SCALE, integer=True)
    n = x.size
    if n == 0:
        return _empty("nps", confidence)
    promoters, passives, detractors = nps_counts(x)
    est = nps_from_counts(promoters, passives, detractors, confidence=confidence)
    return Metric("nps", est.value, n, est.ci_low, est.ci_high, n >= min_n, confidence,
                  {"promoters": promoters / n, "detractors": detractors / n})


PROMOTER_FROM = 9
"""NPS answers from this one up (9-10) are promoters."""

DETRACTOR_UPTO = 6
"""NPS answers up to this one (0-6) are detractors; 7-8 are passives."""


class NpsEstimate(NamedTuple):
    """An NPS from answer counts (floats, or arrays of them when the counts are arrays).

    ``value`` in points [-100, 100]; ``variance`` of that estimate in points
    squared; ``ci_low``, ``ci_high`` its normal-approximation interval clipped
    to [-100, 100]; ``n`` the respondents. NaN where ``n == 0``.
    """

    value: Any
    variance: Any
    ci_low: Any
    ci_high: Any
    n: Any


def nps_counts(scores: Any) -> tuple[int, int, int]:
    """Promoters, passives and detractors among ``scores`` (validated as :func:`nps`; missing answers ignored).

    Examples
    --------
    >>> nps_counts([10, 9, 8, 6, None])
    (2, 1, 1)
    """
    x = _clean(scores, "NPS", NPS_SCALE, integer=True)
    promoters, detractors = int(np.sum(x >= PROMOTER_FROM)), int(np.sum(x <= DETRACTOR_UPTO))
    return promoters, int(x.size) - promoters - detractors, detractors


def nps_from_counts(promoters: Any, passives: Any, detractors: Any, *, confidence: float = 0.95) -> NpsEstimate:
    """NPS, its variance and its interval from answer counts: the one NPS formula of voc.

    With ``n = promoters + passives + detractors``, ``pP = promoters / n``
    and ``pD = detractors / n``: ``value = 100 * (pP - pD)``,
    ``variance = 100**2 * (pP + pD - (pP - pD)**2) / n`` (the variance of the
    mean of per-answer points +100 / 0 / -100) and ``value +- z * sqrt(variance)``
    clipped to [-100, 100]. Vectorised: counts may be scalars or arrays
    (of one shape, or broadcastable); a NaN count gives NaN. :func:`nps`,
    :mod:`voc.trends` and the store's SQL reads (which count in DuckDB) all
    end here.

    Raises
    ------
    InputError
        If a count is negative.

    Examples
    --------
    >>> nps_from_counts(2, 1, 1).value
    25.0
    >>> nps_from_counts([3, 0], [0, 0], [0, 0]).value.tolist()
    [100.0, nan]
    """
    _check_level(confidence, 0)
    p, pa, d = (np.asarray(c, dtype=float) for c in (promoters, passives, detractors))
    if (p < 0).any() or (pa < 0).any() or (d < 0).any():
        raise InputError(
            f"NPS counts must be non-negative. Got promoters={promoters!r}, passives={passives!r}, "
            f"detractors={detractors!r}."
        )
    n = p + pa + d
    with np.errstate(invalid="ignore", divide="ignore"):
        p_p, p_d = p / n, d / n
        value = np.where(n > 0, 100.0 * (p_p - p_d), np.nan)
        # float_power is libm's pow, as ``x ** 2`` on a Python float: results stay bit-identical
        spread = np.where(n > 0, np.maximum(p_p + p_d - np.float_power(p_p - p_d, 2), 0.0) / n, np.nan)
        half = _z(confidence) * 100.0 * np.sqrt(spread)
    lo, hi = np.maximum(value - half, -100.0), np.minimum(value + half, 100.0)
    out = (value, 1e4 * spread, lo, hi, n)
    if all(np.ndim(c) == 0 for c in (promoters, passives, detractors)):
        return NpsEstimate(*(float(v) for v in out))
    return NpsEstimate(*out)


def nps_from_totals(promoters: Any, detractors: Any, respondents: Any, *,
                    confidence: float = 0.95) -> NpsEstimate:
    """:func:`nps_from_counts` from the counts SQL and group-bys give: promoters, detractors and all
    respondents (the passives are the rest).

    >>> nps_from_totals(2, 1, 4).value
    25.0
    """
    p, d, n = (np.asarray(c, dtype=float) for c in (promoters, detractors, respondents))
    return nps_from_counts(p, n - p - d, d, confidence=confidence)


def csat(
    scores: Any,
    *,
    scale: tuple[int, int] = (1, 5),
    satisfied_from: int | None = None,
    confidence: float = 0.95,
    min_n: int = 30,
) -> Metric:
    """Customer satisfaction: % of answers at or above ``satisfied_from``.

    Parameters
    ----------
    scores : array-like
        Answers on ``scale``; missing values are ignored.
    scale : (int, int), default (1, 5)
        Lowest and highest possible answer.
    satisfied_from : int or None
        Lowest answer counted as satisfied. ``None`` means the top two boxes
        (``scale[1] - 1``, i.e. 4 and 5 on a 1-5 scale).
    confidence : float, default 0.95
        Level of the Wilson score interval.
    min_n : int, default 30
        Fewer respondents than this flag the result ``reliable=False``.

    Returns
    -------
    Metric
        ``value`` in [0, 100] (percent satisfied) with a Wilson interval.

    Examples
    --------
    >>> csat([5, 4, 3, 1]).value
    50.0
    >>> csat([7, 6, 5], scale=(1, 7), satisfied_from=6).n
    3
    """
    _check_level(confidence, min_n)
    lo_s, hi_s = _check_scale(scale, "scale")
    if satisfied_from is None:
        satisfied_from = hi_s - 1
    if not lo_s < satisfied_from <= hi_s:
        raise ConfigError(
            f"CSAT 'satisfied_from' must lie in ({lo_s}, {hi_s}] for scale {scale!r}. "
            f"Got {satisfied_from!r}."
        )
    x = _clean(scores, "CSAT", (lo_s, hi_s), integer=False)
    n = x.size
    if n == 0:
        return _empty("csat", confidence, satisfied_from=satisfied_from)
    k = int(np.sum(x >= satisfied_from))
    lo, hi = wilson_interval(k, n, confidence=confidence)
    return Metric("csat", 100.0 * k / n, n, 100.0 * lo, 100.0 * hi, n >= min_n, confidence,
                  {"satisfied_from": satisfied_from})


def ces(
    scores: Any,
    *,
    scale: tuple[int, int],
    direction: str,
    confidence: float = 0.95,
    min_n: int = 30,
) -> Metric:
    """Customer Effort Score: the mean answer, plus the share of "easy" answers.

    ``scale`` and ``direction`` are required: CES questionnaires differ
    (the CES 2.0 item "the company made it easy..." is 1-7 agreement where
    high is good; older effort items are 1-5 where low is good), and voc
    never guesses.

    Parameters
    ----------
    scores : array-like
        Answers on ``scale``; missing values are ignored.
    scale : (int, int)
        Lowest and highest possible answer, e.g. ``(1, 7)``.
    direction : {"higher_is_easier", "lower_is_easier"}
        Which end of the scale means low effort.
    confidence : float, default 0.95
        Level of the t interval of the mean (and Wilson interval of the share).
    min_n : int, default 30
        Fewer respondents than this flag the result ``reliable=False``.

    Returns
    -------
    Metric
        ``value`` is the mean on the original scale, with a Student-t
        interval (NaN for n < 2). ``extra["easy_share"]`` is the percent of
        answers strictly on the easy side of the scale midpoint (>= 5 on 1-7
        and >= 4 on 1-5 when higher is easier; <= 2 on 1-5 and <= 3 on 1-7
        when lower is easier), with a Wilson interval.

    Examples
    --------
    >>> m = ces([7, 6, 2, 5], scale=(1, 7), direction="higher_is_easier")
    >>> m.value, m.extra["easy_share"]
    (5.0, 75.0)
    >>> ces([1, 2, 4, 5], scale=(1, 5), direction="lower_is_easier").extra["easy_share"]
    50.0
    """
    _check_level(confidence, min_n)
    lo_s, hi_s = _check_scale(scale, "scale")
    if direction not in CES_DIRECTIONS:
        raise ConfigError(
            f"CES 'direction' must be one of {', '.join(CES_DIRECTIONS)}. Got {direction!r}."
        )
    x = _clean(scores, "CES", (lo_s, hi_s), integer=False)
    n = x.size
    extra: dict[str, Any] = {"scale": (lo_s, hi_s), "direction": direction}
    if n == 0:
        extra.update(easy_share=math.nan, easy_ci_low=math.nan, easy_ci_high=math.nan)
        return _empty("ces", confidence, **extra)
    mid = (lo_s + hi_s) / 2
    easy = x > mid if direction == "higher_is_easier" else x < mid
    k = int(easy.sum())
    e_lo, e_hi = wilson_interval(k, n, confidence=confidence)
    extra.update(easy_share=100.0 * k / n, easy_ci_low=100.0 * e_lo, easy_ci_high=100.0 * e_hi)
    mean = float(x.mean())
    if n >= 2:
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
        lo, hi = max(mean - half, float(lo_s)), min(mean + half, float(hi_s))
    else:
        lo = hi = math.nan
    return Metric("ces", mean, n, lo, hi, n >= min_n, confidence, extra)


def wilson_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (as fractions in [0, 1]).

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if n <= 0:
        return math.nan, math.nan
    z = _z(confidence)
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if k == 0 else max(center - half, 0.0)
    hi = 1.0 if k == n else min(center + half, 1.0)
    return lo, hi


def nps_points(scores: Any) -> np.ndarray:
    """Per-answer NPS contribution: +100 promoter, -100 detractor, 0 passive, NaN missing.

    The NPS of any set of answers is the mean of these points.
    """
    x = as_float(scores, "NPS")
    validate_scores(x, "NPS", NPS_SCALE, integer=True)
    return np.where(np.isnan(x), np.nan,
                    np.where(x >= PROMOTER_FROM, 100.0, np.where(x <= DETRACTOR_UPTO, -100.0, 0.0)))


# --- helpers --------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _empty(name: str, confidence: float, **extra: Any) -> Metric:
    return Metric(name, math.nan, 0, math.nan, math.nan, False, confidence, extra)


def _check_level(confidence: float, min_n: int) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"'confidence' must be in (0, 1). Got {confidence!r}.")
    if not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ConfigError(f"'min_n' must be a non-negative integer. Got {min_n!r}.")


def _check_scale(scale: Any, name: str) -> tuple[int, int]:
    try:
        lo, hi = scale
    except (TypeError, ValueError):
        lo = hi = None
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)) and lo < hi):
        raise ConfigError(f"'{name}' must be two integers (low, high) with low < high. Got {scale!r}.")
    return int(lo), int(hi)


def as_float(scores: Any, what: str) -> np.ndarray:
    """Answers as a float array with NaN for missing; non-numbers raise InputError."""
    s = pd.Series(scores, dtype=object) if not isinstance(scores, pd.Series) else scores
    s = s.astype(object).where(s.notna(), None)
    num = pd.to_numeric(s, errors="coerce")
    bad = s[num.isna() & s.notna()]
    if len(bad):
        raise InputError(
            f"{what} scores must be numbers. Got invalid value(s): {_show(bad.tolist())}. "
            "Fix or remove these answers."
        )
    return num.to_numpy(dtype=float, na_value=np.nan)


def validate_scores(x: np.ndarray, what: str, scale: tuple[int, int], *, integer: bool) -> None:
    """Raise InputError naming the bad answers when any score is outside ``scale`` (or not whole)."""
    lo, hi = scale
    v = x[~np.isnan(x)]
    bad = (v < lo) | (v > hi)
    if integer:
        bad |= v != np.round(v)
    if bad.any():
        kind = "integers" if integer else "numbers"
        raise InputError(
            f"{what} scores must be {kind} from {lo} to {hi}. Got invalid value(s): "
            f"{_show(v[bad].tolist())}. Fix or remove these answers"
            + ("." if what == "NPS" else f", or set the {what} scale to match the data.")
        )


def _clean(scores: Any, what: str, scale: tuple[int, int], *, integer: bool) -> np.ndarray:
    x = as_float(scores, what)
    validate_scores(x, what, scale, integer=integer)
    return x[~np.isnan(x)]


def _show(values: list[Any], limit: int = 5) -> str:
    uniq = list(dict.fromkeys(_fmt(v) for v in values))
    more = f" (and {len(uniq) - limit} more)" if len(uniq) > limit else ""
    return ", ".join(uniq[:limit]) + more


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


SCALE_CHECK_MIN_N = 10
"""Answers a column needs before :func:`scale_warnings` judges its range."""


def scale_warnings(records: Any, *, config: Any, mapping: dict | None = None) -> list[str]:
    """Warnings for survey columns whose answers do not fit their metric's scale.

    Answers outside the scale are load errors (:func:`voc.load_feedback`);
    this catches the silent case: a column with at least
    :data:`SCALE_CHECK_MIN_N` answers that all lie in the lower half of the
    scale (at most its midpoint), e.g. a 1-5 star rating mapped as NPS
    (0-10), which then reads as NPS -100. ``mapping`` (voc column -> input
    column, ``attrs["voc_mapping"]``) names the input column.
    """
    mapping = mapping or {}
    scales = {"nps": ("NPS", (0, 10), "--nps-col"),
              "csat": ("CSAT", tuple(config.csat_scale), "--csat-scale LOW HIGH"),
              "ces": ("CES", tuple(config.ces_scale), "--ces-scale LOW HIGH")}
    out = []
    for col, (name, (lo, hi), fix) in scales.items():
        if col not in records.columns:
            continue
        values = pd.to_numeric(records[col], errors="coerce").dropna()
        if len(values) < SCALE_CHECK_MIN_N or values.max() > (lo + hi) / 2:
            continue
        vmin, vmax = _fmt(float(values.min())), _fmt(float(values.max()))
        source = mapping.get(col, col)
        if col == "nps":
            hint = (f"Is it a {vmin}-{vmax} rating? Map it as CSAT (--csat-col {source} --csat-scale "
                    f"{vmin} {vmax}) or map the NPS column with --nps-col.")
        else:
            hint = f"Set the scale with {fix}, or map another column with --{col}-col."
        out.append(f"{name} column '{source}': all {len(values)} answers lie within {vmin}-{vmax}, "
                   f"the lower half of the {name} scale {lo}-{hi}. {hint}")
    return out
