"""The theme model facade: ``ThemeModel`` with fit / assign / extend / apply_edits / save / load.

The jobs live in the package's modules (``docs/themes.md``): clustering in
:mod:`voc.themes.cluster`, the outlier policy in :mod:`voc.themes.assign`,
the learned arrays in :mod:`voc.themes.state`, the themes and topics tables
in :mod:`voc.themes.tables`, the model files in :mod:`voc.themes.persist`
and the code frame in :mod:`voc.themes.seeds`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError, ModelError
from . import labels as L
from . import summary as summ
from .assign import DUPLICATE_SIMILARITY, policy, positions, resolve, support_floors, votes
from .cluster import (COHESION_TRIM, cluster, cohesion, default_min_theme_size, merge_duplicates,
                      relabel_by_size, split_by_polarity)
from .edits import empty_edits, validate_edits
from .hierarchy import TOPIC_ZSCORE, group_themes, join_topics, topic_threshold
from .params import as_embeddings, check_params, param_names
from .state import KeywordCounts, PhraseCounts, References, ThemeState, ThemeTable
from .tables import build_tables, freeze_labels, group_labels

log = logging.getLogger("voc.themes")

NOISE = -1

__all__ = ["ThemeModel"]


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
        similarity of all theme pairs (see :func:`voc.themes.cluster.merge_duplicates`).
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
    min_theme_size_ : int
        The smallest theme the fit allowed (``min_theme_size`` or its default).
    embedder_name_ : str or None
        The embedder the model was fitted with (``fit(embedder_name=...)``),
        kept by :meth:`save`; a run checks it against its own embedder.
    state_ : voc.themes.state.ThemeState
        The learned arrays (references, per-theme table, keyword and phrase
        counts, taxonomy) that everything above is derived from.

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
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments as a dict (in signature order, as scikit-learn reads them)."""
        return {name: getattr(self, name) for name in param_names(type(self))}

    def check_params(self) -> None:
        """Raise :class:`~voc.errors.ConfigError` naming the first bad parameter, what it must be and
        the value it got (:data:`voc.themes.params.PARAMETER_RULES`); ``fit`` and ``load`` call it."""
        check_params(self.get_params(), "ThemeModel")

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
        embedder_name: str | None = None,
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
        embedder_name : str, optional
            Name of the embedder that made ``embeddings`` (``Embedder.name``),
            recorded as ``embedder_name_`` and in the saved model, so a later
            run can refuse embeddings of another embedder.

        Returns
        -------
        ThemeModel
            ``self``.
        """
        self._fit(embeddings, texts, tokens, languages=languages, sentiment=sentiment, phrases=phrases,
                  taxonomy=taxonomy)
        self.embedder_name_ = embedder_name
        return self

    def _fit(self, embeddings, texts, tokens, *, languages=None, sentiment=None, phrases=None, taxonomy=None,
             allow_single_cluster: bool = False, min_cohesion: float | None = None) -> "ThemeModel":
        """:meth:`fit`; ``allow_single_cluster`` and ``min_cohesion`` are :meth:`extend`'s options
        for :func:`voc.themes.cluster.cluster`."""
        self.check_params()
        X = as_embeddings(embeddings)
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
            from .seeds import fit_seeded

            state, self.min_theme_size_ = fit_seeded(self, taxonomy, X, texts, tokens, languages=languages,
                                                     sentiment=sentiment, phrases=phrases)
            return self.set_state(state, edits=empty_edits())

        mcs = self.min_theme_size or default_min_theme_size(n)
        min_samples = self.min_samples or min(5, mcs)
        raw = cluster(X, min_cluster_size=mcs, min_samples=min_samples, n_components=self.n_components,
                      n_neighbors=self.n_neighbors, cluster_selection_method=self.cluster_selection_method,
                      random_state=self.random_state, allow_single_cluster=allow_single_cluster,
                      min_cohesion=min_cohesion)
        labels = relabel_by_size(raw)
        labels = relabel_by_size(merge_duplicates(X, labels, self.merge_zscore))
        polarity = summ.polarity(sentiment)
        negative = None if polarity is None else polarity < 0
        labels, partner, neg_half = split_by_polarity(labels, polarity, mcs, self.split_polarity)
        k = len(partner)

        # references: clustered points (seeded sample when too many), stored
        # at float16 precision so a saved model assigns exactly like this one
        rng = np.random.default_rng(self.random_state)
        members = np.flatnonzero(labels >= 0)
        if len(members) > self.max_references:
            members = np.sort(rng.choice(members, self.max_references, replace=False))
        ref = X[members].astype(np.float16).astype(np.float32)
        ref_labels = labels[members]
        floors = support_floors(ref, ref_labels, k, n_neighbors=self.n_assign_neighbors,
                                quantile=self.noise_quantile)

        # outlier policy on the noise; members keep their HDBSCAN theme
        shares, support, _, _ = votes(X, ref, ref_labels, k, self.n_assign_neighbors,
                                      exclude=positions(members, n))
        ids, fam = policy(shares, support, partner=partner, neg_half=neg_half, floors=floors,
                          outlier_threshold=self.outlier_threshold, negative=negative)
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
        refs = References(ref, remap[ref_labels + 1], probs[members])

        self.min_theme_size_ = int(mcs)
        centroids = summ.centroids(X, final, k)
        sizes = np.bincount(final[final >= 0], minlength=k).astype(int)
        leaf_negative = summ.negative_shares(negative, final, k)
        threshold = topic_threshold(centroids, zscore=self.topic_zscore)
        table = ThemeTable(
            centroids=centroids, sizes=sizes, floors=floors[order], partner=remap[partner[order] + 1],
            neg_half=neg_half[order], negative=leaf_negative,
            topics=group_themes(centroids, sizes=sizes, threshold=threshold,
                                negative_share=leaf_negative if self.topic_polarity else None),
            exemplars=[summ.exemplars(X, texts, final, t, centroids[t], self.n_exemplars) for t in range(k)],
            languages=summ.language_mix(languages, final, k))
        state = ThemeState(
            refs, table, KeywordCounts(*summ.class_counts(tokens, final, k)),
            None if phrases is None else PhraseCounts(*L.phrase_counts(
                phrases, final, k, None if negative is None else np.asarray(negative))),
            fit_labels=final, fit_probs=probs, topic_threshold=threshold)
        return self.set_state(state, edits=empty_edits())

    def set_state(self, state: ThemeState, *, edits: dict | None = None) -> "ThemeModel":
        """Install a learned state (from ``fit``, ``load``, ``extend`` or the taxonomy code,
        :mod:`voc.themes.seeds`) and derive ``labels_``, ``themes_``, ``topics_`` from it and the
        edits (``edits``: validated edits to put in force; ``None`` keeps ``edits_``).

        Returns
        -------
        ThemeModel
            ``self``.
        """
        self.state_ = state
        self.n_themes_ = state.n_themes
        if edits is not None:
            self.edits_ = edits
        self._rebuild()
        return self

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
        st = self.state_
        X = as_embeddings(embeddings)
        if len(X) and X.shape[1] != st.dim:
            raise InputError(
                f"The theme model was fitted on {st.dim}-dimensional embeddings; "
                f"got {X.shape[1]}. Use the embedder the model was fitted with."
            )
        negative = summ.negative_mask(sentiment)
        if negative is not None and len(negative) != len(X):
            raise InputError(f"ThemeModel.assign got {len(X)} embeddings but {len(negative)} "
                             "sentiment labels; pass one per embedding row.")
        t = st.table
        shares, support, nearest, nearest_sim = votes(X, st.refs.vectors, st.refs.labels, st.n_themes,
                                                      self.n_assign_neighbors)
        ids, probs = policy(shares, support, partner=t.partner, neg_half=t.neg_half, floors=t.floors,
                            outlier_threshold=self.outlier_threshold, negative=negative)
        # a mention identical to a fitted one keeps its fitted theme
        same = nearest_sim >= DUPLICATE_SIMILARITY
        ids[same] = st.refs.labels[nearest[same]]
        probs[same] = st.refs.probs[nearest[same]]
        ids = resolve(ids, negative, partner=t.partner, neg_half=t.neg_half)
        if st.seed is not None:  # the code frame first (voc.themes.seeds)
            seeded, sim = st.seed.match(X)
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
        """Derive labels_, probabilities_, themes_, topic_of_, topics_ from the state and the edits."""
        out = build_tables(self.state_, self.edits_, n_keywords=self.n_keywords,
                           n_label_words=self.n_label_words, n_exemplars=self.n_exemplars)
        self._id_map = out.id_map
        self.labels_, self.probabilities_ = out.labels, out.probabilities
        self.themes_, self.topic_of_, self.topics_ = out.themes, out.topic_of, out.topics

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
        return self.state_.n_topics

    def group_labels(self, groups: Sequence[Sequence[int]]) -> list[str]:
        """Phrase label of each group of fitted theme ids (a theme, a merge, a topic).

        See :func:`voc.themes.tables.group_labels`; "" for every group when
        the model has no phrase counts (fitted without ``phrases``, or saved
        by an older voc).
        """
        return group_labels(self.state_, groups)

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
        X = as_embeddings(embeddings)
        mcs = min_theme_size or self.min_theme_size_
        if len(X) < max(2 * mcs, 3):
            return []
        st = self.state_
        k = st.n_themes
        # keep only clusters as cohesive as the usual established theme; the
        # trimmed cohesion ignores the few strays UMAP puts next to a young theme
        cohesions = cohesion(st.refs.vectors, st.refs.labels, k, trim=COHESION_TRIM)
        cohesions = cohesions[np.bincount(st.refs.labels, minlength=k)[:k] > 0]  # not empty
        floor = float(np.quantile(cohesions, 0.1)) if len(cohesions) else 0.0
        # extend() looks for emerging themes among a batch's leftovers, where one
        # tight group alone is the typical case
        sub = ThemeModel(**(self.get_params() | {"min_theme_size": mcs}))._fit(
            X, texts, tokens, languages=languages, sentiment=sentiment, phrases=phrases,
            allow_single_cluster=True, min_cohesion=floor)
        new = sub.state_
        kept = cohesion(new.refs.vectors, new.refs.labels, new.n_themes, trim=COHESION_TRIM)
        keep = np.flatnonzero(kept >= floor)
        log.info("extend: candidate themes of sizes %s, cohesion %s; kept those >= %.3f",
                 new.table.sizes.tolist(), np.round(kept, 3).tolist(), floor)
        if len(keep) < new.n_themes:
            new = new.subset(keep)
        j = new.n_themes
        if j == 0:
            return []
        # established themes and unchanged topics keep their keywords and labels
        freeze_labels(st, self.themes_, self.topics_, self._id_map, renamed=self.edits_["rename"])
        # every existing topic keeps its id; a new theme joins the nearest
        # topic within the fitted cut, else it starts a new topic
        sides = (lambda t: t.negative) if self.topic_polarity else (lambda t: None)
        topics = join_topics(new.table.centroids, st.table.centroids, st.table.topics,
                             threshold=st.topic_threshold, sizes=new.table.sizes,
                             new_negative_share=sides(new.table), negative_share=sides(st.table))
        # a young theme is only its dense core; let it take members as far
        # out as a typical established theme does
        floors = np.minimum(new.table.floors, np.median(st.table.floors)) if k else new.table.floors
        st.append(new, replace(new.table, floors=floors, topics=topics))
        self.set_state(st)
        return list(range(k, k + j))

    # --------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> Path:
        """Write the model to folder ``path`` (``model.json`` + ``arrays.npz``).

        No pickle: parameters, labels, keywords, exemplars, edits and version
        are JSON; references, centroids and counts are plain arrays
        (:mod:`voc.themes.persist`).
        """
        from .persist import save_model

        self._check_fitted()
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "ThemeModel":
        """Read a model written by :meth:`save`; :class:`ModelError` if bad."""
        from .persist import load_model

        return load_model(cls, path)

    # ----------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            raise ModelError("This ThemeModel is not fitted yet. Call fit(...) or ThemeModel.load(path) first.")

    # read-only views of the state under the names older code and tests use
    _partner = property(lambda self: self.state_.table.partner)
    _leaf_negative = property(lambda self: self.state_.table.negative)
    _base_labels = property(lambda self: self.state_.fit_labels)
    _phrases = property(lambda self: self.state_.phrases)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != ThemeModel().get_params()[k]}
        return f"ThemeModel({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

