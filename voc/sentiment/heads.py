"""Packaged sentiment heads: small 3-class layers over sentence embeddings, loaded without pickle and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voc.columns import SENTIMENT_LABELS
from voc.errors import ModelError
from voc.sentiment.models import models_dir, weights_sha256

HEAD_FORMAT = "voc-sentiment-head/1"
HEAD_EMBEDDERS = ("minilm", "use-multilingual")
"""Embedders with a packaged sentiment head."""
FALLBACK_EMBEDDER = "use-multilingual"
"""Embedder whose head scores texts when the run's embedder has no head."""


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
