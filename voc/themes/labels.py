"""Phrase labels: candidate phrases of a mention, and the label of a theme.

Two halves (see ``docs/themes.md``, "Labels"):

* :func:`doc_phrases` turns the spaCy doc of one unit (the doc
  :func:`voc.segment.keyword_tokens_and_phrases` already makes for the
  keyword tokens, so nothing is parsed twice) into candidate phrases, each a
  ``(text, key)`` pair: ``text`` is the lower-cased span as written (or, in
  Japanese, with the predicate in dictionary form) and ``key`` the lemma
  sequence that groups its spellings ("promo code was rejected" and "promo
  codes rejected" share the key "promo code reject").
* :func:`phrase_labels` weights candidates by class-based TF-IDF per theme
  (:func:`c_tf_idf`) and picks each theme's label from a theme x
  phrase count matrix. Rows can be sums of leaf themes (topics), so the same
  function labels any grouping of themes.

English units come from spaCy's rule-based tokenizer (voc ships no English
tagger or parser): a candidate is a 2-6 word span inside one clause that
starts with a content word, a negation ("no reply") or a preposition ("on
hold for an hour") and ends with a content word; spans that cross
punctuation or a clause word (and, but, because, which, ...) are never
candidates. That covers noun chunks without their determiners ("the promo
code" -> "promo code"), adjective + noun ("late delivery"), compound nouns,
noun + verb ("app crashes", "promo code rejected") and verb + object
("lost my bag"). Japanese units come from SudachiPy's part-of-speech tags
(GiNZA's tokenizer): tokens are grouped into bunsetsu (a run of content
words plus the particles and auxiliaries after it) and a candidate is a pair
of neighbouring bunsetsu: noun + の + noun 「配送の遅れ」, subject or object +
predicate in dictionary form 「アプリが落ちる」「返事がない」, adjective + noun
「丁寧な対応」, or a noun compound 「送料無料」.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ..script import JA_CHAR

MIN_WORDS, MAX_WORDS = 2, 6
"""An English candidate has 2-6 words."""
MIN_JA_CHARS, MAX_JA_CHARS = 3, 15
"""A Japanese candidate has 3-15 characters."""
MIXED_SHARE = 0.2
"""A theme is mixed (label "english / 日本語") when each of English and
Japanese carries at least this share of its candidate phrases."""
TOP_PER_THEME = 150
"""Phrase columns kept per theme when a model stores its counts."""

_JA_WORD = re.compile(r"[^\W_]")
_JA_CHAR = JA_CHAR  # voc.script: the one definition of Japanese script

# ----------------------------------------------------------------- English
_EN_BOUNDARY = frozenset(
    """and but or nor so because cause cuz since when whenever while although though if
    unless which who whom whose where then than that whereas however yet as""".split()
)
_EN_NEGATION = frozenset({"no", "not", "never", "n't", "without", "nothing", "nobody"})
_EN_PREPOSITION = frozenset(
    """on for in at of to with from after before over about by into until during through
    within per""".split()
)
_EN_PARTICLE_END = frozenset({"up", "down", "out", "off", "back"})
_EN_LEAD_DROP = frozenset("a an the my our i we".split())
_EN_START_PREP = frozenset({"on", "without"})
"""The prepositions a phrase may start with ("on hold for an hour"); "to
san diego" or "to change my flight" read better from their content word."""
_EN_OBJECT_END = frozenset({"it", "you", "me", "us", "them"})
"""Object pronouns that may end a phrase ("thank you", "fix it")."""
_EN_FILLER = frozenset(
    """super totally extremely absolutely completely literally honestly actually basically
    lot lots guys folks ugh hmm meh lol psa hi hello hey morning btw fyi ok okay oh wow yeah
    yes""".split()
)
_EN_CONTENT_STOP = frozenset({"call", "get", "give", "make", "made", "take", "show", "well", "empty",
                              "keep", "see", "move", "put", "done", "find", "fill"})
