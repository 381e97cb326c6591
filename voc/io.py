"""Read customer feedback from a file or DataFrame into voc's column vocabulary.

One ingestion path for every command: :func:`load_feedback` reads CSV, TSV,
JSONL, a JSON array or Parquet (each optionally gzipped), maps the input
columns onto the vocabulary of :mod:`voc.columns`, validates every value and
either fails with a one-line message or skips the bad rows into a rejects
table. :func:`validate_feedback` does the same and returns a
:class:`ValidationReport` for ``voc validate``.

>>> from voc.io import load_feedback
>>> from voc.sample import sample_path
>>> df = load_feedback(sample_path())
>>> df.attrs["voc_mapping"]["text"]
'text'
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import inspect
import io
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from . import columns as C
from ._atomic import atomic_path
from .errors import ConfigError, InputError

logger = logging.getLogger(__name__)

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
"""Input formats; each may also be gzipped (``.gz`` suffix)."""

_SUFFIXES = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json", ".parquet": "parquet", ".pq": "parquet",
}
ON_ERROR = ("fail", "skip")

AUTO_NAMES: dict[str, tuple[str, ...]] = {
    C.TEXT: ("text", "comment", "comments", "review", "review_text", "body", "verbatim",
             "feedback", "feedback_text", "message", "content", "comment_text", "open_text",
             "response", "answer", "description"),
    C.VOC_ID: ("id", "voc_id", "review_id", "ticket_id", "response_id", "record_id",
               "feedback_id", "comment_id", "uuid"),
    C.DATE: ("date", "created_at", "timestamp", "submitted_at", "created", "datetime",
             "date_time", "response_date", "review_date", "submitted", "created_date"),
    C.TOUCHPOINT: ("touchpoint", "touch_point", "journey_stage", "stage", "journey_step",
                   "step"),
    C.CHANNEL: ("channel", "source", "medium", "platform"),
    C.NPS: ("nps", "nps_score", "likelihood_to_recommend", "ltr", "recommend",
            "recommendation", "net_promoter_score"),
    C.CES: ("ces", "ces_score", "effort", "customer_effort", "customer_effort_score",
            "effort_score", "ease"),
    C.CSAT: ("csat", "csat_score", "satisfaction", "customer_satisfaction",
             "satisfaction_score"),
}
"""Input names recognised per vocabulary column (case, spaces and punctuation
ignored), in order of preference."""

_OPTION = {v: f"{'id' if v == C.VOC_ID else v}_col=" for v in C.MAPPABLE}
"""The keyword argument that maps each column. Messages name keyword arguments
(``text_col=``, ``on_error='skip'``); the CLI shows them as its flags
(``--text-col``, ``--on-error skip``), see :func:`voc.cli.as_flags`."""
MISSING_MARKERS = ("na", "n/a", "n.a.", "n.a", "nan", "null", "none", "-", "--", "—", "?",
                   "無回答", "該当なし")
"""Score cells (NPS, CES, CSAT) read as "no answer", after NFKC folding and
lower-casing: ``NA``, ``N/A``, ``n.a.``, ``NaN``, ``null``, ``None``, ``-``,
``--``, an em dash, ``?``, 無回答 and 該当なし (full-width forms such as
``Ｎ／Ａ`` or ``－`` fold to these). Blank cells are missing too. Any other
value that is not a number is a row problem."""

_VOCAB = {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)} - {C.ALL_TOUCHPOINTS}
_SHOW = 5  # line numbers shown in a message
# The csv module rejects fields over 128 KiB ("field larger than field limit"),
# i.e. any long but valid review; raise its process-wide limit (never lower it).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


class Rejects(dict):
    """The rows a load skipped: a read-only wrapper around a DataFrame.

    It behaves like the DataFrame (``len``, ``.empty``, ``["reason"]``,
    ``.to_csv``...) and ``.frame`` gives the DataFrame itself. It exists
    because pandas copies and compares ``DataFrame.attrs`` on every operation:
    a bare DataFrame there makes ``pd.concat`` fail ("truth value of a
    DataFrame is ambiguous") and is deep-copied on every filter. As a dict it
    holds only ``{"rows": n}``, so pandas can write ``attrs`` as JSON (e.g.
    in ``to_parquet``) without the rejected rows' content.
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


@dataclass
class _Raw:
    frame: pd.DataFrame          # every input column, one row per parsed record
    lines: np.ndarray            # source line (or record number) per row
    unit: str                    # "line" or "record"
    name: str                    # how to call the source in messages
    bad: list = field(default_factory=list)  # (line, reason, {col: raw}) of malformed records


# --------------------------------------------------------------------------- public API

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
        :func:`voc.pipeline.csv_safe`).
    ces_scale, csat_scale : (int, int)
        Allowed range of CES and CSAT answers.
    date_format : str or None
        How to read the date column. ``None`` or ``"auto"`` detects one format
        for the whole column (see :func:`_date_order` and docs/io.md);
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
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}. Got {on_error!r}.")
    ces_scale, csat_scale = _scale("ces_scale", ces_scale), _scale("csat_scale", csat_scale)
    raw = _read(source, format=format, encoding=encoding)
    if raw.frame.empty and raw.bad:
        raise InputError(_malformed_message(raw).replace(" or pass on_error='skip'", "; no record could be read"))
    explicit = {C.TEXT: text_col, C.VOC_ID: id_col, C.DATE: date_col, C.TOUCHPOINT: touchpoint_col,
                C.CHANNEL: channel_col, C.NPS: nps_col, C.CES: ces_col, C.CSAT: csat_col}
    mapping, notes = _resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
    date_format = _check_date_format(date_format)
    out, problems, warnings = _convert(raw, mapping, id_given=id_col is not None, ces_scale=ces_scale,
                                       csat_scale=csat_scale, date_format=date_format)
    for w in warnings:
        logger.warning(w)

    bad, reasons = _row_problems(out, problems)
    rejects = _rejects_frame(raw, bad, reasons)
    if redact_rejects:
        rejects = _redacted(rejects, redact_patterns)
    if rejects_path is not None:
        _write_rejects(rejects, rejects_path)
    if on_error == "fail" and len(rejects):
        messages = [msg for msg, _, _ in problems]
        if raw.bad:
            messages.insert(0, _malformed_message(raw))
        messages = [m for m in messages if m]
        raise InputError(" ".join(messages))
    if len(rejects):
        logger.info("Skipped %d row(s) with problems (see the rejects table).", len(rejects))
    out = out[~bad].reset_index(drop=True)
    out.attrs = {"voc_mapping": mapping, "voc_mapping_notes": notes, "voc_rejects": Rejects(rejects),
                 "voc_line_unit": raw.unit, "voc_source": raw.name, "voc_warnings": warnings}
    return out


