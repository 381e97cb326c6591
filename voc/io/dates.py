"""Parse feedback dates: ISO, day- or month-first numeric dates (decided from the whole column), and Japanese dates."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError


# --------------------------------------------------------------------------- dates

DATE_ORDERS = ("dmy", "mdy")
"""Orders of numeric day/month dates (``03/04/2026``) that ``date_format`` can fix."""
_ORDER_NAMES = {"dmy": "day first (DD/MM/YYYY)", "mdy": "month first (MM/DD/YYYY)"}
_JA_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*[(（][月火水木金土日]\s*[)）])?")
_JA_TIME = re.compile(r"(\d{1,2})\s*時(?:\s*(\d{1,2})\s*分)?(?:\s*(\d{1,2})\s*秒)?")
_YEAR_FIRST = r"^(\d{4})([./-])(\d{1,2})\2(\d{1,2})(?=$|[ T,])(.*)$"
_DAY_MONTH = r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[ T,])(.*)$"


def check_date_format(date_format: Any) -> str | None:
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


def as_numbers(s: pd.Series) -> np.ndarray:
    """Digit strings as floats (missing -> NaN)."""
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def date_evidence(s: pd.Series) -> Counter:
    """What the distinct numeric day/month values of a date column prove about their order."""
    u = pd.Series(s.dropna().unique(), dtype=object)
    u = u[pd.to_datetime(u, format="ISO8601", errors="coerce", utc=True).isna().to_numpy()]  # ISO: year first
    parts = _date_text(u.astype("string")).str.extract(_DAY_MONTH)
    first, second = as_numbers(parts[0]), as_numbers(parts[2])
    ev: Counter = Counter()
    ev["dmy"] = int(((first > 12) & (second <= 12)).sum())
    ev["mdy"] = int(((second > 12) & (first <= 12)).sum())
    ev["ambiguous"] = int(((first <= 12) & (second <= 12)).sum())
    ev["dots"] = int((parts[1] == ".").sum())
    ev["numeric"] = int(parts[0].notna().sum())
    return ev


def date_order(ev: Counter, date_format: str | None) -> dict:
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


def parse_dates(s: pd.Series, order: dict, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
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
    a, b, year = as_numbers(dm[0]), as_numbers(dm[2]), as_numbers(dm[3])
    day, month = (a, b) if order["order"] == "dmy" else (b, a)
    year = np.where(year >= 100, year, year + np.where(year < 69, 2000, 1900))
    contradicts = (month > 12) & (day <= 12)
    for parts, (y, m, d) in ((ymd, (as_numbers(ymd[0]), as_numbers(ymd[2]), as_numbers(ymd[3]))),
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