"""spaCy stop words that are content words in feedback ("call back", "take forever")."""
_EN_KEY_DROP = frozenset(
    """a an the this that these those my your our their his her its i you we they he she it me
    us them be am is are was were been being have has had having do does did will would shall
    should can could may might must 's very really so just too quite pretty super also even
    still again always ever already literally totally extremely absolutely completely""".split()
)
"""Words left out of an English phrase's key (determiners, pronouns,
auxiliaries, intensifiers): "the promo code was rejected" -> "promo code reject"."""


def c_tf_idf(counts: np.ndarray) -> np.ndarray:
    """Class-based TF-IDF (BERTopic's c-TF-IDF) of a class x term count matrix.

    ``score(w, c) = tf(w, c) * log(1 + A / f(w))`` with ``tf`` the term count
    divided by the class's total count, ``A`` the mean number of words per
    class and ``f(w)`` the count of ``w`` over all classes.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    freq = counts.sum(axis=0)
    avg = counts.sum() / max(len(counts), 1)
    idf = np.log1p(np.divide(avg, freq, out=np.zeros_like(freq), where=freq > 0))
    return tf * idf


def _en_kind(t, stop) -> str:
    """"c" content, "n" negation, "p" preposition, "e" particle that may end a
    phrase, "f" other word allowed inside, "b" boundary."""
    low = t.lower_
    if low == "n't":
        return "n"
    if not (t.is_alpha or t.like_num or (low.replace("'", "").isalpha() and "'" in low)):
        return "f" if low in ("-", "'", "’", "&", "/") else "b"
    if low in _EN_BOUNDARY:
        return "b"
    if low in _EN_NEGATION:
        return "n"
    if low in _EN_PREPOSITION:
        return "p"
    if low in _EN_PARTICLE_END or low in _EN_OBJECT_END:
        return "e"
    if t.like_num or len(low) < 2 or low in _EN_FILLER or (low in stop and low not in _EN_CONTENT_STOP):
        return "f"
    return "c"


def en_phrases(doc, table, stop) -> list[tuple[str, str]]:
    """Candidate phrases of an English doc from spaCy's tokenizer (see module doc)."""
    kinds = [_en_kind(t, stop) for t in doc]
    lows = [t.lower_ for t in doc]
    ws = [t.text_with_ws.lower() for t in doc]
    is_word = [t.is_alpha or t.like_num or k == "n" for t, k in zip(doc, kinds)]
    lemmas = ["not" if low == "n't" else (table.get(low, low) if table is not None else low).lower()
              for low in lows]
    piece = [lem if w and lem not in _EN_KEY_DROP else None for lem, w in zip(lemmas, is_word)]
    out: list[tuple[str, str]] = []
    n = len(lows)
    for i in range(n):
        if kinds[i] not in "cnp" or (kinds[i] == "p" and lows[i] not in _EN_START_PREP):
            continue
        # "n't" starts with its auxiliary: "doesn't work", not "n't work"
        start = i - 1 if lows[i] == "n't" and i > 0 else i
        words = content = 0
        for j in range(i, n):
            k = kinds[j]
            if k == "b":
                break
            words += is_word[j]
            content += k == "c"
            if words > MAX_WORDS:
                break
            if words < MIN_WORDS or k not in "ce":
                continue
            if content >= 2 or (content == 1 and (kinds[i] == "n" or lows[j] in _EN_OBJECT_END)):
                text = ("".join(ws[start:j]) + lows[j])
                out.append((text, " ".join(p for p in piece[i : j + 1] if p)))
    # a short unit is a candidate as a whole ("love it", "keep it up", "very disappointed")
    words = [j for j in range(n) if is_word[j] and (doc[j].is_alpha or kinds[j] == "n")]
    while words and (lows[words[0]] in _EN_FILLER or lows[words[0]] in _EN_LEAD_DROP):
        words.pop(0)
    if (MIN_WORDS <= len(words) <= MAX_WORDS and "c" in {kinds[j] for j in words}
            and all(kinds[j] != "b" for j in range(words[0] + 1, words[-1] + 1))):
        a, b = words[0], words[-1]
        text = "".join(ws[a:b]) + lows[b]
        key = " ".join(lemmas[j] for j in range(a, b + 1)
                       if lemmas[j] not in _EN_KEY_DROP and (doc[j].is_alpha or kinds[j] == "n"))
        if not any(text == t for t, _ in out):
            out.append((text, key or text))
    return out


