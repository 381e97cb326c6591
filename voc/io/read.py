"""Read CSV, TSV, JSONL, JSON and Parquet (optionally gzipped), in any common encoding, into raw record batches with their source lines."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError


FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
"""Input formats; each may also be gzipped (``.gz`` suffix)."""

_SUFFIXES = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json", ".parquet": "parquet", ".pq": "parquet",
}


# The csv module rejects fields over 128 KiB ("field larger than field limit"),
# i.e. any long but valid review; raise its process-wide limit (never lower it).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


@dataclass
class Raw:
    frame: pd.DataFrame          # every input column, one row per parsed record
    lines: np.ndarray            # source line (or record number) per row
    unit: str                    # "line" or "record"
    name: str                    # how to call the source in messages
    bad: list = field(default_factory=list)  # (line, reason, {col: raw}) of malformed records


# --------------------------------------------------------------------------- reading

def read_source(source: Any, *, format: str | None, encoding: str | None) -> Raw:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        _check_header(list(frame.columns), "the DataFrame")
        if frame.empty:
            raise InputError("The DataFrame has no rows. Give at least one record.")
        return Raw(frame, np.arange(1, len(frame) + 1), "record", "DataFrame")
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
                 chunk_size: int | None = None) -> Iterator[Raw]:
    """Group :func:`_csv_records` into raw batches of ``chunk_size`` rows
    (``None``: one batch of everything, possibly empty)."""
    rows: list[list[str]] = []
    starts: list[int] = []
    bad: list = []

    def batch() -> Raw:
        frame = (pd.DataFrame(rows, columns=header, dtype=object) if rows
                 else pd.DataFrame(columns=header, dtype=object))
        return Raw(frame, np.asarray(starts, dtype=np.int64), "line", name, bad)

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


def _read_csv(text: str, delimiter: str, name: str, kind: str) -> Raw:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, records = _csv_records(reader, name, kind)
    (raw,) = _csv_batches(header, records, name)
    _check_header(header, f"File '{name}'")
    if raw.frame.empty and not raw.bad:
        raise InputError(f"File '{name}' has a header but no records. Add at least one record below the header.")
    return raw


def _read_jsonl(text: str, name: str) -> Raw:
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


def _read_json(text: str, name: str) -> Raw:
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


def _frame_from_records(records: list, starts: list, unit: str, name: str, bad: list) -> Raw:
    if not records and not bad:
        raise InputError(f"File '{name}' has no records. Give at least one record.")
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c) for c in frame.columns]
    return Raw(frame, np.asarray(starts, dtype=np.int64), unit, name, bad)


def _read_parquet(data: bytes, name: str) -> Raw:
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
    return Raw(frame, np.arange(1, len(frame) + 1), "record", name)


class NotStreamable(Exception):
    """A file-level problem met while streaming; :func:`load_feedback` reports it."""


def iter_raw(source: Any, format: str | None, encoding: str | None, chunk_size: int) -> Iterator[Raw]:
    """Raw chunks: CSV/TSV and plain Parquet incrementally, anything else read whole then sliced."""
    if not isinstance(source, pd.DataFrame):
        path = Path(source)
        fmt, gz = _format(path, format)
        if not path.is_file() or path.stat().st_size == 0:
            raise NotStreamable
        with open(path, "rb") as f:
            gz = gz or f.read(2) == b"\x1f\x8b"
        if fmt in ("csv", "tsv"):
            yield from _csv_chunks(path, gz, encoding, fmt, chunk_size)
            return
        if fmt == "parquet" and not gz:
            yield from _parquet_chunks(path, chunk_size)
            return
    raw = read_source(source, format=format, encoding=encoding)
    if raw.frame.empty:
        raise NotStreamable
    for start in range(0, len(raw.frame), chunk_size):
        stop = start + chunk_size
        after = raw.lines[start - 1] if start else -1          # malformed records between chunks
        until = raw.lines[stop - 1] if stop < len(raw.frame) else np.inf  # go with the next chunk
        bad = [b for b in raw.bad if after < b[0] <= until]
        yield Raw(raw.frame.iloc[start:stop].reset_index(drop=True), raw.lines[start:stop],
                   raw.unit, raw.name, bad)


def _csv_chunks(path: Path, gz: bool, encoding: str | None, fmt: str, chunk_size: int) -> Iterator[Raw]:
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
                raise NotStreamable
            yield from _csv_batches(header, records, name, chunk_size)
    except (LookupError, UnicodeDecodeError, csv.Error, InputError, StopIteration, OSError, EOFError):
        raise NotStreamable from None  # load_feedback gives the whole-file message


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[Raw]:
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
            yield Raw(frame, np.arange(done + 1, done + len(frame) + 1), "record", str(path))
            done += len(frame)
    except (OSError, pa.ArrowException):
        raise NotStreamable from None


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
