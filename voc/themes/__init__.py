"""Theme model: embeddings -> named, quotable themes.

Method (see ``docs/themes.md``):

1. **Reduce** the L2-normalised embeddings with UMAP (cosine metric,
   ``min_dist=0``, seeded, so single-threaded and deterministic).
2. **Cluster** the reduced points with HDBSCAN (``min_samples`` smaller than
   ``min_cluster_size``, excess-of-mass selection). Themes are renumbered
   ``0..k-1`` by size, largest first; ``-1`` is noise.
3. **Merge duplicate themes** (one complaint split by language or
   phrasing): centroids whose cosine similarity is at least
   ``merge_zscore`` standard deviations above the mean over all theme pairs
   merge, before anything else is derived from the themes.
4. **Outlier policy** (the same rule in :meth:`ThemeModel.fit` and
   :meth:`ThemeModel.assign`): a point is compared with the clustered training
   points ("references", kept in the original embedding space). Its
   ``n_assign_neighbors`` most similar references vote, weighted by cosine
   similarity. The point joins the winning theme when the winner's vote share
   is at least ``outlier_threshold`` *and* the point is as close to its
   neighbours as a typical member of that theme (mean neighbour similarity at
   least the ``noise_quantile`` quantile of the members' own values).
   Otherwise it stays noise (``-1``). ``theme_prob`` is the vote share.
5. **Label** every theme with class-based TF-IDF over keyword tokens
   (``tf(w, theme) * log(1 + mean words per theme / freq(w))``), and pick
   representative quotes closest to the theme centroid.

6. **Topics**: leaf themes are grouped into parent topics by their centroids
   (:mod:`voc.themes.hierarchy`); ``topic_of_`` maps themes to topics and
   ``topics_`` describes them like ``themes_``.

Analyst edits (rename / merge / delete themes; rename / merge topics, move a
theme to another topic) are replayed on top of the fitted model and kept
with it by :meth:`ThemeModel.save`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._atomic import atomic_dir
from ..errors import ConfigError, InputError, ModelError
from .hierarchy import TOPIC_ZSCORE, group_themes, join_topics, topic_threshold
from . import labels as L
from . import summary as summ
from .edits import edits_to_json, empty_edits, load_edits, validate_edits

log = logging.getLogger(__name__)

NOISE = -1
FORMAT = "voc-theme-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"
DUPLICATE_SIMILARITY = 0.9995
COHESION_TRIM = 0.2  # share of least similar members left out of a theme's cohesion
LABEL_SEPARATOR = " / "
KEYWORD_SEPARATOR = "; "
EXEMPLAR_SEPARATOR = " | "

__all__ = ["ThemeModel", "load_edits", "c_tf_idf", "default_min_theme_size"]


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


class ThemeModel:
    """Cluster mention embeddings into labelled themes.

    Parameters
    ----------
    min_theme_size : int or None, default None
        Smallest cluster HDBSCAN may call a theme (``min_cluster_size``).
        ``None`` derives it from the number of fitted mentions ``n``:
        ``round(sqrt(n) / 5)`` clipped to ``[5, 100]``, e.g. 11 for 3,080
        mentions (see :func:`default_min_theme_size`).
    n_components : int or None, default 5
        UMAP output dimensions. ``None`` skips the reduction and clusters the
        normalised embeddings directly (only sensible for a few hundred points).
    n_neighbors : int, default 15
        UMAP neighbourhood size.
    min_samples : int or None, default None
        HDBSCAN ``min_samples`` (how conservative the density estimate is).
        ``None`` means ``min(5, min_theme_size)``.
    cluster_selection_method : {"eom", "leaf"}, default "eom"
        HDBSCAN cluster selection.
    merge_zscore : float or None, default 4.0
        Merge duplicate themes (the same topic split by language or
        phrasing): two themes merge when their centroid cosine similarity
        is at least ``merge_zscore`` standard deviations above the mean
        similarity of all theme pairs (see :func:`_merge_duplicates`).
        ``None`` never merges.
    topic_zscore : float or None, default 1.5
        Group leaf themes into parent topics: average-linkage clustering of
        the theme centroids, cut where the mean cross similarity falls below
        ``mean + topic_zscore * std`` of all theme-pair similarities (see
        :mod:`voc.themes.hierarchy`). ``None``: every theme is its own topic.
    topic_polarity : bool, default False
        Keep complaint themes (at least half of their fit mentions negative)
        and the other themes in separate topics. Off by default: measured
        in docs/themes.md ("Topic designs"), it makes topics readable as
        complaint or praise but loses complaint mentions that sit in mixed
        themes.
    outlier_threshold : float, default 0.3
        Smallest similarity-weighted vote share of the nearest references for
        a point to join a theme; below it the point is noise (-1).
    noise_quantile : float, default 0.01
        A point also stays noise when its mean similarity to its nearest
        references is below this quantile of the same value over the theme's
        own members (it lies further out than 99% of them).
    n_assign_neighbors : int, default 10
        References that vote in the outlier policy and in :meth:`assign`.
    max_references : int, default 20000
        At most this many clustered training points are kept (a seeded random
        sample) as references; bounds model size and assign time.
    n_keywords : int, default 8
        Keywords kept per theme.
    n_label_words : int, default 3
        Top keywords joined by ``" / "`` into the label.
    n_exemplars : int, default 3
        Representative quotes per theme.
    random_state : int, default 0
        Seed of UMAP and of the reference sample.

    Attributes
    ----------
    labels_ : ndarray of int, shape (n,)
        Theme of every fitted mention after the outlier policy and edits;
        -1 is noise.
    probabilities_ : ndarray of float, shape (n,)
        Vote share behind each fitted mention's theme (0 for noise).
    themes_ : DataFrame
        ``theme, label, keywords, exemplars, size`` (keywords ``"; "``-joined,
        exemplars ``" | "``-joined), one row per theme after edits.
    edits_ : dict
        The analyst edits in force (see :func:`load_edits`).
    n_themes_ : int
        Themes found by the fit, before edits.
    topic_of_ : ndarray of int, shape (n_themes_,)
        Topic of every theme id after edits; -1 for themes merged away or
        deleted (see :meth:`topic_ids`).
    topics_ : DataFrame
        ``topic, label, keywords, exemplars, size, languages, themes``
        (``themes``: the leaf theme ids, ``"; "``-joined), one row per
        topic after edits.
    n_topics_ : int
        Topics found by the fit (and added by :meth:`extend`), before edits.

    Examples
    --------
    >>> model = ThemeModel(random_state=0).fit(emb, texts, tokens)  # doctest: +SKIP
    >>> ids, probs = model.assign(new_emb)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        min_theme_size: int | None = None,
        n_components: int | None = 5,
        n_neighbors: int = 15,
        min_samples: int | None = None,
        cluster_selection_method: str = "eom",
        merge_zscore: float | None = 4.0,
        topic_zscore: float | None = TOPIC_ZSCORE,
        topic_polarity: bool = False,
        split_polarity: float | None = None,
        outlier_threshold: float = 0.3,
        noise_quantile: float = 0.01,
        n_assign_neighbors: int = 10,
        max_references: int = 20_000,
        n_keywords: int = 8,
        n_label_words: int = 3,
        n_exemplars: int = 3,
        random_state: int = 0,
    ):
        self.min_theme_size = min_theme_size
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.merge_zscore = merge_zscore
        self.topic_zscore = topic_zscore
        self.topic_polarity = topic_polarity
        self.split_polarity = split_polarity
        self.outlier_threshold = outlier_threshold
        self.noise_quantile = noise_quantile
        self.n_assign_neighbors = n_assign_neighbors
        self.max_references = max_references
        self.n_keywords = n_keywords
        self.n_label_words = n_label_words
        self.n_exemplars = n_exemplars
        self.random_state = random_state

    # ------------------------------------------------------------------ params
    _PARAMS = (
        "min_theme_size", "n_components", "n_neighbors", "min_samples",
        "cluster_selection_method", "merge_zscore", "topic_zscore", "topic_polarity", "split_polarity",
        "outlier_threshold", "noise_quantile",
        "n_assign_neighbors", "max_references", "n_keywords", "n_label_words",
        "n_exemplars", "random_state",
    )

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments as a dict."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def _check_params(self) -> None:
        def bad(name: str, allowed: str) -> ConfigError:
            return ConfigError(
                f"The '{name}' parameter of ThemeModel must be {allowed}. "
                f"Got {getattr(self, name)!r} instead."
            )

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        for name, low in (("min_theme_size", 2), ("min_samples", 1), ("n_components", 2)):
            v = getattr(self, name)
            if v is not None and not (is_int(v) and v >= low):
                raise bad(name, f"None or an int >= {low}")
        for name, low in (("n_neighbors", 2), ("n_assign_neighbors", 1), ("max_references", 1),
                          ("n_keywords", 1), ("n_label_words", 1), ("n_exemplars", 0)):
            v = getattr(self, name)
            if not (is_int(v) and v >= low):
                raise bad(name, f"an int >= {low}")
        if not is_int(self.random_state):
            raise bad("random_state", "an int")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise bad("cluster_selection_method", "one of 'eom', 'leaf'")
        for name in ("merge_zscore", "topic_zscore"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < np.inf):
                raise bad(name, "None or a float >= 0")
        if not isinstance(self.topic_polarity, (bool, np.bool_)):
            raise bad("topic_polarity", "True or False")
        v = self.split_polarity
        if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 0.5):
            raise bad("split_polarity", "None or a float in the range (0, 0.5]")
        for name in ("outlier_threshold", "noise_quantile"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise bad(name, "a float in the range [0, 1]")

    # --------------------------------------------------------------------- fit
    def fit(
        self,
        embeddings: np.ndarray,
        texts: Sequence[str],
        tokens: Sequence[Sequence[str]],
        *,
        languages: Sequence[str] | None = None,
        sentiment: Sequence[str] | None = None,
        phrases: Sequence[Sequence] | None = None,
        taxonomy: Any = None,
    ) -> "ThemeModel":
        """Find themes in ``embeddings`` and label them.

        Parameters
        ----------
        embeddings : ndarray, shape (n, d)
            One row per mention (normalised here, any scale accepted).
        texts : sequence of str
            The mention texts (exemplars are chosen from them).
        tokens : sequence of list of str
            Keyword tokens per mention (:func:`voc.segment.keyword_tokens`).
        languages : sequence of str, optional
            Language per mention; checked for length, recorded as the
            language mix of each theme (``themes_["languages"]``).
        sentiment : sequence of str, optional
            ``sentiment_label`` per mention. A theme whose mentions are both
            substantially negative and substantially positive
            (``split_polarity``) is split in two: its negative mentions and
            the rest (e.g. "late delivery" and "fast delivery"). ``None``:
            no split.
        phrases : sequence of list of (str, str), optional
            Candidate label phrases per mention, ``(text, lemma key)`` pairs
            (:func:`voc.segment.keyword_tokens_and_phrases`). Themes are then
            labelled with their best phrase (:mod:`voc.themes.labels`);
            without them, with their top keywords joined by " / ".
        taxonomy : voc.themes.taxonomy.SeedIndex, optional
            The analysts' code frame, embedded
            (:func:`voc.themes.taxonomy.embed_taxonomy`): mentions close to a
            seeded theme go to it (ids ``0..s-1`` in taxonomy order), only
            the rest is clustered (ids after them); :meth:`assign` applies
            the same rule.

        Returns
        -------
        ThemeModel
            ``self``.
        """
        self._check_params()
        X = _as_embeddings(embeddings)
        n = len(X)
        texts = [str(t) for t in texts]
        if any(isinstance(toks, str) for toks in tokens):
            raise InputError(
                "ThemeModel.fit needs tokens as one list of words per mention, got a plain "
                "string; use voc.segment.keyword_tokens(texts, languages)."
            )
        tokens = [[str(w) for w in toks] for toks in tokens]
        for name, seq in (("texts", texts), ("tokens", tokens), ("languages", languages),
                          ("sentiment labels", sentiment), ("phrase lists", phrases)):
            if seq is not None and len(seq) != n:
                raise InputError(
                    f"ThemeModel.fit got {n} embeddings but {len(seq)} {name}; "
                    "pass one entry per embedding row."
                )
        if n < 3:
            raise InputError(f"ThemeModel.fit needs at least 3 mentions, got {n}.")
        if taxonomy is not None:
            from .taxonomy import fit_seeded

            return fit_seeded(self, taxonomy, X, texts, tokens, languages=languages, sentiment=sentiment,
                              phrases=phrases)

        mcs = self.min_theme_size or default_min_theme_size(n)
        min_samples = self.min_samples or min(5, mcs)
        labels = _relabel_by_size(self._cluster(X, mcs, min_samples))
        labels = _relabel_by_size(_merge_duplicates(X, labels, self.merge_zscore))
        polarity = summ.polarity(sentiment)
        negative = None if polarity is None else polarity < 0
        labels, self._partner, self._neg_half = _split_by_polarity(labels, polarity, mcs,
                                                                    self.split_polarity)
        k = len(self._partner)

        # references: clustered points (seeded sample when too many), stored
        # at float16 precision so a saved model assigns exactly like this one
        rng = np.random.default_rng(self.random_state)
        members = np.flatnonzero(labels >= 0)
        if len(members) > self.max_references:
            members = np.sort(rng.choice(members, self.max_references, replace=False))
        self._ref = X[members].astype(np.float16).astype(np.float32)
        self._ref_labels = labels[members]
        self._k = k
        self._floors = self._support_floors(k)

        # outlier policy on the noise; members keep their HDBSCAN theme
        shares, support, _, _ = self._votes(X, exclude=_positions(members, n))
        ids, fam = self._policy(shares, support, negative)
        final = np.where(labels == NOISE, ids, labels)
        probs = np.zeros(n)
        if k:
            probs[final >= 0] = shares[final >= 0, final[final >= 0]]
            outliers = (labels == NOISE) & (final >= 0)
            probs[outliers] = fam[outliers]  # the vote share of the theme (both halves of a split)

        # final ids: 0..k-1 by size after the outlier policy
        order = np.argsort(-np.bincount(final[final >= 0], minlength=k), kind="stable")
        remap = np.empty(k + 1, dtype=int)
        remap[0] = NOISE
        remap[order + 1] = np.arange(k)
        final = remap[final + 1]
        self._ref_labels = remap[self._ref_labels + 1]
        self._floors = self._floors[order]
        self._partner = remap[self._partner[order] + 1]
        self._neg_half = self._neg_half[order]
        self._ref_probs = probs[members]

        self.n_themes_ = k
        self.min_theme_size_ = int(mcs)
        self._base_labels = final
        self._base_probs = probs
        self._centroids = summ.centroids(X, final, k)
        self._vocab, self._counts = summ.class_counts(tokens, final, k)
        self._phrases = (None if phrases is None else
                         L.phrase_counts(phrases, final, k, None if negative is None else np.asarray(negative)))
        self._base_sizes = np.bincount(final[final >= 0], minlength=k).astype(int)
        self._leaf_negative = summ.negative_shares(negative, final, k)
        self._base_exemplars = [
            summ.exemplars(X, texts, final, t, self._centroids[t], self.n_exemplars) for t in range(k)
        ]
        self._base_languages = summ.language_mix(languages, final, k)
        self._topic_threshold = topic_threshold(self._centroids, zscore=self.topic_zscore)
        self._base_topics = group_themes(self._centroids, sizes=self._base_sizes,
                                         threshold=self._topic_threshold, negative_share=self._topic_sides())
        self.edits_ = empty_edits()
        self._frozen_words: dict[int, list[str]] = {}
        self._frozen_topic_words: dict[int, tuple[tuple[int, ...], list[str]]] = {}
        self._frozen_labels: dict[int, str] = {}
        self._rebuild()
        return self

    def _cluster(self, X: np.ndarray, mcs: int, min_samples: int) -> np.ndarray:
        import hdbscan  # noqa: F401  (load every BLAS library before limiting:
        import umap  # noqa: F401  threadpool_limits only limits those already loaded)
        from threadpoolctl import threadpool_limits

        # one BLAS thread: multi-threaded BLAS sums in a varying order, and
        # UMAP amplifies those last-bit differences (in the neighbour
        # distances and its start) into different layouts per process
        with threadpool_limits(limits=1, user_api="blas"):
            return self._cluster_single_threaded(X, mcs, min_samples)

    def _cluster_single_threaded(self, X: np.ndarray, mcs: int, min_samples: int) -> np.ndarray:
        import hdbscan

        n = len(X)
        Z = X
        if self.n_components is not None and n > self.n_neighbors + 1 and n > self.n_components + 2:
            import warnings

            import umap

            # exact cosine neighbours by matrix product (BLAS): much faster than
            # UMAP's own exact path, which calls a numba metric once per pair.
            # PCA start, not UMAP's spectral one: ARPACK's eigenvectors differ in
            # the last bit from call to call (memory alignment), and UMAP turns
            # that into different layouts (76 vs 79 themes on the sample); the
            # PCA start is bit-stable and scores the same on Banking77.
            reducer = umap.UMAP(
                n_neighbors=self.n_neighbors,
                n_components=self.n_components,
                min_dist=0.0,
                metric="cosine",
                init="pca",
                random_state=self.random_state,
                n_jobs=1,
                precomputed_knn=_knn_graph(X, self.n_neighbors),
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
            cluster_selection_method=self.cluster_selection_method,
            core_dist_n_jobs=1,
            # extend() looks for emerging themes among a batch's leftovers,
            # where one tight group alone is the typical case
            allow_single_cluster=getattr(self, "_allow_single_cluster", False),
        )
        labels = np.asarray(clusterer.fit(Z).labels_, dtype=int)
        floor = getattr(self, "_min_cohesion", None)
        if clusterer.allow_single_cluster and floor is not None and labels.max() == 0 \
                and _cohesion(X, labels, 1, trim=COHESION_TRIM)[0] < floor:
            # the one "cluster" is the whole loose batch (HDBSCAN's root):
            # look for the tight groups inside it instead
            clusterer.allow_single_cluster = False
            labels = np.asarray(clusterer.fit(Z).labels_, dtype=int)
        return labels

    # ------------------------------------------------------------- the policy
    def _neighbours(self, X: np.ndarray, exclude: np.ndarray | None = None):
        """Indices and similarities of the nearest references, chunked."""
        k = min(self.n_assign_neighbors, len(self._ref) - (exclude is not None))
        idx = np.zeros((len(X), max(k, 0)), dtype=np.int64)
        sim = np.zeros((len(X), max(k, 0)), dtype=np.float32)
        if k <= 0:
            return idx, sim
        from threadpoolctl import threadpool_limits

        # one BLAS thread: OpenBLAS 0.3.31 (numpy 2.4) sums a multi-threaded
        # product in another order than a single-threaded one, so a Dask
        # worker (one thread) and the local process voted differently
        with threadpool_limits(limits=1, user_api="blas"):
            self._neighbour_chunks(X, exclude, k, idx, sim)
        return idx, sim

    def _neighbour_chunks(self, X, exclude, k, idx, sim) -> None:
        """Fill ``idx`` and ``sim`` in place, 2,048 rows at a time (see :meth:`_neighbours`)."""
        for start in range(0, len(X), 2048):
            S = X[start : start + 2048] @ self._ref.T
            if exclude is not None:
                rows = np.arange(len(S))
                own = exclude[start : start + 2048]
                has = own >= 0
                S[rows[has], own[has]] = -np.inf
            part, ps = _top_k(S, k)
            order = np.argsort(-ps, axis=1, kind="stable")
            idx[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
            sim[start : start + len(S)] = np.take_along_axis(ps, order, axis=1)

    def _votes(self, X: np.ndarray, exclude: np.ndarray | None = None):
        """Similarity-weighted vote shares (n, k) and mean neighbour similarity (n,)."""
        n = len(X)
        idx, sim = self._neighbours(X, exclude)
        shares = np.zeros((n, self._k))
        if idx.shape[1] == 0 or self._k == 0:
            return shares, np.full(n, -np.inf), np.zeros(n, dtype=int), np.full(n, -np.inf)
        w = np.maximum(sim, 1e-6).astype(np.float64)
        rows = np.repeat(np.arange(n), idx.shape[1])
        np.add.at(shares, (rows, self._ref_labels[idx].ravel()), w.ravel())
        shares /= shares.sum(axis=1, keepdims=True)
        return shares, sim.mean(axis=1), idx[:, 0], sim[:, 0]

    def _policy(self, shares: np.ndarray, support: np.ndarray, negative: np.ndarray | None = None):
        """The outlier policy: (theme ids before edits, vote shares).

        The two halves of a theme split by polarity vote together; the
        mention's own polarity (``negative``) then picks the half, or, when
        it is not given, the half with more votes.
        """
        n = len(shares)
        if self._k == 0:
            return np.full(n, NOISE), np.zeros(n)
        rows = np.arange(n)
        partner = self._partner
        fam = shares.copy()
        first = np.flatnonzero((partner >= 0) & ~self._neg_half)
        fam[:, first] += shares[:, partner[first]]
        fam[:, partner[first]] = 0.0
        win = fam.argmax(axis=1)
        share = fam[rows, win]
        split = partner[win] >= 0
        if split.any():
            other = np.where(split, partner[win], win)
            to_other = shares[rows, other] > shares[rows, win]
            if negative is not None:
                to_other = negative == self._neg_half[other]
            win = np.where(split & to_other, other, win)
        ok = (share >= self.outlier_threshold) & (support >= self._floors[win])
        return np.where(ok, win, NOISE), np.where(ok, share, 0.0)

    def _resolve(self, ids: np.ndarray, negative: np.ndarray | None) -> np.ndarray:
        """Move mentions of a split theme to the half of their own polarity.

        (``_partner``: per fit id, the other half of a theme split by
        polarity, else -1; ``_neg_half``: whether the id is the negative half.)
        """
        if negative is None or not (self._partner >= 0).any():
            return ids
        on = np.flatnonzero(ids >= 0)
        t = ids[on]
        move = on[(self._partner[t] >= 0) & (self._neg_half[t] != negative[on])]
        out = ids.copy()
        out[move] = self._partner[ids[move]]
        return out

    def _support_floors(self, k: int) -> np.ndarray:
        """Per theme: the noise_quantile of members' mean neighbour similarity."""
        floors = np.full(k, -np.inf)
        if k == 0 or len(self._ref) < 2:
            return floors
        _, sim = self._neighbours(self._ref, exclude=np.arange(len(self._ref)))
        sim = sim.astype(np.float64)
        support = sim.mean(axis=1)
        for t in range(k):
            s = support[self._ref_labels == t]
            if len(s):
                floors[t] = float(np.quantile(s, self.noise_quantile))
        return floors

    # ------------------------------------------------------------------ assign
    def assign(self, embeddings: np.ndarray, *,
               sentiment: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Map mentions to the fitted themes (same ids, same outlier policy).

        Uses only the stored references (original embedding space), not the
        UMAP reducer, so a saved model needs no pickled state. Merges and
        deletions in :attr:`edits_` are honoured.

        Parameters
        ----------
        embeddings : ndarray, shape (m, d)
            Embeddings from the same embedder the model was fitted with.
        sentiment : sequence of str, optional
            ``sentiment_label`` per row: a mention of a theme split by
            polarity goes to the half of its own polarity. ``None``: to the
            half most of its nearest references are in.

        Returns
        -------
        theme_ids : ndarray of int, shape (m,)
            Theme per row, -1 for noise.
        probs : ndarray of float, shape (m,)
            Vote share behind the theme (0 for noise).
        """
        self._check_fitted()
        X = _as_embeddings(embeddings)
        if len(X) and X.shape[1] != self._ref_dim():
            raise InputError(
                f"The theme model was fitted on {self._ref_dim()}-dimensional embeddings; "
                f"got {X.shape[1]}. Use the embedder the model was fitted with."
            )
        negative = summ.negative_mask(sentiment)
        if negative is not None and len(negative) != len(X):
            raise InputError(f"ThemeModel.assign got {len(X)} embeddings but {len(negative)} "
                             "sentiment labels; pass one per embedding row.")
        shares, support, nearest, nearest_sim = self._votes(X)
        ids, probs = self._policy(shares, support, negative)
        # a mention identical to a fitted one keeps its fitted theme
        same = nearest_sim >= DUPLICATE_SIMILARITY
        ids[same] = self._ref_labels[nearest[same]]
        probs[same] = self._ref_probs[nearest[same]]
        ids = self._resolve(ids, negative)
        if getattr(self, "_seed", None) is not None:  # the code frame first (voc.themes.taxonomy)
            seeded, sim = self._seed.match(X)
            on = seeded >= 0
            ids[on], probs[on] = seeded[on], sim[on]
        mapped = self._id_map[ids + 1]
        return mapped.astype(int), np.where(mapped >= 0, probs, 0.0)

    # ------------------------------------------------------------------- edits
    def apply_edits(self, edits: dict | None) -> "ThemeModel":
        """Apply analyst edits (see :func:`load_edits`) on top of the fit.

        Edits always start from the fitted themes, so applying the same edits
        twice gives the same model, and a new edits dict replaces the old one.
        Merged themes keep the first id of their group; deleted themes become
        noise (-1); ids are never renumbered.

        Returns
        -------
        ThemeModel
            ``self``.
        """
        self._check_fitted()
        self.edits_ = validate_edits(edits or {}, self.n_themes_, source="edits",
                                      n_topics=self.n_topics_)
        self._rebuild()
        return self

    def _rebuild(self) -> None:
        """Derive labels_, probabilities_, themes_ from the fit and the edits."""
        k = self.n_themes_
        target = np.arange(k)
        for group in self.edits_["merge"]:
            root = int(target[group[0]])
            for t in group[1:]:
                target[target == target[t]] = root
        for t in self.edits_["delete"]:
            target[target == target[t]] = NOISE
        self._id_map = np.concatenate([[NOISE], target]).astype(int)
        self.labels_ = self._id_map[self._base_labels + 1]
        self.probabilities_ = np.where(self.labels_ >= 0, self._base_probs, 0.0)

        survivors = sorted({int(t) for t in target if t >= 0})
        parts_of = {s: np.flatnonzero(target == s) for s in survivors}
        rest = np.concatenate([np.flatnonzero(target == NOISE), np.arange(k, len(self._counts))])
        words_of = self._keywords([parts_of[s] for s in survivors], rest)
        phrase_labels = self.group_labels([parts_of[s] for s in survivors])
        records, quotes_of = [], {}
        for s, words, phrase in zip(survivors, words_of, phrase_labels):
            parts = parts_of[s]
            single = int(parts[0]) if len(parts) == 1 else None
            if single in self._frozen_words:  # kept across extend()
                words = list(self._frozen_words[single])
            label = (self._frozen_labels.get(single) or phrase
                     or LABEL_SEPARATOR.join(words[: self.n_label_words]) or f"theme {s}")
            label = self.edits_["rename"].get(s, label)
            quotes_of[s] = summ.merge_exemplars([self._base_exemplars[p] for p in parts], self.n_exemplars)
            records.append(
                {
                    "theme": s,
                    "label": label,
                    "keywords": KEYWORD_SEPARATOR.join(words),
                    "exemplars": EXEMPLAR_SEPARATOR.join(quotes_of[s]),
                    "size": int(self._base_sizes[parts].sum()),
                    "languages": summ.merge_languages([self._base_languages[p] for p in parts]),
                }
            )
        cols = ["theme", "label", "keywords", "exemplars", "size", "languages"]
        self.themes_ = pd.DataFrame(records, columns=cols).astype({"theme": int, "size": int})
        self._rebuild_topics(target, parts_of, quotes_of, rest)

    def _keywords(self, groups: list[np.ndarray], rest: np.ndarray) -> list[list[str]]:
        """Keywords of each group of fitted theme ids, and the one place they are made.

        The groups' rows of the class-count matrix are summed (``rest``, the
        deleted themes and noise, is one more class) and scored with
        c-TF-IDF. Themes (one group per theme after merges) and topics (one
        group per topic) both come through here.
        """
        if not groups:
            return []
        rows = np.vstack([self._counts[g].sum(axis=0) for g in groups] + [self._counts[rest].sum(axis=0)])
        scores = c_tf_idf(rows)
        return [_top_words(scores[i], rows[i], self._vocab, self.n_keywords) for i in range(len(groups))]

    def _rebuild_topics(self, target: np.ndarray, parts_of: dict, quotes_of: dict, rest: np.ndarray) -> None:
        """Derive topic_of_ and topics_ from the fitted topics and the edits.

        A theme merged by the analyst is in its first id's topic; then
        ``move`` puts themes in other topics, ``merge_topics`` merges topics
        (into the first id) and ``rename_topic`` renames them.
        """
        edits = self.edits_
        topic_target = np.arange(self.n_topics_)
        for group in edits["merge_topics"]:
            root = int(topic_target[group[0]])
            for t in group[1:]:
                topic_target[topic_target == topic_target[t]] = root
        topic_of = np.full(self.n_themes_, NOISE, dtype=int)
        for s in parts_of:
            topic_of[s] = edits["move"].get(s, self._base_topics[s])
        on = topic_of >= 0
        topic_of[on] = topic_target[topic_of[on]]
        self.topic_of_ = topic_of
        topics = sorted({int(t) for t in topic_of[on]})
        leaves_of = {t: [s for s in sorted(parts_of, key=lambda s: (-self._base_sizes[parts_of[s]].sum(), s))
                         if topic_of[s] == t] for t in topics}
        groups = [np.concatenate([parts_of[s] for s in leaves_of[t]]) for t in topics]
        records = []
        theme_label = dict(zip(self.themes_["theme"], self.themes_["label"]))
        phrases = self.group_labels(groups)  # a topic's phrase label: its leaves' phrase counts summed
        for t, words, parts, phrase in zip(topics, self._keywords(groups, rest), groups, phrases):
            frozen = self._frozen_topic_words.get(t)
            if frozen is not None and frozen[0] == tuple(sorted(int(p) for p in parts)):  # kept across extend()
                words = list(frozen[1])
            if len(leaves_of[t]) == 1:  # a one-theme topic is called what its theme is called
                phrase = theme_label.get(leaves_of[t][0], phrase)
            label = (getattr(self, "_topic_names", {}).get(t) or phrase  # a taxonomy topic keeps its name
                     or LABEL_SEPARATOR.join(words[: self.n_label_words]) or f"topic {t}")
            quotes = summ.merge_exemplars([quotes_of[s] for s in leaves_of[t]], self.n_exemplars)
            records.append({
                "topic": t,
                "label": edits["rename_topic"].get(t, label),
                "keywords": KEYWORD_SEPARATOR.join(words),
                "exemplars": EXEMPLAR_SEPARATOR.join(quotes),
                "size": int(self._base_sizes[parts].sum()),
                "languages": summ.merge_languages([self._base_languages[p] for p in parts]),
                "themes": KEYWORD_SEPARATOR.join(str(s) for s in sorted(leaves_of[t])),
            })
        cols = ["topic", "label", "keywords", "exemplars", "size", "languages", "themes"]
        self.topics_ = pd.DataFrame(records, columns=cols).astype({"topic": int, "size": int})

    def _topic_sides(self) -> np.ndarray | None:
        """The leaves' negative shares when topics keep complaints apart (``topic_polarity``), else None."""
        return self._leaf_negative if self.topic_polarity else None

    def topic_ids(self, theme_ids: Any) -> np.ndarray:
        """Topic of each theme id (after edits); -1 for -1 (noise) and unknown ids."""
        self._check_fitted()
        ids = np.asarray(theme_ids, dtype=int).ravel()
        out = np.full(len(ids), NOISE, dtype=int)
        ok = (ids >= 0) & (ids < len(self.topic_of_))
        out[ok] = self.topic_of_[ids[ok]]
        return out

    @property
    def n_topics_(self) -> int:
        return int(self._base_topics.max()) + 1 if len(self._base_topics) else 0

    def group_labels(self, groups: Sequence[Sequence[int]]) -> list[str]:
        """Phrase label of each group of fitted theme ids (a theme, a merge, a topic).

        A group's row is the sum of its themes' rows of the theme x phrase
        counts; the themes in no group and the noise count in the IDF as one
        background row (:func:`voc.themes.labels.phrase_labels`). Returns ""
        for every group when the model has no phrase counts (fitted without
        ``phrases``, or saved by an older voc).
        """
        if getattr(self, "_phrases", None) is None:
            return [""] * len(groups)
        texts, keys, counts, neg = self._phrases
        k = self.n_themes_
        rows, neg_rows, rest = [], [], np.ones(k + 1, dtype=bool)
        for g in groups:
            g = np.asarray(g, dtype=int)
            rows.append(counts[g].sum(axis=0))
            neg_rows.append(neg[g].sum(axis=0))
            rest[g] = False
        rows.append(counts[rest].sum(axis=0))
        neg_rows.append(neg[rest].sum(axis=0))
        languages = [summ.merge_languages([self._base_languages[t] for t in g]) for g in groups]
        return L.phrase_labels(np.vstack(rows), np.vstack(neg_rows), texts, keys, n_rows=len(groups),
                               languages=languages, separator=LABEL_SEPARATOR)

    # ---------------------------------------------------------------- extend
    def extend(
        self,
        embeddings: np.ndarray,
        texts: Sequence[str],
        tokens: Sequence[Sequence[str]],
        *,
        languages: Sequence[str] | None = None,
        sentiment: Sequence[str] | None = None,
        min_theme_size: int | None = None,
        phrases: Sequence[Sequence] | None = None,
    ) -> list[int]:
        """Add emerging themes found among mentions that fit no existing theme.

        The mentions (typically those a new batch left as noise after
        :meth:`assign`) are clustered with this model's parameters; each
        cluster becomes a new theme with the next free id. Existing themes,
        their ids and the edits are unchanged. Every existing topic keeps its
        id; a new theme joins the topic whose themes' centroids are on average
        at least the fitted cut similar to it (:func:`~voc.themes.hierarchy.join_topics`),
        otherwise it gets a new topic id after the existing ones.

        Parameters
        ----------
        embeddings, texts, tokens, languages, sentiment, phrases
            As in :meth:`fit`, for the unassigned mentions only.
        min_theme_size : int, optional
            Smallest emerging theme. ``None`` means the model's fitted
            ``min_theme_size_``: a new theme must clear the same size bar as
            the established ones (smaller groups of leftovers are too often
            a few stray phrasings).

        Returns
        -------
        list of int
            The ids of the new themes (empty when none emerged).
        """
        self._check_fitted()
        X = _as_embeddings(embeddings)
        mcs = min_theme_size or self.min_theme_size_
        if len(X) < max(2 * mcs, 3):
            return []
        params = self.get_params() | {"min_theme_size": mcs}
        # keep only clusters as cohesive as the usual established theme; the
        # trimmed cohesion ignores the few strays UMAP puts next to a young theme
        cohesions = _cohesion(self._ref, self._ref_labels, self._k, trim=COHESION_TRIM)
        cohesions = cohesions[np.bincount(self._ref_labels, minlength=self._k)[: self._k] > 0]  # not empty
        floor = float(np.quantile(cohesions, 0.1)) if len(cohesions) else 0.0
        sub = ThemeModel(**params)
        sub._allow_single_cluster = True
        sub._min_cohesion = floor
        sub.fit(X, texts, tokens, languages=languages, sentiment=sentiment, phrases=phrases)
        cohesion = _cohesion(sub._ref, sub._ref_labels, sub.n_themes_, trim=COHESION_TRIM)
        keep = np.flatnonzero(cohesion >= floor)
        log.info("extend: candidate themes of sizes %s, cohesion %s; kept those >= %.3f",
                 sub._base_sizes.tolist(), np.round(cohesion, 3).tolist(), floor)
        if len(keep) < sub.n_themes_:
            sub = _subset_themes(sub, keep)
        j, k = sub.n_themes_, self.n_themes_
        if j == 0:
            return []
        # established themes keep their keywords and labels: new classes
        # would otherwise shift every theme's c-TF-IDF weights a little
        target = self._id_map[1:]
        for row in self.themes_.itertuples():
            parts = np.flatnonzero(target == row.theme)
            if len(parts) == 1 and row.keywords:
                self._frozen_words.setdefault(int(parts[0]), row.keywords.split(KEYWORD_SEPARATOR))
            if len(parts) == 1 and row.theme not in self.edits_["rename"]:
                self._frozen_labels.setdefault(int(parts[0]), row.label)
        # so do topics whose themes do not change
        for row in self.topics_.itertuples():
            parts = tuple(sorted(int(p) for s in row.themes.split(KEYWORD_SEPARATOR)
                                 for p in np.flatnonzero(target == int(s))))
            if row.keywords:
                self._frozen_topic_words[int(row.topic)] = (parts, row.keywords.split(KEYWORD_SEPARATOR))
        # every existing topic keeps its id; a new theme joins the nearest
        # topic within the fitted cut, else it starts a new topic
        self._base_topics = np.concatenate([self._base_topics, join_topics(
            sub._centroids, self._centroids, self._base_topics, threshold=self._topic_threshold,
            sizes=sub._base_sizes, new_negative_share=sub._topic_sides(),
            negative_share=self._topic_sides())])
        self._leaf_negative = np.concatenate([self._leaf_negative, sub._leaf_negative])
        self._ref = np.vstack([self._ref, sub._ref])
        self._neg_half = np.concatenate([self._neg_half, sub._neg_half])
        self._partner = np.concatenate([self._partner, np.where(sub._partner >= 0, sub._partner + k, NOISE)])
        self._ref_labels = np.concatenate([self._ref_labels, sub._ref_labels + k])
        self._ref_probs = np.concatenate([self._ref_probs, sub._ref_probs])
        # a young theme is only its dense core; let it take members as far
        # out as a typical established theme does
        floors = np.minimum(sub._floors, np.median(self._floors)) if self._k else sub._floors
        self._floors = np.concatenate([self._floors, floors])
        self._centroids = np.vstack([self._centroids, sub._centroids])
        vocab = sorted(set(self._vocab) | set(sub._vocab))
        counts = np.zeros((k + j + 1, len(vocab)), dtype=np.int64)
        old = np.searchsorted(vocab, self._vocab)
        new = np.searchsorted(vocab, sub._vocab)
        counts[:k, old] = self._counts[:k]
        counts[k : k + j][:, new] = sub._counts[:j]
        counts[k + j, old] += self._counts[k]
        counts[k + j, new] += sub._counts[j]
        self._vocab, self._counts = vocab, counts
        self._phrases = _stack_phrases(self._phrases, sub._phrases, k, j)
        self._base_sizes = np.concatenate([self._base_sizes, sub._base_sizes])
        self._base_exemplars = self._base_exemplars + sub._base_exemplars
        self._base_languages = self._base_languages + sub._base_languages
        self._k = self.n_themes_ = k + j
        self._rebuild()
        return list(range(k, k + j))

    # --------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> Path:
        """Write the model to folder ``path`` (``model.json`` + ``arrays.npz``).

        No pickle: parameters, labels, keywords, exemplars, edits and version
        are JSON; references, centroids and counts are plain arrays.
        """
        self._check_fitted()
        path = Path(path)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": self.get_params(),
            "n_themes": int(self.n_themes_),
            "min_theme_size": int(self.min_theme_size_),
            "dim": int(self._ref_dim()),
            "embedder_name": getattr(self, "embedder_name_", None),
            "vocabulary": list(self._vocab),
            "exemplars": self._base_exemplars,
            "languages": self._base_languages,
            "edits": edits_to_json(self.edits_),
            "frozen_keywords": {str(t): w for t, w in sorted(self._frozen_words.items())},
            "frozen_topic_keywords": {str(t): {"themes": list(parts), "keywords": words}
                                      for t, (parts, words) in sorted(self._frozen_topic_words.items())},
            "topic_threshold": (float(self._topic_threshold) if np.isfinite(self._topic_threshold)
                                else None),
            "frozen_labels": {str(t): w for t, w in sorted(self._frozen_labels.items())},
        }
        arrays = {
            "references": self._ref.astype(np.float16),
            "reference_labels": self._ref_labels.astype(np.int32),
            "reference_probabilities": self._ref_probs.astype(np.float64),
            "floors": self._floors.astype(np.float64),
            "partners": self._partner.astype(np.int32),
            "negative_halves": self._neg_half.astype(np.int8),
            "centroids": self._centroids.astype(np.float32),
            "counts": self._counts.astype(np.int32),
            "sizes": self._base_sizes.astype(np.int64),
            "labels": self._base_labels.astype(np.int32),
            "probabilities": self._base_probs.astype(np.float32),
            "topics": self._base_topics.astype(np.int32),
            # negative fit mentions per theme (-1: fitted without sentiment)
            "negative_counts": np.where(np.isnan(self._leaf_negative), -1,
                                        np.rint(np.nan_to_num(self._leaf_negative) * self._base_sizes)
                                        ).astype(np.int64),
        }
        if getattr(self, "_topic_names", None):
            meta["topic_names"] = {str(t): v for t, v in sorted(self._topic_names.items())}
        if getattr(self, "_seed", None) is not None:  # the code frame travels with the model
            meta["taxonomy"] = self._seed.meta()
            meta["retired_seeds"] = dict(getattr(self, "_retired_seeds", {}))
            arrays.update({f"taxonomy_{k}": v for k, v in self._seed.arrays().items()})
        if self._phrases is not None:
            meta["phrases"], meta["phrase_keys"] = list(self._phrases[0]), list(self._phrases[1])
            arrays["phrase_counts"] = self._phrases[2].astype(np.int32)
            arrays["phrase_negative"] = self._phrases[3].astype(np.int32)
        with atomic_dir(path) as tmp:
            (tmp / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            with open(tmp / ARRAYS_NPZ, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ThemeModel":
        """Read a model written by :meth:`save`; :class:`ModelError` if bad."""
        path = Path(path)
        fix = "Re-create it with ThemeModel.save (or `voc run --save-model`)."
        try:
            meta = json.loads((path / MODEL_JSON).read_text(encoding="utf-8"))
            with np.load(path / ARRAYS_NPZ, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
        except FileNotFoundError as exc:
            raise ModelError(f"No theme model at {path}: missing {Path(exc.filename).name}. {fix}") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ModelError(f"Theme model {path} is corrupt ({exc}). {fix}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelError(f"{path / MODEL_JSON} is not a voc theme model. {fix}")
        if meta.get("version") != FORMAT_VERSION:
            raise ModelError(
                f"Theme model {path} has format version {meta.get('version')!r}; this voc "
                f"reads version {FORMAT_VERSION}. {fix}"
            )
        _check_meta(meta, arrays, where=f"Theme model {path}", fix=fix)
        try:
            model = cls(**meta["params"])
            model._check_params()
            k, dim = int(meta["n_themes"]), int(meta["dim"])
            vocab = [str(w) for w in meta["vocabulary"]]
            model._ref = arrays["references"].astype(np.float32)
            model._ref_labels = arrays["reference_labels"].astype(int)
            model._ref_probs = arrays["reference_probabilities"].astype(np.float64)
            model._floors = arrays["floors"].astype(np.float64)
            # models saved before polarity splits have neither array: no split themes
            model._partner = arrays.get("partners", np.full(k, NOISE)).astype(int)
            model._neg_half = arrays.get("negative_halves", np.zeros(k)).astype(bool)
            model._centroids = arrays["centroids"].astype(np.float32)
            model._counts = arrays["counts"].astype(np.int64)
            model._base_sizes = arrays["sizes"].astype(int)
            # models saved before polarity-aware topics: leaf polarity unknown
            neg_counts = arrays.get("negative_counts", np.full(k, -1)).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                model._leaf_negative = np.where(neg_counts >= 0, neg_counts / model._base_sizes, np.nan)
            model._base_labels = arrays["labels"].astype(int)
            model._base_probs = arrays["probabilities"].astype(np.float64)
            # models saved before topics: the topics are derived from the centroids
            if "topic_threshold" in meta:
                thr = meta["topic_threshold"]
                model._topic_threshold = float("inf") if thr is None else float(thr)
            else:
                model._topic_threshold = topic_threshold(model._centroids, zscore=model.topic_zscore)
            model._base_topics = (arrays["topics"].astype(int) if "topics" in arrays else group_themes(
                model._centroids, sizes=model._base_sizes, threshold=model._topic_threshold,
                negative_share=model._topic_sides()))
            model._phrases = None  # models saved before phrase labels: keyword labels
            if "phrase_counts" in arrays:
                model._phrases = ([str(p) for p in meta["phrases"]], [str(p) for p in meta["phrase_keys"]],
                                  arrays["phrase_counts"].astype(np.int64),
                                  arrays["phrase_negative"].astype(np.int64))
            p = model._phrases
            checks = [
                model._ref.ndim == 2 and model._ref.shape[1] == dim,
                model._ref_labels.shape == (len(model._ref),),
                model._ref_probs.shape == (len(model._ref),),
                model._floors.shape == (k,),
                model._partner.shape == (k,) and model._neg_half.shape == (k,),
                not (model._neg_half & (model._partner < 0)).any(),
                bool(((model._partner >= -1) & (model._partner < k)).all()),
                model._centroids.shape == (k, dim),
                model._leaf_negative.shape == (k,) and not (model._leaf_negative > 1).any(),
                model._counts.shape == (k + 1, len(vocab)),
                p is None or (len(p[0]) == len(p[1]) and p[2].shape == p[3].shape == (k + 1, len(p[0]))),
                model._base_sizes.shape == (k,),
                model._base_labels.shape == model._base_probs.shape,
                len(meta["exemplars"]) == k and len(meta["languages"]) == k,
                bool(((model._ref_labels >= 0) & (model._ref_labels < k)).all()),
                bool(((model._base_labels >= NOISE) & (model._base_labels < k)).all()),
                model._base_topics.shape == (k,) and bool((model._base_topics >= 0).all()),
            ]
            if not all(checks):
                raise ValueError("array shapes do not match the model description")
            model._k = k
            model._vocab = vocab
            model._base_exemplars = [[str(q) for q in qs] for qs in meta["exemplars"]]
            model._base_languages = [str(s) for s in meta["languages"]]
            model.n_themes_ = k
            model.min_theme_size_ = int(meta["min_theme_size"])
            if meta.get("embedder_name") is not None:
                model.embedder_name_ = str(meta["embedder_name"])
            model.edits_ = validate_edits(meta["edits"], k, source=str(path / MODEL_JSON),
                                           n_topics=model.n_topics_)
            model._frozen_words = {int(t): [str(w) for w in words]
                                   for t, words in meta.get("frozen_keywords", {}).items()}
            model._frozen_topic_words = {
                int(t): (tuple(int(p) for p in v["themes"]), [str(w) for w in v["keywords"]])
                for t, v in meta.get("frozen_topic_keywords", {}).items()}
            model._frozen_labels = {int(t): str(w) for t, w in meta.get("frozen_labels", {}).items()}
            model._topic_names = {int(t): str(v) for t, v in meta.get("topic_names", {}).items()}
            if "taxonomy" in meta:
                from .taxonomy import SeedIndex

                model._seed = SeedIndex.from_saved(meta["taxonomy"], {
                    k[len("taxonomy_"):]: v for k, v in arrays.items() if k.startswith("taxonomy_")})
                model._retired_seeds = {str(n): int(t) for n, t in meta.get("retired_seeds", {}).items()}
        except ConfigError as exc:
            raise ModelError(f"Theme model {path} is corrupt: {exc} {fix}") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"Theme model {path} is corrupt ({type(exc).__name__}: {exc}). {fix}") from None
        model._rebuild()
        return model

    # ----------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "_ref"):
            raise ModelError("This ThemeModel is not fitted yet. Call fit(...) or ThemeModel.load(path) first.")

    def _ref_dim(self) -> int:
        return int(self._centroids.shape[1]) if self._centroids.ndim == 2 else int(self._ref.shape[1])

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != ThemeModel().get_params()[k]}
        return f"ThemeModel({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


# ================================================================ model file
_FLOAT_ARRAYS = ("references", "reference_probabilities", "floors", "centroids", "probabilities")
_INT_ARRAYS = ("reference_labels", "partners", "negative_halves", "counts", "sizes", "labels",
               "negative_counts")
_REQUIRED_ARRAYS = ("references", "reference_labels", "reference_probabilities", "floors", "centroids",
                    "counts", "sizes", "labels", "probabilities")


def _check_meta(meta: dict, arrays: dict, *, where: str, fix: str) -> None:
    """Check every field of ``model.json`` and the arrays' kinds; :class:`ModelError` naming the field.

    Shapes are checked against each other after loading (in :meth:`ThemeModel.load`).
    """
    def bad(field: str, allowed: str, value: Any) -> ModelError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ModelError(f"{where} is corrupt: '{field}' in {MODEL_JSON} must be {allowed}; got {shown}. {fix}")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def str_list(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    missing = [f for f in ("params", "n_themes", "min_theme_size", "dim", "vocabulary", "exemplars",
                           "languages", "edits") if f not in meta]
    if missing:
        raise ModelError(f"{where} is corrupt: {MODEL_JSON} lacks {', '.join(missing)}. {fix}")
    if not isinstance(meta["params"], dict) or not all(isinstance(key, str) for key in meta["params"]):
        raise bad("params", "an object of ThemeModel parameters", meta["params"])
    for name, value in meta["params"].items():
        if isinstance(value, float) and not np.isfinite(value):
            raise bad(f"params.{name}", "a finite number", value)
    k = meta["n_themes"]
    for field, low in (("n_themes", 0), ("min_theme_size", 1), ("dim", 1)):
        if not (is_int(meta[field]) and low <= meta[field] <= 10**9):
            raise bad(field, f"an integer from {low} to 10^9", meta[field])
    name = meta.get("embedder_name")
    if name is not None and not (isinstance(name, str) and 0 < len(name) <= 1000):
        raise bad("embedder_name", "null or an embedder name (a string)", name)
    if not str_list(meta["vocabulary"]):
        raise bad("vocabulary", "a list of words (strings)", meta["vocabulary"])
    if not (isinstance(meta["exemplars"], list) and len(meta["exemplars"]) == k
            and all(str_list(q) for q in meta["exemplars"])):
        raise bad("exemplars", f"a list of {k} lists of quotes (n_themes)", meta["exemplars"])
    if not (str_list(meta["languages"]) and len(meta["languages"]) == k):
        raise bad("languages", f"a list of {k} strings (n_themes)", meta["languages"])
    frozen = meta.get("frozen_keywords", {})
    if not (isinstance(frozen, dict) and all(
            re.fullmatch(r"\d{1,9}", t) and int(t) < k and str_list(w) for t, w in frozen.items())):
        raise bad("frozen_keywords", "an object of theme index -> list of keywords", frozen)
    absent = [a for a in _REQUIRED_ARRAYS if a not in arrays]
    if absent:
        raise ModelError(f"{where} is corrupt: {ARRAYS_NPZ} lacks {', '.join(absent)}. {fix}")
    for name in _FLOAT_ARRAYS + _INT_ARRAYS:
        a = arrays.get(name)
        if a is None:
            continue
        numeric = a.dtype.kind in "iub" or (name in _FLOAT_ARRAYS and a.dtype.kind == "f")
        if not numeric or (a.dtype.kind == "f" and not np.isfinite(a).all()):
            raise ModelError(f"{where} is corrupt: array '{name}' in {ARRAYS_NPZ} must hold finite "
                             f"{'numbers' if name in _FLOAT_ARRAYS else 'integers'} (got dtype {a.dtype}). {fix}")
    for name in ("counts", "sizes"):
        if (arrays[name] < 0).any():
            raise ModelError(f"{where} is corrupt: array '{name}' in {ARRAYS_NPZ} has negative "
                             f"entries. {fix}")


# =============================================================== c-TF-IDF etc
def c_tf_idf(counts: np.ndarray) -> np.ndarray:
    """Class-based TF-IDF (BERTopic's c-TF-IDF) of a class x term count matrix.

    ``score(w, c) = tf(w, c) * log(1 + A / f(w))`` with ``tf`` the term count
    divided by the class's total count, ``A`` the mean number of words per
    class and ``f(w)`` the count of ``w`` over all classes.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    freq = counts.sum(axis=0)
    avg = counts.sum() / max(len(counts), 1)
    idf = np.log1p(np.divide(avg, freq, out=np.zeros_like(freq), where=freq > 0))
    return tf * idf


def _top_words(scores: np.ndarray, counts: np.ndarray, vocab: list[str], n: int) -> list[str]:
    present = np.flatnonzero(counts > 0)
    if not len(present):
        return []
    # highest score first; ties by higher count, then alphabetically
    order = sorted(present, key=lambda j: (-scores[j], -counts[j], vocab[j]))
    return [vocab[j] for j in order[:n]]


def _merge_duplicates(X: np.ndarray, labels: np.ndarray, zscore: float | None) -> np.ndarray:
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


def _cohesion(X: np.ndarray, labels: np.ndarray, k: int, trim: float = 0.0) -> np.ndarray:
    """Per theme: mean cosine similarity of its points to their normalised centroid.

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


def _split_by_polarity(labels: np.ndarray, polarity: np.ndarray | None, min_size: int,
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


def _subset_themes(model: "ThemeModel", keep: np.ndarray) -> "ThemeModel":
    """A copy of a freshly fitted ``model`` with only the themes ``keep`` (renumbered)."""
    k = model.n_themes_
    remap = np.full(k + 1, NOISE)
    remap[keep + 1] = np.arange(len(keep))
    on = remap[model._ref_labels + 1] >= 0
    out = ThemeModel(**model.get_params())
    out._ref, out._ref_probs = model._ref[on], model._ref_probs[on]
    out._ref_labels = remap[model._ref_labels[on] + 1]
    out._floors, out._centroids = model._floors[keep], model._centroids[keep]
    out._partner = remap[model._partner[keep] + 1]  # a half whose partner is dropped stands alone
    out._neg_half = model._neg_half[keep] & (out._partner >= 0)
    out._vocab = model._vocab
    rest = np.setdiff1d(np.arange(k + 1), keep)
    out._counts = np.vstack([model._counts[keep], model._counts[rest].sum(axis=0)])
    out._phrases = None
    if model._phrases is not None:
        texts, keys, counts, neg = model._phrases
        out._phrases = (texts, keys, np.vstack([counts[keep], counts[rest].sum(axis=0)]),
                        np.vstack([neg[keep], neg[rest].sum(axis=0)]))
    out._base_sizes = model._base_sizes[keep]
    out._leaf_negative = model._leaf_negative[keep]
    out._base_exemplars = [model._base_exemplars[t] for t in keep]
    out._base_languages = [model._base_languages[t] for t in keep]
    out._k = out.n_themes_ = len(keep)
    return out


def _stack_phrases(old, new, k: int, j: int):
    """Phrase counts of ``k`` established themes and ``j`` new ones (extend);
    a side without phrase counts contributes zero rows."""
    if old is None and new is None:
        return None
    empty = ([], [], np.zeros((k + 1, 0), dtype=np.int64), np.zeros((k + 1, 0), dtype=np.int64))
    old = old if old is not None else empty
    new = new if new is not None else ([], [], np.zeros((j + 1, 0), dtype=np.int64),
                                       np.zeros((j + 1, 0), dtype=np.int64))
    texts, keys, a, b = L.union_columns(old[0], old[1], new[0], new[1])
    out = []
    for m in (2, 3):
        M = np.zeros((k + j + 1, len(texts)), dtype=np.int64)
        M[:k, a] = old[m][:k]
        M[k : k + j][:, b] = new[m][:j]
        M[k + j, a] += old[m][k]
        M[k + j, b] += new[m][j]
        out.append(M)
    return texts, keys, out[0], out[1]


def _relabel_by_size(raw: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by size (largest first; ties: first seen)."""
    out = np.full(len(raw), NOISE, dtype=int)
    ids = [c for c in pd.unique(raw) if c >= 0]
    sizes = {c: int((raw == c).sum()) for c in ids}
    for new, c in enumerate(sorted(ids, key=lambda c: -sizes[c])):  # stable sort keeps first-seen
        out[raw == c] = new
    return out


def _top_k(S: np.ndarray, k: int, rows: int = 256) -> tuple[np.ndarray, np.ndarray]:
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


def _knn_graph(X: np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first) and cosine distances of unit rows."""
    n = len(X)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        S = X[start : start + chunk] @ X.T
        rows = np.arange(len(S))
        S[rows, start + rows] = np.inf  # self is always the first neighbour
        part, ps = _top_k(S, k)
        order = np.lexsort((part, -ps), axis=1)
        idx[start : start + len(S)] = np.take_along_axis(part, order, axis=1)
        d = 1.0 - np.take_along_axis(ps, order, axis=1)
        d[:, 0] = 0.0
        dist[start : start + len(S)] = np.maximum(d, 0.0)
    return idx, dist


def _positions(members: np.ndarray, n: int) -> np.ndarray:
    """For every row, its position among the references, -1 if none."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[members] = np.arange(len(members))
    return pos


def _as_embeddings(embeddings: Any) -> np.ndarray:
    X = np.asarray(embeddings, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"Embeddings must be a 2-D array (n, d); got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise InputError("Embeddings contain NaN or infinite values; re-embed the texts.")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