# ---------------------------------------------------------------- Japanese
_JA_CONTENT = ("名詞", "代名詞", "動詞", "形容詞", "形状詞", "副詞", "連体詞", "接頭辞")
_JA_NOUN = ("名詞-普通名詞", "名詞-固有名詞")
_JA_PREDICATE = ("動詞", "形容詞", "形状詞", "名詞-普通名詞-サ変可能", "名詞-普通名詞-形状詞可能")
_JA_TRAIL = frozenset({"た", "だ", "ます", "です", "て", "で", "ね", "よ", "な", "の", "か", "けど", "が",
                       "し", "から", "ので", "わ", "ぞ", "ば", "たり", "ながら", "ちゃう", "じゃう"})
_JA_SUBJECT = frozenset({"が", "は", "も", "を", "に"})
_JA_NEG = frozenset({"ない", "無い", "ぬ", "ず", "ん"})
_JA_ASPECT = frozenset({"いる", "居る", "おる", "居る", "ある", "有る", "しまう", "仕舞う"})
_JA_POLITE = frozenset({"下さる", "くださる", "頂く", "いただく"})


def _ja_bunsetsu(doc) -> list[list]:
    """Group tokens into bunsetsu: a content run (suffixes, auxiliaries and
    non-independent words such as される attach to it) plus the particles
    after it. A new bunsetsu starts at a content word after a particle or an
    auxiliary, after a verb or adjective, or after a run without content;
    symbols end one."""
    out: list[list] = []
    cur: list = []
    closed = True  # the current bunsetsu takes no more content words
    for t in doc:
        tag = t.tag_
        if tag.startswith(("補助記号", "空白", "記号")) or t.is_space or not _JA_WORD.search(t.text):
            if cur:
                out.append(cur)
            cur, closed = [], True
            continue
        content = tag.startswith(_JA_CONTENT)
        after_te = bool(cur) and cur[-1].text in ("て", "で") and tag.startswith("動詞")
        attached = tag.startswith(("接尾辞", "助動詞")) or ("非自立可能" in tag and cur and (not closed or after_te))
        if content and not attached and (closed or tag.startswith(("接頭辞", "副詞", "連体詞"))
                                         or cur[-1].tag_.startswith(("動詞", "形容詞"))):
            if cur:
                out.append(cur)
            cur, closed = [t], False
        else:
            cur.append(t)
            if tag.startswith(("助詞", "助動詞")) or not (content or attached):
                closed = True
    if cur:
        out.append(cur)
    return out


def _ja_content(b: list) -> list:
    """The content part of a bunsetsu: its tokens before the first particle."""
    for k, t in enumerate(b):
        if t.tag_.startswith("助詞"):
            return b[:k]
    return b


def _ja_predicate(b: list) -> str:
    """A predicate bunsetsu in dictionary form: 落ちます -> 落ちる,
    届かなかった -> 届かない, 拒否された -> 拒否される."""
    toks = list(b)
    while toks and (toks[-1].text in _JA_TRAIL or toks[-1].lemma_ in ("た", "ます", "です", "だ")
                    or toks[-1].tag_.startswith("助詞")):
        toks.pop()
    while len(toks) > 2 and toks[-1].lemma_ in _JA_ASPECT and toks[-2].text in ("て", "で"):
        toks = toks[:-2]  # 固まっている -> 固まる, なっております -> なる
    if not toks:
        return ""
    last = toks[-1]
    if last.lemma_ in _JA_POLITE or (len(toks) == 2 and toks[0].tag_.startswith("接頭辞")):
        return "".join(t.text for t in toks)  # 確認してください, お願い
    tail = "ない" if last.lemma_ in _JA_NEG else last.lemma_
    return "".join(t.text for t in toks[:-1]) + tail


