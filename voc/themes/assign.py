"""The outlier policy: nearest references, similarity-weighted kNN votes, support floors, polarity halves.

The same rule places the noise of a fit (:meth:`voc.themes.ThemeModel.fit`)
and every new mention (:meth:`~voc.themes.ThemeModel.assign`): a point's
``n_neighbors`` most similar references vote, weighted by cosine similarity;
it joins the winning theme when the winner's share is at least the
threshold and the point is as close to its neighbours as a typical member
of that theme (its support floor). Products of embeddings run on one BLAS
thread (``threadpool_limits(1)``) so that a Dask worker and the local
process vote the same to the last bit.
"""

from __future__ import annotations

import numpy as np

NOISE = -1
DUPLICATE_SIMILARITY = 0.9995  # a mention this similar to a reference keeps the reference's theme

__all__ = ["neighbours", "votes", "policy", "resolve", "support_floors", "top_k", "positions",
           "DUPLICATE_SIMILARITY"]


def top_k(S: np.ndarray, k: int, rows: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the ``k`` largest entries of every row of ``S`` (unordered).

    Partitioned ``rows`` rows at a time: the index array ``argpartition``
    builds is as large as its input, and keeping it small is 2-2.5x faster
    than partitioning a block of thousands of rows at once. Row by row the
    result is the same.
    """
    part = np.empty((len(S), k), dtype=np.int64)
    for start in range(0, len(S), rows):
        part[start : start + rows] = np.argpartition(-S[start : start + rows], k - 1, axis=1)[:, :k]
    return part, np.take_along_axis(S, part, axis=1)


def positions(members: np.ndarray, n: int) -> np.ndarray:
    """For every one of ``n`` rows, its position among the references ``members`` (row indices), -1 if none."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[members] = np.arange(len(members))
    return pos


def neighbours(X: np.ndarray, refs: np.ndarray, n_neighbors: int,
               exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and similarities (most similar first) of the ``n_neighbors`` nearest rows of ``refs``.

    ``exclude``: per row of ``X``, a reference it may not pick (itself; -1:
    none), as from :func:`positions`. Chunked, 2,048 rows at a time.
    """
    k = min(n_neighbors, len(refs) - (exclude is not None))
    idx = np.zeros((len(X), max(k, 0)), dtype=np.int64)
    sim = np.zeros((len(X), max(k, 0)), dtype=np.float32)
    if k <= 0:
        return idx, sim
    from threadpoolctl import threadpool_limits

    # one BLAS thread: OpenBLAS 0.3.31 (numpy 2.4) sums a multi-threaded
    # product in another order than a single-threaded one, so a Dask
    # worker (one thread) and the local process voted differently
    with threadpool_limits(limits=1, user_api="blas"):
        _neighbour_chunks(X, refs, exclude, k, idx, sim)
    return idx, sim


def _neighbour_chunks(X, refs, exclude, k, idx, sim) -> None:
    """Fill ``idx`` and ``sim`` in place, 2,048 rows at a time (see :func:`neighbours`)."""
    for start in range(0, len(X), 2048):
        S = X[start : start + 2048] @ refs.T
        if exclude is not None:
            rows = np.arange(len(S))
            own = exclude[start : start + 2048]
            has = own >= 0
            S[rows[has], own[has]] = -np.inf
        part, ps = top_k(S, k)
        order = np.argsort(-ps, axis=1, kind="stable")
        idx[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
        sim[start : start + len(S)] = np.take_along_axis(ps, order, axis=1)


def votes(X: np.ndarray, refs: np.ndarray, ref_labels: np.ndarray, k: int, n_neighbors: int,
          exclude: np.ndarray | None = None):
    """Similarity-weighted vote shares over ``k`` themes.

    Returns ``shares`` (n, k), the mean neighbour similarity (n,), the
    nearest reference (n,) and its similarity (n,).
    """
    n = len(X)
    idx, sim = neighbours(X, refs, n_neighbors, exclude)
    shares = np.zeros((n, k))
    if idx.shape[1] == 0 or k == 0:
        return shares, np.full(n, -np.inf), np.zeros(n, dtype=int), np.full(n, -np.inf)
    w = np.maximum(sim, 1e-6).astype(np.float64)
    rows = np.repeat(np.arange(n), idx.shape[1])
    np.add.at(shares, (rows, ref_labels[idx].ravel()), w.ravel())
    shares /= shares.sum(axis=1, keepdims=True)
    return shares, sim.mean(axis=1), idx[:, 0], sim[:, 0]


def policy(shares: np.ndarray, support: np.ndarray, *, partner: np.ndarray, neg_half: np.ndarray,
           floors: np.ndarray, outlier_threshold: float, negative: np.ndarray | None = None):
    """The outlier policy: (theme ids before edits, vote shares); -1 and 0 for noise.

    The two halves of a theme split by polarity (``partner``, ``neg_half``)
    vote together; the mention's own polarity (``negative``) then picks the
    half, or, when it is not given, the half with more votes. A winner needs
    a share of at least ``outlier_threshold`` and a mean neighbour
    similarity (``support``) of at least its ``floors`` entry.
    """
    n = len(shares)
    if len(partner) == 0:
        return np.full(n, NOISE), np.zeros(n)
    rows = np.arange(n)
    fam = shares.copy()
    first = np.flatnonzero((partner >= 0) & ~neg_half)
    fam[:, first] += shares[:, partner[first]]
    fam[:, partner[first]] = 0.0
    win = fam.argmax(axis=1)
    share = fam[rows, win]
    split = partner[win] >= 0
    if split.any():
        other = np.where(split, partner[win], win)
        to_other = shares[rows, other] > shares[rows, win]
        if negative is not None:
            to_other = negative == neg_half[other]
        win = np.where(split & to_other, other, win)
    ok = (share >= outlier_threshold) & (support >= floors[win])
    return np.where(ok, win, NOISE), np.where(ok, share, 0.0)


def resolve(ids: np.ndarray, negative: np.ndarray | None, *, partner: np.ndarray,
            neg_half: np.ndarray) -> np.ndarray:
    """Move mentions of a theme split by polarity to the half of their own polarity.

    (``partner``: per fit id, the other half of a split theme, else -1;
    ``neg_half``: whether the id is the negative half.)
    """
    if negative is None or not (partner >= 0).any():
        return ids
    on = np.flatnonzero(ids >= 0)
    t = ids[on]
    move = on[(partner[t] >= 0) & (neg_half[t] != negative[on])]
    out = ids.copy()
    out[move] = partner[ids[move]]
    return out


def support_floors(refs: np.ndarray, ref_labels: np.ndarray, k: int, *, n_neighbors: int,
                   quantile: float) -> np.ndarray:
    """Per theme: the ``quantile`` of its references' mean similarity to their nearest other references."""
    floors = np.full(k, -np.inf)
    if k == 0 or len(refs) < 2:
        return floors
    _, sim = neighbours(refs, refs, n_neighbors, exclude=np.arange(len(refs)))
    sim = sim.astype(np.float64)
    support = sim.mean(axis=1)
    for t in range(k):
        s = support[ref_labels == t]
        if len(s):
            floors[t] = float(np.quantile(s, quantile))
    return floors
