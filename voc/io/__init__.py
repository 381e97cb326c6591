"""Read customer feedback from a file or DataFrame into voc's column vocabulary.

One ingestion path for every command: :func:`read_feedback` reads CSV, TSV,
JSONL, a JSON array or Parquet (each optionally gzipped), maps the input
columns onto the vocabulary of :mod:`voc.columns`, validates every value and
either fails with a one-line message or skips the bad rows into a rejects
table. It returns a :class:`Loaded`: the records and, beside them, the
mapping, the rejects, the warnings and the source. :func:`iter_loaded` does
the same in chunks. :func:`load_feedback` and :func:`iter_feedback` give
the records as a DataFrame with that side data in ``DataFrame.attrs``
(``voc_mapping``, ``voc_rejects``, ...), as documented in docs/io.md;
:func:`validate_feedback` returns a :class:`ValidationReport` for
``voc validate``.

The package keeps one job per module: :mod:`voc.io.read` reads the formats
and encodings into raw record batches with their source lines,
:mod:`voc.io.mapping` maps the input columns onto the vocabulary,
:mod:`voc.io.dates` parses dates, :mod:`voc.io.convert` converts and
validates the values and builds the rejects table, :mod:`voc.io.validate`
describes a source; this module holds the public loading functions.

>>> from voc.io import read_feedback
>>> from voc.sample import sample_path
>>> loaded = read_feedback(sample_path())
>>> loaded.mapping["text"]
'text'
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .. import columns as C
from ..errors import ConfigError, InputError
from .convert import (MISSING_MARKERS, check_scale, convert, malformed_message, redacted_rejects,  # noqa: F401
                      rejects_frame, row_problems, write_rejects)
from .dates import DATE_ORDERS, as_numbers, check_date_format, date_evidence, date_order, parse_dates  # noqa: F401
from .mapping import AUTO_NAMES, JA_NAMES, MAX_TOUCHPOINTS, as_str, resolve_mapping  # noqa: F401
from .read import FORMATS, NotStreamable, Raw, iter_raw, looks_like_mojibake, mojibake_warning, read_source  # noqa: F401
from .validate import ValidationReport, validate_feedback  # noqa: F401
from .validate import script_language as _script_language  # noqa: F401  (an older private name)

logger = logging.getLogger(__name__)


ON_ERROR = ("fail", "skip")


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({C.SOURCE_LINE: pd.Series(dtype="int64"), "reason": pd.Series(dtype=object)})


@dataclass(eq=False)
class Loaded:
    """What a load gives: the records in voc's vocabulary and what the load found out about them.

    Attributes
    ----------
    frame : DataFrame
        One row per kept record (the columns of :func:`load_feedback`);
        its ``attrs`` are empty.
    mapping : dict
        ``{voc column: input column}``.
    notes : dict
        ``{voc column: how it was guessed}`` for the columns not named
        exactly (``run.json`` ``mapping_guesses``).
    rejects : DataFrame
        The skipped rows: ``source_line``, ``reason``, then the raw input
        fields as text (empty without ``on_error="skip"``).
    warnings : list of str
        What the load warns about (ambiguous dates, mojibake); already logged.
    source : str
        How to name the source in messages (the path, or ``"DataFrame"``).
    line_unit : {"line", "record"}
        What ``source_line`` counts (see :func:`load_feedback`).
    """

    frame: pd.DataFrame
    mapping: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=_empty_rejects)
    warnings: list[str] = field(default_factory=list)
    source: str = "DataFrame"
    line_unit: str = "record"

    def __repr__(self) -> str:
        return (f"Loaded({len(self.frame):,} records, {len(self.rejects):,} rejects, source={self.source!r}, "
                f"mapping={self.mapping!r})")

    def with_frame(self, frame: pd.DataFrame) -> "Loaded":
        """The same load with other records (a subset of ``frame``): side data kept."""
        return replace(self, frame=frame)

    def to_frame(self) -> pd.DataFrame:
        """The records with the side data in ``attrs``, as :func:`load_feedback` returns them."""
        out = self.frame.copy(deep=False)
        out.attrs = {"voc_mapping": self.mapping, "voc_mapping_notes": self.notes,
                     "voc_rejects": Rejects(self.rejects), "voc_line_unit": self.line_unit,
                     "voc_source": self.source, "voc_warnings": self.warnings}
        return out

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> "Loaded":
        """The :class:`Loaded` of a frame from :func:`load_feedback` (its ``attrs``; defaults if absent)."""
        frame = df.copy(deep=False)
        frame.attrs = {}
        attrs = df.attrs
        return cls(frame, mapping=dict(attrs.get("voc_mapping", {})),
                   notes=dict(attrs.get("voc_mapping_notes", {})), rejects=rejects(df),
                   warnings=list(attrs.get("voc_warnings", [])), source=attrs.get("voc_source", "DataFrame"),
                   line_unit=attrs.get("voc_line_unit", "record"))


def as_loaded(data: "Loaded | pd.DataFrame") -> Loaded:
    """What the drivers analyse, from what a user may pass.

    A :class:`Loaded` as is; a frame with a ``voc_id`` column (from
    :func:`load_feedback`, or built by hand) with the side data of its
    ``attrs``; any other frame is loaded first (:func:`read_feedback`).
    """
    if isinstance(data, Loaded):
        return data
    if C.VOC_ID in data.columns:
        return Loaded.from_frame(data)
    return read_feedback(data)


class Rejects(dict):
    """The rows a load skipped, in ``load_feedback(...).attrs["voc_rejects"]``: a read-only wrapper around a DataFrame.

    It behaves like the DataFrame (``len``, ``.empty``, ``["reason"]``,
    ``.to_csv``...) and ``.frame`` gives the DataFrame itself. It exists
    because pandas copies and compares ``DataFrame.attrs`` on every operation:
    a bare DataFrame there makes ``pd.concat`` fail ("truth value of a
    DataFrame is ambiguous") and is deep-copied on every filter. As a dict it
    holds only ``{"rows": n}``, so pandas can write ``attrs`` as JSON (e.g.
    in ``to_parquet``) without the rejected rows' content. voc itself reads
    the rejects from :attr:`Loaded.rejects`; this wrapper only serves the
    documented ``attrs`` of :func:`load_feedback` and :func:`iter_feedback`.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__(rows=int(len(frame)))
        self.frame = frame

    def __getattr__(self, name: str) -> Any:
        if name == "frame":
            raise AttributeError(name)
        return getattr(self.frame, name)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]

    def __len__(self) -> int:
        return len(self.frame)

    def __eq__(self, other: object) -> bool:
        other = other.frame if isinstance(other, Rejects) else other
        return isinstance(other, pd.DataFrame) and self.frame.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict) -> "Rejects":
        return self

    def __repr__(self) -> str:
        return f"Rejects({len(self.frame)} rows)\n{self.frame!r}"

