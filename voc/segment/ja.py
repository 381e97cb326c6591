"""Japanese rules: GiNZA (SudachiPy) loading, sentence breaks at spaces, contrast clauses and keyword compounds."""

from __future__ import annotations

import functools
import re

from voc.errors import ModelError
from voc.script import JA_CHAR
from voc.segment.common import doc_units, is_symbol, sentence_spans, split_lines

# --------------------------------------------------------------------------
# pipeline (lazy, cached)
# --------------------------------------------------------------------------

_GINZA_COMPONENTS = [
    "tok2vec", "parser", "ner", "morphologizer", "compound_splitter",
    "bunsetu_recognizer", "attribute_ruler", "transformer",
]


@functools.lru_cache(maxsize=None)
def nlp():
    """ja_ginza with every component excluded, loaded once per process.

    The SudachiPy (split mode C) tokenizer with POS tags, lemmas and
    readings, and no parser.

    Raises
    ------
    ModelError
        If spaCy or the ``ja_ginza`` model cannot be loaded.
    """
    try:
        import spacy

        nlp = spacy.load("ja_ginza", exclude=_GINZA_COMPONENTS)
    except (ImportError, OSError) as exc:
        raise ModelError(
            "Japanese text needs the spaCy model 'ja_ginza', which could not be "
            f"loaded ({exc}). Install it with: pip install ja-ginza"
        ) from exc
    # spaCy's JapaneseTokenizer also computes split-mode A/B sub-tokens for
    # every token; voc never uses them and skipping them is 2.5x faster.
    if hasattr(nlp.tokenizer, "need_subtokens"):
        nlp.tokenizer.need_subtokens = False
    return nlp


def pieces(text: str) -> list[str]:
    """A record's lines for the tokenizer (:func:`voc.segment.common.split_lines`); every line break ends a sentence.

    >>> pieces("部屋は綺麗\\n朝食も美味しい")
    ['部屋は綺麗', '朝食も美味しい']
    """
    return split_lines(text)


# --------------------------------------------------------------------------
# sentences and contrast clauses
# --------------------------------------------------------------------------

def _is_space(text: str) -> bool:
    """A space token (full-width space) ends a sentence and belongs to none."""
    return text.isspace()


def _space_break(doc, i: int) -> bool:
    """A half-width space after token ``i`` between two Japanese words ends a sentence.

    Not when the word before it is a particle or the word after it is a
    particle, auxiliary, symbol or suffix (「部屋は綺麗 朝食も美味しい」,
    but not 「Wi-Fi が 遅い」).
    """
    return (
        i + 1 < len(doc)
        and bool(doc[i].whitespace_)
        and bool(JA_CHAR.search(doc[i].text))
        and bool(JA_CHAR.search(doc[i + 1].text))
        and not doc[i].tag_.startswith("助詞")
        and not doc[i + 1].tag_.startswith(("助詞", "助動詞", "補助記号", "接尾辞"))
    )


_PARTICLES = frozenset({"が", "けど", "けれど", "けれども", "のに"})
_CONJUNCTIONS = frozenset(
    {"しかし", "でも", "けど", "けれど", "けれども", "だが", "ですが", "だけど", "ところが",
     "なのに", "一方", "しかしながら"}
)
_PREDICATE = ("形容詞", "動詞", "助動詞", "形状詞")
_CONTENT = ("名詞", "動詞", "形容詞", "形状詞", "副詞", "感動詞")
_ABSORB = frozenset({"も", "で", "、", "，", ","})
_FILLER = frozenset(
    {"すむ", "済む", "すみません", "すいません", "申し訳", "申し訳無い", "申し訳ない",
     "恐れ入る", "恐縮", "失礼"}
)


def _cuts(doc, start: int, end: int) -> list[int]:
    """Token indices where a contrast clause starts in a Japanese sentence.

    Uses Sudachi's part of speech, so only the conjunctive particle が
    (助詞-接続助詞, 「遅いが良い」) cuts, never the case particle が
    (助詞-格助詞, 「配送が遅い」).
    """
    toks = doc[start:end]
    n = len(toks)
    tags = [t.tag_ for t in toks]
    words = [t.text for t in toks]
    cuts = []

    def after(k: int, absorb=_ABSORB) -> int:
        """Cut after token k, keeping a trailing も/で/読点 on the left."""
        k += 1
        while k < n and words[k] in absorb:
            k += 1
        return k

    def after_predicate(k: int) -> bool:
        return k > 0 and tags[k - 1].startswith(_PREDICATE)

    for k in range(n):
        w, tag = words[k], tags[k]
        nxt = words[k + 1] if k + 1 < n else ""
        if tag.startswith("助詞-接続助詞") and w in _PARTICLES and k > 0:
            cuts.append(after(k, {"も", "、", "，", ","}))
        elif w == "の" and nxt == "に" and after_predicate(k) and not tags[k - 1].startswith("動詞"):
            cuts.append(after(k + 1, {"、", "，", ","}))  # 高いのに / 買ったのに
        elif w == "もの" and nxt == "の" and after_predicate(k):
            cuts.append(after(k + 1, {"、", "，", ","}))  # 良いものの
        elif w == "一方" and after_predicate(k):
            cuts.append(after(k))  # 遠い一方(で)、
        elif k > 0 and (tag.startswith("接続詞") or w == "一方") and w in _CONJUNCTIONS:
            cuts.append(k)  # 、しかし / 、一方
        elif w == "で" and nxt == "も" and k > 0 and tags[k - 1].startswith("補助記号-読点"):
            cuts.append(k)  # 、でも (Sudachi splits でも into で + も)
    return [start + k for k in cuts if 0 < k < n]