def rejects(df: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`load_feedback` skipped, as a plain DataFrame."""
    rej = df.attrs.get("voc_rejects")
    return rej.frame if isinstance(rej, Rejects) else pd.DataFrame(columns=[C.SOURCE_LINE, "reason"])


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
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    unknown = sorted(set(options) - set(inspect.signature(load_feedback).parameters) - {"source"})
    if unknown:
        raise ConfigError(f"Unknown load option(s): {', '.join(unknown)}. Use the options of load_feedback.")
    on_error = options.get("on_error", "fail")
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}. Got {on_error!r}.")
    ces_scale = _scale("ces_scale", options.get("ces_scale", (1, 7)))
    csat_scale = _scale("csat_scale", options.get("csat_scale", (1, 5)))
    explicit = {C.TEXT: options.get("text_col"), C.VOC_ID: options.get("id_col"),
                C.DATE: options.get("date_col"), C.TOUCHPOINT: options.get("touchpoint_col"),
                C.CHANNEL: options.get("channel_col"), C.NPS: options.get("nps_col"),
                C.CES: options.get("ces_col"), C.CSAT: options.get("csat_col")}
    date_format = _check_date_format(options.get("date_format"))
    state: dict = {"ids": set(), "keys": {}}
    mapping: dict[str, str] | None = None
    notes: dict[str, str] = {}
    parts: list[pd.DataFrame] = []
    parsed = 0
    told: set[str] = set()

    def whole_file_error() -> None:
        load_feedback(source, **options)  # raises the whole-file message
        raise InputError(f"Could not read '{source}' in chunks. Use load_feedback instead.")

    try:
        if date_format is None:  # one date order for the whole file: a first pass decides it
            evidence: Counter = Counter()
            for raw in _iter_raw(source, options.get("format"), options.get("encoding"), chunk_size):
                if not raw.frame.empty:
                    if mapping is None:
                        mapping, notes = _resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
                    if C.DATE not in mapping:
                        break
                    evidence.update(_date_evidence(_as_str(raw.frame[mapping[C.DATE]])))
            state["date_order"] = _date_order(evidence, date_format)
        for raw in _iter_raw(source, options.get("format"), options.get("encoding"), chunk_size):
            parsed += len(raw.frame)
            warnings: list[str] = []
            if raw.frame.empty:
                bad, reasons, out = np.zeros(0, dtype=bool), pd.Series(dtype=object), None
            else:
                if mapping is None:
                    mapping, notes = _resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
                out, problems, warnings = _convert(raw, mapping, id_given=explicit[C.VOC_ID] is not None,
                                                   ces_scale=ces_scale, csat_scale=csat_scale,
                                                   date_format=date_format, state=state)
                bad, reasons = _row_problems(out, problems)
                for w in warnings:
                    if w.split(":")[0] not in told:  # once per kind, not once per chunk
                        told.add(w.split(":")[0])
                        logger.warning(w)
            rej = _rejects_frame(raw, bad, reasons)
            if options.get("redact_rejects"):
                rej = _redacted(rej, options.get("redact_patterns"))
            if len(rej) and on_error == "fail":
                whole_file_error()
            if len(rej):
                parts.append(rej)
            if out is None or not (~bad).any():
                continue
            out = out[~bad].reset_index(drop=True)
            out.attrs = {"voc_mapping": mapping, "voc_mapping_notes": notes, "voc_rejects": Rejects(rej),
                         "voc_line_unit": raw.unit, "voc_source": raw.name, "voc_warnings": warnings}
            yield out
    except _NotStreamable:
        whole_file_error()
    if parsed == 0:
        whole_file_error()
    if len(parts):
        logger.info("Skipped %d row(s) with problems (see the rejects table).", sum(map(len, parts)))
    if options.get("rejects_path") is not None:
        rej = pd.concat(parts, ignore_index=True) if parts else _rejects_frame(
            _Raw(pd.DataFrame(), np.zeros(0, dtype=np.int64), "line", ""), np.zeros(0, dtype=bool),
            pd.Series(dtype=object))
        _write_rejects(rej.astype({C.SOURCE_LINE: "int64"}), options["rejects_path"])


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
                out.append(f"  - {reason}: {_where(lines.tolist(), self.line_unit)}")
        return "\n".join(out)


def validate_feedback(source: str | Path | pd.DataFrame, **options: Any) -> ValidationReport:
    """Load ``source`` like :func:`load_feedback` and describe it.

    Takes the same options. With ``on_error="fail"`` (default) the first bad
    input raises :class:`~voc.errors.InputError`; with ``"skip"`` the report
    lists the problems instead.
    """
    df = load_feedback(source, **options)
    mapping = df.attrs["voc_mapping"]
    langs = Counter(_languages(df.loc[df[C.HAS_TEXT], C.TEXT].tolist()))
    coverage = {c: float(df[c].notna().mean()) if c in df and len(df) else 0.0 for c in C.SCORES}
    date_range = None
    if C.DATE in df and df[C.DATE].notna().any():
        date_range = (df[C.DATE].min(), df[C.DATE].max())

    def counts(col: str) -> dict[str, int]:
        return df[col].value_counts().to_dict() if col in df else {}

    return ValidationReport(
        source=df.attrs["voc_source"], rows=len(df), mapping=mapping,
        languages=dict(langs.most_common()), coverage=coverage, date_range=date_range,
        touchpoints=counts(C.TOUCHPOINT), channels=counts(C.CHANNEL),
        with_text=int(df[C.HAS_TEXT].sum()), rejects=rejects(df), line_unit=df.attrs["voc_line_unit"],
        mapping_notes=df.attrs.get("voc_mapping_notes", {}),
        warnings=list(df.attrs.get("voc_warnings", [])),
    )


# --------------------------------------------------------------------------- reading

def _read(source: Any, *, format: str | None, encoding: str | None) -> _Raw:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        _check_header(list(frame.columns), "the DataFrame")
        if frame.empty:
            raise InputError("The DataFrame has no rows. Give at least one record.")
        return _Raw(frame, np.arange(1, len(frame) + 1), "record", "DataFrame")
    path = Path(source)
    name = str(path)
    fmt, gz = _format(path, format)
    if not path.is_file():
        raise InputError(f"File '{name}' not found.")
    data = path.read_bytes()
    if gz or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise InputError(f"File '{name}' is not a valid gzip file ({e}).") from None
    if not data.strip():
        raise InputError(f"File '{name}' is empty. Give a file with a header and at least one record.")
    if fmt == "parquet":
        return _read_parquet(data, name)
    text = _decode(data, encoding, name)
    if not text.strip():
        raise InputError(f"File '{name}' is empty. Give a file with a header and at least one record.")
    if fmt in ("csv", "tsv"):
        return _read_csv(text, "," if fmt == "csv" else "\t", name, fmt.upper())
    if fmt == "jsonl":
        return _read_jsonl(text, name)
    return _read_json(text, name)


def _format(path: Path, format: str | None) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if format is not None:
        fmt = format.lower().removesuffix(".gz").lstrip(".")
        if fmt not in FORMATS:
            raise ConfigError(f"Unknown format {format!r}. Allowed: {', '.join(FORMATS)}.")
        return fmt, gz or format.lower().endswith(".gz")
    core = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gz else "")
    if core not in _SUFFIXES:
        raise InputError(
            f"Cannot tell the format of '{path}' from its suffix. Formats: {', '.join(FORMATS)} "
            f"(optionally .gz). Use format=."
        )
    return _SUFFIXES[core], gz


def _decode(data: bytes, encoding: str | None, name: str) -> str:
    enc = encoding or "utf-8-sig"
    if encoding and encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    try:
        return data.decode(enc)
    except LookupError:
        raise ConfigError(f"Unknown encoding {encoding!r}. Use a Python codec name such as utf-8, cp1252 or cp932.") from None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        what = "UTF-8" if encoding is None else encoding
        where = f"first bad byte 0x{data[e.start]:02x} on line {line}"
        if encoding is None and data[:2] not in (b"\xff\xfe", b"\xfe\xff") and _mostly_utf8(data):
            hint = ("the rest of the file is valid UTF-8, so it is a UTF-8 file with damaged bytes: fix or "
                    f"remove the bad byte(s) on line {line} (no other encoding reads this file correctly).")
        else:
            guess = _guess_encoding(data)
            hint = f"it looks like {guess}. Pass encoding='{guess}'." if guess else "pass its encoding with encoding=."
        raise InputError(f"File '{name}' is not valid {what} ({where}); {hint}") from None


def _mostly_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 apart from a few bad bytes (valid multi-byte characters outnumber them)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - bad > 4 * bad


_KANA = re.compile(r"[\u3041-\u30ff]")
_HALF_KANA = re.compile(r"[\uff61-\uff9f]")


def _plausible(text: str, japanese: bool) -> bool:
    """Whether a decoded text reads like text: no mojibake, no control characters, kana for Japanese."""
    if re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]", text) or looks_like_mojibake(text):
        return False
    if japanese:  # UTF-8 read as Shift_JIS comes out as half-width katakana and rare kanji
        return bool(_KANA.search(text)) and len(_HALF_KANA.findall(text)) <= len(_KANA.findall(text))
    return True



def _guess_encoding(data: bytes) -> str | None:
    """An encoding under which ``data`` decodes to plausible text: UTF-16 by BOM, Japanese, then Western."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    for enc in ("cp932", "shift_jis", "euc_jp", "cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausible(text, japanese=enc not in ("cp1252", "latin-1")):
            return enc
    return None


def _check_header(header: list[str], name: str) -> None:
    dupes = sorted(c for c, n in Counter(header).items() if n > 1)
    if dupes:
        raise InputError(f"{name} has duplicate column names: {', '.join(dupes)}. Rename them so each is unique.")


def _csv_records(reader: Any, name: str, kind: str) -> tuple[list[str], Iterator[tuple]]:
    """The stripped header, and an iterator over the records after it.

    Each record is ``(start line, fields, None)``, or ``(start line, None,
    bad entry)`` for a line with the wrong number of fields; blank lines are
    skipped. A quoting error becomes an InputError naming its line.
    """

    def quoting_error(line: int, e: csv.Error) -> InputError:
        return InputError(
            f"Malformed {kind} in '{name}' at line {line}: {e}. Check the quoting of that line "
            f"(a field with a quote, delimiter or newline must be quoted, quotes doubled)."
        )

    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as e:
        raise quoting_error(1, e) from None

    def records() -> Iterator[tuple]:
        width, prev = len(header), reader.line_num
        try:
            for fields in reader:
                start, prev = prev + 1, reader.line_num
                if not fields:  # blank line
                    continue
                if len(fields) == width:
                    yield start, fields, None
                else:
                    raw = dict(zip(header, fields[:width] + [""] * (width - len(fields))))
                    yield start, None, (start, f"malformed {kind} line: {len(fields)} fields, header has {width}", raw)
        except csv.Error as e:
            raise quoting_error(prev + 1, e) from None

    return header, records()


def _csv_batches(header: list[str], records: Iterator[tuple], name: str,
                 chunk_size: int | None = None) -> Iterator[_Raw]:
    """Group :func:`_csv_records` into raw batches of ``chunk_size`` rows
    (``None``: one batch of everything, possibly empty)."""
    rows: list[list[str]] = []
    starts: list[int] = []
    bad: list = []

    def batch() -> _Raw:
        frame = (pd.DataFrame(rows, columns=header, dtype=object) if rows
                 else pd.DataFrame(columns=header, dtype=object))
        return _Raw(frame, np.asarray(starts, dtype=np.int64), "line", name, bad)

    for start, fields, problem in records:
        if problem is None:
            rows.append(fields)
            starts.append(start)
        else:
            bad.append(problem)
        if chunk_size and len(rows) == chunk_size:
            yield batch()
            rows, starts, bad = [], [], []
    if rows or bad or chunk_size is None:
        yield batch()


def _read_csv(text: str, delimiter: str, name: str, kind: str) -> _Raw:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, records = _csv_records(reader, name, kind)
    (raw,) = _csv_batches(header, records, name)
    _check_header(header, f"File '{name}'")
    if raw.frame.empty and not raw.bad:
        raise InputError(f"File '{name}' has a header but no records. Add at least one record below the header.")
    return raw


def _read_jsonl(text: str, name: str) -> _Raw:
    numbered = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
    records: list = []
    try:  # fast path: one C-level parse of the whole file
        records = json.loads("[" + ",".join(line for _, line in numbered) + "]")
        ok = len(records) == len(numbered) and all(isinstance(r, dict) for r in records)
    except (json.JSONDecodeError, RecursionError):
        ok = False
    starts, bad = [i for i, _ in numbered], []
    if not ok:  # slow path only to locate the malformed lines
        records, starts = [], []
        for i, line in numbered:
            try:
                rec = json.loads(line)
                err = None if isinstance(rec, dict) else f"not a JSON object ({type(rec).__name__})"
            except json.JSONDecodeError as e:
                err = f"invalid JSON ({e.msg} at column {e.colno})"
            except RecursionError:
                err = "invalid JSON (arrays or objects nested too deeply)"
            if err is None:
                records.append(rec)
                starts.append(i)
            else:
                bad.append((i, f"malformed JSONL line: {err}", {"raw": line}))
    if _SURROGATE_ESCAPE.search(text):
        records = _no_surrogates(records)
    return _frame_from_records(records, starts, "line", name, bad)


def _read_json(text: str, name: str) -> _Raw:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"File '{name}' is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}). "
            f"Fix it, or use format='jsonl' for one JSON object per line."
        ) from None
    except RecursionError:
        raise InputError(
            f"File '{name}' nests JSON arrays or objects too deeply to read. Give one flat object "
            f"per record."
        ) from None
    if not isinstance(data, list):
        raise InputError(
            f"File '{name}' must hold a JSON array of objects, found a {type(data).__name__}. "
            f"Use format='jsonl' for one object per line."
        )
    records, starts, bad = [], [], []
    for i, rec in enumerate(data, 1):
        if isinstance(rec, dict):
            records.append(rec)
            starts.append(i)
        else:
            bad.append((i, f"malformed JSON record: not an object ({type(rec).__name__})", {"raw": json.dumps(rec)}))
    if _SURROGATE_ESCAPE.search(text):
        records = _no_surrogates(records)
    return _frame_from_records(records, starts, "record", name, bad)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(value: Any) -> Any:
    """Replace lone UTF-16 surrogates (JSON escapes such as ``"\\ud800"``) by U+FFFD.

    Python's JSON parser keeps them, but they cannot be encoded as UTF-8, so
    pandas, Parquet and every output file would fail on them.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    return value


def _frame_from_records(records: list, starts: list, unit: str, name: str, bad: list) -> _Raw:
    if not records and not bad:
        raise InputError(f"File '{name}' has no records. Give at least one record.")
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c) for c in frame.columns]
    return _Raw(frame, np.asarray(starts, dtype=np.int64), unit, name, bad)


def _read_parquet(data: bytes, name: str) -> _Raw:
    try:
        import pyarrow.parquet as pq

        header = pq.read_schema(io.BytesIO(data)).names
    except Exception:  # corrupt: reported below with pandas' message
        header = []
    _check_header([str(h) for h in header], f"File '{name}'")
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise InputError(f"File '{name}' is not a readable Parquet file ({type(e).__name__}: {e}).") from None
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise InputError(f"File '{name}' has no records. Give at least one record.")
    return _Raw(frame, np.arange(1, len(frame) + 1), "record", name)


class _NotStreamable(Exception):
    """A file-level problem met while streaming; :func:`load_feedback` reports it."""


def _iter_raw(source: Any, format: str | None, encoding: str | None, chunk_size: int) -> Iterator[_Raw]:
    """Raw chunks: CSV/TSV and plain Parquet incrementally, anything else read whole then sliced."""
    if not isinstance(source, pd.DataFrame):
        path = Path(source)
        fmt, gz = _format(path, format)
        if not path.is_file() or path.stat().st_size == 0:
            raise _NotStreamable
        with open(path, "rb") as f:
            gz = gz or f.read(2) == b"\x1f\x8b"
        if fmt in ("csv", "tsv"):
            yield from _csv_chunks(path, gz, encoding, fmt, chunk_size)
            return
        if fmt == "parquet" and not gz:
            yield from _parquet_chunks(path, chunk_size)
            return
    raw = _read(source, format=format, encoding=encoding)
    if raw.frame.empty:
        raise _NotStreamable
    for start in range(0, len(raw.frame), chunk_size):
        stop = start + chunk_size
        after = raw.lines[start - 1] if start else -1          # malformed records between chunks
        until = raw.lines[stop - 1] if stop < len(raw.frame) else np.inf  # go with the next chunk
        bad = [b for b in raw.bad if after < b[0] <= until]
        yield _Raw(raw.frame.iloc[start:stop].reset_index(drop=True), raw.lines[start:stop],
                   raw.unit, raw.name, bad)


def _csv_chunks(path: Path, gz: bool, encoding: str | None, fmt: str, chunk_size: int) -> Iterator[_Raw]:
    """:func:`_read_csv` over a stream, ``chunk_size`` records at a time (same line numbers)."""
    enc = encoding or "utf-8-sig"
    if encoding and encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    kind, name = fmt.upper(), str(path)
    try:
        codecs.lookup(enc)
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fb:
            reader = csv.reader(io.TextIOWrapper(fb, encoding=enc, newline=""),
                                delimiter="," if fmt == "csv" else "\t", strict=True)
            header, records = _csv_records(reader, name, kind)
            if len(set(header)) != len(header):
                raise _NotStreamable
            yield from _csv_batches(header, records, name, chunk_size)
    except (LookupError, UnicodeDecodeError, csv.Error, InputError, StopIteration, OSError, EOFError):
        raise _NotStreamable from None  # load_feedback gives the whole-file message


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[_Raw]:
    """Parquet record batches as raw chunks (1-based record numbers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        batches = pf.iter_batches(batch_size=chunk_size)
        done = 0
        for batch in batches:
            frame = pa.Table.from_batches([batch]).to_pandas().reset_index(drop=True)
            frame.columns = [str(c) for c in frame.columns]
            yield _Raw(frame, np.arange(done + 1, done + len(frame) + 1), "record", str(path))
            done += len(frame)
    except (OSError, pa.ArrowException):
        raise _NotStreamable from None


# --------------------------------------------------------------------------- mapping

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f"
_GENERIC_TAIL = {"name", "names", "label", "labels", "value", "values"}
"""Trailing tokens that do not change what a header is about ("Department Name")."""

GUESS_HEADS: dict[str, tuple[str, ...]] = {
    C.TEXT: ("text", "comment", "comments", "review", "reviews", "body", "verbatim", "verbatims",
             "feedback", "message", "content", "remark", "remarks", "answer", "response",
             "description", "opinion"),
    C.DATE: ("date", "timestamp", "datetime"),
    C.TOUCHPOINT: ("touchpoint", "stage", "step", "journey"),
    C.CHANNEL: ("channel", "source", "medium", "platform"),
}
"""Compound headers: a header whose last token (after a trailing name/label/value)
is one of these is guessed for the column ("ReviewText", "Customer Comments",
"review_date", "Traffic Source")."""

GUESS_KEYWORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    C.NPS: (("nps", "ltr"), ("score", "rating", "ratings", "rate", "points", "level")),
    C.CES: (("ces", "effort"), ("score", "rating", "ratings", "rate", "points", "level")),
    C.CSAT: (("csat", "satisfaction"), ("score", "rating", "ratings", "rate", "points", "level")),
}
"""Survey compounds: (keywords, score words). A header is guessed when its last
token is a keyword, or it holds a keyword and ends in a score word ("NPSRating",
"Overall Satisfaction", "effort_rating")."""

