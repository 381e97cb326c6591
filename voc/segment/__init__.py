"""Language detection, segmentation into units, and keyword tokens (the public API of the segment stage).

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

Modules, one job each (as spaCy keeps one module per language):

* :mod:`voc.segment.language`: language detection.
* :mod:`voc.segment.common`: language-neutral splitting (lines, sentence
  spans, clauses, fragments) and :func:`model_text`.
* :mod:`voc.segment.en` / :mod:`voc.segment.ja`: each language's pipeline,
  sentence and contrast-clause rules, and keyword rules.
* :mod:`voc.segment.units`: :func:`segment`, the frame of units and the
  ``max_units`` bound.
* :mod:`voc.segment.keywords`: :func:`keyword_tokens` and
  :func:`keyword_tokens_and_phrases`.
"""

from __future__ import annotations

from voc.config import UNITS  # one definition, in voc.config
from voc.script import JA_CHAR
from voc.segment import en, ja
from voc.segment.common import model_text
from voc.segment.ja import JA_STOP_WORDS
from voc.segment.keywords import keyword_tokens, keyword_tokens_and_phrases
from voc.segment.language import DETECTED, JA_WEIGHT, detect_language, detect_languages
from voc.segment.units import UNIT_CHAR_BUDGET, segment, segment_counted

__all__ = [
    "DETECTED", "JA_STOP_WORDS", "JA_WEIGHT", "UNITS", "UNIT_CHAR_BUDGET", "detect_language",
    "detect_languages", "keyword_tokens", "keyword_tokens_and_phrases", "model_text", "segment", "segment_counted",
]

# The names tests and benchmarks imported from the single module voc/segment.py
# (now public functions of the language modules).
_JA_CHARS = JA_CHAR
_ja_nlp = ja.nlp
_en_nlp = en.nlp
_en_lemma_table = en.lemma_table
_en_stop_words = en.stop_words
_en_rule_lemma = en.rule_lemma