def _has_content(doc, a: int, b: int) -> bool:
    return any(
        (t.tag_.startswith(_CONTENT) and t.lemma_ not in _FILLER and t.norm_ not in _FILLER)
        or is_symbol(t.text)
        for t in doc[a:b]
    )


def units(doc, *, split_contrast: bool) -> list[str]:
    """Unit texts of a Japanese doc: sentences (also ended by spaces), cut into contrast clauses.

    「遅いが良い」 -> 「遅いが」, 「良い」: a clause ends after the
    conjunctive particles が / けど / のに, after ~のに, ~ものの and
    ~一方, and before a contrasting conjunction inside a sentence
    (しかし, 、でも, ...); a clause of apologies only (すみません) joins
    its neighbour.
    """
    spans = sentence_spans(doc, is_break=_is_space, breaks_after=_space_break)
    return doc_units(doc, spans, _cuts, _has_content, split_contrast=split_contrast)


# --------------------------------------------------------------------------
# keywords
# --------------------------------------------------------------------------

JA_STOP_WORDS = frozenset(
    """
    する 為る ある 有る いる 居る なる 成る できる 出来る おる 居る いう 言う くる 来る
    こと 事 もの 物 これ それ あれ どれ ここ そこ あそこ この その ため 為 よう 様 さん
    さま ちゃん くん 君 方 かた ほう 的 等 など ところ 所 とき 時 中 うち 前 後 上 下 他 ほか
    今回 今 今日 以上 以下 感じ 自分 私 わたし 僕 皆 全て すべて みんな 人 方々 ない 無い
    ござる 御座る 頂く いただく 下さる くださる くれる もらう 貰う 致す いたす しまう 仕舞う
    みる 思う 思い 気 度 点 回 際 場合 ん の 是非 ぜひ また 又 大変 とても 本当 ほんと
    感ずる 感じる 過ぎる すぎる
    """.split()
)
"""Japanese words never used as keywords (compared to lemma and normalised
form): light verbs, formal nouns, pronouns, honorific suffixes, fillers."""

_KEEP = ("名詞-普通名詞", "名詞-固有名詞", "動詞-一般", "形容詞", "形状詞")
_HONORIFIC = frozenset({"さん", "様", "さま", "ちゃん", "くん", "君", "氏", "殿"})
_KANA_ONLY = re.compile("^[\u3040-\u30ff\u30fc]+$")
_NUMERIC = re.compile(r"^[\d\W_]+$")


_STANDALONE = ("名詞-普通名詞-形状詞可能", "名詞-普通名詞-副詞可能")
_NORMALISED = ("動詞", "形容詞", "形状詞", "名詞-普通名詞-形状詞可能")


def _word(t) -> str:
    """Dictionary form of a token; for predicates Sudachi's normalised
    spelling, so that いい/よい/良い and おいしい/美味しい count as one word."""
    if t.tag_.startswith(_NORMALISED) and t.norm_ and not _NUMERIC.match(t.norm_):
        return t.norm_
    return t.lemma_


def keywords(doc) -> list[str]:
    """Content words of a Japanese doc (see :func:`voc.segment.keyword_tokens`); noun runs become compounds."""
    out: list[str] = []
    run: list[str] = []

    def flush():
        if run:
            out.extend(["".join(run)] if len(run) <= 3 else run)
            run.clear()

    prev_num = False
    for t in doc:
        tag, word = t.tag_, _word(t)
        counter = prev_num and "助数詞" in tag  # 3泊, 1万円
        skip = (
            counter
            or word in JA_STOP_WORDS
            or t.lemma_ in JA_STOP_WORDS
            or bool(_NUMERIC.match(word))
        )
        if tag.startswith(("名詞-普通名詞", "名詞-固有名詞")) and not skip and not tag.startswith(_STANDALONE):
            run.append(word)  # 朝食 + バイキング -> 朝食バイキング
        elif tag.startswith("接尾辞-名詞的") and run and word not in _HONORIFIC:
            run.append(word)  # 清潔 + 感 -> 清潔感
        else:
            flush()  # prefixes お/ご are dropped: お部屋 -> 部屋
            if tag.startswith(_KEEP) and not skip:
                out.append(word)
        prev_num = tag.startswith("名詞-数詞")
    flush()
    return [w for w in out if not (len(w) == 1 and _KANA_ONLY.match(w))]