ID_OWNERS = ("review", "ticket", "response", "record", "feedback", "comment", "survey", "case",
             "submission", "message", "interaction", "conversation", "answer", "回答", "レビュー",
             "投稿", "問い合わせ", "お問い合わせ", "チケット", "受付", "口コミ")
"""``<owner> id`` headers guessed as the record id ("SurveyID", "Case Id", "回答ID").
A bare product or customer id ("Clothing ID") is not: it repeats across records."""

JA_NAMES: dict[str, tuple[str, ...]] = {
    C.TEXT: ("本文", "コメント", "内容", "自由回答", "自由記述", "ご意見", "意見", "感想", "レビュー",
             "口コミ", "クチコミ", "お客様の声", "フィードバック", "テキスト", "回答"),
    C.VOC_ID: (),
    C.DATE: ("日付", "日時", "年月日", "タイムスタンプ", "投稿日", "回答日", "作成日", "受付日", "登録日",
             "送信日", "記入日", "レビュー日"),
    C.TOUCHPOINT: ("接点", "顧客接点", "タッチポイント", "ジャーニー", "ステージ", "段階"),
    C.CHANNEL: ("チャネル", "チャンネル", "経路", "流入元", "媒体", "情報源"),
    C.NPS: ("推奨度", "おすすめ度", "お勧め度", "オススメ度", "推奨意向"),
    C.CES: ("努力", "努力度", "手間", "容易さ", "簡単さ", "負担度"),
    C.CSAT: ("満足度", "満足"),
}
"""Japanese headers: a header equal to one of these, or ending in one
("レビュー本文", "問い合わせ内容", "投稿日時" is not: 日時 alone is), maps to the
column. Ids are guessed only as ``<owner>ID`` / ``<owner>番号`` with an owner of
:data:`ID_OWNERS` ("回答番号", "レビューID"); a bare ``ID`` is a known name."""

