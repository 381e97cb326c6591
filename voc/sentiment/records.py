"""Unit (mention) sentiment aggregated to records: length-weighted mean, its label, and the most negative unit."""

from __future__ import annotations

import pandas as pd

from voc.columns import SENTIMENT, SENTIMENT_LABEL, TEXT, VOC_ID
from voc.errors import InputError
from voc.sentiment.labels import NEUTRAL_BAND, label_from_score

MIN_SENTIMENT = "min_sentiment"
"""Record column: the sentiment of the record's most negative unit."""


def aggregate_records(mentions: pd.DataFrame, *, neutral_band: float = NEUTRAL_BAND) -> pd.DataFrame:
    """Aggregate unit sentiment to records.

    Rule: a record's ``sentiment`` is the mean of its units' sentiment
    weighted by unit length in characters (``len(text)``, at least 1; equal
    weights if there is no ``text`` column), so a long complaint outweighs a
    short "thanks". ``sentiment_label`` applies :func:`label_from_score` with
    ``neutral_band`` to that mean; ``min_sentiment`` is the sentiment of the
    most negative unit, so a record that is positive overall but contains a
    complaint stays visible.

    Parameters
    ----------
    mentions : pandas.DataFrame
        Columns ``voc_id``, ``sentiment`` and optionally ``text``.
    neutral_band : float
        Pass the scorer's ``neutral_band`` to label records like units.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``voc_id`` with ``sentiment``, ``sentiment_label``,
        ``min_sentiment``. Records without units are absent; units with a
        missing sentiment are ignored.

    Examples
    --------
    >>> m = pd.DataFrame({"voc_id": ["a", "a"], "text": ["ok", "terrible!!"],
    ...                   "sentiment": [0.5, -0.8]})
    >>> aggregate_records(m).round(2).to_dict("records")
    [{'sentiment': -0.58, 'sentiment_label': 'negative', 'min_sentiment': -0.8}]
    """
    missing = [c for c in (VOC_ID, SENTIMENT) if c not in mentions.columns]
    if missing:
        raise InputError(
            f"aggregate_records needs the mention columns {', '.join(missing)}; "
            f"got {', '.join(map(str, mentions.columns))}. Score the mentions first."
        )
    m = mentions[mentions[SENTIMENT].notna()]
    s = m[SENTIMENT].astype(float)
    if TEXT in m.columns:
        w = m[TEXT].fillna("").astype(str).str.len().clip(lower=1).astype(float)
    else:
        w = pd.Series(1.0, index=m.index)
    frame = pd.DataFrame({VOC_ID: m[VOC_ID], "_ws": s * w, "_w": w, MIN_SENTIMENT: s})
    g = frame.groupby(VOC_ID, sort=False)
    out = pd.DataFrame(index=g.size().index)
    out[SENTIMENT] = (g["_ws"].sum() / g["_w"].sum()).clip(-1.0, 1.0)
    out[SENTIMENT_LABEL] = label_from_score(out[SENTIMENT].to_numpy(), band=neutral_band)
    out[MIN_SENTIMENT] = g[MIN_SENTIMENT].min()
    out.index.name = VOC_ID
    return out
