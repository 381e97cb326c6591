"""Read customer feedback from a file or DataFrame into voc's column vocabulary.

One ingestion path for every command: :func:`load_feedback` reads CSV, TSV,
JSONL, a JSON array or Parquet (each optionally gzipped), maps the input
columns onto the vocabulary of :mod:`voc.columns`, validates every value and
either fails with a one-line message or skips the bad rows into a rejects
table. :func:`validate_feedback` does the same and returns a
:class:`ValidationReport` for ``voc validate``.

The package keeps one job per module: :mod:`voc.io.read` reads the formats
and encodings into raw record batches with their source lines,
:mod:`voc.io.mapping` maps the input columns onto the vocabulary,
:mod:`voc.io.dates` parses dates; this module converts and validates the
values, builds the rejects table and holds the public functions.

>>> from voc.io import load_feedback
>>> from voc.sample import sample_path
>>> df = load_feedback(sample_path())
>>> df.attrs["voc_mapping"]["text"]
'text'
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .. import columns as C
from .._atomic import atomic_path
from ..errors import ConfigError, InputError
from ..script import has_japanese
from .dates import DATE_ORDERS, as_numbers, check_date_format, date_evidence, date_order, parse_dates  # noqa: F401
from .mapping import AUTO_NAMES, JA_NAMES, MAX_TOUCHPOINTS, as_str, resolve_mapping  # noqa: F401
from .read import FORMATS, NotStreamable, Raw, iter_raw, looks_like_mojibake, mojibake_warning, read_source  # noqa: F401

logger = logging.getLogger(__name__)


ON_ERROR = ("fail", "skip")

MISSING_MARKERS = ("na", "n/a", "n.a.", "n.a", "nan", "null", "none", "-", "--", "—", "?",
                   "無回答", "該当なし")
"""Score cells (NPS, CES, CSAT) read as "no answer", after NFKC folding and
lower-casing: ``NA``, ``N/A``, ``n.a.``, ``NaN``, ``null``, ``None``, ``-``,
``--``, an em dash, ``?``, 無回答 and 該当なし (full-width forms such as
``Ｎ／Ａ`` or ``－`` fold to these). Blank cells are missing too. Any other
value that is not a number is a row problem."""

_VOCAB = {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)} - {C.ALL_TOUCHPOINTS}
_SHOW = 5  # line numbers shown in a message


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
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}. Got {on_error!r}.")
    ces_scale, csat_scale = _scale("ces_scale", ces_scale), _scale("csat_scale", csat_scale)
    raw = read_source(source, format=format, encoding=encoding)
    if raw.frame.empty and raw.bad:
        raise InputError(_malformed_message(raw).replace(" or pass on_error='skip'", "; no record could be read"))
    explicit = {C.TEXT: text_col, C.VOC_ID: id_col, C.DATE: date_col, C.TOUCHPOINT: touchpoint_col,
                C.CHANNEL: channel_col, C.NPS: nps_col, C.CES: ces_col, C.CSAT: csat_col}
    mapping, notes = resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
    date_format = check_date_format(date_format)
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
    date_format = check_date_format(options.get("date_format"))
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
            for raw in iter_raw(source, options.get("format"), options.get("encoding"), chunk_size):
                if not raw.frame.empty:
                    if mapping is None:
                        mapping, notes = resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
                    if C.DATE not in mapping:
                        break
                    evidence.update(date_evidence(as_str(raw.frame[mapping[C.DATE]])))
            state["date_order"] = date_order(evidence, date_format)
        for raw in iter_raw(source, options.get("format"), options.get("encoding"), chunk_size):
            parsed += len(raw.frame)
            warnings: list[str] = []
            if raw.frame.empty:
                bad, reasons, out = np.zeros(0, dtype=bool), pd.Series(dtype=object), None
            else:
                if mapping is None:
                    mapping, notes = resolve_mapping(list(raw.frame.columns), explicit, raw.frame, csat_scale)
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
    except NotStreamable:
        whole_file_error()
    if parsed == 0:
        whole_file_error()
    if len(parts):
        logger.info("Skipped %d row(s) with problems (see the rejects table).", sum(map(len, parts)))
    if options.get("rejects_path") is not None:
        rej = pd.concat(parts, ignore_index=True) if parts else _rejects_frame(
            Raw(pd.DataFrame(), np.zeros(0, dtype=np.int64), "line", ""), np.zeros(0, dtype=bool),
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


# --------------------------------------------------------------------------- converting

def _scores(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Score cells as stripped text (missing markers -> <NA>) and as float numbers (NaN).

    Full-width digits and signs are NFKC-folded to ASCII (``４`` is 4); cells
    in :data:`MISSING_MARKERS` are missing. A value that is present but not
    a number comes out as text with a NaN number: a row problem. Works on
    the distinct values (a score column has few).
    """
    text = as_str(s)
    codes, uniq = pd.factorize(text)
    folded = pd.Series(uniq, dtype="string").str.normalize("NFKC").str.strip()
    missing = (folded.str.lower().isin(MISSING_MARKERS) | (folded == "")).to_numpy(dtype=bool)
    numbers = as_numbers(folded.mask(missing))
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


def _convert(raw: Raw, mapping: dict[str, str], *, id_given: bool,
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
            s = as_str(src)
            order = (state or {}).get("date_order") or date_order(date_evidence(s), date_format)
            dates, contradicts = parse_dates(s, order, date_format)
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
            out[vocab] = as_str(frame[mapping[vocab]]).astype("str")

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
        s = as_str(frame[col])
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


def _malformed_message(raw: Raw) -> str:
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


def _rejects_frame(raw: Raw, bad: np.ndarray, reasons: pd.Series) -> pd.DataFrame:
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
    from ..privacy import redact

    out = rejects.copy()
    for col in out.columns:
        if col != C.SOURCE_LINE and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col], _ = redact(out[col].astype(object), patterns=patterns)
    return out


def _write_rejects(rejects: pd.DataFrame, path: str | Path) -> None:
    """Write the rejects CSV atomically, formula-escaped like every voc CSV."""
    from ..pipeline import csv_safe

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

_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _script_language(text: str) -> str:
    if has_japanese(text):
        return "ja"
    return "en" if _LATIN.search(text) else "und"


def _languages(texts: list[str]) -> list[str]:
    """Languages via :func:`voc.segment.detect_languages`, or a script heuristic."""
    try:
        from ..segment import detect_languages
    except ImportError:
        return [_script_language(t) for t in texts]
    return list(detect_languages(texts))