CANDIDATES: dict[str, tuple[str, ...]] = {
    C.TOUCHPOINT: ("department", "departments", "category", "categories", "product_category",
                   "部門", "部署", "カテゴリ", "カテゴリー", "分類"),
    C.CSAT: ("rating", "ratings", "stars", "star", "star_rating", "score", "review_rating",
             "overall_rating", "評価", "点数", "評点", "星", "スコア", "レーティング"),
}
"""Last-resort guesses, checked against the values: a touchpoint candidate
("Department Name", "Product Category", "カテゴリ") needs at most
:data:`MAX_TOUCHPOINTS` distinct values; a CSAT candidate ("Rating", "Stars",
"評価", "点数") needs every answer to be a number on the CSAT scale (1..5 by
default)."""

MAX_TOUCHPOINTS = 50


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _tokens(name: str) -> list[str]:
    """Lower-case words of a header: split on separators, case changes and
    script changes ("ReviewText" -> review, text; "レビューID" -> レビュー, id)."""
    s = unicodedata.normalize("NFKC", str(name))
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", s)
    s = re.sub(rf"(?<=[{_CJK}])(?=[0-9A-Za-z])|(?<=[0-9A-Za-z])(?=[{_CJK}])", " ", s)
    return [t for t in re.split(rf"[^0-9a-z{_CJK}]+", s.lower()) if t]