# --------------------------------------------------------------------------- public API

def _options(options: dict[str, Any]) -> dict[str, Any]:
    """Every load option, defaults filled in; :class:`ConfigError` for an unknown name."""
    params = inspect.signature(load_feedback).parameters
    unknown = sorted(set(options) - set(params) - {"source"})
    if unknown:
        raise ConfigError(f"Unknown load option(s): {', '.join(unknown)}. Use the options of load_feedback.")
    out = {name: p.default for name, p in params.items() if name != "source"}
    out.update(options)
    if out["on_error"] not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}. Got {out['on_error']!r}.")
    return out


def _explicit(o: dict[str, Any]) -> dict[str, str | None]:
    return {C.TEXT: o["text_col"], C.VOC_ID: o["id_col"], C.DATE: o["date_col"],
            C.TOUCHPOINT: o["touchpoint_col"], C.CHANNEL: o["channel_col"], C.NPS: o["nps_col"],
            C.CES: o["ces_col"], C.CSAT: o["csat_col"]}


def read_feedback(source: str | Path | pd.DataFrame, **options: Any) -> Loaded:
    """Load feedback records into voc's column vocabulary, as a :class:`Loaded`.

    Takes the options of :func:`load_feedback` and does the same work; the
    records come as :attr:`Loaded.frame` (no ``attrs``) and the mapping,
    rejects and warnings as attributes beside it.

    >>> from voc.sample import sample_path
    >>> loaded = read_feedback(sample_path(), on_error="skip")
    >>> len(loaded.frame), len(loaded.rejects), loaded.line_unit
    (2000, 0, 'line')
    """
    o = _options(options)
    ces_scale, csat_scale = check_scale("ces_scale", o["ces_scale"]), check_scale("csat_scale", o["csat_scale"])
    raw = read_source(source, format=o["format"], encoding=o["encoding"])
    if raw.frame.empty and raw.bad:
        raise InputError(malformed_message(raw).replace(" or pass on_error='skip'", "; no record could be read"))
    mapping, notes = resolve_mapping(list(raw.frame.columns), _explicit(o), raw.frame, csat_scale)
    date_format = check_date_format(o["date_format"])
    out, problems, warnings = convert(raw, mapping, id_given=o["id_col"] is not None, ces_scale=ces_scale,
                                      csat_scale=csat_scale, date_format=date_format)
    for w in warnings:
        logger.warning(w)

    bad, reasons = row_problems(out, problems)
    rej = rejects_frame(raw, bad, reasons)
    if o["redact_rejects"]:
        rej = redacted_rejects(rej, o["redact_patterns"])
    if o["rejects_path"] is not None:
        write_rejects(rej, o["rejects_path"])
    if o["on_error"] == "fail" and len(rej):
        messages = [msg for msg, _, _ in problems]
        if raw.bad:
            messages.insert(0, malformed_message(raw))
        messages = [m for m in messages if m]
        raise InputError(" ".join(messages))
    if len(rej):
        logger.info("Skipped %d row(s) with problems (see the rejects table).", len(rej))
    out = out[~bad].reset_index(drop=True)
    return Loaded(out, mapping, notes, rej, warnings, raw.name, raw.unit)


