"""Tests of voc.segment: language detection, units, keyword tokens."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from voc.errors import ConfigError, InputError
from voc.segment import (
    _en_rule_lemma,
    _ja_nlp,
    detect_language,
    detect_languages,
    keyword_tokens,
    segment,
)


def frame(*texts, language=None):
    df = pd.DataFrame({"voc_id": [f"r{i}" for i in range(len(texts))], "text": list(texts)})
    if language is not None:
        df["language"] = language
    return df


def units(text, **kwargs):
    return segment(frame(text), **kwargs)["text"].tolist()


@pytest.fixture(scope="module")
def ja_nlp():
    """Load ja_ginza once for every Japanese test of this module."""
    return _ja_nlp()


# --- language detection ---------------------------------------------------

LANGUAGE_CASES = [
    ("配送が遅い", "ja"),
    ("アプリ", "ja"),
    ("東京駅", "ja"),
    ("Late again", "en"),
    ("Ça marche très bien", "en"),
    ("iPhoneの画面が割れた", "ja"),
    ("Great service at our 東京 store", "en"),
    ("", "und"),
    ("   ", "und"),
    (None, "und"),
    (float("nan"), "und"),
    ("👍👍", "und"),
    ("10/10 !!!", "und"),
    ("좋아요", "und"),
]


@pytest.mark.parametrize("text,expected", LANGUAGE_CASES)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_detect_languages_mixed_per_record():
    texts = pd.Series(["Great app", None, "アプリが落ちる", "ok", "🙂"])
    assert detect_languages(texts) == ["en", "und", "ja", "en", "und"]


# --- English units ----------------------------------------------------------

EN_CASES = [
    ("Delivery was late but the product is great.",
     ["Delivery was late", "but the product is great."]),
    ("Late but great. Will buy again!", ["Late", "but great.", "Will buy again!"]),
    ("Nothing but problems.", ["Nothing but problems."]),
    ("It is not only cheap but also good.", ["It is not only cheap but also good."]),
    ("I love it, however the battery dies.", ["I love it", "however the battery dies."]),
    ("Although shipping was slow, the staff were great!",
     ["Although shipping was slow", "the staff were great!"]),
    ("Even though it was cheap, it broke.", ["Even though it was cheap", "it broke."]),
    ("It works though it is slow.", ["It works", "though it is slow."]),
    ("Good food though.", ["Good food though."]),
    ("I read while waiting.", ["I read while waiting."]),
    ("The room was big, while the bed was tiny.", ["The room was big", "while the bed was tiny."]),
    ("Not yet shipped.", ["Not yet shipped."]),
    ("Fast, yet fragile.", ["Fast", "yet fragile."]),
    ("Cheap whereas the rival is not.", ["Cheap", "whereas the rival is not."]),
    ("Great app!!! Crashes a lot", ["Great app!!!", "Crashes a lot"]),
    ("The  room was great.  Will return", ["The  room was great.", "Will return"]),
    ("Loved it! 😍 Will return.", ["Loved it! 😍", "Will return."]),
    ("Great app\nBut crashes a lot", ["Great app", "But crashes a lot"]),
    ("The parcel arrived late and\nthe box was damaged.",
     ["The parcel arrived late and the box was damaged."]),
    ("ok", ["ok"]),
    ("ok, but", ["ok, but"]),
    ("!!!", []),
    ("...", []),
    ("", []),
    ("👍", ["👍"]),
    # wordless units (emoji, emoticons, URLs, "5/5") join a neighbour
    ("I love this graphic. http://t.co/abc", ["I love this graphic. http://t.co/abc"]),
    ("5/5. Great stay", ["5/5. Great stay"]),
    ("Well, I didn't… but NOW I DO! :-D", ["Well, I didn't…", "but NOW I DO! :-D"]),
    ("👍 👍", ["👍 👍"]),
]


@pytest.mark.parametrize("text,expected", EN_CASES)
def test_english_units(text, expected):
    assert units(text) == expected


def test_split_contrast_off_keeps_sentences():
    assert units("Late but great. Will buy again!", split_contrast=False) == [
        "Late but great.",
        "Will buy again!",
    ]


# --- Japanese units ---------------------------------------------------------

JA_CASES = [
    ("配送は遅いが商品は良い。", ["配送は遅いが", "商品は良い。"]),
    # が as a subject marker (格助詞) never splits.
    ("配送が遅い。", ["配送が遅い。"]),
    ("配送が遅くて困りました", ["配送が遅くて困りました"]),
    ("配送が遅かったですが、商品は良かったです。", ["配送が遅かったですが", "商品は良かったです。"]),
    ("値段は高いけど味は最高！😋また来ます", ["値段は高いけど", "味は最高！😋", "また来ます"]),
    ("狭いけれども清潔でした", ["狭いけれども", "清潔でした"]),
    ("高いのに不味い", ["高いのに", "不味い"]),
    ("使うのに便利", ["使うのに便利"]),
    ("立地は良いものの、部屋が狭い", ["立地は良いものの", "部屋が狭い"]),
    ("駅から遠い一方、部屋は広い", ["駅から遠い一方", "部屋は広い"]),
    ("安い、でも美味しい", ["安い", "でも美味しい"]),
    ("朝食は美味しかったです。しかし部屋は汚かった", ["朝食は美味しかったです。", "しかし部屋は汚かった"]),
    ("朝食は美味しかったですが、しかし部屋は汚かった", ["朝食は美味しかったですが", "しかし部屋は汚かった"]),
    ("すみませんが、部屋を変えてください", ["すみませんが、部屋を変えてください"]),
    ("部屋は綺麗　朝食も美味しい", ["部屋は綺麗", "朝食も美味しい"]),
    ("部屋は綺麗 朝食も美味しい", ["部屋は綺麗", "朝食も美味しい"]),
    ("Wi-Fi が 遅い", ["Wi-Fi が 遅い"]),
    ("最高！！", ["最高！！"]),
    ("（笑）", ["（笑）"]),
    ("。。。", []),
]


@pytest.mark.slow
@pytest.mark.parametrize("text,expected", JA_CASES)
def test_japanese_units(ja_nlp, text, expected):
    assert units(text) == expected


@pytest.mark.slow
def test_mixed_record_units_get_their_own_language(ja_nlp):
    out = segment(frame("Great hotel. 部屋が綺麗でした。", "Nice 👍"))
    assert out["text"].tolist() == ["Great hotel.", "部屋が綺麗でした。", "Nice 👍"]
    assert out["language"].tolist() == ["en", "ja", "en"]


@pytest.mark.slow
def test_very_long_japanese_record_is_chunked(ja_nlp):
    text = "配送は遅いが商品は良い。" * 3000  # 36,000 chars, over Sudachi's input limit
    out = segment(frame(text))
    assert len(out) == 6000
    assert out["unit"].tolist() == list(range(6000))


# --- bookkeeping --------------------------------------------------------------

@pytest.mark.slow
def test_bookkeeping_on_tiny_feedback(ja_nlp, tiny_feedback):
    out = segment(tiny_feedback)
    assert list(out.columns) == ["voc_id", "unit", "text", "language"]
    assert out["unit"].dtype == "int64"
    assert "r5" not in set(out["voc_id"])  # empty text gives no unit
    assert set(out["voc_id"]) == {f"r{i}" for i in range(8)} - {"r5"}
    for _, group in out.groupby("voc_id"):
        assert group["unit"].tolist() == list(range(len(group)))
    r0 = out[out["voc_id"] == "r0"]["text"].tolist()
    assert r0 == ["Delivery was late", "but the product is great."]
    r2 = out[out["voc_id"] == "r2"]
    assert r2["text"].tolist() == ["配送が遅かったですが", "商品は良かったです。"]
    assert set(r2["language"]) == {"ja"}
    # record order is kept
    assert out["voc_id"].drop_duplicates().tolist() == ["r0", "r1", "r2", "r3", "r4", "r6", "r7"]


def test_record_mode_one_unit_per_record_with_text():
    df = frame(" Late but great. Will buy again! ", "", None, "!!!", "👍")
    out = segment(df, unit="record")
    assert out["voc_id"].tolist() == ["r0", "r4"]
    assert out["unit"].tolist() == [0, 0]
    assert out["text"].tolist() == ["Late but great. Will buy again!", "👍"]
    assert out["language"].tolist() == ["en", "und"]


def test_given_language_column_is_used_and_blank_cells_detected():
    df = frame("Nice app", "Good but slow", language=["und", None])
    out = segment(df, unit="record")
    assert out["language"].tolist() == ["und", "en"]


def test_empty_frame_gives_empty_units():
    out = segment(frame())
    assert list(out.columns) == ["voc_id", "unit", "text", "language"]
    assert len(out) == 0


def test_bad_unit_is_a_config_error():
    with pytest.raises(ConfigError, match="unit must be one of 'sentence', 'record'; got 'clause'"):
        segment(frame("x"), unit="clause")


def test_missing_column_is_an_input_error():
    with pytest.raises(InputError, match="missing: text"):
        segment(pd.DataFrame({"voc_id": ["a"]}))


def test_bad_language_value_is_an_input_error():
    with pytest.raises(InputError, match="Column 'language' has the value 'english'"):
        segment(frame("hello", language=["english"]))


def test_import_is_lazy():
    code = "import voc.segment, sys; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- keyword tokens ---------------------------------------------------------

EN_KEYWORD_CASES = [
    ("The deliveries were late and I was charged twice!", ["delivery", "late", "charge", "twice"]),
    ("Shoes broke in 2 days", ["shoe", "break", "day"]),
    ("It is ok, 10/10", []),
    ("", []),
]


@pytest.mark.parametrize("text,expected", EN_KEYWORD_CASES)
def test_english_keywords(text, expected):
    assert keyword_tokens([text], ["en"]) == [expected]


@pytest.mark.parametrize(
    "word,lemma", [("deliveries", "delivery"), ("boxes", "box"), ("apps", "app"), ("glass", "glass"), ("bus", "bus")]
)
def test_rule_lemmatizer_fallback(word, lemma):
    assert _en_rule_lemma(word) == lemma


JA_KEYWORD_CASES = [
    ("配送が遅くて困りました", ["配送", "遅い", "困る"]),
    ("スタッフさんの対応がすごく丁寧でした", ["スタッフ", "対応", "凄い", "丁寧"]),
    ("送料無料はうれしい", ["送料無料", "嬉しい"]),
    ("いい部屋、よい部屋、おいしい朝食", ["良い", "部屋", "良い", "部屋", "美味しい", "朝食"]),
    ("朝食バイキングは最高", ["朝食バイキング", "最高"]),
    ("お風呂が汚い", ["風呂", "汚い"]),
    ("清潔感がある", ["清潔感"]),
    ("3泊しました、1万円", []),
    ("Wi-Fiが繋がらない", ["Wi-Fi", "繋がる"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("text,expected", JA_KEYWORD_CASES)
def test_japanese_keywords(ja_nlp, text, expected):
    assert keyword_tokens([text], ["ja"]) == [expected]


@pytest.mark.slow
def test_japanese_keywords_are_words_not_sentences(ja_nlp):
    texts = ["アプリがすぐに落ちます。ログインできない", "サポートの対応がとても丁寧でした。"]
    tokens = keyword_tokens(texts, ["ja", "und"])  # kana routes to Japanese anyway
    assert tokens == [["アプリ", "落ちる", "ログイン"], ["サポート", "対応", "丁寧"]]
    particles = {"が", "は", "を", "に", "の", "て", "た", "です", "ます"}
    assert not particles & {t for toks in tokens for t in toks}


def test_keyword_length_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="got 2 texts but 1 languages"):
        keyword_tokens(["a", "b"], ["en"])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("@SouthwestAir my bag never arrived", "my bag never arrived"),
        ("配送が遅い #最悪 https://t.co/abc", "配送が遅い 最悪"),
        ("mail me at a@b.com", "mail me at a@b.com"),  # e-mails are not handles
        ("@shop", "@shop"),  # nothing else left: keep the text
    ],
)
def test_model_text_drops_handles_urls_and_hash_signs(text, expected):
    from voc.segment import model_text

    assert model_text(text) == expected


# --- the package: one module per job, shared names public -----------------

SEGMENT_MODULES = ("__init__", "language", "common", "en", "ja", "units", "keywords")


@pytest.mark.parametrize("name", SEGMENT_MODULES)
def test_every_segment_module_opens_with_a_one_line_docstring_and_stays_small(name):
    import importlib
    from pathlib import Path

    module = importlib.import_module("voc.segment" if name == "__init__" else f"voc.segment.{name}")
    first = (module.__doc__ or "").splitlines()[0]
    assert first.endswith(")") or first.endswith("."), first
    assert len(Path(module.__file__).read_text(encoding="utf-8").splitlines()) <= 500


def test_old_names_of_voc_segment_are_the_public_functions_of_its_modules():
    import voc.config
    import voc.segment as S
    from voc.script import JA_CHAR

    assert S.UNITS is voc.config.UNITS
    assert S._JA_CHARS is JA_CHAR
    assert (S._ja_nlp, S._en_nlp, S._en_lemma_table, S._en_rule_lemma) == (
        S.ja.nlp, S.en.nlp, S.en.lemma_table, S.en.rule_lemma)
    assert S.segment is S.units.segment and S.JA_STOP_WORDS is S.ja.JA_STOP_WORDS
    for name in S.__all__:
        assert getattr(S, name) is not None


def test_as_text_and_record_languages():
    from voc.segment.language import as_text, record_languages

    assert [as_text(v) for v in (None, float("nan"), pd.NA, 3, "ok")] == ["", "", "", "3", "ok"]
    assert record_languages(frame("配送が遅い", "Late")) == ["ja", "en"]
    assert record_languages(frame("配送が遅い", "Late", language=["", "und"])) == ["ja", "und"]
    with pytest.raises(InputError, match="'fr'"):
        record_languages(frame("Bonjour", language=["fr"]))


def test_shared_splitting_helpers():
    from voc.segment.common import clean_unit, has_content, is_symbol, merge_fragments, split_lines

    assert is_symbol("👍🏽") and is_symbol("😡") and not is_symbol("ok") and not is_symbol("")
    assert has_content("5") and has_content("👍") and not has_content("?!")
    assert split_lines(" a \n\n b\r\nc ") == ["a", "b", "c"]
    long = ("word " * 1000).strip()  # 4,999 characters: cut at the last space before 4,000
    parts = split_lines(long)
    assert len(parts) == 2 and len(parts[0]) <= 4000 and "".join(parts) == long
    assert clean_unit(" late,、 ") == "late"
    assert merge_fragments([":)", "Great", "👍", "5/5"]) == [":) Great 👍 5/5"]
    assert merge_fragments(["👍", "🎉"]) == ["👍 🎉"]


def test_sentence_spans_hooks_clauses_and_doc_units():
    from voc.segment import en
    from voc.segment.common import clauses, doc_units, sentence_spans

    doc = en.nlp()("Late but great. Bye")
    assert sentence_spans(doc) == [(0, 4), (4, 5)]
    assert sentence_spans(doc, is_break=lambda t: t == "but") == [(0, 1), (2, 4), (4, 5)]
    assert sentence_spans(doc, breaks_after=lambda d, i: i == 0) == [(0, 1), (1, 4), (4, 5)]
    always = lambda d, a, b: True  # noqa: E731
    assert clauses(doc, 0, 4, [1], always) == ["Late", "but great."]
    assert clauses(doc, 0, 4, [1], lambda d, a, b: a != 0) == ["Late but great."]
    assert doc_units(doc, [(0, 4)], lambda d, a, b: [1], always, split_contrast=False) == ["Late but great."]


def test_english_rules_module():
    from voc.segment import en

    assert en.pieces("my parcel was\nlate.\nBye") == ["my parcel was late.", "Bye"]
    assert en.units(en.nlp()("Late but great."), split_contrast=True) == ["Late", "but great."]
    assert en.units(en.nlp()("Late but great."), split_contrast=False) == ["Late but great."]
    assert en.keywords(en.nlp()("The deliveries were late"), None, en.stop_words()) == ["delivery", "late"]
    assert en.rule_lemma("boxes") == "box"


@pytest.mark.slow
def test_japanese_rules_module(ja_nlp):
    from voc.segment import ja

    assert ja.pieces("遅い\n良い") == ["遅い", "良い"]
    assert ja.units(ja_nlp("配送は遅いが、対応は良い。"), split_contrast=True) == ["配送は遅いが、", "対応は良い。"]
    assert ja.units(ja_nlp("配送は遅いが、対応は良い。"), split_contrast=False) == ["配送は遅いが、対応は良い。"]
    assert ja.units(ja_nlp("部屋は綺麗 朝食も美味しい"), split_contrast=True) == ["部屋は綺麗", "朝食も美味しい"]
    assert ja.keywords(ja_nlp("送料無料でした")) == ["送料無料"]


def test_segment_counted_returns_the_truncation_count_beside_the_units():
    """The drivers take the count of cut records as a value, not from ``attrs`` (issue 20, item 8)."""
    import pandas as pd

    from voc.segment import segment, segment_counted

    recs = pd.DataFrame({"voc_id": ["a", "b"], "text": ["One. Two. Three. Four.", "Just one."]})
    units, n_cut = segment_counted(recs, max_units=2)
    assert n_cut == 1 and units["voc_id"].tolist() == ["a", "a", "b"]
    assert units.attrs == {}
    legacy = segment(recs, max_units=2)
    assert legacy.attrs["voc_units_truncated"] == 1 and legacy.equals(units)