def _head(tokens: list[str]) -> list[str]:
    """Tokens without trailing generic words and numbers ("NPS (0-10)", "Class Name")."""
    out = list(tokens)
    while len(out) > 1 and (out[-1] in _GENERIC_TAIL or out[-1].isdigit()):
        out.pop()
    return out


def _ja_match(token: str, names: tuple[str, ...]) -> bool:
    return any(token == n or token.endswith(n) for n in names)


def _guess(vocab: str, tokens: list[str]) -> bool:
    """Whether a header (its :func:`_head` tokens) is a compound or Japanese name
    of ``vocab`` (no values needed)."""
    if not tokens:
        return False
    last = tokens[-1]
    if vocab == C.VOC_ID:
        if last in ("id", "uuid", "番号") or last.endswith("番号"):
            owner = tokens[-2] if len(tokens) > 1 else last.removesuffix("番号")
            return owner in ID_OWNERS
        return False
    if re.search(f"[{_CJK}]", last) and _ja_match(last, JA_NAMES[vocab]):
        return True
    if vocab in GUESS_HEADS:
        if vocab == C.DATE and (tokens[0] in GUESS_HEADS[C.DATE] or (last == "at" and len(tokens) > 1)):
            return True
        return last in GUESS_HEADS[vocab]
    keywords, score_words = GUESS_KEYWORDS[vocab]
    return last in keywords or (last in score_words and any(t in keywords for t in tokens))


def _is_candidate(vocab: str, tokens: list[str]) -> bool:
    """Whether a header (its :func:`_head` tokens) names a candidate of ``vocab``."""
    if not tokens:
        return False
    names, last = CANDIDATES[vocab], tokens[-1]
    return ("_".join(tokens) in names or last in names
            or bool(re.search(f"[{_CJK}]", last) and _ja_match(last, names)))


def _candidate(vocab: str, values: pd.Series, csat_scale: tuple[int, int]) -> str | None:
    """Why a candidate column fits ``vocab`` by its values, or None."""
    s = _as_str(values).dropna()
    if s.empty:
        return None
    if vocab == C.TOUCHPOINT:
        n = s.nunique()
        return f"{n} distinct values" if n <= MAX_TOUCHPOINTS else None
    num = pd.to_numeric(s, errors="coerce")
    lo, hi = csat_scale
    if num.notna().all() and num.between(lo, hi).all():
        return f"values {num.min():g}..{num.max():g} fit the CSAT scale {lo}..{hi}"
    return None


def _resolve_mapping(available: list[str], explicit: dict[str, str | None],
                     frame: pd.DataFrame | None = None,
                     csat_scale: tuple[int, int] = (1, 5)) -> tuple[dict[str, str], dict[str, str]]:
    """The mapping {vocab: input column} and, for guessed columns, how they were guessed.

    Explicit columns first, then in three passes over every vocabulary column
    (so a guess never takes a column that another one names exactly): known
    names (:data:`AUTO_NAMES`, also after splitting CamelCase), compound and
    Japanese names (:data:`GUESS_HEADS`, :data:`GUESS_KEYWORDS`,
    :data:`ID_OWNERS`, :data:`JA_NAMES`), then candidates checked against
    their values (:data:`CANDIDATES`).
    """
    mapping: dict[str, str] = {}
    notes: dict[str, str] = {}
    for vocab, col in explicit.items():
        if col is None:
            continue
        if col not in available:
            folded = [a for a in available if a.lower() == str(col).lower()]
            if len(folded) != 1:
                raise InputError(
                    f"Column '{col}' not found. Available: {', '.join(available)}. Use {_OPTION[vocab]}."
                )
            col = folded[0]
        mapping[vocab] = col
    used = set(mapping.values())
    by_norm: dict[str, str] = {}
    by_words: dict[str, str] = {}  # CamelCase split: "ReviewText" -> review_text
    heads: dict[str, list[str]] = {}
    for a in available:
        words = _tokens(a)
        by_norm.setdefault(_norm(a), a)
        by_words.setdefault("_".join(words), a)
        heads[a] = _head(words)

    def known(vocab: str) -> tuple[str, str] | None:
        for candidate in AUTO_NAMES[vocab] + JA_NAMES[vocab]:
            col = by_norm.get(candidate)
            if col is not None and col not in used:
                return col, ""
            col = by_words.get(candidate)
            if col is not None and col not in used:
                return col, f"guessed from header '{col}'"
        return None

    def compound(vocab: str) -> tuple[str, str] | None:
        for col in available:
            if col not in used and _guess(vocab, heads[col]):
                return col, f"guessed from header '{col}'"
        return None

    def by_values(vocab: str) -> tuple[str, str] | None:
        if vocab not in CANDIDATES or frame is None:
            return None
        for col in available:
            if col in used or not _is_candidate(vocab, heads[col]):
                continue
            why = _candidate(vocab, frame[col], csat_scale)
            if why:
                return col, f"guessed from header '{col}': {why}"
        return None

    for find in (known, compound, by_values):
        for vocab in C.MAPPABLE:
            if vocab in mapping:
                continue
            found = find(vocab)
            if found is not None:
                mapping[vocab], note = found
                used.add(found[0])
                if note:
                    notes[vocab] = note
    if C.TEXT not in mapping:
        raise InputError(
            f"No text column found. Available: {', '.join(available) or 'none'}. "
            f"Use {_OPTION[C.TEXT]} to name it."
        )
    order = [v for v in C.MAPPABLE if v in mapping]
    return {v: mapping[v] for v in order}, {v: notes[v] for v in order if v in notes}


