"""Finding themes: UMAP reduction, HDBSCAN, the granularity default, merging duplicates, cohesion, polarity splits."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from .assign import top_k

log = logging.getLogger("voc.themes")

NOISE = -1
COHESION_TRIM = 0.2  # share of least similar members left out of a theme's cohesion

__all__ = ["default_min_theme_size", "cluster", "knn_graph", "merge_duplicates", "cohesion",
           "split_by_polarity", "relabel_by_size", "COHESION_TRIM"]


def default_min_theme_size(n: int) -> int:
    """Default smallest theme: ``round(sqrt(n) / 5)`` clipped to ``[5, 100]``.

    1,000 mentions give 6, 3,080 give 11, 10,000 give 20, 50,000 give 45;
    never fewer than 5 (small files still get themes) and 100 only from
    250,000 mentions on. The bar grows with the square root of ``n``, not in
    proportion to it (the old rule was ``n // 200``): data with many fine
    classes (150 intents) has classes of a few dozen mentions even when it is
    large, and a bar of 0.5% of ``n`` merged them. Chosen by leave-one-set-out
    over six labelled sets of 1,000 to 10,000 mentions with 10 to 77 classes
    against BERTopic defaults (``docs/themes.md``, "Granularity defaults").
    """
    return int(min(100, max(5, round(math.sqrt(n) / 5))))


def cluster(X: np.ndarray, *, min_cluster_size: int, min_samples: int, n_components: int | None,
            n_neighbors: int, cluster_selection_method: str, random_state: int,
            allow_single_cluster: bool = False, min_cohesion: float | None = None) -> np.ndarray:
    """HDBSCAN labels (-1 noise, raw cluster ids) of unit rows ``X``, after UMAP when ``n_components``.

    ``allow_single_cluster`` (``extend``: one tight group among a batch's
    leftovers is the typical case): when the one cluster found is less
    cohesive than ``min_cohesion`` (it is the whole loose batch), look for
    the tight groups inside it instead. Runs on one BLAS thread.
    """
    import hdbscan  # noqa: F401  (load every BLAS library before limiting:
    import umap  # noqa: F401  threadpool_limits only limits those already loaded)
    from threadpoolctl import threadpool_limits

    # one BLAS thread: multi-threaded BLAS sums in a varying order, and
    # UMAP amplifies those last-bit differences (in the neighbour
    # distances and its start) into different layouts per process
    with threadpool_limits(limits=1, user_api="blas"):
        return _cluster_single_threaded(X, min_cluster_size, min_samples, n_components, n_neighbors,
                                        cluster_selection_method, random_state, allow_single_cluster,
                                        min_cohesion)


def _cluster_single_threaded(X, mcs, min_samples, n_components, n_neighbors, selection, random_state,
                             allow_single_cluster, floor) -> np.ndarray:
    import hdbscan

    n = len(X)
    Z = X
    if n_components is not None and n > n_neighbors + 1 and n > n_components + 2:
        import warnings

        import umap

        # exact cosine neighbours by matrix product (BLAS): much faster than
        # UMAP's own exact path, which calls a numba metric once per pair.
        # PCA start, not UMAP's spectral one: ARPACK's eigenvectors differ in
        # the last bit from call to call (memory alignment), and UMAP turns
        # that into different layouts (76 vs 79 themes on the sample); the
        # PCA start is bit-stable and scores the same on Banking77.
        reducer = umap.UMAP(
            n_neighbors=n_neighbors,
            n_components=n_components,
            min_dist=0.0,
            metric="cosine",
            init="pca",
            random_state=random_state,
            n_jobs=1,
            precomputed_knn=knn_graph(X, n_neighbors),
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(knn_search_index|n_jobs|random_state).*")
            Z = reducer.fit_transform(X)
    if n < max(mcs, 2 * min_samples):
        log.warning("Only %d mentions: too few for a theme of at least %d; all are noise.", n, mcs)
        return np.full(n, NOISE)
    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=mcs,
        min_samples=min_samples,
        cluster_selection_method=selection,
        core_dist_n_jobs=1,
        allow_single_cluster=allow_single_cluster,
    )
    labels = np.asarray(clusterer.fit(Z).labels_, dtype=int)
    if clusterer.allow_single_cluster and floor is not None and labels.max() == 0 \
            and cohesion(X, labels, 1, trim=COHESION_TRIM)[0] < floor:
        # the one "cluster" is the whole loose batch (HDBSCAN's root):
        # look for the tight groups inside it instead
        clusterer.allow_single_cluster = False
        labels = np.asarray(clusterer.fit(Z).labels_, dtype=int)
    return labels


def knn_graph(X: np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours (self first) and cosine distances of unit rows (UMAP's ``precomputed_knn``)."""
    n = len(X)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        S = X[start : start + chunk] @ X.T
        rows = np.arange(len(S))
        S[rows, start + rows] = np.inf  # self is always the first neighbour
        part, ps = top_k(S, k)
        order = np.lexsort((part, -ps), axis=1)
        idx[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
        d = 1.0 - np.take_along_axis(ps, order, axis=1)
        d[:, 0] = 0.0
        dist[start : start + len(S)] = np.maximum(d, 0.0)
    return idx, dist


def merge_duplicates(X: np.ndarray, labels: np.ndarray, zscore: float | None) -> np.ndarray:
    """Merge themes whose centroids are outliers in the theme-pair similarities.

    The threshold is scale-aware: ``mean + zscore * std`` of the cosine
    similarities of all pairs of theme centroids (original space), so it
    adapts to the embedder (MiniLM and USE have different scales) and to the
    data (in a one-domain corpus every theme is related and no pair stands
    out). The most similar pair at or above the threshold merges (into the
    larger, lower id), the merged centroid is recomputed from all members,
    and this repeats. A z-score of 4 needs at least 18 pairs (7 themes) to be
    reachable at all, so small fits are never merged.
    """
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if zscore is None or k < 3:
        return labels
    sums = np.vstack([X[labels == t].sum(axis=0) for t in range(k)]).astype(np.float64)
    C = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    off = (C @ C.T)[np.triu_indices(k, 1)]
    threshold = off.mean() + zscore * off.std()
    root = np.arange(k)
    alive = list(range(k))
    while len(alive) > 1:
        A = sums[alive] / np.maximum(np.linalg.norm(sums[alive], axis=1, keepdims=True), 1e-12)
        S = A @ A.T
        np.fill_diagonal(S, -np.inf)
        i, j = np.unravel_index(int(np.argmax(S)), S.shape)
        if S[i, j] < threshold:
            break
        a, b = sorted((alive[i], alive[j]))
        sums[a] += sums[b]
        root[root == b] = a
        alive.remove(b)
    if len(alive) < k:
        log.info("Merged %d duplicate themes (centroid cosine >= %.3f).", k - len(alive), threshold)
    return np.where(labels >= 0, root[np.maximum(labels, 0)], NOISE)


def cohesion(X: np.ndarray, labels: np.ndarray, k: int, trim: float = 0.0) -> np.ndarray:
    """Per theme ``0..k-1``: mean cosine similarity of its points to their normalised centroid.

    ``trim`` leaves out that share of the least similar points (robust to a
    few strays).
    """
    out = np.zeros(k)
    for t in range(k):
        members = X[labels == t]
        if len(members):
            c = members.mean(axis=0)
            sims = np.sort(members @ (c / (np.linalg.norm(c) or 1.0)))[::-1]
            out[t] = float(sims[: max(1, int(np.ceil(len(sims) * (1 - trim))))].mean())
    return out


def split_by_polarity(labels: np.ndarray, polarity: np.ndarray | None, min_size: int,
                      min_share: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split themes that customers both praise and criticise.

    A theme is split when its negative members and its positive members
    are each at least ``min_size`` mentions and at least ``min_share`` of
    the theme: the negative members become a new theme (appended id), the
    others (positive and neutral) stay. A theme that is only negative and
    neutral is not split, so a scorer's doubt between the two never cuts a
    complaint in half. Returns the new labels, the partner id of each theme
    (-1 if not split) and whether each theme is the negative half.
    """
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    partner, neg_half = [NOISE] * k, [False] * k
    if polarity is not None and min_share is not None:
        labels = labels.copy()
        negative = polarity < 0
        for t in range(k):
            member = labels == t
            n_neg = int((member & negative).sum())
            n_pos = int((member & (polarity > 0)).sum())
            if min(n_neg, n_pos) >= max(min_size, min_share * int(member.sum())):
                labels[member & negative] = len(partner)
                partner[t] = len(partner)
                partner.append(t)
                neg_half.append(True)
    return labels, np.asarray(partner, dtype=int), np.asarray(neg_half, dtype=bool)


def relabel_by_size(raw: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by size (largest first; ties: first seen); -1 stays noise."""
    out = np.full(len(raw), NOISE, dtype=int)
    ids = [c for c in pd.unique(raw) if c >= 0]
    sizes = {c: int((raw == c).sum()) for c in ids}
    for new, c in enumerate(sorted(ids, key=lambda c: -sizes[c])):  # stable sort keeps first-seen
        out[raw == c] = new
    return out
