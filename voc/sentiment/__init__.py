"""Sentiment per unit (mention) and per record, English and Japanese, offline (the public API of the sentiment stage).

Every scorer follows one small protocol, :class:`SentimentScorer`: it turns
texts into a frame with ``sentiment`` (a float in [-1, 1]) and
``sentiment_label`` ("negative", "neutral" or "positive").

Scorers (see :data:`SCORERS` and :func:`get_scorer`):

``"default"``
    English units: ``sentiment-minilm-ft``, a MiniLM whose layers were
    fine-tuned for 3-class sentiment (:mod:`voc.sentiment.encoder`; a second
    model pass, about as costly as embedding the English units once more).
    Japanese units: the ``"use-multilingual"`` head below, over the run's
    embeddings when the run embeds with USE.
``"head"``
    A small 3-class neural head (one hidden layer) over the sentence
    embeddings the themes stage already computed (packaged for the
    ``"minilm"`` and ``"use-multilingual"`` embedders, in ``voc.models``).
    Passing those embeddings to :meth:`EmbeddingHeadScorer.score` costs one
    matrix product; nothing is embedded twice. Faster, less accurate.
``"vader"``
    The VADER lexicon (English; optional dependency ``vaderSentiment``).
    Japanese texts are scored by the packaged multilingual head instead.
``"hf:<model name or path>"``
    Any local Hugging Face text-classification model (never downloaded).

Labels always come from the score by one rule, :func:`label_from_score`:
``positive`` if ``sentiment > band``, ``negative`` if ``sentiment < -band``,
``neutral`` otherwise, where ``band`` is the scorer's ``neutral_band``.

Modules, one job each:

* :mod:`voc.sentiment.labels`: the neutral band, band rescaling, the emoji
  lexicon, the frame every scorer returns.
* :mod:`voc.sentiment.models`: where the packaged models live, the weights checksum.
* :mod:`voc.sentiment.heads`: the packaged heads over embeddings (format, loading, checks).
* :mod:`voc.sentiment.encoder`: the fine-tuned English encoder (torch, loaded lazily).
* :mod:`voc.sentiment.scorers`: the protocol, the default, head and VADER
  scorers, and :func:`get_scorer`; :mod:`voc.sentiment.hf`: the ``hf:`` scorer.
* :mod:`voc.sentiment.records`: unit sentiment aggregated to records.
"""

from __future__ import annotations

from voc.sentiment.heads import (
    FALLBACK_EMBEDDER, HEAD_EMBEDDERS, HEAD_FORMAT, SentimentHead, load_head,
)
from voc.sentiment.hf import HFScorer, hf_label_class
from voc.sentiment.labels import (
    NEGATIVE_EMOJI, NEUTRAL_BAND, POSITIVE_EMOJI, emoji_override, emoji_scores, label_from_score,
    rescale_band,
)
from voc.sentiment.models import models_dir, weights_sha256
from voc.sentiment.records import MIN_SENTIMENT, aggregate_records
from voc.sentiment.scorers import (
    SCORERS, EmbeddingHeadScorer, EncoderScorer, SentimentScorer, VaderScorer, get_scorer,
    is_japanese,
)

__all__ = [
    "FALLBACK_EMBEDDER", "HEAD_EMBEDDERS", "HEAD_FORMAT", "MIN_SENTIMENT", "NEGATIVE_EMOJI",
    "NEUTRAL_BAND", "POSITIVE_EMOJI", "SCORERS", "EmbeddingHeadScorer", "EncoderScorer", "HFScorer",
    "SentimentHead", "SentimentScorer", "VaderScorer", "aggregate_records", "emoji_override",
    "emoji_scores", "get_scorer", "hf_label_class", "is_japanese", "label_from_score", "load_head",
    "models_dir", "rescale_band", "weights_sha256",
]