# --------------------------------------------------------------------------- converting

def _as_str(s: pd.Series) -> pd.Series:
    """Values as stripped strings; missing or blank -> <NA>."""
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _scores(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Score cells as stripped text (missing markers -> <NA>) and as float numbers (NaN).

    Full-width digits and signs are NFKC-folded to ASCII (``４`` is 4); cells
    in :data:`MISSING_MARKERS` are missing. A value that is present but not
    a number comes out as text with a NaN number: a row problem. Works on
    the distinct values (a score column has few).
    """
    text = _as_str(s)
    codes, uniq = pd.factorize(text)
    folded = pd.Series(uniq, dtype="string").str.normalize("NFKC").str.strip()
    missing = (folded.str.lower().isin(MISSING_MARKERS) | (folded == "")).to_numpy(dtype=bool)
    numbers = _numbers(folded.mask(missing))
    known = codes >= 0
    num = np.full(len(text), np.nan)
    num[known] = numbers[codes[known]]
    absent = ~known
    absent[known] = missing[codes[known]]
    return text.mask(absent), pd.Series(num, index=text.index)


def _where(lines: list[int], unit: str = "line") -> str:
    n = len(lines)
    shown = ", ".join(str(x) for x in lines[:_SHOW]) + (", ..." if n > _SHOW else "")
    return f"{n} row{'s' if n != 1 else ''} ({unit}{'s' if n != 1 else ''} {shown})"


def _convert(raw: _Raw, mapping: dict[str, str], *, id_given: bool,
             ces_scale: tuple[int, int], csat_scale: tuple[int, int], date_format: str | None = None,
             state: dict | None = None):
    # ``state`` carries ids, content keys and the date order across the chunks of iter_feedback
    frame, lines = raw.frame, raw.lines
    out: dict[str, Any] = {}
    warnings: list[str] = []
    problems: list[tuple[str, np.ndarray, str]] = []  # (message, mask, reason)

    def problem(mask: pd.Series, reason: str, message, values: pd.Series) -> None:
        """Record a per-row problem; ``message(where, example)`` builds its text."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            example = values[mask].iloc[0]
            where = _where(lines[mask].tolist(), raw.unit)
            problems.append((message(where, example), mask, reason))

    text = frame[mapping[C.TEXT]]
    text = text.astype("string").fillna("").astype(str)
    out[C.TEXT] = text
    out[C.HAS_TEXT] = text.str.strip() != ""
    suspect = text[text.str.contains("[\u0080-\u00ff]", regex=True)]  # every mojibake sign has one
    n_mojibake = int(suspect.map(looks_like_mojibake).sum()) if len(suspect) else 0
    if n_mojibake:
        warnings.append(mojibake_warning(n_mojibake, int(out[C.HAS_TEXT].sum())))
    out[C.SOURCE_LINE] = pd.Series(lines, dtype="int64")

    if C.DATE in mapping:
        col = mapping[C.DATE]
        src = frame[col]
        if pd.api.types.is_datetime64_any_dtype(src):
            dates = src.dt.tz_convert("UTC").dt.tz_localize(None) if src.dt.tz is not None else src
        else:
            s = _as_str(src)
            order = (state or {}).get("date_order") or _date_order(_date_evidence(s), date_format)
            dates, contradicts = _parse_dates(s, order, date_format)
            if order.get("warning"):
                warnings.append(order["warning"].format(col=col))
            if date_format and "%" in date_format:
                problem(s.notna() & dates.isna(), f"date not in date_format in '{col}'",
                        lambda where, example: f"Dates in column '{col}' do not match date_format="
                        f"{date_format!r}: {where}, e.g. '{example}'. Fix the values or the format, or pass "
                        f"on_error='skip'.", s)
            else:
                problem(contradicts, f"date contradicts the column's {order['name']} format in '{col}'",
                        lambda where, example: f"Dates in column '{col}' contradict the column's format "
                        f"{order['name']} ({order['why']}): {where}, e.g. '{example}'. Fix those values, set "
                        f"date_format='dmy', date_format='mdy' or a format such as date_format='%d/%m/%Y', or pass "
                        f"on_error='skip'.", s)
                problem(s.notna() & dates.isna() & ~contradicts, f"unparseable date in '{col}'",
                        lambda where, example: f"Unparseable dates in column '{col}': {where}, e.g. '{example}'. Use ISO "
                        f"dates like 2026-09-07, map another column with date_col=, or pass on_error='skip'.", s)

        out[C.DATE] = dates

    for vocab in (C.TOUCHPOINT, C.CHANNEL):
        if vocab in mapping:
            out[vocab] = _as_str(frame[mapping[vocab]]).astype("str")

    if C.NPS in mapping:
        col = mapping[C.NPS]
        s, num = _scores(frame[col])
        ok = (num.notna() & (num % 1 == 0) & num.between(0, 10)).fillna(False)
        problem(s.notna() & ~ok, f"NPS not an integer 0..10 in '{col}'",
                lambda where, example: f"NPS must be an integer 0..10 in column '{col}': {where}, e.g. '{example}'. Fix the "
                f"values, map another column with nps_col=, or pass on_error='skip'.", s)
        out[C.NPS] = num.where(ok).astype("Int64")

    for vocab, scale, name in ((C.CES, ces_scale, "CES"), (C.CSAT, csat_scale, "CSAT")):
        if vocab in mapping:
            col = mapping[vocab]
            s, num = _scores(frame[col])
            ok = (num.notna() & num.between(*scale)).fillna(False)
            lo, hi = scale
            problem(s.notna() & ~ok, f"{name} outside {lo}..{hi} in '{col}'",
                    lambda where, example: f"{name} must be a number on the scale {lo}..{hi} in column '{col}': {where}, "
                    f"e.g. '{example}'. Set the scale with {vocab}_scale=(LOW, HIGH), map "
                    f"another column with {vocab}_col=, or pass on_error='skip'.", s)
            out[vocab] = num.where(ok).astype("Float64")

    result = pd.DataFrame(out)
    if C.VOC_ID in mapping:
        col = mapping[C.VOC_ID]
        s = _as_str(frame[col])
        flag = "id_col=" if id_given else "id_col= to map another column"
        problem(s.isna(), f"empty id in '{col}'",
                lambda where, example: f"Empty ids in column '{col}': {where}. Give every record an id, use {flag}, "
                f"or pass on_error='skip'.", s.fillna(""))
        dup = s.notna() & s.duplicated(keep="first")
        if state is not None:  # ids seen in earlier chunks
            dup = dup | s.isin(state["ids"])
            state["ids"].update(s.dropna().tolist())
        problem(dup, f"duplicate id in '{col}'",
                lambda where, example: f"Duplicate ids in column '{col}': {where}, e.g. '{example}'. Make the ids unique, use "
                f"{flag}, or pass on_error='skip' (keeps the first).", s)
        result.insert(0, C.VOC_ID, s.astype(str))
    else:
        result.insert(0, C.VOC_ID, _content_ids(result, None if state is None else state["keys"]))

    used, taken = set(mapping.values()), set(result.columns)
    extra = {}  # added in one concat: column by column is quadratic (20,000 columns took minutes)
    for col in frame.columns:
        if col not in used:
            name = col if col not in _VOCAB and col not in taken else f"{col}_input"
            extra[name] = frame[col].to_numpy()
    if extra:
        result = pd.concat([result, pd.DataFrame(extra, index=result.index)], axis=1)
    return result, problems, warnings


# --------------------------------------------------------------------------- dates

DATE_ORDERS = ("dmy", "mdy")
"""Orders of numeric day/month dates (``03/04/2026``) that ``date_format`` can fix."""
_ORDER_NAMES = {"dmy": "day first (DD/MM/YYYY)", "mdy": "month first (MM/DD/YYYY)"}
_JA_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*[(（][月火水木金土日]\s*[)）])?")
_JA_TIME = re.compile(r"(\d{1,2})\s*時(?:\s*(\d{1,2})\s*分)?(?:\s*(\d{1,2})\s*秒)?")
_YEAR_FIRST = r"^(\d{4})([./-])(\d{1,2})\2(\d{1,2})(?=$|[ T,])(.*)$"
_DAY_MONTH = r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[ T,])(.*)$"


