"""Keyword tokens and candidate label phrases of units, from one spaCy parse per text."""

from __future__ import annotations

from collections.abc import Sequence

from voc.errors import InputError
from voc.script import JA_CHAR
from voc.segment import en, ja
from voc.segment.language import as_text


def keyword_tokens(
    texts: Sequence[str], languages: Sequence[str], *, batch_size: int = 512
) -> list[list[str]]:
    """Content-word lemmas of each text, for class-based TF-IDF labels.

    Japanese (language "ja", or any text containing kana/kanji): Sudachi
    dictionary forms of nouns, proper nouns, verbs (動詞-一般), adjectives
    and adjectival nouns (形状詞), with predicates in Sudachi's normalised
    spelling (いい -> 良い, おいしい -> 美味しい); particles, auxiliaries,
    symbols, numbers, counters after numbers, single-kana tokens, the
    prefixes お/ご and :data:`voc.segment.JA_STOP_WORDS` are dropped; a run of nouns
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
    texts = [as_text(t) for t in texts]
    languages = [as_text(x) for x in languages]
    if len(texts) != len(languages):
        raise InputError(
            f"keyword_tokens() got {len(texts)} texts but {len(languages)} languages; "
            "pass one language per text."
        )
    if phrases:
        from voc.themes.labels import doc_phrases
    out: list[list[str]] = [[] for _ in texts]
    cands: list[list[tuple[str, str]]] = [[] for _ in texts]
    ja_idx = [i for i, t in enumerate(texts) if t.strip() and (languages[i] == "ja" or JA_CHAR.search(t))]
    ja_set = set(ja_idx)
    en_idx = [i for i, t in enumerate(texts) if t.strip() and i not in ja_set]
    for idx, lang, rules in ((ja_idx, "ja", ja), (en_idx, "en", en)):
        if not idx:
            continue
        owners, pieces = [], []
        for i in idx:
            for piece in rules.pieces(texts[i]):
                owners.append(i)
                pieces.append(piece)
        if lang == "ja":
            docs = ja.nlp().pipe(pieces, batch_size=batch_size)
            for i, doc in zip(owners, docs):
                out[i].extend(ja.keywords(doc))
                if phrases:
                    cands[i].extend(doc_phrases(doc, "ja"))
        else:
            table, stop = en.lemma_table(), en.stop_words()
            docs = en.nlp().pipe(pieces, batch_size=batch_size)
            for i, doc in zip(owners, docs):
                out[i].extend(en.keywords(doc, table, stop))
                if phrases:
                    cands[i].extend(doc_phrases(doc, "en", table=table, stop=stop))
    return out, cands
