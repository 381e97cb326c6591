"""How much of the feedback the code frame covers, and candidate additions to it (``run.json``, the store)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .seeds import seed_index, seeded_ids

NOISE = -1

__all__ = ["suggestions", "coverage", "coverage_table", "run_record"]


def suggestions(model: Any, mentions: pd.DataFrame, *, min_similarity: float | None = None) -> dict:
    """Candidate additions and empty seeded themes.

    ``candidates``: discovered themes (with mentions in ``mentions``) whose
    centroid is at least ``min_similarity`` (default: the seed index's
    threshold) similar to a seeded theme's seeds: the nearest seeded theme,
    the similarity and the discovered theme's label and exemplars.
    ``empty``: seeded themes with no mention in ``mentions``.
    """
    index = seed_index(model)
    if index is None:
        return {"candidates": [], "empty": []}
    bar = index.threshold if min_similarity is None else float(min_similarity)
    counts = mentions["theme"].value_counts() if "theme" in mentions else pd.Series(dtype=int)
    seeded = set(int(t) for t in index.theme_ids)
    themes = model.themes_.set_index("theme")
    cands = []
    present = [int(t) for t in counts.index if int(t) >= 0 and int(t) not in seeded and int(t) in themes.index]
    if present:
        T = index.scores(model.state_.table.centroids[present])
        for row, t in enumerate(present):
            j = int(np.argmax(T[row]))
            if np.isfinite(T[row, j]) and T[row, j] >= bar:
                cands.append({"theme": t, "label": str(themes.at[t, "label"]),
                              "near": index.names[j], "near_theme": int(index.theme_ids[j]),
                              "similarity": round(float(T[row, j]), 3), "mentions": int(counts[t]),
                              "exemplars": [q for q in str(themes.at[t, "exemplars"]).split(" | ") if q]})
    cands.sort(key=lambda c: -c["similarity"])
    empty = [{"theme": int(t), "name": n} for n, t in zip(index.names, index.theme_ids) if int(counts.get(t, 0)) == 0]
    return {"candidates": cands, "empty": empty}


def coverage(mentions: pd.DataFrame, seeded: Sequence[int], *, freq: str = "W") -> dict:
    """Share of mentions inside the code frame (a seeded theme) vs discovered vs unassigned.

    ``mentions`` needs ``theme`` and, for the breakdowns, ``touchpoint`` and
    ``date`` (records' columns copied on, as in the store). Returns
    ``{"overall": {...}, "by_touchpoint": [...], "by_week": [...]}``; each
    entry has ``mentions``, ``code_frame``, ``discovered``, ``unassigned``
    (counts) and ``code_frame_share``, ``discovered_share``.
    """
    table = coverage_table(mentions, seeded, freq=freq)
    out: dict[str, Any] = {}
    for level, key in (("overall", None), ("by_touchpoint", "touchpoint"), ("by_week", "week")):
        part = table[table["level"] == level].drop(columns=["level"])
        rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()
                 if k in ("mentions", "code_frame", "discovered", "unassigned", "code_frame_share",
                          "discovered_share") or k == key}
                for r in part.to_dict("records")]
        out[level] = rows[0] if level == "overall" and rows else rows
    return out


def coverage_table(mentions: pd.DataFrame, seeded: Any, *, freq: str = "W") -> pd.DataFrame:
    """Coverage as a frame (``seeded``: the seeded theme ids, or a mapping run_id -> ids
    for mentions with a ``run_id`` column): ``level`` (overall, by_touchpoint, by_week), ``touchpoint``,
    ``week`` (start date of the period, ISO), ``mentions``, ``code_frame``, ``discovered``,
    ``unassigned``, ``code_frame_share``, ``discovered_share``."""
    theme = pd.to_numeric(mentions["theme"], errors="coerce").fillna(NOISE).astype(int) \
        if "theme" in mentions else pd.Series([], dtype=int)
    if isinstance(seeded, Mapping):  # per run (the store): each run's own seeded ids
        runs = mentions["run_id"].astype(str).to_numpy()
        sets = {str(r): set(int(t) for t in ids) for r, ids in seeded.items()}
        inside = np.asarray([t in sets.get(r, ()) for r, t in zip(runs, theme)], dtype=bool)
    else:
        inside = theme.isin(list(seeded)).to_numpy()
    kind = np.where(inside, "code_frame", np.where(theme >= 0, "discovered", "unassigned"))
    df = pd.DataFrame({"kind": kind}, index=mentions.index)
    if "touchpoint" in mentions:
        df["touchpoint"] = mentions["touchpoint"].astype(str)
    if "date" in mentions and mentions["date"].notna().any():
        dates = pd.to_datetime(mentions["date"], utc=True).dt.tz_localize(None)
        df["week"] = dates.dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    parts = []

    def summarise(g: pd.DataFrame) -> dict:
        n = len(g)
        c = int((g["kind"] == "code_frame").sum())
        dsc = int((g["kind"] == "discovered").sum())
        return {"mentions": n, "code_frame": c, "discovered": dsc, "unassigned": n - c - dsc,
                "code_frame_share": round(c / n, 4) if n else 0.0,
                "discovered_share": round(dsc / n, 4) if n else 0.0}

    parts.append({"level": "overall", **summarise(df)})
    for key, level in (("touchpoint", "by_touchpoint"), ("week", "by_week")):
        if key in df:
            for value, g in df.dropna(subset=[key]).groupby(key, sort=True):
                parts.append({"level": level, key: value, **summarise(g)})
    cols = ["level", "touchpoint", "week", "mentions", "code_frame", "discovered", "unassigned",
            "code_frame_share", "discovered_share"]
    out = pd.DataFrame(parts)
    for c in cols:
        if c not in out:
            out[c] = None
    return out[cols]


def run_record(model: Any, mentions: pd.DataFrame, records: pd.DataFrame | None = None) -> dict | None:
    """The ``run.json`` ``taxonomy`` entry: version, seeded themes, coverage, suggestions."""
    index = seed_index(model)
    if index is None:
        return None
    m = mentions
    if records is not None:
        keys = [c for c in ("date", "touchpoint") if c in records.columns and c not in mentions.columns]
        if keys:
            lookup = records.drop_duplicates("voc_id").set_index("voc_id")[keys]
            m = mentions.join(lookup, on="voc_id")
    return {"version": index.version, "source": index.source,
            "themes": {n: int(t) for n, t in zip(index.names, index.theme_ids)},
            "threshold": round(index.threshold, 4), "rule": {"quantile": index.quantile, "margin": index.margin},
            "coverage": coverage(m, seeded_ids(model)), "suggestions": suggestions(model, mentions)}