def _check_date_format(date_format: Any) -> str | None:
    """``None`` for automatic detection, else the order or strptime format."""
    if date_format is None or date_format == "auto":
        return None
    if not isinstance(date_format, str) or (date_format not in DATE_ORDERS and "%" not in date_format):
        raise ConfigError(f"date_format must be auto, dmy, mdy or a strptime format such as '%d.%m.%Y'. "
                          f"Got {date_format!r}. Use date_format='dmy', date_format='mdy' or date_format='auto'.")
    return date_format


def _date_text(s: pd.Series) -> pd.Series:
    """Dates as ASCII text: NFKC-folded, Japanese 年月日 / 時分秒 written as 2026-9-7 10:30:00."""
    t = s.str.normalize("NFKC").str.strip()
    ja = t.str.contains("年|時", regex=True, na=False)
    if ja.any():
        t = t.where(~ja, t[ja].str.replace(_JA_DATE, r"\1-\2-\3", regex=True).str.replace(
            _JA_TIME, lambda m: f" {int(m[1]):02d}:{int(m[2] or 0):02d}:{int(m[3] or 0):02d}", regex=True))
    return t.str.replace(r"\s+", " ", regex=True).str.strip()


def _numbers(s: pd.Series) -> np.ndarray:
    """Digit strings as floats (missing -> NaN)."""
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _date_evidence(s: pd.Series) -> Counter:
    """What the distinct numeric day/month values of a date column prove about their order."""
    u = pd.Series(s.dropna().unique(), dtype=object)
    u = u[pd.to_datetime(u, format="ISO8601", errors="coerce", utc=True).isna().to_numpy()]  # ISO: year first
    parts = _date_text(u.astype("string")).str.extract(_DAY_MONTH)
    first, second = _numbers(parts[0]), _numbers(parts[2])
    ev: Counter = Counter()
    ev["dmy"] = int(((first > 12) & (second <= 12)).sum())
    ev["mdy"] = int(((second > 12) & (first <= 12)).sum())
    ev["ambiguous"] = int(((first <= 12) & (second <= 12)).sum())
    ev["dots"] = int((parts[1] == ".").sum())
    ev["numeric"] = int(parts[0].notna().sum())
    return ev


def _date_order(ev: Counter, date_format: str | None) -> dict:
    """The order of a column's numeric day/month dates: given, proven by its values, or the default.

    A value whose first number is over 12 proves day first, one whose second
    number is over 12 month first; the order with more proof wins (values of
    the other order are then row problems). Without proof the default is day
    first when every such value uses dots (``07.09.2026``), else month first,
    with a warning.
    """
    if date_format in DATE_ORDERS:
        return {"order": date_format, "name": _ORDER_NAMES[date_format], "why": "set by date_format="}
    if ev["dmy"] or ev["mdy"]:
        order = "dmy" if ev["dmy"] >= ev["mdy"] else "mdy"
        first = "first" if order == "dmy" else "second"
        why = f"{ev[order]} value(s) have a {first} number over 12"
        return {"order": order, "name": _ORDER_NAMES[order], "why": why}
    order = "dmy" if ev["numeric"] and ev["dots"] == ev["numeric"] else "mdy"
    why = "the default for " + ("dotted dates" if order == "dmy" else "dates with / or -")
    out = {"order": order, "name": _ORDER_NAMES[order], "why": why}
    if ev["ambiguous"]:
        out["warning"] = (f"Dates in column '{{col}}' are ambiguous: {ev['ambiguous']} value(s) such as 03/04/2026 "
                          f"could be day or month first; read as {out['name']}, {why}. Set "
                          f"date_format='dmy' or date_format='mdy' to decide.")
    return out