def _is_noun(t) -> bool:
    return t.tag_.startswith(_JA_NOUN) or t.tag_.startswith("接尾辞-名詞的")


def _is_predicate(t) -> bool:
    tag = t.tag_
    return tag.startswith(("動詞", "形容詞", "形状詞")) or (tag.startswith("名詞") and ("サ変" in tag or "形状詞可能" in tag))


def _core(b: list) -> list:
    """Content part of a bunsetsu without its prefixes and trailing auxiliaries."""
    c = _ja_content(b)
    while c and c[-1].tag_.startswith("助動詞"):
        c = c[:-1]
    return [t for t in c if not t.tag_.startswith("接頭辞")]


def ja_phrases(doc) -> list[tuple[str, str]]:
    """Candidate phrases of a Japanese doc from Sudachi tags (see module doc)."""
    bs = _ja_bunsetsu(doc)
    out: list[str] = []
    for a, b in zip(bs, bs[1:]):
        ca, cb = _ja_content(a), _core(b)
        if not ca or not cb:
            continue
        particles = [t.text for t in a[len(ca):]]
        noun_a = all(_is_noun(t) or t.tag_.startswith("接頭辞") for t in ca) and _is_noun(ca[-1])
        noun_b = all(_is_noun(t) for t in cb)
        text_a = "".join(t.text for t in ca)
        text_b = "".join(t.text for t in _ja_content(b) if not t.tag_.startswith("助動詞"))
        if noun_a and particles == ["の"] and noun_b:
            out.append(text_a + "の" + text_b)  # 配送の遅れ
        elif noun_a and len(particles) == 1 and particles[0] in _JA_SUBJECT and _is_predicate(cb[0]):
            pred = _ja_predicate(b)
            argument = noun_b and len(_ja_content(b)) < len(b)  # a noun + particle is no predicate
            if pred and not argument and not (noun_b and not _is_predicate(cb[-1])):
                out.append(text_a + particles[0] + pred)  # アプリが落ちる
        elif not particles and noun_b and (
            ca[-1].tag_.startswith("形容詞") or (_is_predicate(ca[0]) and not ca[0].tag_.startswith("動詞")
                                                  and a[-1].text == "な")
        ):
            out.append("".join(t.text for t in a) + text_b)  # 丁寧な対応
    for b in bs:
        c = _ja_content(b)
        nouns = [t for t in c if not t.tag_.startswith("接頭辞")]
        if len(nouns) >= 2 and all(_is_noun(t) for t in nouns):
            out.append("".join(t.text for t in nouns))  # 送料無料
    if 1 <= len(bs) <= 3:  # a short unit as a whole: 2回目の購入です -> 2回目の購入
        whole = "".join(t.text for b in bs[:-1] for t in b) + _ja_predicate(bs[-1])
        if len(whole) < MIN_JA_CHARS:  # 最高です stays 最高です, not 最高
            last = [t for t in bs[-1] if not t.tag_.startswith("助詞-終助詞")]
            whole = "".join(t.text for b in bs[:-1] for t in b) + "".join(t.text for t in last)
        if whole not in out:
            out.append(whole)
    return [(p, p) for p in out if MIN_JA_CHARS <= len(p) <= MAX_JA_CHARS]


def doc_phrases(doc, language: str, *, table=None, stop=frozenset()) -> list[tuple[str, str]]:
    """Candidate ``(text, key)`` phrases of one parsed unit, in its language."""
    return ja_phrases(doc) if language == "ja" else en_phrases(doc, table, stop)


