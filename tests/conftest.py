"""Shared test fixtures: a deterministic fake embedder and tiny frames."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest


class FakeEmbedder:
    """Deterministic bag-of-hashed-features embedder for unit tests.

    Words (English) and character bigrams (Japanese) are hashed into a fixed
    number of dimensions, so texts that share words land close together and
    clustering behaves sensibly without any model.
    """

    name = "fake"
    dim = 64
    batch_invariant = True

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for feat in _features(str(text)):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if not norm:
                out[i, 0] = 1.0
        return out


class BatchSensitiveEmbedder(FakeEmbedder):
    """FakeEmbedder whose vectors move in the last bits with the batch they are in.

    Like real models (padding, BLAS blocking): the same text embedded in
    batches of different sizes gets vectors that differ by about 1e-7.
    """

    name = "fake-batch"
    batch_invariant = False  # so voc embeds it one text at a time

    def embed(self, texts):
        out = super().embed(texts)
        out[:, 1] += np.float32(1e-7 * len(texts))
        return out


def _features(text: str):
    text = text.lower()
    words = re.findall(r"[a-z]{3,}", text)
    cjk = re.sub(r"[^\u3040-\u30ff\u4e00-\u9fff]", "", text)
    return words + [cjk[i : i + 2] for i in range(len(cjk) - 1)]


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never touch the user's embedding cache from a test."""
    monkeypatch.setenv("VOC_CACHE_DIR", str(tmp_path / "voc-cache"))


@pytest.fixture
def tiny_feedback():
    """A small bilingual feedback frame in voc's column vocabulary."""
    return pd.DataFrame(
        {
            "voc_id": [f"r{i}" for i in range(8)],
            "text": [
                "Delivery was late but the product is great.",
                "The app keeps crashing when I open it.",
                "配送が遅かったですが、商品は良かったです。",
                "アプリがすぐに落ちます。",
                "Checkout failed twice, very frustrating!",
                "",
                "Support answered quickly and solved my issue.",
                "サポートの対応がとても丁寧でした。",
            ],
            "touchpoint": ["delivery", "app", "delivery", "app", "checkout", "app", "support", "support"],
            "nps": [6, 2, 7, 1, 3, 9, 10, 9],
        }
    )
