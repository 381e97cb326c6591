"""Any local Hugging Face text-classification model as a sentiment scorer ("hf:<name or path>"), offline only."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from voc.columns import SENTIMENT_LABELS
from voc.errors import ConfigError, ModelError
from voc.sentiment.labels import NEUTRAL_BAND, score_frame, text_index

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
        index = text_index(texts)
        texts = [str(t) for t in texts]
        if not texts:
            return score_frame(np.zeros(0), self.neutral_band, index)
        results = self._pipe(texts, top_k=None, truncation=True, batch_size=self.batch_size)
        scores = np.zeros(len(texts))
        for i, res in enumerate(results):
            p = {"negative": 0.0, "neutral": 0.0, "positive": 0.0}
            for r in res:
                p[hf_label_class(r["label"], len(res))] += float(r["score"])
            scores[i] = p["positive"] - p["negative"]
        return score_frame(scores, self.neutral_band, index)
