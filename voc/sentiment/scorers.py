"""The sentiment scorers: the protocol, the default encoder scorer, the embedding-head scorer, VADER, and get_scorer."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from voc.columns import SENTIMENT, SENTIMENT_LABEL
from voc.errors import ConfigError, InputError, ModelError
from voc.script import has_japanese
from voc.sentiment.heads import (
    FALLBACK_EMBEDDER,
    HEAD_EMBEDDERS,
    SentimentHead,
    load_head,
)
from voc.sentiment.hf import HFScorer
from voc.sentiment.labels import emoji_override, rescale_band, score_frame, text_index

log = logging.getLogger(__name__)


@runtime_checkable
class SentimentScorer(Protocol):
    """What every sentiment scorer provides.

    Attributes
    ----------
    name : str
        Name recorded in ``run.json`` (e.g. ``"default:minilm"``).
    neutral_band : float
        Half-width of the neutral band used to label scores.
    """

    name: str
    neutral_band: float

    def score(
        self,
        texts: Sequence[str],
        *,
        embeddings: np.ndarray | None = None,
        languages: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return columns ``sentiment`` and ``sentiment_label``, one row per text."""
        ...


def is_japanese(text: str) -> bool:
    """Whether a text contains kana or kanji (a cheap language check; :func:`voc.script.has_japanese`)."""
    return has_japanese(text)


def _japanese_mask(texts: list[str], languages) -> np.ndarray:
    if languages is None:
        return np.array([is_japanese(t) for t in texts], dtype=bool)
    return np.asarray([lang == "ja" for lang in languages], dtype=bool)


# --------------------------------------------------------------------------
# scorers over embeddings and the fine-tuned encoder
# --------------------------------------------------------------------------


def _embed(texts: list[str], embedder_name: str) -> np.ndarray:
    """Embed texts with a named embedder through :mod:`voc.embed` and its cache.

    Used only when a head scorer is not given the run's embeddings; the
    scorers load no embedding model of their own (issue 20, item 10).
    """
    from voc import embed

    embedder = _cached_embedder(embedder_name)
    cache = embed.default_cache()
    return np.asarray(embed.embed_texts(texts, embedder, cache=cache), dtype=np.float32)


@functools.lru_cache(maxsize=4)
def _cached_embedder(embedder_name: str):
    """One loaded embedder per name and process (scorers embed in many small calls)."""
    from voc.embed import get_embedder

    return get_embedder(embedder_name)


