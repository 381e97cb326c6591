"""Language-neutral splitting shared by the English and Japanese rules: lines, sentence spans, clauses, fragments."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

from voc.segment.language import as_text


@functools.lru_cache(maxsize=None)
def _sentence_end_chars() -> frozenset:
    """spaCy Sentencizer's sentence-final characters, plus ｡ and ．."""
    from spacy.pipeline.sentencizer import Sentencizer

    return frozenset(Sentencizer.default_punct_chars) | {"｡", "．"}


_CLOSERS = frozenset(")]}」』）】〕〉》\"'”’")
_TRAIL = " \t\u3000,;:、，；："
_MAX_PIECE = 4000  # characters per tokenizer call (Sudachi rejects ~49 kB)
_LINES = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")


def is_symbol(text: str) -> bool:
    """Whether a token is an emoji or other pictograph (Unicode So/Sk), with its joiners.

    >>> is_symbol("👍"), is_symbol("👍🏽"), is_symbol("ok"), is_symbol("")
    (True, True, False, False)
    """
    return bool(text) and all(
        unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") for c in text
    ) and any(unicodedata.category(c) in ("So", "Sk") for c in text)


def has_content(text: str) -> bool:
    """Whether a unit holds a letter, a digit or an emoji/symbol (units without are dropped).

    >>> has_content("ok."), has_content("👍"), has_content("...!")
    (True, True, False)
    """
    return any(c.isalnum() or unicodedata.category(c) == "So" for c in text)


def split_lines(text: str) -> list[str]:
    """Split a record into stripped, non-empty lines, each short enough for the tokenizer.

    A line break always ends a sentence (the English rules join hard wraps
    before calling this). A line longer than 4,000 characters is cut after
    its last sentence end or space before that limit.

    >>> split_lines("Late.\\n\\n  Rude staff  \\r\\nBye")
    ['Late.', 'Rude staff', 'Bye']
    """
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


def sentence_spans(
    doc,
    *,
    is_break: Callable[[str], bool] | None = None,
    breaks_after: Callable[[object, int], bool] | None = None,
) -> list[tuple[int, int]]:
    """Token spans ``(start, end)`` of the sentences of a spaCy ``doc``.

    A sentence ends after a token made only of sentence-final punctuation
    (spaCy's Sentencizer characters: . ! ? 。 ！ ？ ...); closing brackets,
    more punctuation and emoji right after it stay with it. A language adds
    its own rules with two hooks: ``is_break(token_text)`` marks a token
    that ends a sentence and belongs to none (Japanese: a space token), and
    ``breaks_after(doc, i)`` ends a sentence after token ``i`` (Japanese: a
    half-width space between two words).
    """
    sent_end = _sentence_end_chars()
    toks = [t.text for t in doc]
    n = len(toks)
    spans, start, i = [], 0, 0
    while i < n:
        text = toks[i]
        if is_break is not None and is_break(text):
            if i > start:
                spans.append((start, i))
            start = i = i + 1
            continue
        if all(c in sent_end for c in text):
            j = i + 1
            while j < n and (
                all(c in sent_end or c in _CLOSERS for c in toks[j]) or is_symbol(toks[j])
            ):
                j += 1
            spans.append((start, j))
            start = i = j
            continue
        if breaks_after is not None and breaks_after(doc, i):
            spans.append((start, i + 1))
            start = i + 1
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


def clauses(doc, start: int, end: int, cuts: Sequence[int], has_content) -> list[str]:
    """Texts of tokens [start, end) cut at ``cuts``; clauses without content join a neighbour.

    ``has_content(doc, a, b)`` is the language's test; a clause without
    content is merged into the previous one (the next for the first), and a
    sentence where nothing has content stays whole.
    """
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


def doc_units(doc, spans, cuts_of, has_content, *, split_contrast: bool) -> list[str]:
    """Unit texts of a doc: each sentence span, cut into clauses at ``cuts_of(doc, a, b)`` when ``split_contrast``.

    The drivers of :mod:`voc.segment.en` and :mod:`voc.segment.ja` pass
    their own sentence spans, cut rule and content test.
    """
    units = []
    for a, b in spans:
        cuts = cuts_of(doc, a, b) if split_contrast else []
        units.extend(clauses(doc, a, b, cuts, has_content))
    return units


def clean_unit(unit: str) -> str:
    """A unit without surrounding space and trailing commas, semicolons, colons (and their full-width forms).

    >>> clean_unit("  late but great,  ")
    'late but great'
    """
    return unit.strip().rstrip(_TRAIL).strip()


_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_WORD = re.compile(r"[^\W\d_]{2,}|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _is_fragment(unit: str) -> bool:
    """A unit without a word: emoji, emoticons (":D"), URLs, "5/5"."""
    return not _WORD.search(_URL.sub(" ", unit))


def merge_fragments(units: list[str]) -> list[str]:
    """Append each wordless unit to the previous unit of its record (to the next one when it comes first).

    A wordless unit is an emoji, an emoticon (":D"), a URL or "5/5"; a
    record with only fragments keeps them as one unit.

    >>> merge_fragments(["😡", "Late again", ":(", "Bye"])
    ['😡 Late again :(', 'Bye']
    """
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
    original = as_text(text)
    stripped = _MODEL_URL.sub(" ", _HANDLE.sub(" ", original)).replace("#", " ").replace("＃", " ")
    return _SPACES.sub(" ", stripped).strip() or original.strip()