# ----------------------------------------------------------------- counting
def phrase_counts(phrases: Sequence[Sequence], labels: np.ndarray, k: int,
                  negative: np.ndarray | None = None):
    """Theme x phrase counts: ``(texts, keys, counts, negative_counts)``.

    ``counts[t, j]`` is the number of mentions of theme ``t`` (row ``k``:
    noise) that contain phrase ``j``; ``negative_counts`` the same over
    negative mentions. Columns are kept when they are among the
    :data:`TOP_PER_THEME` most frequent of some theme.
    """
    keys: dict[str, str] = {}
    for cands in phrases:
        for text, key in map(_pair, cands):
            keys.setdefault(text, key)
    texts = sorted(keys)
    index = {p: j for j, p in enumerate(texts)}
    counts = np.zeros((k + 1, len(texts)), dtype=np.int64)
    neg = np.zeros_like(counts)
    for m, (cands, lab) in enumerate(zip(phrases, labels)):
        row = lab if lab >= 0 else k
        cols = sorted({index[_pair(c)[0]] for c in cands})
        counts[row, cols] += 1
        if negative is not None and negative[m]:
            neg[row, cols] += 1
    keep = np.zeros(len(texts), dtype=bool)
    for t in range(k):
        present = np.flatnonzero(counts[t])
        top = present[np.argsort(-counts[t, present], kind="stable")[:TOP_PER_THEME]]
        keep[top] = True
    cols = np.flatnonzero(keep)
    return [texts[j] for j in cols], [keys[texts[j]] for j in cols], counts[:, cols], neg[:, cols]


def _pair(c) -> tuple[str, str]:
    return (c, c) if isinstance(c, str) else (str(c[0]), str(c[1]))


def union_columns(a_texts, a_keys, b_texts, b_keys):
    """Merged sorted columns of two phrase vocabularies and where each old one goes."""
    keys = dict(zip(a_texts, a_keys)) | dict(zip(b_texts, b_keys))
    texts = sorted(keys)
    return texts, [keys[p] for p in texts], np.searchsorted(texts, a_texts), np.searchsorted(texts, b_texts)


# ----------------------------------------------------------------- labelling
def _is_ja(text: str) -> bool:
    return bool(_JA_CHAR.search(text))


_JA_KANA = re.compile("[\u3040-\u309f]")


def _length_weight(text: str) -> float:
    """Preference for 2-4 word (3-10 character) phrases; a Japanese phrase
    without hiragana (a bare noun compound, 「カスタマーサービス」) counts less."""
    if _is_ja(text):
        return (1.0 if len(text) <= 10 else 0.8) * (1.0 if _JA_KANA.search(text) else 0.8)
    n = len(text.split())
    return 1.0 if n <= 4 else (0.8 if n == 5 else 0.6)


