"""Theme hierarchy: group leaf themes into parent topics by their centroids.

One complaint is often spread over several wording themes ("on hold for an
hour", "no reply after three days", "chat queue is long"); a topic gathers
them. Method (see ``docs/themes.md``, "Topics"):

1. The similarity of two leaves is the cosine of their centroids (unit
   vectors, original embedding space).
2. The cut is relative to this fit, like duplicate merging:
   ``threshold = mean + zscore * std`` of the similarities of all leaf
   pairs. Most pairs are unrelated; the pairs that stand out above the
   background are the related ones.
3. Average-linkage agglomerative clustering: two groups merge while the mean
   similarity over all their cross pairs is at least the threshold. A topic
   may hold one leaf.
4. Polarity (when the leaves' negative shares are given): a **complaint
   leaf** (at least ``COMPLAINT_SHARE`` of its mentions negative) and a
   leaf that is not one never share a topic, so a topic is either a
   complaint ("on hold", "no reply", "chat queue") or not ("support was
   kind"), never both.
5. Topics are numbered ``0..T-1`` by total size (largest first; ties: the
   smallest leaf id first), so topic 0 holds the largest themes.

The result depends only on the centroids (no random step), so it is
deterministic.
"""

from __future__ import annotations

import numpy as np

TOPIC_ZSCORE = 1.5
"""Default cut: leaf pairs 1.5 standard deviations above the mean similarity."""

COMPLAINT_SHARE = 0.5
"""A leaf is a complaint leaf when at least this share of its mentions is negative
(the same rule as :data:`voc.rank.COMPLAINT_SHARE`)."""

__all__ = ["TOPIC_ZSCORE", "COMPLAINT_SHARE", "complaint_leaves", "topic_threshold", "group_themes",
           "join_topics"]


def complaint_leaves(negative_share, k: int) -> np.ndarray:
    """Bool per leaf: at least :data:`COMPLAINT_SHARE` of its mentions negative.

    ``negative_share`` None (no sentiment) or NaN for a leaf: not a complaint
    leaf, so without sentiment every leaf is on one side and polarity never
    keeps two leaves apart.

    Examples
    --------
    >>> complaint_leaves([0.9, 0.2, float("nan"), 0.5], 4).tolist()
    [True, False, False, True]
    """
    if negative_share is None:
        return np.zeros(k, dtype=bool)
    share = np.asarray(negative_share, dtype=np.float64).reshape(-1)
    if len(share) != k:
        raise ValueError(f"negative_share has {len(share)} values for {k} leaves")
    with np.errstate(invalid="ignore"):
        return share >= COMPLAINT_SHARE


def _unit(centroids: np.ndarray) -> np.ndarray:
    C = np.asarray(centroids, dtype=np.float64)
    if C.ndim != 2:
        C = C.reshape(len(C), -1)
    return C / np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)


def topic_threshold(centroids: np.ndarray, *, zscore: float | None = TOPIC_ZSCORE) -> float:
    """The similarity cut ``mean + zscore * std`` over all pairs of leaf centroids.

    ``inf`` (nothing groups) when ``zscore`` is None or there are fewer than
    two pairs. With few leaves no pair can stand ``zscore`` deviations out
    (among ``p`` values the largest z-score is at most ``(p - 1) / sqrt(p)``),
    so 3 leaves never group at the default 1.5.
    """
    C = _unit(centroids)
    k = len(C)
    if zscore is None or k < 3:
        return float("inf")
    off = (C @ C.T)[np.triu_indices(k, 1)]
    return float(off.mean() + zscore * off.std())


