"""``voc validate``: load a source and describe it (rows, mapping, languages, coverage, problems)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import columns as C
from ..script import has_japanese
from .convert import where_lines


@dataclass
class ValidationReport:
    """What :func:`validate_feedback` found; :meth:`summary` renders it."""

    source: str
    rows: int
    mapping: dict[str, str]
    languages: dict[str, int]
    coverage: dict[str, float]
    date_range: tuple[pd.Timestamp, pd.Timestamp] | None
    touchpoints: dict[str, int]
    channels: dict[str, int]
    with_text: int
    rejects: pd.DataFrame
    line_unit: str = "line"
    mapping_notes: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.rejects) == 0

    def summary(self) -> str:
        """A short plain-text summary, as printed by ``voc validate``."""
        out = [f"Source: {self.source}",
               f"Rows: {self.rows} ({self.with_text} with text, {self.rows - self.with_text} without)"]
        langs = ", ".join(f"{k} {v}" for k, v in self.languages.items()) or "none"
        out.append(f"Languages: {langs}")
        out.append("Columns mapped: " + ", ".join(
            f"{k} <- {v}" + (f" ({self.mapping_notes[k]})" if k in self.mapping_notes else "")
            for k, v in self.mapping.items()))
        cov = ", ".join(f"{k.upper()} {v:.0%}" for k, v in self.coverage.items())
        out.append(f"Score coverage: {cov}")
        if self.date_range:
            lo, hi = self.date_range
            out.append(f"Date range: {lo:%Y-%m-%d} to {hi:%Y-%m-%d}")
        else:
            out.append("Date range: no dates")
        for label, counts in (("Touchpoints", self.touchpoints), ("Channels", self.channels)):
            if counts:
                out.append(f"{label}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        out += [f"Warning: {w}" for w in self.warnings]
        if self.ok:
            out.append("Problems: none")
        else:
            out.append(f"Problems: {len(self.rejects)} row(s) skipped")
            for reason, n in Counter(self.rejects["reason"]).most_common(5):
                lines = self.rejects.loc[self.rejects["reason"] == reason, C.SOURCE_LINE]
                out.append(f"  - {reason}: {where_lines(lines.tolist(), self.line_unit)}")
        return "\n".join(out)


def validate_feedback(source: str | Path | pd.DataFrame, **options: Any) -> ValidationReport:
    """Load ``source`` like :func:`voc.io.load_feedback` and describe it.

    Takes the same options. With ``on_error="fail"`` (default) the first bad
    input raises :class:`~voc.errors.InputError`; with ``"skip"`` the report
    lists the problems instead.
    """
    from . import read_feedback

    loaded = read_feedback(source, **options)
    df = loaded.frame
    langs = Counter(_languages(df.loc[df[C.HAS_TEXT], C.TEXT].tolist()))
    coverage = {c: float(df[c].notna().mean()) if c in df and len(df) else 0.0 for c in C.SCORES}
    date_range = None
    if C.DATE in df and df[C.DATE].notna().any():
        date_range = (df[C.DATE].min(), df[C.DATE].max())

    def counts(col: str) -> dict[str, int]:
        return df[col].value_counts().to_dict() if col in df else {}

    return ValidationReport(
        source=loaded.source, rows=len(df), mapping=loaded.mapping,
        languages=dict(langs.most_common()), coverage=coverage, date_range=date_range,
        touchpoints=counts(C.TOUCHPOINT), channels=counts(C.CHANNEL),
        with_text=int(df[C.HAS_TEXT].sum()), rejects=loaded.rejects, line_unit=loaded.line_unit,
        mapping_notes=loaded.notes, warnings=list(loaded.warnings),
    )


_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def script_language(text: str) -> str:
    """``"ja"`` for a text with kana or kanji, ``"en"`` for Latin letters, else ``"und"`` (no spaCy needed)."""
    if has_japanese(text):
        return "ja"
    return "en" if _LATIN.search(text) else "und"


def _languages(texts: list[str]) -> list[str]:
    """Languages via :func:`voc.segment.detect_languages`, or a script heuristic."""
    try:
        from ..segment import detect_languages
    except ImportError:
        return [script_language(t) for t in texts]
    return list(detect_languages(texts))