class EmbeddingHeadScorer:
    """The ``"head"`` scorer: the packaged head over the run's sentence embeddings.

    Parameters
    ----------
    embedder_name : str or None
        Embedder whose embeddings are passed to :meth:`score`. ``None`` means
        ``"use-multilingual"`` (English and Japanese). For an embedder with no
        packaged head (any other sentence-transformers model) the scorer
        falls back to the ``"use-multilingual"`` head and embeds the texts
        once more with USE, logging a note; embeddings passed in are then
        ignored. With the English-only ``"minilm"`` head, Japanese texts (by
        ``languages``, else by kana/kanji) are scored by the
        ``"use-multilingual"`` head (embedded with USE), logged.

    Examples
    --------
    >>> scorer = EmbeddingHeadScorer("minilm")                  # doctest: +SKIP
    >>> scorer.score(["Great app!", "Delivery was late."])      # doctest: +SKIP
    """

    def __init__(self, embedder_name: str | None = None):
        self.embedder_name = embedder_name

    @property
    def head_embedder(self) -> str:
        name = self.embedder_name or FALLBACK_EMBEDDER
        return name if name in HEAD_EMBEDDERS else FALLBACK_EMBEDDER

    @property
    def head_(self) -> SentimentHead:
        head = getattr(self, "_head", None)
        if head is None:
            head = self._head = load_head(self.head_embedder)
        return head

    @property
    def name(self) -> str:
        return f"head:{self.head_embedder}"

    @property
    def neutral_band(self) -> float:
        return self.head_.neutral_band

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        """Score texts; reuse ``embeddings`` (n, dim) of the run's embedder if given."""
        index = text_index(texts)
        texts = [str(t) for t in texts]
        head = self.head_
        fallback = (self.embedder_name or FALLBACK_EMBEDDER) != self.head_embedder
        if fallback:
            log.warning(
                "Embedder %r has no sentiment head; scoring with the %r head "
                "(embedding the texts once more).", self.embedder_name, self.head_embedder,
            )
            embeddings = None
        if not texts:
            return score_frame(np.zeros(0), head.neutral_band, index)
        if embeddings is None:
            embeddings = _embed(texts, self.head_embedder)
        embeddings = np.asarray(embeddings)
        if embeddings.shape != (len(texts), head.dim):
            raise InputError(
                f"Embeddings for the {self.head_embedder!r} sentiment head must have shape "
                f"({len(texts)}, {head.dim}); got {embeddings.shape}. Pass the embeddings of the "
                f"same embedder and texts, or embeddings=None to embed here."
            )
        out = score_frame(head.sentiment(embeddings), head.neutral_band, index)
        if self.head_embedder == "minilm":  # MiniLM does not read Japanese
            ja = _japanese_mask(texts, languages)
            if ja.any():
                log.info("Scoring %d Japanese texts with the %r head (MiniLM is English-only).",
                         ja.sum(), FALLBACK_EMBEDDER)
                ja_out = EmbeddingHeadScorer(FALLBACK_EMBEDDER).score([t for t, j in zip(texts, ja) if j])
                out.loc[ja, SENTIMENT] = ja_out[SENTIMENT].to_numpy()  # boolean mask: positional
                out.loc[ja, SENTIMENT_LABEL] = ja_out[SENTIMENT_LABEL].to_numpy()
        return emoji_override(out, texts, band=head.neutral_band)


class EncoderScorer:
    """Default scorer: English by a fine-tuned encoder, Japanese by the multilingual head.

    English units (every unit that is not Japanese, by ``languages`` or else
    by kana/kanji) are classified by the packaged ``sentiment-minilm-ft``
    (:mod:`voc.sentiment.encoder`): a second pass through a MiniLM whose
    layers were fine-tuned for sentiment, whatever embedder the themes use.
    Japanese units are scored by the ``"use-multilingual"`` head, reusing
    the run's embeddings when the run embeds with it; their scores are
    mapped onto the encoder's neutral band with :func:`rescale_band`, so
    every label is the one its own model gives. ``"head"`` is the faster
    scorer over the run's embeddings only.

    Examples
    --------
    >>> EncoderScorer().score(["The promo code was rejected at checkout."])  # doctest: +SKIP
    """

    def __init__(self, embedder_name: str | None = None):
        self.embedder_name = embedder_name

    @property
    def classifier_(self):
        clf = getattr(self, "_classifier", None)
        if clf is None:
            from voc.sentiment.encoder import packaged_classifier

            clf = self._classifier = packaged_classifier()
        return clf

    @property
    def name(self) -> str:
        from voc.sentiment.encoder import ENCODER_NAME

        return f"default:{ENCODER_NAME}+{FALLBACK_EMBEDDER}"

    @property
    def neutral_band(self) -> float:
        return self.classifier_.neutral_band

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        """Score texts; ``embeddings`` of the run are reused for Japanese units when they are USE's."""
        index = text_index(texts)
        texts = [str(t) for t in texts]
        band = self.neutral_band
        scores = np.zeros(len(texts))
        ja = _japanese_mask(texts, languages)
        if (~ja).any():
            scores[~ja] = self.classifier_.sentiment([t for t, j in zip(texts, ja) if not j])
        if ja.any():
            head = getattr(self, "_ja_head", None)
            if head is None:
                head = self._ja_head = EmbeddingHeadScorer(FALLBACK_EMBEDDER)
            reuse = (embeddings is not None and (self.embedder_name or FALLBACK_EMBEDDER) == FALLBACK_EMBEDDER
                     and np.shape(embeddings) == (len(texts), head.head_.dim))
            ja_scores = head.score([t for t, j in zip(texts, ja) if j],
                                   embeddings=np.asarray(embeddings)[ja] if reuse else None)[SENTIMENT]
            scores[ja] = rescale_band(ja_scores.to_numpy(), band=head.neutral_band, to=band)
        return emoji_override(score_frame(scores, band, index), texts, band=band)


