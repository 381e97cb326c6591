"""The touchpoint summary: volume, NPS / CSAT / CES with intervals and sentiment per touchpoint."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import Config
from ..survey import ces, csat, nps
from .readers import float_column, negative_flags, require_columns, touchpoint_groups


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
    require_columns(records, [C.VOC_ID], "records")
    groups = touchpoint_groups(records)
    has_text = _has_text(records)
    sent = float_column(records, C.SENTIMENT)
    neg = negative_flags(records)
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


def _has_text(records: pd.DataFrame) -> np.ndarray:
    if C.HAS_TEXT in records:
        return records[C.HAS_TEXT].fillna(False).astype(bool).to_numpy()
    if C.TEXT in records:
        return records[C.TEXT].fillna("").astype(str).str.strip().ne("").to_numpy()
    return np.zeros(len(records), dtype=bool)


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else math.nan
