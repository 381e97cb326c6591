"""Readers of the records and mentions tables shared by the touchpoint summary and the ranking."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .. import columns as C
from ..errors import InputError

log = logging.getLogger(__name__)

UNKNOWN_TOUCHPOINT = "unknown"
"""Touchpoint name given to records whose touchpoint is missing."""


def require_columns(df: pd.DataFrame, cols: list[str], what: str) -> None:
    """Raise :class:`~voc.errors.InputError` naming the ``cols`` missing from the ``what`` table."""
    missing = [c for c in cols if c not in df]
    if missing:
        raise InputError(
            f"{what} table is missing column(s) {', '.join(missing)}. Got columns: "
            f"{', '.join(map(str, df.columns))}. Pass the {what} table of voc.analyze."
        )


def touchpoint_groups(records: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """``[("all", every position), (touchpoint, positions), ...]`` sorted by name.

    Records without a touchpoint form :data:`UNKNOWN_TOUCHPOINT`; a touchpoint
    literally named ``"all"`` is merged with the overall group (with a warning).
    """
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


def negative_flags(df: pd.DataFrame) -> np.ndarray:
    """1.0 for negative, 0.0 for other labels, NaN when unlabelled."""
    if C.SENTIMENT_LABEL not in df:
        return np.full(len(df), np.nan)
    lab = df[C.SENTIMENT_LABEL]
    return np.where(lab.isna(), np.nan, (lab == "negative").astype(float))


def float_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column ``col`` as float (unparseable values NaN), or all NaN when ``df`` lacks it."""
    if col not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
