"""Language detection, segmentation into units, and keyword tokens.

Three small steps that sit between :func:`voc.io.load_feedback` and the
theme model:

* :func:`detect_language` / :func:`detect_languages` tag each record "en",
  "ja" or "und" from the Unicode scripts of its text (no model, fast).
* :func:`segment` splits records into units: sentences, and clauses where a
  sentence joins contrasting opinions ("late but great", 「遅いが良い」).
* :func:`keyword_tokens` turns units into content-word lemmas for the
  class-based TF-IDF theme labels.

Japanese goes through the SudachiPy tokenizer of the spaCy package
``ja_ginza`` (tokenizer and morphology only: the parser is never run);
English through ``spacy.blank("en")`` plus the lookup lemmatizer table of
``spacy-lookups-data`` when installed. Both pipelines load lazily on first
use and are cached for the life of the process.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Iterable, Sequence

from voc import columns as C
from voc.config import UNITS  # one definition, in voc.config
from voc.errors import ConfigError, InputError, ModelError
from voc.script import JA_CHAR

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

logger = logging.getLogger(__name__)


DETECTED = ("en", "ja", "und")
"""Values :func:`detect_language` returns."""

# --------------------------------------------------------------------------
# Language detection
# --------------------------------------------------------------------------

_JA_CHARS = JA_CHAR  # voc.script: the one definition of Japanese script
_LATIN = re.compile("[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]")
JA_WEIGHT = 4
"""One Japanese character counts as this many Latin letters (a Japanese
character carries about as much as a short English word part)."""


def _as_text(value) -> str:
    """``None``/NaN and other non-strings become "" (NaN) or ``str(value)``."""
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
    text = _as_text(text)
    n_ja = len(_JA_CHARS.findall(text))
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


# --------------------------------------------------------------------------
# Pipelines (lazy, cached)
# --------------------------------------------------------------------------

_GINZA_COMPONENTS = [
    "tok2vec", "parser", "ner", "morphologizer", "compound_splitter",
    "bunsetu_recognizer", "attribute_ruler", "transformer",
]


@functools.lru_cache(maxsize=None)
def _ja_nlp():
    """ja_ginza with every component excluded: SudachiPy (split mode C)
    tokenizer with POS tags, lemmas and readings, and no parser."""
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


@functools.lru_cache(maxsize=None)
def _en_nlp():
    """A blank English pipeline: spaCy's rule-based tokenizer only."""
    import spacy

    return spacy.blank("en")


@functools.lru_cache(maxsize=None)
def _en_lemma_table():
    """spaCy's English lookup-lemma table, or None without spacy-lookups-data."""
    try:
        from spacy.lookups import load_lookups

        return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    except (ImportError, ValueError, KeyError) as exc:  # package not installed
        logger.info("spacy-lookups-data not available (%s); using suffix rules", exc)
        return None


@functools.lru_cache(maxsize=None)
def _en_stop_words() -> frozenset:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _sentence_end_chars() -> frozenset:
    """spaCy Sentencizer's sentence-final characters, plus ｡ and ．."""
    from spacy.pipeline.sentencizer import Sentencizer

    return frozenset(Sentencizer.default_punct_chars) | {"｡", "．"}


_CLOSERS = frozenset(")]}」』）】〕〉》\"'”’")
_TRAIL = " \t\u3000,;:、，；："
_MAX_PIECE = 4000  # characters per tokenizer call (Sudachi rejects ~49 kB)
UNIT_CHAR_BUDGET = 1000
"""With ``segment(max_units=N)`` at most ``N * UNIT_CHAR_BUDGET`` characters of a record are tokenized."""
_HARD_WRAP = re.compile(r"(?<=[a-z,])[ \t]*\r?\n[ \t]*(?=[a-z])")
_LINES = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")


def _is_symbol(text: str) -> bool:
    """Emoji and other pictographs (Unicode So/Sk), and their joiners."""
    return bool(text) and all(
        unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") for c in text
    ) and any(unicodedata.category(c) in ("So", "Sk") for c in text)


