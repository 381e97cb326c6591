"""Convert raw input rows to voc's vocabulary, find the rows with problems and build the rejects table."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._atomic import atomic_path
from ..errors import ConfigError
from .dates import as_numbers, date_evidence, date_order, parse_dates
from .mapping import as_str
from .read import Raw, looks_like_mojibake, mojibake_warning

MISSING_MARKERS = ("na", "n/a", "n.a.", "n.a", "nan", "null", "none", "-", "--", "—", "?",
                   "無回答", "該当なし")
"""Score cells (NPS, CES, CSAT) read as "no answer", after NFKC folding and
lower-casing: ``NA``, ``N/A``, ``n.a.``, ``NaN``, ``null``, ``None``, ``-``,
``--``, an em dash, ``?``, 無回答 and 該当なし (full-width forms such as
``Ｎ／Ａ`` or ``－`` fold to these). Blank cells are missing too. Any other
value that is not a number is a row problem."""

_VOCAB = {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)} - {C.ALL_TOUCHPOINTS}
_SHOW = 5  # line numbers shown in a message


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


def where_lines(lines: list[int], unit: str = "line") -> str:
    """``"3 rows (lines 3, 6, 7)"``: how many rows and the first line numbers, for a message."""
    n = len(lines)
    shown = ", ".join(str(x) for x in lines[:_SHOW]) + (", ..." if n > _SHOW else "")
    return f"{n} row{'s' if n != 1 else ''} ({unit}{'s' if n != 1 else ''} {shown})"


def convert(raw: Raw, mapping: dict[str, str], *, id_given: bool,
            ces_scale: tuple[int, int], csat_scale: tuple[int, int], date_format: str | None = None,
            state: dict | None = None):
    """One batch of raw rows in voc's vocabulary: ``(frame, problems, warnings)``.

    ``problems`` lists ``(message, row mask, reason)`` per kind of bad value;
    ``state`` carries ids, content keys and the date order across the chunks
    of :func:`voc.io.iter_loaded`.
    """
    frame, lines = raw.frame, raw.lines
    out: dict[str, Any] = {}
    warnings: list[str] = []
    problems: list[tuple[str, np.ndarray, str]] = []  # (message, mask, reason)

    def problem(mask: pd.Series, reason: str, message, values: pd.Series) -> None:
        """Record a per-row problem; ``message(where, example)`` builds its text."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            example = values[mask].iloc[0]
            where = where_lines(lines[mask].tolist(), raw.unit)
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


def malformed_message(raw: Raw) -> str:
    """The one-line error about the malformed lines (records) of ``raw``."""
    lines = [line for line, _, _ in raw.bad]
    reason = raw.bad[0][1]
    kind = reason.split(" line")[0].split(" record")[0].removeprefix("malformed ")
    return (f"Malformed {kind} {raw.unit}s in '{raw.name}': {where_lines(lines, raw.unit)}, e.g. "
            f"{raw.unit} {lines[0]}: {reason.split(': ', 1)[1]}. Fix the quoting/format of those "
            f"{raw.unit}s or pass on_error='skip'.")


def row_problems(out: pd.DataFrame, problems: list) -> tuple[np.ndarray, pd.Series]:
    """Which rows have a problem, and their reasons joined by "; "."""
    bad = np.zeros(len(out), dtype=bool)
    reasons = pd.Series("", index=out.index, dtype=object)
    for _, mask, reason in problems:
        bad |= mask
        reasons[mask] = np.where(reasons[mask] == "", reason, reasons[mask] + "; " + reason)
    return bad, reasons


def rejects_frame(raw: Raw, bad: np.ndarray, reasons: pd.Series) -> pd.DataFrame:
    """The rejects table of a batch: malformed records and ``bad`` rows, by source line."""
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


def redacted_rejects(rejects: pd.DataFrame, patterns: dict[str, str] | None) -> pd.DataFrame:
    """The rejects with every text field (not ``source_line``) redacted."""
    if rejects.empty:
        return rejects
    from ..privacy import redact

    out = rejects.copy()
    for col in out.columns:
        if col != C.SOURCE_LINE and (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            out[col], _ = redact(out[col].astype(object), patterns=patterns)
    return out


def write_rejects(rejects: pd.DataFrame, path: str | Path) -> None:
    """Write the rejects CSV atomically, formula-escaped like every voc CSV."""
    from ..outputs import csv_safe

    with atomic_path(path) as tmp:
        csv_safe(rejects).to_csv(tmp, index=False, encoding="utf-8")


def check_scale(name: str, value: Any) -> tuple[int, int]:
    """A score scale as ``(low, high)`` integers; :class:`ConfigError` otherwise."""
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be two integers (low, high). Got {value!r}.") from None
    if lo >= hi:
        raise ConfigError(f"{name} must be two integers (low, high) with low < high. Got {value!r}.")
    return lo, hi
