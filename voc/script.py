"""What counts as Japanese script: one character class (kana, half-width katakana, kanji, 々) for every stage.

:func:`voc.segment.detect_language` decides a text's language from the share
of these characters; :func:`has_japanese` answers the cheaper question
"does the text contain any Japanese script", used where no language is
known (sentiment without a ``language`` column, column names, the report's
``lang`` attributes, phrase labels).
"""

from __future__ import annotations

import re

JA_CLASS = (
    "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana (and its extension), half-width katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005"  # kanji (extension A, compatibility), 々
)
"""The contents of a regex character class: use as ``f"[{JA_CLASS}]"``."""

JA_CHAR = re.compile(f"[{JA_CLASS}]")


def has_japanese(text) -> bool:
    """Whether ``text`` holds at least one Japanese character (:data:`JA_CLASS`).

    Examples
    --------
    >>> [has_japanese(t) for t in ["ｱﾌﾟﾘ", "々", "配送", "OK", ""]]
    [True, True, True, False, False]
    """
    return bool(JA_CHAR.search(str(text)))