def _has_content(text: str) -> bool:
    """True when a unit holds a letter, a digit or an emoji/symbol."""
    return any(c.isalnum() or unicodedata.category(c) == "So" for c in text)


def _pieces(text: str, language: str) -> list[str]:
    """Split a record into lines, each short enough for the tokenizer.

    A line break always ends a sentence, except an English hard wrap (a
    line that ends in a lower-case letter or comma followed by one that
    starts with a lower-case letter), which is joined with a space.
    """
    if language != "ja":
        text = _HARD_WRAP.sub(" ", text)
    out = []
    for line in _LINES.split(text):
        line = line.strip()
        while len(line) > _MAX_PIECE:
            cut = max(line.rfind(c, 0, _MAX_PIECE) for c in "。.!?！？ ")
            cut = cut + 1 if cut > 0 else _MAX_PIECE
            out.append(line[:cut])
            line = line[cut:].strip()
        if line:
            out.append(line)
    return out


def _sentences(doc, language: str) -> list[tuple[int, int]]:
    """Token spans of the sentences of ``doc``.

    A sentence ends after a token made only of sentence-final punctuation
    (spaCy's Sentencizer characters: . ! ? 。 ！ ？ ...); closing brackets,
    more punctuation and emoji right after it stay with it. In Japanese a
    space token (full-width space) also ends a sentence, and so does a
    half-width space between two Japanese words when the word before it is
    not a particle and the word after it is not a particle, auxiliary or
    symbol (「部屋は綺麗 朝食も美味しい」, but not 「Wi-Fi が 遅い」).
    """
    sent_end = _sentence_end_chars()
    toks = [t.text for t in doc]
    ja = language == "ja"
    n = len(toks)
    spans, start, i = [], 0, 0
    while i < n:
        text = toks[i]
        if ja and text.isspace():
            if i > start:
                spans.append((start, i))
            start = i = i + 1
            continue
        if all(c in sent_end for c in text):
            j = i + 1
            while j < n and (
                all(c in sent_end or c in _CLOSERS for c in toks[j]) or _is_symbol(toks[j])
            ):
                j += 1
            spans.append((start, j))
            start = i = j
            continue
        if (
            ja
            and i + 1 < n
            and doc[i].whitespace_
            and _JA_CHARS.search(text)
            and _JA_CHARS.search(toks[i + 1])
            and not doc[i].tag_.startswith("助詞")
            and not doc[i + 1].tag_.startswith(("助詞", "助動詞", "補助記号", "接尾辞"))
        ):
            spans.append((start, i + 1))
            start = i + 1
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


def _clauses(doc, start: int, end: int, cuts: Sequence[int], has_content) -> list[str]:
    """Cut tokens [start, end) at ``cuts``; merge clauses without content
    into their neighbour (the previous one, or the next for the first)."""
    bounds = [start, *sorted(c for c in set(cuts) if start < c < end), end]
    parts = [[bounds[k], bounds[k + 1]] for k in range(len(bounds) - 1)]
    merged: list[list[int]] = []
    carry = None
    for part in parts:
        if carry is not None:
            part[0], carry = carry, None
        if has_content(doc, part[0], part[1]):
            merged.append(part)
        elif merged:
            merged[-1][1] = part[1]
        else:
            carry = part[0]
    if carry is not None:  # nothing had content: keep the sentence whole
        merged.append([carry, end])
    return [doc[a:b].text for a, b in merged]


def _clean(unit: str) -> str:
    return unit.strip().rstrip(_TRAIL).strip()