def load_feedback(
    source: str | Path | pd.DataFrame,
    *,
    text_col: str | None = None,
    id_col: str | None = None,
    date_col: str | None = None,
    touchpoint_col: str | None = None,
    channel_col: str | None = None,
    nps_col: str | None = None,
    ces_col: str | None = None,
    csat_col: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    on_error: str = "fail",
    rejects_path: str | Path | None = None,
    ces_scale: tuple[int, int] = (1, 7),
    csat_scale: tuple[int, int] = (1, 5),
    date_format: str | None = None,
    redact_rejects: bool = False,
    redact_patterns: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Load feedback records into voc's column vocabulary.

    Parameters
    ----------
    source : path or DataFrame
        A CSV, TSV, JSONL, JSON-array or Parquet file (optionally ``.gz``),
        or a DataFrame with the same kind of columns.
    text_col, id_col, date_col, touchpoint_col, channel_col, nps_col, ces_col, csat_col : str or None
        Input column to map onto ``text``, ``voc_id``, ``date``,
        ``touchpoint``, ``channel``, ``nps``, ``ces``, ``csat``. ``None``
        means "recognise a common name" (see :data:`AUTO_NAMES`); only the
        text column is required.
    format : {"csv", "tsv", "jsonl", "json", "parquet"} or None
        ``None`` derives it from the suffix (``.csv.gz`` is gzipped CSV).
    encoding : str or None
        Text encoding of CSV/TSV/JSON files; ``None`` means UTF-8 (a BOM is
        accepted). A non-UTF-8 file fails with the encoding to try.
    on_error : {"fail", "skip"}
        What to do with rows that have bad values (NPS not an integer 0..10,
        CES/CSAT outside the scale, unparseable date, duplicate or empty id,
        malformed line): ``"fail"`` raises :class:`~voc.errors.InputError`;
        ``"skip"`` drops them into ``df.attrs["voc_rejects"]``.
        File-level problems (encoding, empty file, header only, missing
        column) always raise.
    rejects_path : path or None
        Also write the problem rows (source_line, reason, raw fields) to this
        CSV, atomically; written whenever given, also when loading fails.
        Text cells are formula-escaped like the other CSV outputs (see
        :func:`voc.outputs.csv_safe`).
    ces_scale, csat_scale : (int, int)
        Allowed range of CES and CSAT answers.
    date_format : str or None
        How to read the date column. ``None`` or ``"auto"`` detects one format
        for the whole column (see :func:`date_order` and docs/io.md);
        ``"dmy"`` / ``"mdy"`` fix the order of numeric day/month dates
        (``03/04/2026``); a ``strptime`` format with ``%`` (``"%d.%m.%Y"``)
        must match every value.
    redact_rejects, redact_patterns : bool, dict or None
        Redact every text field of the rejected rows (``df.attrs`` and the
        rejects file) with :func:`voc.privacy.redact` and these extra
        patterns, as ``voc run --redact`` does.

    Returns
    -------
    DataFrame
        ``voc_id`` (the given id as text, else a content hash, see below),
        ``text`` ("" when missing), ``has_text``, ``source_line``, the mapped
        ``date`` (datetime64, tz-aware input converted to UTC and made naive),
        ``touchpoint``, ``channel`` (str), ``nps`` (Int64), ``ces``, ``csat``
        (Float64), then every unmapped input column unchanged (renamed
        ``<name>_input`` if its name is a voc column). ``attrs["voc_mapping"]``
        is ``{vocab column: input column}``, ``attrs["voc_rejects"]`` a
        :class:`Rejects` table and ``attrs["voc_line_unit"]`` is ``"line"``
        (CSV, TSV, JSONL: ``source_line`` is the physical line where the
        record starts, header = line 1) or ``"record"`` (JSON array,
        Parquet, DataFrame: 1-based record number).

    Notes
    -----
    Without an id column, ``voc_id`` is the first 16 hex digits of SHA-1 over
    the record's parsed mapped values (text, date, touchpoint, channel, nps,
    ces, csat) plus its occurrence index among identical records, so two
    identical rows get different ids and the same file gives the same ids on
    every run, in every format.
    """

    options = {k: v for k, v in locals().items() if k != "source"}  # every parameter above
    return read_feedback(source, **options).to_frame()


def rejects(df: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`load_feedback` skipped, as a plain DataFrame."""
    rej = df.attrs.get("voc_rejects")
    return rej.frame if isinstance(rej, Rejects) else pd.DataFrame(columns=[C.SOURCE_LINE, "reason"])


