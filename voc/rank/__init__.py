"""Per-touchpoint survey metrics and the ranked pain-point table.

Two plain functions over the pipeline's tables (column names from
:mod:`voc.columns`):

- :func:`touchpoint_summary` -- one row per touchpoint plus the overall row
  ``"all"``: volume, NPS / CSAT / CES with intervals, sentiment.
- :func:`rank_pain_points` -- one row per touchpoint x theme (and ``"all"`` x
  theme; and the same for topics when mentions carry a ``topic``): volume,
  negativity, the score gap and impact of the theme on NPS (and CES /
  CSAT), the impact of its complaint records (those with a negative
  mention of it), bootstrap intervals, p-values with Benjamini-Hochberg FDR
  control, a pain score from the complaint impact of the touchpoint's rank
  metric and its rank within the touchpoint and level, and two short
  negative quotes.

Every formula is written out in ``docs/metrics.md``.

Layout (every name below is importable from ``voc.rank``):
:mod:`voc.rank.summary` the touchpoint summary; :mod:`voc.rank.table` the
pain-point table and the complaint rule; :mod:`voc.rank.impact` the impact,
bootstrap, FDR and pain-score arithmetic; :mod:`voc.rank.quotes` quote
selection; :mod:`voc.rank.readers` the column readers the summary and the
table share.
"""

from __future__ import annotations

from .impact import bh_fdr, pain_score
from .quotes import QUOTE_SEP, select_quotes, trim_quote
from .readers import UNKNOWN_TOUCHPOINT
from .summary import touchpoint_summary
from .table import (
    COMPLAINT_SHARE,
    LEVELS,
    RANK_METRICS,
    complaint_mentions,
    impact_column,
    label_map,
    rank_metric_used,
    rank_pain_points,
    theme_rows,
)

__all__ = [
    "COMPLAINT_SHARE", "LEVELS", "QUOTE_SEP", "RANK_METRICS", "UNKNOWN_TOUCHPOINT", "bh_fdr",
    "complaint_mentions", "impact_column", "label_map", "pain_score", "rank_metric_used", "rank_pain_points",
    "select_quotes", "theme_rows", "touchpoint_summary", "trim_quote",
]