_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_WORD = re.compile(r"[^\W\d_]{2,}|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _is_fragment(unit: str) -> bool:
    """A unit without a word: emoji, emoticons (":D"), URLs, "5/5"."""
    return not _WORD.search(_URL.sub(" ", unit))


def _merge_fragments(units: list[str]) -> list[str]:
    """Append each wordless unit to the previous unit of its record (to the
    next one when it comes first); a record with only fragments keeps them
    as one unit."""
    out: list[str] = []
    pending: list[str] = []
    for u in units:
        if _is_fragment(u):
            if out:
                out[-1] = f"{out[-1]} {u}"
            else:
                pending.append(u)
        else:
            out.append(" ".join([*pending, u]))
            pending = []
    if pending:
        out.append(" ".join(pending))
    return out


# --------------------------------------------------------------------------
# English clauses
# --------------------------------------------------------------------------

_EN_LEADING = frozenset({"although", "though", "while", "whereas"})
_EN_NOT_BUT = frozenset({"nothing", "anything", "everything", "all", "none", "last", "anyone"})
_EN_CONNECTORS = frozenset(
    {"but", "however", "although", "though", "yet", "whereas", "while", "even", "and"}
)


def _en_cuts(doc, start: int, end: int) -> list[int]:
    """Token indices where a contrast clause starts in an English sentence."""
    low = [t.lower_ for t in doc[start:end]]
    n = len(low)
    cuts = []
    first = next((k for k in range(n) if doc[start + k].is_alpha), n)
    if first < n and (
        low[first] in _EN_LEADING or (low[first] == "even" and first + 1 < n and low[first + 1] == "though")
    ):
        # "Although X, Y": the subordinate clause ends at its first comma.
        comma = next((k for k in range(first + 1, n) if low[k] == ","), None)
        if comma is not None:
            cuts.append(comma + 1)
    for k in range(first + 1, n):
        w, prev = low[k], low[k - 1]
        nxt = low[k + 1] if k + 1 < n else ""
        if w == "but":
            if prev not in _EN_NOT_BUT and nxt != "also":
                cuts.append(k)
        elif w in ("although", "whereas"):
            cuts.append(k)
        elif w == "though":
            if prev == "even":
                cuts.append(k - 1)
            elif prev != "as":
                cuts.append(k)
        elif w == "however":
            if doc[start + k - 1].is_punct:
                cuts.append(k)
        elif w in ("while", "yet"):
            if prev in (",", ";", "-", "—"):
                cuts.append(k)
            elif w == "yet" and prev == "and" and k >= 2 and low[k - 2] in (",", ";"):
                cuts.append(k - 1)
    return [start + k for k in cuts]


def _en_has_content(doc, a: int, b: int) -> bool:
    return any(
        (t.is_alpha and t.lower_ not in _EN_CONNECTORS) or t.like_num or _is_symbol(t.text)
        for t in doc[a:b]
    )


# --------------------------------------------------------------------------
# Japanese clauses
# --------------------------------------------------------------------------

_JA_PARTICLES = frozenset({"が", "けど", "けれど", "けれども", "のに"})
_JA_CONJUNCTIONS = frozenset(
    {"しかし", "でも", "けど", "けれど", "けれども", "だが", "ですが", "だけど", "ところが",
     "なのに", "一方", "しかしながら"}
)
_JA_PREDICATE = ("形容詞", "動詞", "助動詞", "形状詞")
_JA_CONTENT = ("名詞", "動詞", "形容詞", "形状詞", "副詞", "感動詞")
_JA_ABSORB = frozenset({"も", "で", "、", "，", ","})
_JA_FILLER = frozenset(
    {"すむ", "済む", "すみません", "すいません", "申し訳", "申し訳無い", "申し訳ない",
     "恐れ入る", "恐縮", "失礼"}
)


def _ja_cuts(doc, start: int, end: int) -> list[int]:
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

    def after(k: int, absorb=_JA_ABSORB) -> int:
        """Cut after token k, keeping a trailing も/で/読点 on the left."""
        k += 1
        while k < n and words[k] in absorb:
            k += 1
        return k

    def after_predicate(k: int) -> bool:
        return k > 0 and tags[k - 1].startswith(_JA_PREDICATE)

    for k in range(n):
        w, tag = words[k], tags[k]
        nxt = words[k + 1] if k + 1 < n else ""
        if tag.startswith("助詞-接続助詞") and w in _JA_PARTICLES and k > 0:
            cuts.append(after(k, {"も", "、", "，", ","}))
        elif w == "の" and nxt == "に" and after_predicate(k) and not tags[k - 1].startswith("動詞"):
            cuts.append(after(k + 1, {"、", "，", ","}))  # 高いのに / 買ったのに
        elif w == "もの" and nxt == "の" and after_predicate(k):
            cuts.append(after(k + 1, {"、", "，", ","}))  # 良いものの
        elif w == "一方" and after_predicate(k):
            cuts.append(after(k))  # 遠い一方(で)、
        elif k > 0 and (tag.startswith("接続詞") or w == "一方") and w in _JA_CONJUNCTIONS:
            cuts.append(k)  # 、しかし / 、一方
        elif w == "で" and nxt == "も" and k > 0 and tags[k - 1].startswith("補助記号-読点"):
            cuts.append(k)  # 、でも (Sudachi splits でも into で + も)
    return [start + k for k in cuts if 0 < k < n]


def _ja_has_content(doc, a: int, b: int) -> bool:
    return any(
        (t.tag_.startswith(_JA_CONTENT) and t.lemma_ not in _JA_FILLER and t.norm_ not in _JA_FILLER)
        or _is_symbol(t.text)
        for t in doc[a:b]
    )


# --------------------------------------------------------------------------
# segment
# --------------------------------------------------------------------------

def _record_languages(records) -> list[str]:
    texts = records[C.TEXT]
    if C.LANGUAGE not in records.columns:
        return detect_languages(texts)
    out = []
    for text, lang in zip(texts, records[C.LANGUAGE]):
        lang = _as_text(lang)
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


def _units_of_doc(doc, language: str, split_contrast: bool) -> list[str]:
    cuts_of, content = (_ja_cuts, _ja_has_content) if language == "ja" else (_en_cuts, _en_has_content)
    units = []
    for a, b in _sentences(doc, language):
        cuts = cuts_of(doc, a, b) if split_contrast else []
        units.extend(_clauses(doc, a, b, cuts, content))
    return units


def segment(
    records: "pd.DataFrame",
    *,
    unit: str = "sentence",
    split_contrast: bool = True,
    batch_size: int = 512,
    max_units: int | None = None,
) -> "pd.DataFrame":
    """Split records into units (sentences and contrast clauses, or records).

    Parameters
    ----------
    records : pandas.DataFrame
        Needs columns ``voc_id`` and ``text``; an optional ``language``
        column ("en", "ja", "und"; empty cells are detected) chooses the
        pipeline, otherwise :func:`detect_language` does.
    unit : {"sentence", "record"}, default "sentence"
        "record": one unit per record with text. "sentence": one unit per
        sentence, and one per clause where a sentence joins contrasting
        opinions ("late but great" -> "late", "but great";
        「遅いが良い」 -> 「遅いが」, 「良い」).
    split_contrast : bool, default True
        With ``unit="sentence"``, also cut sentences into contrast clauses.
    batch_size : int, default 512
        Texts per ``nlp.pipe`` batch.
    max_units : int or None, default None
        With ``unit="sentence"``, keep at most this many units of one record
        (its first ones), and tokenize at most ``max_units`` pieces (lines)
        and about ``max_units * UNIT_CHAR_BUDGET`` characters of it, so one
        outsized record costs bounded time. The number of records cut is
        ``result.attrs["voc_units_truncated"]``. ``None``: no bound.

    Returns
    -------
    pandas.DataFrame
        One row per unit with columns ``voc_id`` (str), ``unit`` (int,
        0-based position within the record), ``text`` (str) and
        ``language`` ("en", "ja" or "und"). Records without text give no
        rows; units without a letter, digit or emoji are dropped.

    Notes
    -----
    The unit's language is detected on the unit itself, so a Japanese
    sentence inside an English record is tagged "ja"; units with no letters
    (e.g. only emoji) keep their record's language. A record is tokenized
    with the Japanese pipeline when its language is "ja", with the English
    one otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"voc_id": ["a"], "text": ["Late but great. Will buy again!"]})
    >>> segment(df)["text"].tolist()
    ['Late', 'but great.', 'Will buy again!']
    """
    import pandas as pd

    if unit not in UNITS:
        raise ConfigError(
            f"unit must be one of {', '.join(map(repr, UNITS))}; got {unit!r}. "
            "Use unit='sentence' (default) or unit='record'."
        )
    missing = [c for c in (C.VOC_ID, C.TEXT) if c not in records.columns]
    if missing:
        raise InputError(
            f"segment() needs the columns 'voc_id' and 'text'; missing: {', '.join(missing)}. "
            "Load the data with voc.io.load_feedback() or rename the columns."
        )
    ids = [_as_text(v) for v in records[C.VOC_ID]]
    texts = [_as_text(t) for t in records[C.TEXT]]
    langs = _record_languages(records)

    if max_units is not None and not (isinstance(max_units, int) and not isinstance(max_units, bool)
                                      and max_units >= 1):
        raise ConfigError(f"max_units must be a positive integer or None. Got {max_units!r}.")
    bounded = max_units is not None and unit == "sentence"
    cut = [False] * len(texts)
    rows_id, rows_unit, rows_text, rows_lang = [], [], [], []

    def emit(i: int, units: Iterable[str]) -> None:
        kept = _merge_fragments([u for u in map(_clean, units) if _has_content(u)])
        if bounded and len(kept) > max_units:
            kept, cut[i] = kept[:max_units], True
        for pos, u in enumerate(kept):
            own = detect_language(u) if unit == "sentence" else langs[i]
            rows_id.append(ids[i])
            rows_unit.append(pos)
            rows_text.append(u)
            rows_lang.append(own if own != "und" else langs[i])

    if unit == "record":
        for i, text in enumerate(texts):
            emit(i, [text])
    else:
        per_record: list[list[str]] = [[] for _ in texts]
        for lang, nlp_of in (("ja", _ja_nlp), ("en", _en_nlp)):
            owners, pieces = [], []
            for i, text in enumerate(texts):
                if (langs[i] == "ja") == (lang == "ja") and text.strip():
                    fed = 0
                    for n, piece in enumerate(_pieces(text, lang)):
                        if bounded and (n >= max_units or fed >= max_units * UNIT_CHAR_BUDGET):
                            cut[i] = True  # the rest of an outsized record is not tokenized
                            break
                        fed += len(piece)
                        owners.append(i)
                        pieces.append(piece)
            if not pieces:
                continue
            nlp = nlp_of()
            for i, doc in zip(owners, nlp.pipe(pieces, batch_size=batch_size)):
                per_record[i].extend(_units_of_doc(doc, lang, split_contrast))
        for i, units in enumerate(per_record):
            emit(i, units)

    out = pd.DataFrame(
        {
            C.VOC_ID: pd.Series(rows_id, dtype=object),
            C.UNIT: pd.Series(rows_unit, dtype="int64"),
            C.TEXT: pd.Series(rows_text, dtype=object),
            C.LANGUAGE: pd.Series(rows_lang, dtype=object),
        }
    )
    out.attrs["voc_units_truncated"] = int(sum(cut))
    return out


# --------------------------------------------------------------------------
# keyword_tokens
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

_JA_KEEP = ("名詞-普通名詞", "名詞-固有名詞", "動詞-一般", "形容詞", "形状詞")
_JA_HONORIFIC = frozenset({"さん", "様", "さま", "ちゃん", "くん", "君", "氏", "殿"})
_KANA_ONLY = re.compile("^[\u3040-\u30ff\u30fc]+$")
_NUMERIC = re.compile(r"^[\d\W_]+$")


_JA_STANDALONE = ("名詞-普通名詞-形状詞可能", "名詞-普通名詞-副詞可能")
_JA_NORMALISED = ("動詞", "形容詞", "形状詞", "名詞-普通名詞-形状詞可能")


def _ja_word(t) -> str:
    """Dictionary form of a token; for predicates Sudachi's normalised
    spelling, so that いい/よい/良い and おいしい/美味しい count as one word."""
    if t.tag_.startswith(_JA_NORMALISED) and t.norm_ and not _NUMERIC.match(t.norm_):
        return t.norm_
    return t.lemma_


def _ja_keywords(doc) -> list[str]:
    """Content words of a Japanese doc; noun runs become compounds."""
    out: list[str] = []
    run: list[str] = []

    def flush():
        if run:
            out.extend(["".join(run)] if len(run) <= 3 else run)
            run.clear()

    prev_num = False
    for t in doc:
        tag, word = t.tag_, _ja_word(t)
        counter = prev_num and "助数詞" in tag  # 3泊, 1万円
        skip = (
            counter
            or word in JA_STOP_WORDS
            or t.lemma_ in JA_STOP_WORDS
            or bool(_NUMERIC.match(word))
        )
        if tag.startswith(("名詞-普通名詞", "名詞-固有名詞")) and not skip and not tag.startswith(_JA_STANDALONE):
            run.append(word)  # 朝食 + バイキング -> 朝食バイキング
        elif tag.startswith("接尾辞-名詞的") and run and word not in _JA_HONORIFIC:
            run.append(word)  # 清潔 + 感 -> 清潔感
        else:
            flush()  # prefixes お/ご are dropped: お部屋 -> 部屋
            if tag.startswith(_JA_KEEP) and not skip:
                out.append(word)
        prev_num = tag.startswith("名詞-数詞")
    flush()
    return [w for w in out if not (len(w) == 1 and _KANA_ONLY.match(w))]


_EN_SUFFIX_RULES = (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"))


def _en_rule_lemma(word: str) -> str:
    """Tiny plural stripper used when spacy-lookups-data is not installed."""
    for suffix, repl in _EN_SUFFIX_RULES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _en_keywords(doc, table, stop) -> list[str]:
    out = []
    for t in doc:
        if not t.is_alpha:
            continue
        low = t.lower_
        if len(low) < 3 or low in stop:
            continue
        lemma = (table.get(low, low) if table is not None else _en_rule_lemma(low)).lower()
        if len(lemma) >= 3 and lemma not in stop:
            out.append(lemma)
    return out


_HANDLE = re.compile(r"(?<![\w@])@\w+")
_MODEL_URL = re.compile(r"(?:https?://|www\.)\S+")
_SPACES = re.compile(r"\s+")


def model_text(text: str) -> str:
    """The text a model sees: ``@handles`` and URLs removed, ``#`` of hashtags dropped.

    Social posts start with the brand's handle (``@SouthwestAir``) and carry
    links; left in, they pull every post to the same brand cluster instead of
    its topic. The mention's own text (quotes, outputs) is never changed.

    >>> model_text("@shop_help my parcel is late #fail https://t.co/x1")
    'my parcel is late fail'
    """
    original = _as_text(text)
    stripped = _MODEL_URL.sub(" ", _HANDLE.sub(" ", original)).replace("#", " ").replace("＃", " ")
    return _SPACES.sub(" ", stripped).strip() or original.strip()


def keyword_tokens(
    texts: Sequence[str], languages: Sequence[str], *, batch_size: int = 512
) -> list[list[str]]:
    """Content-word lemmas of each text, for class-based TF-IDF labels.

    Japanese (language "ja", or any text containing kana/kanji): Sudachi
    dictionary forms of nouns, proper nouns, verbs (動詞-一般), adjectives
    and adjectival nouns (形状詞), with predicates in Sudachi's normalised
    spelling (いい -> 良い, おいしい -> 美味しい); particles, auxiliaries,
    symbols, numbers, counters after numbers, single-kana tokens, the
    prefixes お/ご and :data:`JA_STOP_WORDS` are dropped; a run of nouns
    (plus noun suffixes such as 料, 感) is joined into one compound
    (送料 + 無料 -> 送料無料) when it has at most 3 parts.
    English: lower-cased lookup lemmas (spaCy's table from
    spacy-lookups-data, else a plural-stripping rule) of alphabetic tokens
    of 3+ letters that are not spaCy English stop words.

    Parameters
    ----------
    texts : sequence of str
        Unit texts.
    languages : sequence of str
        One language per text ("en", "ja", "und").
    batch_size : int, default 512
        Texts per ``nlp.pipe`` batch.

    Returns
    -------
    list of list of str
        Keywords per text, in text order (duplicates kept).

    Examples
    --------
    >>> keyword_tokens(["Deliveries were late"], ["en"])
    [['delivery', 'late']]
    """
    return _parse_units(texts, languages, batch_size=batch_size, phrases=False)[0]


def keyword_tokens_and_phrases(
    texts: Sequence[str], languages: Sequence[str], *, batch_size: int = 512
) -> tuple[list[list[str]], list[list[tuple[str, str]]]]:
    """Keyword tokens and candidate label phrases of each text, from one parse.

    The tokens are those of :func:`keyword_tokens`; the phrases are
    :func:`voc.themes.labels.doc_phrases` of the same spaCy docs, so adding
    phrase labels parses no unit a second time.

    Returns
    -------
    tokens : list of list of str
        As :func:`keyword_tokens`.
    phrases : list of list of (str, str)
        Candidate ``(text, key)`` phrases per text (duplicates kept).

    Examples
    --------
    >>> tokens, phrases = keyword_tokens_and_phrases(["The promo code was rejected"], ["en"])
    >>> ("promo code was rejected", "promo code reject") in phrases[0]
    True
    """
    return _parse_units(texts, languages, batch_size=batch_size, phrases=True)


def _parse_units(texts, languages, *, batch_size: int, phrases: bool):
    """Parse every text once; keyword tokens and (optionally) phrases per text."""
    texts = [_as_text(t) for t in texts]
    languages = [_as_text(x) for x in languages]
    if len(texts) != len(languages):
        raise InputError(
            f"keyword_tokens() got {len(texts)} texts but {len(languages)} languages; "
            "pass one language per text."
        )
    if phrases:
        from voc.themes.labels import doc_phrases
    out: list[list[str]] = [[] for _ in texts]
    cands: list[list[tuple[str, str]]] = [[] for _ in texts]
    ja_idx = [i for i, t in enumerate(texts) if t.strip() and (languages[i] == "ja" or _JA_CHARS.search(t))]
    ja_set = set(ja_idx)
    en_idx = [i for i, t in enumerate(texts) if t.strip() and i not in ja_set]
    for idx, lang in ((ja_idx, "ja"), (en_idx, "en")):
        if not idx:
            continue
        owners, pieces = [], []
        for i in idx:
            for piece in _pieces(texts[i], lang):
                owners.append(i)
                pieces.append(piece)
        if lang == "ja":
            docs = _ja_nlp().pipe(pieces, batch_size=batch_size)
            for i, doc in zip(owners, docs):
                out[i].extend(_ja_keywords(doc))
                if phrases:
                    cands[i].extend(doc_phrases(doc, "ja"))
        else:
            table, stop = _en_lemma_table(), _en_stop_words()
            docs = _en_nlp().pipe(pieces, batch_size=batch_size)
            for i, doc in zip(owners, docs):
                out[i].extend(_en_keywords(doc, table, stop))
                if phrases:
                    cands[i].extend(doc_phrases(doc, "en", table=table, stop=stop))
    return out, cands