def _parse_dates(s: pd.Series, order: dict, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column with one format; also the values that contradict ``order``.

    Returns naive UTC timestamps (time-zone-aware values are converted to
    UTC; naive values are kept as written) and a mask of the numeric
    day/month values impossible in ``order`` (e.g. ``04/13/2026`` day first).
    Parses each distinct value once.
    """
    codes, uniq = pd.factorize(s)
    dates_u, contra_u = _parse_distinct_dates(pd.Series(uniq, dtype=object), order, date_format)
    known = codes >= 0
    dates = pd.Series(pd.NaT, index=s.index, dtype=dates_u.dtype)
    dates[known] = dates_u.to_numpy()[codes[known]]
    contradicts = np.zeros(len(s), dtype=bool)
    contradicts[known] = contra_u[codes[known]]
    return dates, contradicts


def _parse_distinct_dates(u: pd.Series, order: dict, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
    contradicts = np.zeros(len(u), dtype=bool)
    if date_format and "%" in date_format:
        dates = pd.to_datetime(_date_text(u.astype("string")), format=date_format, errors="coerce", utc=True)
        return dates.dt.tz_localize(None), contradicts
    dates = pd.to_datetime(u, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)  # common, fast
    other = dates.isna().to_numpy()
    if other.any():
        parsed, contradicts[other] = _parse_other_dates(u[other], order)
        dates[other] = parsed.dt.tz_localize(None).to_numpy()
    return dates, contradicts


def _parse_other_dates(u: pd.Series, order: dict) -> tuple[pd.Series, np.ndarray]:
    """Dates that are not ISO 8601 as written: full-width, Japanese, year-first, numeric day/month, textual."""
    t = _date_text(u.astype("string"))
    iso = t.astype(object)
    ymd, dm = t.str.extract(_YEAR_FIRST), t.str.extract(_DAY_MONTH)
    a, b, year = _numbers(dm[0]), _numbers(dm[2]), _numbers(dm[3])
    day, month = (a, b) if order["order"] == "dmy" else (b, a)
    year = np.where(year >= 100, year, year + np.where(year < 69, 2000, 1900))
    contradicts = (month > 12) & (day <= 12)
    for parts, (y, m, d) in ((ymd, (_numbers(ymd[0]), _numbers(ymd[2]), _numbers(ymd[3]))),
                             (dm, (year, month, day))):
        hit = parts[0].notna().to_numpy() & (m <= 12)
        if hit.any():
            rest = parts.loc[hit, 4].str.lstrip(",").str.rstrip().astype(object).to_numpy()
            iso[hit] = [f"{yy:04.0f}-{mm:02.0f}-{dd:02.0f}{r}" for yy, mm, dd, r in zip(y[hit], m[hit], d[hit], rest)]
    dates = pd.to_datetime(iso, errors="coerce", utc=True, format="ISO8601")
    retry = (iso.notna() & dates.isna() & ymd[0].isna() & dm[0].isna()).to_numpy()
    if retry.any():  # other common forms ("Sep 7, 2026", "7 September 2026"): never numeric day/month
        dates[retry] = pd.to_datetime(iso[retry], errors="coerce", utc=True, format="mixed")
    dates[contradicts] = pd.NaT
    return dates, contradicts


# --------------------------------------------------------------------------- mojibake

_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|[\u0080-\u009f]"
)


def looks_like_mojibake(text: str) -> bool:
    """Whether ``text`` looks like UTF-8 decoded as latin-1 or cp1252.

    Such text shows a lead byte read as ``Â``..``ô`` followed by a
    continuation byte read as ``\x80``..``¿`` or a cp1252 sign (``ã\x82«``,
    ``ã‚«``, ``Ã©``), or C1 control characters. Two such signs (or one C1
    control) mark a text: one accented letter before a dash is not enough.
    """
    if text.isascii():
        return False
    signs = _MOJIBAKE.findall(text)
    return len(signs) >= 2 or any("\u0080" <= c <= "\u009f" for c in signs)


def mojibake_warning(n: int, n_texts: int) -> str:
    """The run warning for ``n`` texts that look like mojibake."""
    return (f"Texts look like mojibake: {n} of {n_texts} texts look like UTF-8 read as latin-1/cp1252 "
            f"(such as 'ã\\x82«' or 'Ã©'). If the file is UTF-8, read it without encoding=.")


def _content_ids(df: pd.DataFrame, seen: dict | None = None) -> pd.Series:
    cols = [c for c in (C.TEXT, C.DATE, C.TOUCHPOINT, C.CHANNEL, C.NPS, C.CES, C.CSAT) if c in df]
    key = df[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "\x1f" + df[c].astype("string").fillna("").astype(str)
    occurrence = key.groupby(key, sort=False).cumcount()
    if seen is not None:  # occurrences in earlier chunks, by a 16-byte digest of the key
        digests = [hashlib.blake2b(k.encode("utf-8"), digest_size=16).digest() for k in key.tolist()]
        occurrence = occurrence + np.array([seen.get(d, 0) for d in digests], dtype=np.int64)
        for d in digests:
            seen[d] = seen.get(d, 0) + 1
    occurrence = occurrence.astype(str)
    full = (key + "\x1e" + occurrence).tolist()
    return pd.Series([hashlib.sha1(k.encode("utf-8")).hexdigest()[:16] for k in full], index=df.index, dtype=str)


def _malformed_message(raw: _Raw) -> str:
    lines = [line for line, _, _ in raw.bad]
    reason = raw.bad[0][1]
    kind = reason.split(" line")[0].split(" record")[0].removeprefix("malformed ")
    return (f"Malformed {kind} {raw.unit}s in '{raw.name}': {_where(lines, raw.unit)}, e.g. "
            f"{raw.unit} {lines[0]}: {reason.split(': ', 1)[1]}. Fix the quoting/format of those "
            f"{raw.unit}s or pass on_error='skip'.")


def _row_problems(out: pd.DataFrame, problems: list) -> tuple[np.ndarray, pd.Series]:
    """Which rows have a problem, and their reasons joined by "; "."""
    bad = np.zeros(len(out), dtype=bool)
    reasons = pd.Series("", index=out.index, dtype=object)
    for _, mask, reason in problems:
        bad |= mask
        reasons[mask] = np.where(reasons[mask] == "", reason, reasons[mask] + "; " + reason)
    return bad, reasons


def _rejects_frame(raw: _Raw, bad: np.ndarray, reasons: pd.Series) -> pd.DataFrame:
    parts = []
    if raw.bad:
        parts.append(pd.DataFrame([{C.SOURCE_LINE: line, "reason": reason, **fields}
                                   for line, reason, fields in raw.bad]))
    if bad.any():
        rows = raw.frame[bad].astype("string").fillna("").astype(object)
        rows.insert(0, "reason", reasons[bad].to_numpy())
        rows.insert(0, C.SOURCE_LINE, raw.lines[bad])
        parts.append(rows.reset_index(drop=True))
    if not parts:
        return pd.DataFrame({C.SOURCE_LINE: pd.Series(dtype="int64"), "reason": pd.Series(dtype=object)})
    rej = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    rej = rej.sort_values(C.SOURCE_LINE, kind="stable").reset_index(drop=True)
    return rej.astype({C.SOURCE_LINE: "int64"})


def _redacted(rejects: pd.DataFrame, patterns: dict[str, str] | None) -> pd.DataFrame:
    """The rejects with every text field (not ``source_line``) redacted."""
    if rejects.empty:
        return rejects
    from .privacy import redact

    out = rejects.copy()
    for col in out.columns:
        if col != C.SOURCE_LINE and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col], _ = redact(out[col].astype(object), patterns=patterns)
    return out


def _write_rejects(rejects: pd.DataFrame, path: str | Path) -> None:
    """Write the rejects CSV atomically, formula-escaped like every voc CSV."""
    from .pipeline import csv_safe

    with atomic_path(path) as tmp:
        csv_safe(rejects).to_csv(tmp, index=False, encoding="utf-8")


def _scale(name: str, value: Any) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be two integers (low, high). Got {value!r}.") from None
    if lo >= hi:
        raise ConfigError(f"{name} must be two integers (low, high) with low < high. Got {value!r}.")
    return lo, hi


# --------------------------------------------------------------------------- languages

_KANA_KANJI = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _script_language(text: str) -> str:
    if _KANA_KANJI.search(text):
        return "ja"
    return "en" if _LATIN.search(text) else "und"


def _languages(texts: list[str]) -> list[str]:
    """Languages via :func:`voc.segment.detect_languages`, or a script heuristic."""
    try:
        from .segment import detect_languages
    except ImportError:
        return [_script_language(t) for t in texts]
    return list(detect_languages(texts))