# --------------------------------------------------------------------------
# alternatives
# --------------------------------------------------------------------------


class VaderScorer:
    """VADER lexicon scorer (English); ``sentiment`` is VADER's compound score.

    Labels use VADER's customary band of 0.05. Japanese texts (by
    ``languages`` or, if not given, by the presence of kana/kanji) are
    scored with the packaged ``"use-multilingual"`` head instead, with a
    logged note.

    Raises
    ------
    ModelError
        If the optional dependency ``vaderSentiment`` is not installed.
    """

    name = "vader"
    neutral_band = 0.05

    def __init__(self):
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:
            raise ModelError(
                "The 'vader' sentiment scorer needs the optional package vaderSentiment. "
                "Install it with: pip install 'voc[vader]' (or pip install vaderSentiment), "
                "or use --sentiment default."
            ) from None
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        index = text_index(texts)
        texts = [str(t) for t in texts]
        ja = _japanese_mask(texts, languages)
        scores = np.zeros(len(texts))
        for i, t in enumerate(texts):
            if not ja[i]:
                scores[i] = self._analyzer.polarity_scores(t)["compound"]
        out = score_frame(scores, self.neutral_band, index)
        if ja.any():
            log.info("VADER is English-only; scoring %d Japanese texts with the default head.", ja.sum())
            reuse = embeddings is not None and np.shape(embeddings)[1:] == (512,)  # USE vectors
            ja_out = EmbeddingHeadScorer(FALLBACK_EMBEDDER).score(
                [t for t, j in zip(texts, ja) if j],
                embeddings=np.asarray(embeddings)[ja] if reuse else None,
            )
            out.loc[ja, SENTIMENT] = ja_out[SENTIMENT].to_numpy()  # boolean mask: positional
            out.loc[ja, SENTIMENT_LABEL] = ja_out[SENTIMENT_LABEL].to_numpy()
        return out


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

SCORERS: dict[str, Callable[..., SentimentScorer]] = {
    "default": lambda *, embedder_name=None: EncoderScorer(embedder_name),
    "head": lambda *, embedder_name=None: EmbeddingHeadScorer(embedder_name),
    "vader": lambda *, embedder_name=None: VaderScorer(),
    "hf": lambda model, *, embedder_name=None: HFScorer(model),
}
"""Scorer factories by name; ``"hf"`` is used as ``"hf:<model>"``."""


def get_scorer(name: str = "default", *, embedder_name: str | None = None) -> SentimentScorer:
    """Build a sentiment scorer by name.

    Parameters
    ----------
    name : str
        ``"default"``, ``"head"``, ``"vader"`` or ``"hf:<model name or path>"``.
    embedder_name : str or None
        The run's embedder (the default scorer reuses its embeddings).

    Raises
    ------
    ConfigError
        For an unknown name.
    ModelError
        If the scorer's model or optional dependency is missing.

    Examples
    --------
    >>> get_scorer("head", embedder_name="minilm").name
    'head:minilm'
    """
    if isinstance(name, str) and name.startswith("hf:"):
        return SCORERS["hf"](name[3:], embedder_name=embedder_name)
    factory = SCORERS.get(name) if isinstance(name, str) and name != "hf" else None
    if factory is None:
        raise ConfigError(
            f"Unknown sentiment scorer {name!r}. Allowed: default, head, vader, hf:<model name or path>."
        )
    return factory(embedder_name=embedder_name)

