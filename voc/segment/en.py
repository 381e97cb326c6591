"""English rules: the blank spaCy pipeline, hard-wrap joining, contrast clauses and keyword lemmas."""

from __future__ import annotations

import functools
import logging
import re

from voc.segment.common import doc_units, is_symbol, sentence_spans, split_lines

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------
# pipeline (lazy, cached)
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def nlp():
    """A blank English pipeline: spaCy's rule-based tokenizer only, loaded once per process."""
    import spacy

    return spacy.blank("en")


@functools.lru_cache(maxsize=None)
def lemma_table():
    """spaCy's English lookup-lemma table, or None without spacy-lookups-data."""
    try:
        from spacy.lookups import load_lookups

        return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    except (ImportError, ValueError, KeyError) as exc:  # package not installed
        logger.info("spacy-lookups-data not available (%s); using suffix rules", exc)
        return None


@functools.lru_cache(maxsize=None)
def stop_words() -> frozenset:
    """spaCy's English stop words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


# --------------------------------------------------------------------------
# sentences and contrast clauses
# --------------------------------------------------------------------------

_HARD_WRAP = re.compile(r"(?<=[a-z,])[ \t]*\r?\n[ \t]*(?=[a-z])")


def pieces(text: str) -> list[str]:
    """A record's lines for the tokenizer (:func:`voc.segment.common.split_lines`), hard wraps joined.

    A hard wrap is a line that ends in a lower-case letter or comma followed
    by one that starts with a lower-case letter; it is joined with a space.

    >>> pieces("the parcel was\\nlate.\\nRefund please")
    ['the parcel was late.', 'Refund please']
    """
    return split_lines(_HARD_WRAP.sub(" ", text))


_LEADING = frozenset({"although", "though", "while", "whereas"})
_NOT_BUT = frozenset({"nothing", "anything", "everything", "all", "none", "last", "anyone"})
_CONNECTORS = frozenset(
    {"but", "however", "although", "though", "yet", "whereas", "while", "even", "and"}
)


def _cuts(doc, start: int, end: int) -> list[int]:
    """Token indices where a contrast clause starts in an English sentence."""
    low = [t.lower_ for t in doc[start:end]]
    n = len(low)
    cuts = []
    first = next((k for k in range(n) if doc[start + k].is_alpha), n)
    if first < n and (
        low[first] in _LEADING or (low[first] == "even" and first + 1 < n and low[first + 1] == "though")
    ):
        # "Although X, Y": the subordinate clause ends at its first comma.
        comma = next((k for k in range(first + 1, n) if low[k] == ","), None)
        if comma is not None:
            cuts.append(comma + 1)
    for k in range(first + 1, n):
        w, prev = low[k], low[k - 1]
        nxt = low[k + 1] if k + 1 < n else ""
        if w == "but":
            if prev not in _NOT_BUT and nxt != "also":
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


def _has_content(doc, a: int, b: int) -> bool:
    return any(
        (t.is_alpha and t.lower_ not in _CONNECTORS) or t.like_num or is_symbol(t.text)
        for t in doc[a:b]
    )


def units(doc, *, split_contrast: bool) -> list[str]:
    """Unit texts of an English doc: sentences, cut into contrast clauses ("late" | "but great").

    A clause starts at "but" (not "nothing but", "but also"), "although",
    "whereas", "though" (not "as though"), "even though", "however" after
    punctuation, ", while" / ", yet", and after the first comma of a
    sentence that opens with "although" / "though" / "while" / "whereas".
    """
    return doc_units(doc, sentence_spans(doc), _cuts, _has_content, split_contrast=split_contrast)


# --------------------------------------------------------------------------
# keywords
# --------------------------------------------------------------------------

_SUFFIX_RULES = (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"))


def rule_lemma(word: str) -> str:
    """Tiny plural stripper used when spacy-lookups-data is not installed.

    >>> [rule_lemma(w) for w in ("deliveries", "boxes", "bus", "apps")]
    ['delivery', 'box', 'bus', 'app']
    """
    for suffix, repl in _SUFFIX_RULES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def keywords(doc, table, stop) -> list[str]:
    """Lower-cased lemmas of the alphabetic tokens of 3+ letters of a doc that are not stop words.

    ``table`` is :func:`lemma_table` (``None``: :func:`rule_lemma`),
    ``stop`` :func:`stop_words`.
    """
    out = []
    for t in doc:
        if not t.is_alpha:
            continue
        low = t.lower_
        if len(low) < 3 or low in stop:
            continue
        lemma = (table.get(low, low) if table is not None else rule_lemma(low)).lower()
        if len(lemma) >= 3 and lemma not in stop:
            out.append(lemma)
    return out
