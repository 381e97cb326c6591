"""Per-theme summaries shared by the theme model and the taxonomy: word counts, centroids, quotes, languages, negative shares."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["centroids", "class_counts", "exemplars", "language_mix", "merge_exemplars", "merge_languages",
           "negative_mask", "negative_shares", "polarity"]


def polarity(sentiment: Sequence[str] | None) -> np.ndarray | None:
    """-1 / 0 / +1 per mention from sentiment labels (``None`` passes through)."""
    if sentiment is None:
        return None
    code = {"negative": -1, "positive": 1}
    return np.asarray([code.get(str(s), 0) for s in sentiment], dtype=np.int8)


def negative_shares(negative: np.ndarray | None, labels: np.ndarray, k: int) -> np.ndarray:
    """Share of each theme's mentions that are negative (NaN without sentiment or members)."""
    if negative is None:
        return np.full(k, np.nan)
    on = labels >= 0
    n = np.bincount(labels[on], minlength=k).astype(np.float64)
    neg = np.bincount(labels[on], weights=np.asarray(negative, dtype=np.float64)[on], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, neg / n, np.nan)


def negative_mask(sentiment: Sequence[str] | None) -> np.ndarray | None:
    """Boolean mask of negative mentions from sentiment labels (``None`` passes through)."""
    p = polarity(sentiment)
    return None if p is None else p < 0


def class_counts(tokens: list[list[str]], labels: np.ndarray, k: int):
    """Vocabulary (sorted) and a (k + 1) x V count matrix; last row is noise."""
    vocab = sorted({w for toks in tokens for w in toks if w.strip()})
    index = {w: j for j, w in enumerate(vocab)}
    counts = np.zeros((k + 1, len(vocab)), dtype=np.int64)
    for toks, lab in zip(tokens, labels):
        row = lab if lab >= 0 else k
        for w in toks:
            j = index.get(w)
            if j is not None:
                counts[row, j] += 1
    return vocab, counts


def centroids(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit-length mean embedding of each theme ``0..k-1`` (float32, k x dim)."""
    C = np.zeros((k, X.shape[1]), dtype=np.float32)
    for t in range(k):
        c = X[labels == t].mean(axis=0)
        C[t] = c / (np.linalg.norm(c) or 1.0)
    return C


def exemplars(X, texts, labels, t, centroid, n) -> list[str]:
    """``n`` distinct quotes closest to the centroid, preferring 20-200 chars."""
    if n == 0:
        return []
    idx = np.flatnonzero(labels == t)
    order = idx[np.argsort(-(X[idx] @ centroid), kind="stable")]
    seen: set[str] = set()
    candidates: list[str] = []
    for i in order:
        key = " ".join(texts[i].lower().split())
        if key and key not in seen:
            seen.add(key)
            candidates.append(texts[i].strip())
        if len(candidates) >= 4 * n:
            break
    good = [q for q in candidates if 20 <= len(q) <= 200]
    rest = [q for q in candidates if q not in good]
    return (good + rest)[:n]


def merge_exemplars(lists: list[list[str]], n: int) -> list[str]:
    out: list[str] = []
    for i in range(max((len(q) for q in lists), default=0)):
        for quotes in lists:
            if i < len(quotes) and quotes[i] not in out:
                out.append(quotes[i])
    return out[:n]


def language_mix(languages, labels, k) -> list[str]:
    if languages is None:
        return [""] * k
    langs = np.asarray([str(x) for x in languages])
    out = []
    for t in range(k):
        vc = pd.Series(langs[labels == t]).value_counts()
        out.append("; ".join(f"{lang} {c}" for lang, c in vc.items()))
    return out


def merge_languages(parts: list[str]) -> str:
    total: dict[str, int] = {}
    for part in parts:
        for item in filter(None, part.split("; ")):
            lang, _, c = item.rpartition(" ")
            total[lang] = total.get(lang, 0) + int(c)
    return "; ".join(f"{lang} {c}" for lang, c in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))
