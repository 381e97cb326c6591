"""One definition of Japanese script (voc.script), and every stage that asks "is this Japanese?" agrees with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import voc
from voc.script import JA_CHAR, has_japanese

CASES = {
    "ｱﾌﾟﾘが落ちる": True,      # half-width katakana (the report called it English)
    "ｱﾌﾟﾘ": True,
    "々": True,                # iteration mark
    "﨑": True,                 # compatibility kanji
    "ㇰ": True,                 # katakana phonetic extension
    "配送": True,
    "OK ok ok ok ok 遅い": True,
    "Late delivery": False,
    "Café, naïve": False,
    "": False,
}


@pytest.mark.parametrize("text, expected", CASES.items())
def test_every_stage_agrees_on_japanese_script(text, expected):
    from voc.io import _script_language
    from voc.report.format import lang as _lang
    from voc.sentiment import is_japanese
    from voc.themes.labels import _JA_CHAR as labels_ja

    assert has_japanese(text) is expected
    assert is_japanese(text) is expected
    assert (_lang(text) == "ja") is expected
    assert (_script_language(text) == "ja") is expected
    assert bool(labels_ja.search(text)) is expected


def test_language_detection_counts_the_same_characters():
    from voc.segment import _JA_CHARS, detect_language

    assert _JA_CHARS is JA_CHAR
    assert detect_language("ｱﾌﾟﾘが落ちる") == "ja"
    # the share rule of detect_language, not the "any character" rule: mostly English
    assert detect_language("OK ok ok ok ok 遅い") == "en"


def test_no_other_module_defines_the_kana_and_kanji_ranges():
    """Only voc/script.py spells the Japanese ranges as a class (token and kana-only regexes aside)."""
    allowed = {"script.py", "common.py", "labels.py", "read.py"}  # common.py: voc.segment's word regex
    root = Path(voc.__file__).parent
    both = re.compile(r"\\u3040.*\\u4e00|\u3040.*\u4e00")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name not in allowed and both.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
