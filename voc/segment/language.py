"""Language detection: "en", "ja" or "und" per text from its Unicode scripts (no model, fast)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from voc import columns as C
from voc.errors import InputError
from voc.script import JA_CHAR  # the one definition of Japanese script

DETECTED = ("en", "ja", "und")
"""Values :func:`detect_language` returns."""

_LATIN = re.compile("[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]")
JA_WEIGHT = 4
"""One Japanese character counts as this many Latin letters (a Japanese
character carries about as much as a short English word part)."""


def as_text(value) -> str:
    """A cell as text: ``None`` and NaN (any pandas missing value) become "", other non-strings ``str(value)``.

    Shared by every step of :mod:`voc.segment` (ids, texts, language cells).

    Examples
    --------
    >>> as_text(None), as_text(float("nan")), as_text(3), as_text("ok")
    ('', '', '3', 'ok')
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def detect_language(text: str) -> str:
    """Return the language of one text from its Unicode scripts.

    Kana and kanji count for Japanese, Latin letters for English; a text is
    "ja" when ``JA_WEIGHT * japanese_chars >= latin_letters`` and it has at
    least one Japanese character, "en" when it has Latin letters, and "und"
    when it has neither (empty, digits, emoji, punctuation, other scripts).
    Any Latin-script language is reported as "en"; kanji-only text (which
    may be Chinese) as "ja".

    Parameters
    ----------
    text : str
        The text; ``None`` and NaN count as empty.

    Returns
    -------
    str
        "en", "ja" or "und".

    Examples
    --------
    >>> detect_language("配送が遅い"), detect_language("Late again"), detect_language("👍")
    ('ja', 'en', 'und')
    >>> detect_language("iPhoneの画面が割れた")
    'ja'
    """
    text = as_text(text)
    n_ja = len(JA_CHAR.findall(text))
    n_latin = len(_LATIN.findall(text))
    if n_ja and JA_WEIGHT * n_ja >= n_latin:
        return "ja"
    if n_latin:
        return "en"
    return "und"


def detect_languages(texts: Iterable[str]) -> list[str]:
    """Return :func:`detect_language` of every text, in order.

    Examples
    --------
    >>> detect_languages(["Great app", "", "アプリが落ちる"])
    ['en', 'und', 'ja']
    """
    return [detect_language(t) for t in texts]


def record_languages(records) -> list[str]:
    """The language of each record: its ``language`` cell, or :func:`detect_language` of its text.

    Without a ``language`` column every text is detected; an empty cell is
    detected too; any other value than :data:`DETECTED` raises.

    Raises
    ------
    InputError
        For a ``language`` value other than "en", "ja", "und" or empty.

    Examples
    --------
    >>> import pandas as pd
    >>> record_languages(pd.DataFrame({"text": ["配送が遅い", "Late"], "language": ["", "en"]}))
    ['ja', 'en']
    """
    texts = records[C.TEXT]
    if C.LANGUAGE not in records.columns:
        return detect_languages(texts)
    out = []
    for text, lang in zip(texts, records[C.LANGUAGE]):
        lang = as_text(lang)
        if lang == "":
            lang = detect_language(text)
        elif lang not in DETECTED:
            raise InputError(
                f"Column 'language' has the value {lang!r}; allowed are "
                f"{', '.join(map(repr, DETECTED))}. Fix the column or drop it to "
                "detect languages automatically."
            )
        out.append(lang)
    return out