def iter_loaded(source: str | Path | pd.DataFrame, *, chunk_size: int = 50_000,
                **options: Any) -> Iterator[Loaded]:
    """:func:`read_feedback` in chunks of at most ``chunk_size`` records: one :class:`Loaded` per chunk.

    What :func:`iter_feedback` yields, with the side data as attributes:
    each chunk's ``rejects`` are its own skipped rows; ``mapping``,
    ``notes``, ``source`` and ``line_unit`` are the same for every chunk.
    A chunk whose every row was skipped comes with an empty ``frame`` (so its
    rejects are counted); :func:`iter_feedback` leaves it out.
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    o = _options(options)
    on_error = o["on_error"]
    ces_scale, csat_scale = check_scale("ces_scale", o["ces_scale"]), check_scale("csat_scale", o["csat_scale"])
    explicit = _explicit(o)
    date_format = check_date_format(o["date_format"])
    state: dict = {"ids": set(), "keys": {}}
    mapping: dict[str, str] | None = None
    notes: dict[str, str] = {}
    parts: list[pd.DataFrame] = []
    parsed = 0
    told: set[str] = set()

    def whole_file_error() -> None:
        read_feedback(source, **options)  # raises the whole-file message
        raise InputError(f"Could not read '{source}' in chunks. Use load_feedback instead.")

    try:
        if date_format is None:  # one date order for the whole file: a first pass decides it
            evidence: Counter = Counter()
            for raw in iter_raw(source, o["format"], o["encoding"], chunk_size):
                if not raw.frame.empty:
                    if mapping is None:
                        mapping, notes = resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
                    if C.DATE not in mapping:
                        break
                    evidence.update(date_evidence(as_str(raw.frame[mapping[C.DATE]])))
            state["date_order"] = date_order(evidence, date_format)
        for raw in iter_raw(source, o["format"], o["encoding"], chunk_size):
            parsed += len(raw.frame)
            warnings: list[str] = []
            if raw.frame.empty:
                bad, reasons, out = np.zeros(0, dtype=bool), pd.Series(dtype=object), None
            else:
                if mapping is None:
                    mapping, notes = resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
                out, problems, warnings = convert(raw, mapping, id_given=explicit[C.VOC_ID] is not None,
                                                  ces_scale=ces_scale, csat_scale=csat_scale,
                                                  date_format=date_format, state=state)
                bad, reasons = row_problems(out, problems)
                for w in warnings:
                    if w.split(":")[0] not in told:  # once per kind, not once per chunk
                        told.add(w.split(":")[0])
                        logger.warning(w)
            rej = rejects_frame(raw, bad, reasons)
            if o["redact_rejects"]:
                rej = redacted_rejects(rej, o["redact_patterns"])
            if len(rej) and on_error == "fail":
                whole_file_error()
            if len(rej):
                parts.append(rej)
            if out is None or not (~bad).any():  # every row rejected: the rejects still count
                if len(rej):
                    yield Loaded(pd.DataFrame() if out is None else out[~bad].reset_index(drop=True),
                                 mapping or {}, notes, rej, warnings, raw.name, raw.unit)
                continue
            out = out[~bad].reset_index(drop=True)
            yield Loaded(out, mapping, notes, rej, warnings, raw.name, raw.unit)
    except NotStreamable:
        whole_file_error()
    if parsed == 0:
        whole_file_error()
    if len(parts):
        logger.info("Skipped %d row(s) with problems (see the rejects table).", sum(map(len, parts)))
    if o["rejects_path"] is not None:
        rej = pd.concat(parts, ignore_index=True) if parts else rejects_frame(
            Raw(pd.DataFrame(), np.zeros(0, dtype=np.int64), "line", ""), np.zeros(0, dtype=bool),
            pd.Series(dtype=object))
        write_rejects(rej.astype({C.SOURCE_LINE: "int64"}), o["rejects_path"])


def iter_feedback(source: str | Path | pd.DataFrame, *, chunk_size: int = 50_000,
                  **options: Any) -> Iterator[pd.DataFrame]:
    """Load feedback in chunks of at most ``chunk_size`` records.

    Concatenated, the chunks equal :func:`load_feedback` with the same
    ``options``: same rows, ``voc_id`` (content ids count identical records
    across chunks; duplicate ids are found across chunks), ``source_line``
    and dtypes. Each chunk has the usual ``attrs``; ``voc_rejects`` holds the
    chunk's skipped rows, and ``rejects_path`` is written once, after the last
    chunk. CSV/TSV (optionally gzipped) and Parquet files are read
    incrementally, so memory holds one chunk; JSON, JSONL and DataFrames are
    parsed whole and converted chunk by chunk.

    Errors are those of :func:`load_feedback`: when a file-level problem (or,
    with ``on_error="fail"``, a bad row) is met, the file is handed to
    :func:`load_feedback`, which raises its message about the whole file.
    Chunks before the problem may already have been yielded.

    Examples
    --------
    >>> from voc.sample import sample_path
    >>> sum(len(chunk) for chunk in iter_feedback(sample_path(), chunk_size=500))
    2000
    """
    for loaded in iter_loaded(source, chunk_size=chunk_size, **options):
        if len(loaded.frame):
            yield loaded.to_frame()