def phrase_labels(counts: np.ndarray, negative: np.ndarray | None, texts: Sequence[str],
                  keys: Sequence[str], *, n_rows: int | None = None,
                  languages: Sequence[str] | None = None, separator: str = " / ") -> list[str]:
    """Label rows of a class x phrase count matrix with their best phrase.

    Parameters
    ----------
    counts : ndarray, shape (r, p)
        Mentions per class (row) containing each phrase (column). Rows may
        be sums of themes (a topic's row is the sum of its leaves' rows).
        Rows after ``n_rows`` (e.g. noise, or the themes outside every
        topic) are labelled never but count in the IDF.
    negative : ndarray, shape (r, p), or None
        The same counts over negative mentions only.
    texts, keys : sequence of str, length p
        Each column's phrase as written and its lemma key.
    n_rows : int, optional
        Label the first ``n_rows`` rows (default: all).
    languages : sequence of str, optional
        Language mix of each labelled row's mentions, as in
        ``themes_["languages"]`` ("en 12; ja 3"); decides which language(s)
        the label is in. Without it, the share of Japanese candidates does.
    separator : str
        Joins the English and the Japanese phrase of a mixed class.

    Returns
    -------
    list of str
        One label per labelled row; "" when a row has no candidate.

    Method: columns with one key are pooled; a class whose candidates come
    mostly from negative mentions is scored on its negative counts, any
    other class on its non-negative counts (so "late delivery" and "fast
    delivery" keep apart). Scores are c-TF-IDF times a length preference
    (2-4 words, 3-10 characters); phrases seen once lose to any seen twice.
    A longer phrase that contains the best one and occurs in at least half
    as many mentions replaces it ("promo code" -> "promo code rejected").
    The label is the key's most frequent spelling in the row. English and
    Japanese are labelled apart; a class with both at :data:`MIXED_SHARE`
    or more gets "english / 日本語". Classes never share a label while
    another candidate is left.
    """
    counts = np.asarray(counts, dtype=np.float64)
    r = len(counts) if n_rows is None else int(n_rows)
    if counts.ndim != 2 or counts.shape[1] == 0 or r == 0:
        return [""] * r
    neg = np.zeros_like(counts) if negative is None else np.asarray(negative, dtype=np.float64)
    ukeys, inv = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    pooled = np.zeros((len(counts), len(ukeys)))
    pooled_neg = np.zeros_like(pooled)
    np.add.at(pooled.T, inv, counts.T)
    np.add.at(pooled_neg.T, inv, neg.T)
    totals, neg_totals = pooled.sum(axis=1), pooled_neg.sum(axis=1)
    major = pooled.copy()
    for i in range(r):
        if totals[i] and neg_totals[i] > totals[i] / 2:
            major[i] = pooled_neg[i]
        elif neg_totals[i] and (pooled[i] - pooled_neg[i]).sum():
            major[i] = pooled[i] - pooled_neg[i]
    scores = c_tf_idf(major)
    ja = np.array([_is_ja(k) for k in ukeys])
    weight = np.array([_length_weight(k) for k in ukeys])
    tokens = [k.split() if not ja[j] else None for j, k in enumerate(ukeys)]
    used: set[str] = set()
    out = []
    for i in range(r):
        parts = []
        share_ja = _ja_share(languages[i]) if languages is not None and languages[i] else None
        if share_ja is None:
            share_ja = major[i, ja].sum() / major[i].sum() if major[i].sum() else 0.0
        langs = [False, True] if MIXED_SHARE <= share_ja <= 1 - MIXED_SHARE else [share_ja > 0.5]
        for lang in langs:
            cols = np.flatnonzero((major[i] > 0) & (ja == lang))
            if not len(cols):
                cols = np.flatnonzero(major[i] > 0) if len(langs) == 1 else cols
                if not len(cols):
                    continue
            if (major[i, cols] >= 2).any():
                cols = cols[major[i, cols] >= 2]
            score = scores[i, cols] * weight[cols]
            order = cols[np.lexsort((ukeys[cols], -major[i, cols], -score))]
            best = next((j for j in order if _spelling(i, j, inv, counts, texts) not in used), order[0])
            best = _extend(best, i, major, ukeys, tokens, ja, cols)
            parts.append(_spelling(i, best, inv, counts, texts))
        label = separator.join(parts)
        used.update(parts)
        out.append(label)
    return out


def _ja_share(mix: str) -> float | None:
    """Share of "ja" in a language mix such as "en 12; ja 3" (None if empty)."""
    total = ja = 0
    for item in filter(None, str(mix).split("; ")):
        lang, _, c = item.rpartition(" ")
        total += int(c)
        ja += int(c) if lang == "ja" else 0
    return ja / total if total else None


def _extend(best: int, i: int, major: np.ndarray, ukeys, tokens, ja, cols) -> int:
    """The longest phrase containing ``best`` in at least half its mentions."""
    base = major[i, best]
    for _ in range(3):
        sub = ukeys[best]
        longer = [j for j in cols if j != best and major[i, j] * 2 >= base and len(ukeys[j]) > len(sub)
                  and _contains(ukeys[j], sub, tokens[j], tokens[best], ja[j])
                  and _length_weight(ukeys[j]) == 1.0]
        if not longer:
            break
        best = max(longer, key=lambda j: (major[i, j], -len(ukeys[j]), ukeys[j]))
    return best


def _contains(long: str, short: str, lt, st, is_ja: bool) -> bool:
    if is_ja:
        return short in long
    if lt is None or st is None or len(st) >= len(lt):
        return False
    return any(lt[a : a + len(st)] == st for a in range(len(lt) - len(st) + 1))


def _spelling(i: int, key_col: int, inv: np.ndarray, counts: np.ndarray, texts) -> str:
    """The text of the column with key ``key_col`` most frequent in row ``i``."""
    cols = np.flatnonzero(inv == key_col)
    return str(texts[cols[np.argmax(counts[i, cols])]])
