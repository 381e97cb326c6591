"""Quote selection: the short negative quotes shown with each pain point."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .. import columns as C

QUOTE_SEP = " | "
"""Separator of the quotes in the ``quotes`` column (the report splits on it)."""


def select_quotes(mentions: pd.DataFrame, *, n: int = 2, max_chars: int = 160) -> str:
    """Up to ``n`` short negative quotes from ``mentions``, ``" | "``-joined.

    Mentions labelled ``negative`` are preferred (all mentions when there is
    no ``sentiment_label`` column), most negative ``sentiment`` first;
    duplicates are skipped, whitespace collapsed, ``|`` replaced by ``/`` and
    each quote trimmed to ``max_chars`` characters (ending in "…").

    Examples
    --------
    >>> m = pd.DataFrame({"text": ["ok", "awful wait", "rude staff"], "sentiment": [0.1, -0.9, -0.6],
    ...                   "sentiment_label": ["neutral", "negative", "negative"]})
    >>> select_quotes(m)
    'awful wait | rude staff'
    """
    if C.TEXT not in mentions or not len(mentions):
        return ""
    return _pick(_negative_first(mentions)[C.TEXT], n=n, max_chars=max_chars)


def _negative_first(mentions: pd.DataFrame) -> pd.DataFrame:
    m = mentions
    if C.SENTIMENT_LABEL in m:
        m = m[m[C.SENTIMENT_LABEL] == "negative"]
    if C.SENTIMENT in m:
        m = m.sort_values(C.SENTIMENT, kind="stable", na_position="last")
    return m


def _pick(texts: Any, *, n: int, max_chars: int) -> str:
    out: list[str] = []
    seen: set[str] = set()
    for text in texts:
        quote = trim_quote((text if isinstance(text, str) else "").replace("|", "/"), max_chars)
        if quote and quote.lower() not in seen:
            seen.add(quote.lower())
            out.append(quote)
            if len(out) == n:
                break
    return QUOTE_SEP.join(out)


def quotes_by_unit(ments: pd.DataFrame, *, n: int = 2, max_chars: int = 160) -> dict[int, str]:
    """:func:`select_quotes` for every ``_tcol`` group at once (sorted once, few candidates each).

    ``ments`` carries the unit (theme or topic column) of each mention in
    ``_tcol``, as :func:`voc.rank.rank_pain_points` builds it; returns
    ``{unit: quotes}`` for the units with at least one quote candidate.
    """
    if C.TEXT not in ments or not len(ments):
        return {}
    cand = _negative_first(ments[[c for c in ("_tcol", C.TEXT, C.SENTIMENT, C.SENTIMENT_LABEL)
                                  if c in ments]])
    cand = cand.groupby("_tcol", sort=False).head(10 * n)
    texts: dict[int, list[str]] = {}
    for t, text in zip(cand["_tcol"].tolist(), cand[C.TEXT].tolist()):
        texts.setdefault(t, []).append(text)
    return {t: _pick(v, n=n, max_chars=max_chars) for t, v in texts.items()}


def trim_quote(text: Any, max_chars: int, *, at_word: bool = True) -> str:
    """``text`` on one line (runs of whitespace become one space), cut to ``max_chars`` with "…" when longer.

    ``at_word`` (the ranked tables' quotes) cuts at the last space when that keeps more than 60% of
    the text and drops trailing ``,;:.-``; without it (the report's quotes) the cut falls at
    ``max_chars - 1`` characters.

    >>> trim_quote("delivery  was late again", 12), trim_quote("delivery was late again", 12, at_word=False)
    ('delivery…', 'delivery wa…')
    """
    text = re.sub(r"\s+", " ", str(text)).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if not at_word:
        return cut.rstrip() + "…"
    space = cut.rfind(" ")
    if space > max_chars * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"
