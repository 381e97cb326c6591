"""Seeded themes: the embedded code frame (:class:`SeedIndex`), its rule, and seeded fits of the theme model.

A mention goes to the seeded theme whose seeds it is most similar to when
that similarity clears the calibrated bar (:meth:`SeedIndex.match`); an
exclusion phrase closer than the theme's seeds vetoes it.
:meth:`voc.themes.ThemeModel.fit` with ``taxonomy=`` clusters only the rest
(:func:`fit_seeded`); :func:`attach` gives a fitted model the current code
frame (weekly runs). See :mod:`voc.themes.taxonomy` and ``docs/taxonomy.md``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import labels as L
from . import summary as summ
from .cluster import default_min_theme_size
from .codeframe import load_taxonomy
from .hierarchy import topic_threshold
from .state import KeywordCounts, PhraseCounts, References, ThemeState, ThemeTable

NOISE = -1
# The rule (chosen on Banking77 and the airline tweets, docs/taxonomy.md):
# a mention joins a seeded theme when its best seed similarity is at least the
# SEED_QUANTILE quantile of the seed-to-seed similarities across different
# themes (an embedder-independent bar: as close as the closest seeds of two
# different themes usually are) and beats the second-best theme by MARGIN.
SEED_QUANTILE = 0.5
MARGIN = 0.02

__all__ = ["SeedIndex", "embed_taxonomy", "fit_seeded", "attach", "seeded_ids", "seed_index",
           "SEED_QUANTILE", "MARGIN"]


class SeedIndex:
    """Embedded seeds of a taxonomy and the assignment rule.

    Parameters
    ----------
    names : list of str
        Seeded theme names (taxonomy order).
    seed_embeddings, seed_owner : ndarray
        One unit row per seed phrase and the index (into ``names``) of its theme.
    exclude_embeddings, exclude_owner : ndarray
        The same for exclusion phrases (may be empty).
    quantile, margin : float
        The rule: best seed similarity >= ``threshold`` (the ``quantile`` of
        every seed's highest similarity to a seed of another theme) and
        best - second best theme >= ``margin``.
    threshold : float, optional
        An explicit bar (overrides the calibration; used when loading).
    topics : list of (str or None)
        Topic name per theme.
    version : str
        The taxonomy version.
    """

    def __init__(self, names: Sequence[str], seed_embeddings: np.ndarray, seed_owner: np.ndarray,
                 exclude_embeddings: np.ndarray | None = None, exclude_owner: np.ndarray | None = None, *,
                 quantile: float = SEED_QUANTILE, margin: float = MARGIN, threshold: float | None = None,
                 topics: Sequence[str | None] | None = None, version: str = "", source: str = "") -> None:
        self.names = [str(n) for n in names]
        self.seed_embeddings = _unit(seed_embeddings)
        self.seed_owner = np.asarray(seed_owner, dtype=int)
        dim = self.seed_embeddings.shape[1]
        self.exclude_embeddings = (_unit(exclude_embeddings) if exclude_embeddings is not None
                                   and len(exclude_embeddings) else np.zeros((0, dim), dtype=np.float32))
        self.exclude_owner = (np.asarray(exclude_owner, dtype=int) if exclude_owner is not None
                              and len(exclude_owner) else np.zeros(0, dtype=int))
        self.quantile, self.margin = float(quantile), float(margin)
        self.topics = list(topics) if topics is not None else [None] * len(self.names)
        self.version, self.source = version, source
        self.threshold = float(threshold) if threshold is not None else self.calibrate(quantile)
        self.theme_ids = np.arange(len(self.names))  # model theme id per seeded theme (set by the model)

    def cross_similarities(self) -> np.ndarray:
        """Per seed: its highest cosine similarity to a seed of another theme."""
        S = self.seed_embeddings @ self.seed_embeddings.T
        other = self.seed_owner[:, None] != self.seed_owner[None, :]
        S = np.where(other, S, -np.inf)
        best = S.max(axis=1)
        return best[np.isfinite(best)]

    def calibrate(self, quantile: float) -> float:
        cross = self.cross_similarities()
        if not len(cross):  # one theme: within-theme spread instead
            S = self.seed_embeddings @ self.seed_embeddings.T
            cross = S[np.triu_indices(len(S), 1)] if len(S) > 1 else np.array([0.5])
            return float(np.quantile(cross, 1 - quantile)) if len(cross) else 0.5
        return float(np.quantile(cross, quantile))

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(n, k) per mention and seeded theme: the best seed similarity; -inf where an
        exclusion phrase of the theme is at least as similar as its best seed."""
        X = _unit(X)
        k = len(self.names)
        out = np.full((len(X), k), -np.inf, dtype=np.float32)
        for start in range(0, len(X), 4096):
            block = X[start:start + 4096]
            S = block @ self.seed_embeddings.T
            E = block @ self.exclude_embeddings.T if len(self.exclude_owner) else None
            part = out[start:start + 4096]
            for j in range(k):
                part[:, j] = S[:, self.seed_owner == j].max(axis=1)
                if E is not None and (self.exclude_owner == j).any():
                    veto = E[:, self.exclude_owner == j].max(axis=1) >= part[:, j]
                    part[veto, j] = -np.inf
        return out

    def match(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model theme id (``theme_ids``) and similarity per row; -1 and 0 when no seeded theme is close enough."""
        X = np.asarray(X, dtype=np.float32)
        if len(X) == 0 or not len(self.names):
            return np.full(len(X), NOISE, dtype=int), np.zeros(len(X))
        T = self.scores(X)
        rows = np.arange(len(T))
        best = T.argmax(axis=1)
        top = T[rows, best]
        if T.shape[1] > 1:
            second = np.partition(T, -2, axis=1)[:, -2]
        else:
            second = np.full(len(T), -np.inf)
        ok = np.isfinite(top) & (top >= self.threshold) & (top - second >= self.margin)
        return np.where(ok, self.theme_ids[best], NOISE).astype(int), np.where(ok, top, 0.0).astype(float)

    # save / load (inside the theme model's files)
    def meta(self) -> dict:
        return {"names": self.names, "theme_ids": [int(t) for t in self.theme_ids], "topics": self.topics,
                "threshold": self.threshold, "quantile": self.quantile, "margin": self.margin,
                "version": self.version, "source": self.source}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"seed_embeddings": self.seed_embeddings.astype(np.float32),
                "seed_owner": self.seed_owner.astype(np.int32),
                "exclude_embeddings": self.exclude_embeddings.astype(np.float32),
                "exclude_owner": self.exclude_owner.astype(np.int32)}

    @classmethod
    def from_saved(cls, meta: dict, arrays: dict) -> "SeedIndex":
        out = cls(meta["names"], arrays["seed_embeddings"], arrays["seed_owner"],
                  arrays.get("exclude_embeddings"), arrays.get("exclude_owner"),
                  quantile=meta["quantile"], margin=meta["margin"], threshold=meta["threshold"],
                  topics=meta.get("topics"), version=str(meta.get("version", "")),
                  source=str(meta.get("source", "")))
        out.theme_ids = np.asarray(meta["theme_ids"], dtype=int)
        if out.theme_ids.shape != (len(out.names),) or not (
                len(out.seed_owner) == len(out.seed_embeddings)
                and ((out.seed_owner >= 0) & (out.seed_owner < len(out.names))).all()):
            raise ValueError("taxonomy arrays do not match its names")
        return out


def _unit(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, n, out=np.zeros_like(X), where=n > 0)


def embed_taxonomy(taxonomy: Any, embedder: Any, *, cache: Any = None, quantile: float | None = None,
                   margin: float | None = None) -> SeedIndex | None:
    """Embed the seeds and exclusions of ``taxonomy`` (path, mapping or :class:`Taxonomy`).

    The rule is the file's ``match`` block, else ``quantile`` / ``margin``
    (defaults :data:`SEED_QUANTILE`, :data:`MARGIN`); ``min_similarity`` in
    the file replaces the calibrated bar by a fixed one.
    """
    from ..embed import embed_texts

    tax = load_taxonomy(taxonomy)
    if tax is None:
        return None
    rule = dict(tax.match)
    quantile = rule.get("quantile", SEED_QUANTILE if quantile is None else quantile)
    margin = rule.get("margin", MARGIN if margin is None else margin)
    seeds = [(j, s) for j, t in enumerate(tax.themes) for s in t.seeds]
    excl = [(j, s) for j, t in enumerate(tax.themes) for s in t.exclude]
    texts = [s for _, s in seeds] + [s for _, s in excl]
    X = np.asarray(embed_texts(texts, embedder, cache=cache), dtype=np.float32)
    return SeedIndex(tax.names, X[:len(seeds)], [j for j, _ in seeds], X[len(seeds):], [j for j, _ in excl],
                     quantile=quantile, margin=margin, threshold=rule.get("min_similarity"),
                     topics=[t.topic for t in tax.themes],
                     version=tax.version, source=tax.source)


# ================================================ inside the theme model
def seed_index(model: Any) -> SeedIndex | None:
    """The code frame a fitted theme model carries (``None`` without one, or for an unfitted model)."""
    state = getattr(model, "state_", None)
    return None if state is None else state.seed


def seeded_ids(model: Any) -> list[int]:
    """Theme ids of the model's current seeded themes (empty without a taxonomy)."""
    index = seed_index(model)
    return [] if index is None else [int(t) for t in index.theme_ids]


def fit_seeded(model: Any, index: SeedIndex, X: np.ndarray, texts: list[str], tokens: list[list[str]], *,
               languages: Sequence[str] | None, sentiment: Sequence[str] | None,
               phrases: Sequence[Sequence] | None) -> tuple[ThemeState, int]:
    """:meth:`ThemeModel.fit` with a taxonomy: seeded themes ``0..s-1``, discovery on the rest.

    ``model`` gives the parameters (and the class of the model that clusters
    the rest). Returns the learned state and the fit's ``min_theme_size_``.
    """
    s = len(index.names)
    index.theme_ids = np.arange(s)
    seeded, sim = index.match(X)
    rest = np.flatnonzero(seeded < 0)
    n = len(X)
    sub = None
    if len(rest) >= 3:
        pick = lambda seq: None if seq is None else [seq[i] for i in rest]  # noqa: E731
        sub = type(model)(**model.get_params()).fit(X[rest], pick(texts), pick(tokens), languages=pick(languages),
                                                    sentiment=pick(sentiment), phrases=pick(phrases))
    found = None if sub is None else sub.state_
    d = found.n_themes if found is not None else 0
    k = s + d
    final = seeded.copy()
    probs = np.where(seeded >= 0, sim, 0.0)
    if found is not None:
        final[rest] = np.where(found.fit_labels >= 0, found.fit_labels + s, NOISE)
        probs[rest] = found.fit_probs
    dim = X.shape[1]
    seed_centroids = np.vstack([index.seed_embeddings[index.seed_owner == j].mean(axis=0) for j in range(s)])
    min_theme_size = int(sub.min_theme_size_ if sub is not None else (
        model.min_theme_size or default_min_theme_size(n)))
    if found is not None:
        refs = found.refs.offset(s)
        floor = float(np.median(found.table.floors)) if d else 0.0
        floors = np.concatenate([np.full(s, floor), found.table.floors])
        partner = np.concatenate([np.full(s, NOISE), np.where(found.table.partner >= 0, found.table.partner + s,
                                                               NOISE)])
        neg_half = np.concatenate([np.zeros(s, dtype=bool), found.table.neg_half])
    else:
        refs = References.empty(dim)
        floors = np.zeros(s)
        partner = np.full(s, NOISE)
        neg_half = np.zeros(s, dtype=bool)
    C = np.zeros((k, dim), dtype=np.float32)
    for t in range(k):
        members = final == t
        c = X[members].mean(axis=0) if members.any() else seed_centroids[t]  # an empty seeded theme: its seeds
        C[t] = c / (np.linalg.norm(c) or 1.0)
    negative = summ.negative_mask(sentiment)
    # topics: the taxonomy's topics first (a theme without a topic is its own), then discovered ones
    topic_names: list[str] = []
    seeded_topics = []
    for j, topic in enumerate(index.topics):
        if topic is None:
            topic_names.append("")
            seeded_topics.append(len(topic_names) - 1)
        elif topic in topic_names:
            seeded_topics.append(topic_names.index(topic))
        else:
            topic_names.append(topic)
            seeded_topics.append(len(topic_names) - 1)
    n_seeded_topics = len(topic_names)
    if found is not None and d:
        threshold = found.topic_threshold
        rest_topics = found.table.topics + n_seeded_topics
    else:
        threshold = topic_threshold(C, zscore=model.topic_zscore)
        rest_topics = np.zeros(0, dtype=int)
    table = ThemeTable(
        centroids=C, sizes=np.bincount(final[final >= 0], minlength=k).astype(int), floors=floors,
        partner=partner, neg_half=neg_half, negative=summ.negative_shares(negative, final, k),
        topics=np.concatenate([np.asarray(seeded_topics, dtype=int), rest_topics]).astype(int),
        exemplars=[summ.exemplars(X, texts, final, t, C[t], model.n_exemplars) for t in range(k)],
        languages=summ.language_mix(languages, final, k))
    state = ThemeState(
        refs, table, KeywordCounts(*summ.class_counts(tokens, final, k)),
        None if phrases is None else PhraseCounts(*L.phrase_counts(
            phrases, final, k, None if negative is None else np.asarray(negative))),
        fit_labels=final, fit_probs=probs, topic_threshold=threshold,
        frozen_labels={j: index.names[j] for j in range(s)},
        topic_names={i: name for i, name in enumerate(topic_names) if name}, seed=index)
    return state, min_theme_size


def attach(model: Any, index: SeedIndex | None) -> Any:
    """Give a fitted model (weekly run, ``--model``) the current taxonomy.

    Themes whose name the model already has as a seeded theme keep their ids;
    a new name becomes a new (empty) theme with the next free id, in its
    topic (a topic name the model knows keeps its id, a new one gets the next
    topic id). A name no longer in the taxonomy keeps its id but attracts no
    new mentions through seeds. ``None`` leaves the model as it is (a model
    keeps the taxonomy it was last run with).
    """
    if index is None:
        return model
    st: ThemeState = model.state_
    old = st.seed
    known = {} if old is None else {n.lower(): int(t) for n, t in zip(old.names, old.theme_ids)}
    if old is not None:  # names the model seeded before (also retired ones) keep their ids
        known = {**st.retired_seeds, **known}
    topic_names = dict(st.topic_names)
    topic_id = {v.lower(): t for t, v in topic_names.items()}
    ids = []
    new = []
    for j, name in enumerate(index.names):
        t = known.get(name.lower())
        if t is None or t >= st.n_themes:
            t = st.n_themes + len(new)
            new.append(j)
        ids.append(t)
    if new:
        _append_empty(st, index, new, topic_id, topic_names)
    index.theme_ids = np.asarray(ids, dtype=int)
    st.retired_seeds = {n: t for n, t in known.items() if n not in {x.lower() for x in index.names}}
    for name, t in zip(index.names, ids):
        if t not in model.edits_["rename"]:
            st.frozen_labels[int(t)] = name
    st.seed = index
    return model.set_state(st)


def _append_empty(st: ThemeState, index: SeedIndex, new: list[int], topic_id: dict, topic_names: dict) -> None:
    """Add the seeded themes ``new`` (indices into ``index.names``) as empty themes, in place."""
    j = len(new)
    cents = []
    for i in new:
        c = index.seed_embeddings[index.seed_owner == i].mean(axis=0)
        cents.append(c / (np.linalg.norm(c) or 1.0))
    floor = float(np.median(st.table.floors)) if len(st.table.floors) else 0.0
    topics = []
    next_topic = st.n_topics
    for i in new:
        name = index.topics[i]
        if name is not None and name.lower() in topic_id:
            topics.append(topic_id[name.lower()])
            continue
        topics.append(next_topic)
        if name is not None:
            topic_id[name.lower()] = next_topic
            topic_names[next_topic] = name
        next_topic += 1
    st.table = st.table.concat(ThemeTable(
        centroids=np.asarray(cents, dtype=np.float32), sizes=np.zeros(j, dtype=int), floors=np.full(j, floor),
        partner=np.full(j, NOISE), neg_half=np.zeros(j, dtype=bool), negative=np.full(j, np.nan),
        topics=np.asarray(topics, dtype=int), exemplars=[[] for _ in new], languages=["" for _ in new]))
    st.words = st.words.grow(j)
    st.phrases = None if st.phrases is None else st.phrases.grow(j)
    st.topic_names = topic_names