def group_themes(
    centroids: np.ndarray,
    *,
    sizes: np.ndarray | None = None,
    zscore: float | None = TOPIC_ZSCORE,
    threshold: float | None = None,
    negative_share: np.ndarray | None = None,
) -> np.ndarray:
    """Topic id of every leaf theme (average linkage over centroid cosines).

    Parameters
    ----------
    centroids : ndarray, shape (k, d)
        One centroid per leaf theme (normalised here).
    sizes : ndarray of int, shape (k,), optional
        Leaf sizes; topics are numbered by total size, largest first
        (without sizes: by their smallest leaf id).
    zscore : float or None
        The cut as ``mean + zscore * std`` of the leaf-pair similarities
        (:func:`topic_threshold`); ``None``: every leaf is its own topic.
    threshold : float, optional
        An absolute similarity cut instead of ``zscore``.
    negative_share : ndarray of float, shape (k,), optional
        Share of each leaf's mentions that are negative: complaint leaves
        (:func:`complaint_leaves`) only group with complaint leaves, the
        others with the others. The cut itself is over all pairs.

    Returns
    -------
    ndarray of int, shape (k,)
        Topic ids ``0..T-1``.
    """
    C = _unit(centroids)
    k = len(C)
    if k == 0:
        return np.zeros(0, dtype=int)
    thr = topic_threshold(C, zscore=zscore) if threshold is None else float(threshold)
    sizes = np.ones(k) if sizes is None else np.asarray(sizes, dtype=np.float64)
    S = C @ C.T
    side = complaint_leaves(negative_share, k)
    S[side[:, None] != side[None, :]] = -np.inf  # a complaint never joins a non-complaint
    # average linkage by hand (k is small): cluster similarity = mean over cross pairs
    members = [[i] for i in range(k)]
    total = S.copy()  # sum of cross-pair similarities between clusters
    np.fill_diagonal(total, -np.inf)
    alive = list(range(k))
    while len(alive) > 1:
        idx = np.asarray(alive)
        n = np.asarray([len(members[i]) for i in alive], dtype=np.float64)
        avg = total[np.ix_(idx, idx)] / np.outer(n, n)
        np.fill_diagonal(avg, -np.inf)
        a, b = np.unravel_index(int(np.argmax(avg)), avg.shape)  # first maximum: deterministic
        if not avg[a, b] >= thr:
            break
        i, j = sorted((alive[a], alive[b]))
        members[i] += members[j]
        total[i, :] += total[j, :]
        total[:, i] += total[:, j]
        total[i, i] = -np.inf
        alive.remove(j)
    groups = [sorted(members[i]) for i in alive]
    groups.sort(key=lambda g: (-sizes[g].sum(), g[0]))
    out = np.empty(k, dtype=int)
    for topic, g in enumerate(groups):
        out[g] = topic
    return out


def join_topics(
    new_centroids: np.ndarray,
    centroids: np.ndarray,
    topics: np.ndarray,
    *,
    threshold: float,
    sizes: np.ndarray | None = None,
    new_negative_share: np.ndarray | None = None,
    negative_share: np.ndarray | None = None,
) -> np.ndarray:
    """Topics for new leaves (weekly runs) that keep every existing topic id.

    A new leaf joins the existing topic with the highest mean similarity to
    its leaves when that mean is at least ``threshold`` (the average-linkage
    rule of :func:`group_themes`). The other new leaves are grouped among
    themselves with the same threshold and get new ids after
    ``topics.max()``.

    Parameters
    ----------
    new_centroids : ndarray, shape (j, d)
    centroids, topics : the existing leaves' centroids (k, d) and topic ids (k,)
    threshold : float
        The cut learned at fit (:func:`topic_threshold`).
    sizes : ndarray, shape (j,), optional
        Sizes of the new leaves (orders the new topic ids).
    new_negative_share, negative_share : ndarray, shapes (j,) and (k,), optional
        The leaves' negative shares: a new leaf joins only a topic of its
        own side (complaint or not, :func:`complaint_leaves`).
    """
    N = _unit(new_centroids)
    j = len(N)
    out = np.full(j, -1, dtype=int)
    topics = np.asarray(topics, dtype=int)
    if j == 0:
        return out
    if len(topics) and (topics >= 0).any():
        S = N @ _unit(centroids).T
        new_side = complaint_leaves(new_negative_share, j)
        old_side = complaint_leaves(negative_share, len(topics))
        S[new_side[:, None] != old_side[None, :]] = -np.inf
        ids = np.unique(topics[topics >= 0])
        mean = np.stack([S[:, topics == t].mean(axis=1) for t in ids], axis=1)
        best = mean.argmax(axis=1)
        ok = mean[np.arange(j), best] >= threshold
        out[ok] = ids[best[ok]]
    rest = np.flatnonzero(out < 0)
    if len(rest):
        start = int(topics.max()) + 1 if len(topics) else 0
        sub = None if sizes is None else np.asarray(sizes)[rest]
        share = None if new_negative_share is None else np.asarray(new_negative_share)[rest]
        out[rest] = start + group_themes(N[rest], sizes=sub, threshold=threshold, negative_share=share)
    return out
