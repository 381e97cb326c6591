"""How the report writes a value: numbers, KPIs, the ``lang`` of a text, and escaping for Markdown.

The HTML and Markdown templates call these as filters (:func:`filters`), so both
formats show the same number the same way; ``–`` stands for a missing one.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..script import has_japanese

DELTA_DIGITS = {"volume": 0, "nps": 1, "csat": 1}
"""Decimals shown for a KPI's change (2 for the others): a change that rounds to 0 there is "no change"."""


def isnum(v: Any) -> bool:
    """Whether ``v`` is there to show: not None, NaN or NA (nor a list of several values).

    >>> [isnum(x) for x in (0, 1.5, None, float("nan"), pd.NA, [1, 2])]
    [True, True, False, False, False, False]
    """
    try:
        return v is not None and not (isinstance(v, float) and math.isnan(v)) and not pd.isna(v)
    except (TypeError, ValueError):
        return False


def fmt_kpi(v: Any, metric: str, *, delta: bool = False) -> str:
    """A KPI value (or, with ``delta``, its signed change) as the report shows it.

    >>> fmt_kpi(1234.0, "volume"), fmt_kpi(-0.04, "nps", delta=True), fmt_kpi(2.5, "csat", delta=True)
    ('1,234', '0.0', '+2.5 pt')
    """
    if not isnum(v):
        return "–"
    v = float(v)
    if delta and round(v, DELTA_DIGITS.get(metric, 2)) == 0:
        v = 0.0  # no "-0.00" or "+0.00": unchanged at the shown precision
    sign = "+" if delta and v > 0 else ""
    if metric == "volume":
        return f"{sign}{v:,.0f}"
    if metric in ("nps",):
        return f"{sign}{v:.1f}"
    if metric == "csat":
        return f"{sign}{v:.1f}%" if not delta else f"{sign}{v:.1f} pt"
    return f"{sign}{v:.2f}"


def good_direction(metric: str, ces_direction: str) -> int:
    """+1 when a higher value of ``metric`` is better, -1 when worse, 0 when neutral (volume)."""
    if metric == "volume":
        return 0
    if metric == "ces":
        return 1 if ces_direction == "higher_is_easier" else -1
    return 1


def num(v: Any, fmt: str = "{:.1f}", default: str = "–") -> str:
    """``v`` through the format ``fmt``, or ``default`` when it is missing.

    >>> num(-3.14159), num(None), num(1234, "{:,.0f}"), num(float("nan"), "{:+.0f}", "new")
    ('-3.1', '–', '1,234', 'new')
    """
    return fmt.format(float(v)) if isnum(v) else default


def pct(v: Any) -> str:
    """A share as a whole percentage (``0.254`` -> ``25%``), ``–`` when missing."""
    return f"{100 * float(v):.0f}%" if isnum(v) else "–"


def fmt(v: Any, spec: str) -> str:
    """``spec.format(v)``: a template's way to write ``{v:,}`` (``fmt(v, "{:,}")``)."""
    return spec.format(v)


def lang(text: Any) -> str:
    """The ``lang`` attribute of a text in the page: ``ja`` when it holds Japanese script, else ``en``.

    >>> lang("配送が遅い"), lang("ｱﾌﾟﾘ"), lang("late delivery")
    ('ja', 'ja', 'en')
    """
    return "ja" if has_japanese(text) else "en"


MD_SPECIAL = ("\\", "|", "<", ">", "`", "*", "_", "[", "]")
"""Characters :func:`md_escape` puts a backslash before (the backslash itself first)."""


def md_escape(v: Any) -> str:
    """A value for a Markdown line or table cell: one line, with pipes, HTML and emphasis escaped.

    >>> md_escape("a | <b>bold</b>\\n*x*")
    'a \\\\| \\\\<b\\\\>bold\\\\</b\\\\> \\\\*x\\\\*'
    """
    s = " ".join(str("" if v is None else v).split())
    for ch in MD_SPECIAL:
        s = s.replace(ch, "\\" + ch)
    return s


def filters() -> dict[str, Any]:
    """The filters both report templates use: ``num``, ``pct``, ``kpi``, ``fmt``, ``day``, ``lang``."""
    return {"num": num, "pct": pct, "kpi": fmt_kpi, "fmt": fmt, "lang": lang,
            "day": lambda t: f"{t:%Y-%m-%d}"}
