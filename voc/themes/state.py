"""The theme model's learned arrays, grouped: references, the per-theme table, class counts, the whole state.

Each array is named once, here, together with its name in ``arrays.npz`` and
the dtype it is saved with. A fitted :class:`~voc.themes.ThemeModel` keeps
one :class:`ThemeState` (``state_``); ``fit`` builds it, ``extend`` appends
to it (:meth:`ThemeState.append`), the emerging-theme filter keeps part of it
(:meth:`ThemeState.subset`) and :mod:`voc.themes.persist` writes and reads it
(``to_arrays`` / ``from_arrays``).

Class counts (keywords, phrases) have one row per theme plus a last "rest"
row (noise and themes not kept); the per-theme arrays have one row per theme.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

NOISE = -1

__all__ = ["References", "ThemeTable", "KeywordCounts", "PhraseCounts", "ThemeState", "NOISE"]


def _take(arrays: dict, spec: tuple) -> dict:
    """Fields from saved arrays: ``spec`` rows are (field, file name, saved dtype, loaded dtype)."""
    return {f: arrays[name].astype(loaded) for f, name, _, loaded in spec}


def _put(obj: Any, spec: tuple) -> dict:
    return {name: getattr(obj, f).astype(saved) for f, name, saved, _ in spec}


def _keep_rows(M: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Rows ``keep`` of a (k + 1)-row class matrix, the others summed into a new rest row."""
    rest = np.setdiff1d(np.arange(len(M)), keep)
    return np.vstack([M[keep], M[rest].sum(axis=0)])


def _grow_rows(M: np.ndarray, j: int) -> np.ndarray:
    """A (k + 1)-row class matrix with ``j`` zero rows inserted before the rest row."""
    k = len(M) - 1
    out = np.zeros((k + j + 1, M.shape[1]), dtype=np.int64)
    out[:k], out[k + j] = M[:k], M[k]
    return out


def _stack_rows(old: np.ndarray, new: np.ndarray, a: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
    """``k`` theme rows of ``old`` (columns ``a``), ``j`` of ``new`` (columns ``b``), the rest rows summed."""
    k, j = len(old) - 1, len(new) - 1
    M = np.zeros((k + j + 1, width), dtype=np.int64)
    M[:k, a] = old[:k]
    M[k : k + j][:, b] = new[:j]
    M[k + j, a] += old[k]
    M[k + j, b] += new[j]
    return M


# ================================================================ references
@dataclass
class References:
    """The clustered fit mentions that vote in the outlier policy and in ``assign``.

    ``vectors`` (r, d) float32 holding float16 values (what a saved model
    keeps), ``labels`` (r,) their theme before edits, ``probs`` (r,) the vote
    share behind it.
    """

    vectors: np.ndarray
    labels: np.ndarray
    probs: np.ndarray

    FILE = (("vectors", "references", np.float16, np.float32),
            ("labels", "reference_labels", np.int32, int),
            ("probs", "reference_probabilities", np.float64, np.float64))

    def __len__(self) -> int:
        return len(self.vectors)

    @classmethod
    def empty(cls, dim: int) -> "References":
        return cls(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=int), np.zeros(0))

    def offset(self, k: int) -> "References":
        """The same references with theme ids shifted by ``k`` (placed after ``k`` themes)."""
        return References(self.vectors, self.labels + k, self.probs)

    def relabel(self, remap: np.ndarray) -> "References":
        """Theme ids mapped by ``remap`` (indexed by id + 1); references mapped to -1 are dropped."""
        on = remap[self.labels + 1] >= 0
        return References(self.vectors[on], remap[self.labels[on] + 1], self.probs[on])

    def concat(self, other: "References") -> "References":
        return References(np.vstack([self.vectors, other.vectors]), np.concatenate([self.labels, other.labels]),
                          np.concatenate([self.probs, other.probs]))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return _put(self, self.FILE)

    @classmethod
    def from_arrays(cls, arrays: dict) -> "References":
        return cls(**_take(arrays, cls.FILE))


# ============================================================ per-theme table
@dataclass
class ThemeTable:
    """One row per theme (fit ids ``0..k-1``, before edits).

    ``centroids`` (k, d) unit float32; ``sizes`` fit mentions; ``floors``
    the outlier policy's support floor; ``partner`` the other half of a theme
    split by polarity (-1: none) and ``neg_half`` whether this is the negative
    half; ``negative`` share of negative fit mentions (NaN: unknown);
    ``topics`` the fitted topic; ``exemplars`` quotes and ``languages`` the
    language mix (JSON in the model file).
    """

    centroids: np.ndarray
    sizes: np.ndarray
    floors: np.ndarray
    partner: np.ndarray
    neg_half: np.ndarray
    negative: np.ndarray
    topics: np.ndarray
    exemplars: list = field(default_factory=list)
    languages: list = field(default_factory=list)

    FILE = (("floors", "floors", np.float64, np.float64),
            ("partner", "partners", np.int32, int),
            ("neg_half", "negative_halves", np.int8, bool),
            ("centroids", "centroids", np.float32, np.float32),
            ("sizes", "sizes", np.int64, int),
            ("topics", "topics", np.int32, int))

    def __len__(self) -> int:
        return len(self.sizes)

    def subset(self, keep: np.ndarray) -> "ThemeTable":
        """Themes ``keep`` renumbered ``0..len(keep)-1``; a half whose partner is dropped stands alone."""
        remap = np.full(len(self) + 1, NOISE)
        remap[keep + 1] = np.arange(len(keep))
        partner = remap[self.partner[keep] + 1]
        return ThemeTable(self.centroids[keep], self.sizes[keep], self.floors[keep], partner,
                          self.neg_half[keep] & (partner >= 0), self.negative[keep], self.topics[keep],
                          [self.exemplars[t] for t in keep], [self.languages[t] for t in keep])

    def concat(self, other: "ThemeTable") -> "ThemeTable":
        """This table's themes, then ``other``'s (ids after them)."""
        k = len(self)
        return ThemeTable(
            np.vstack([self.centroids, other.centroids]), np.concatenate([self.sizes, other.sizes]),
            np.concatenate([self.floors, other.floors]),
            np.concatenate([self.partner, np.where(other.partner >= 0, other.partner + k, NOISE)]),
            np.concatenate([self.neg_half, other.neg_half]), np.concatenate([self.negative, other.negative]),
            np.concatenate([self.topics, other.topics]), self.exemplars + other.exemplars,
            self.languages + other.languages)

    def negative_counts(self) -> np.ndarray:
        """Negative fit mentions per theme, -1 where unknown (how the file keeps ``negative``)."""
        return np.where(np.isnan(self.negative), -1, np.rint(np.nan_to_num(self.negative) * self.sizes))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``arrays.npz`` (``exemplars`` and ``languages`` go to ``model.json``)."""
        return {**_put(self, self.FILE), "negative_counts": self.negative_counts().astype(np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict, exemplars: list, languages: list) -> "ThemeTable":
        """Read the table; models saved before polarity splits or polarity-aware topics lack
        ``partners`` / ``negative_halves`` / ``negative_counts`` (no split, polarity unknown);
        ``arrays`` must hold ``topics`` (derive it for models saved before topics)."""
        k = len(exemplars)
        arrays = {"partners": np.full(k, NOISE), "negative_halves": np.zeros(k), **arrays}
        out = cls(**_take(arrays, cls.FILE), negative=np.zeros(0), exemplars=exemplars, languages=languages)
        neg_counts = arrays.get("negative_counts", np.full(k, -1)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.negative = np.where(neg_counts >= 0, neg_counts / out.sizes, np.nan)
        return out


# ============================================================= class counts
@dataclass
class KeywordCounts:
    """Keyword counts per theme: ``vocab`` (sorted words) and ``counts`` ((k + 1) x V, last row the rest)."""

    vocab: list
    counts: np.ndarray

    def subset(self, keep: np.ndarray) -> "KeywordCounts":
        return KeywordCounts(self.vocab, _keep_rows(self.counts, keep))

    def grow(self, j: int) -> "KeywordCounts":
        """``j`` more (empty) themes."""
        return KeywordCounts(self.vocab, _grow_rows(self.counts, j))

    def concat(self, other: "KeywordCounts") -> "KeywordCounts":
        """This model's themes, then ``other``'s, over the union of the vocabularies (sorted)."""
        vocab = sorted(set(self.vocab) | set(other.vocab))
        a, b = np.searchsorted(vocab, self.vocab), np.searchsorted(vocab, other.vocab)
        return KeywordCounts(vocab, _stack_rows(self.counts, other.counts, a, b, len(vocab)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts.astype(np.int32)}

    @classmethod
    def from_arrays(cls, arrays: dict, vocab: list) -> "KeywordCounts":
        return cls(vocab, arrays["counts"].astype(np.int64))


@dataclass
class PhraseCounts:
    """Candidate label phrases per theme (:mod:`voc.themes.labels`): ``texts``, lemma ``keys`` and the
    (k + 1) x P ``counts`` and ``negative`` (counts in negative mentions) matrices."""

    texts: list
    keys: list
    counts: np.ndarray
    negative: np.ndarray

    def __iter__(self):
        """``texts, keys, counts, negative`` (unpacks like the tuple older code kept)."""
        return iter((self.texts, self.keys, self.counts, self.negative))

    def subset(self, keep: np.ndarray) -> "PhraseCounts":
        return PhraseCounts(self.texts, self.keys, _keep_rows(self.counts, keep), _keep_rows(self.negative, keep))

    def grow(self, j: int) -> "PhraseCounts":
        return PhraseCounts(self.texts, self.keys, _grow_rows(self.counts, j), _grow_rows(self.negative, j))

    @staticmethod
    def stack(old: "PhraseCounts | None", new: "PhraseCounts | None", k: int, j: int) -> "PhraseCounts | None":
        """Phrase counts of ``k`` established themes and ``j`` new ones (``extend``); a side without
        phrase counts contributes zero rows."""
        from .labels import union_columns

        if old is None and new is None:
            return None
        old = old if old is not None else PhraseCounts.empty(k)
        new = new if new is not None else PhraseCounts.empty(j)
        texts, keys, a, b = union_columns(old.texts, old.keys, new.texts, new.keys)
        return PhraseCounts(texts, keys, _stack_rows(old.counts, new.counts, a, b, len(texts)),
                            _stack_rows(old.negative, new.negative, a, b, len(texts)))

    @classmethod
    def empty(cls, k: int) -> "PhraseCounts":
        return cls([], [], np.zeros((k + 1, 0), dtype=np.int64), np.zeros((k + 1, 0), dtype=np.int64))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"phrase_counts": self.counts.astype(np.int32), "phrase_negative": self.negative.astype(np.int32)}

    @classmethod
    def from_arrays(cls, arrays: dict, texts: list, keys: list) -> "PhraseCounts | None":
        """``None`` for a model saved before phrase labels (keyword labels)."""
        if "phrase_counts" not in arrays:
            return None
        return cls(texts, keys, arrays["phrase_counts"].astype(np.int64), arrays["phrase_negative"].astype(np.int64))


# ================================================================ the state
@dataclass
class ThemeState:
    """Everything a fitted theme model learned; ``labels_``, ``themes_`` and ``topics_`` derive from it
    and the edits.

    ``fit_labels`` / ``fit_probs``: theme and vote share of every fitted
    mention (before edits). ``topic_threshold``: the fitted topic cut.
    ``frozen_words`` / ``frozen_topic_words`` / ``frozen_labels``: keywords
    and labels kept across ``extend`` (and seeded theme names).
    ``topic_names``: names of taxonomy topics. ``seed`` / ``retired_seeds``:
    the code frame (:class:`voc.themes.seeds.SeedIndex`) and the ids of names
    it no longer has.
    """

    refs: References
    table: ThemeTable
    words: KeywordCounts
    phrases: PhraseCounts | None
    fit_labels: np.ndarray
    fit_probs: np.ndarray
    topic_threshold: float
    frozen_words: dict = field(default_factory=dict)
    frozen_topic_words: dict = field(default_factory=dict)
    frozen_labels: dict = field(default_factory=dict)
    topic_names: dict = field(default_factory=dict)
    seed: Any = None
    retired_seeds: dict = field(default_factory=dict)

    FILE = (("fit_labels", "labels", np.int32, int), ("fit_probs", "probabilities", np.float32, np.float64))

    @property
    def n_themes(self) -> int:
        return len(self.table)

    @property
    def dim(self) -> int:
        """Dimension of the embeddings the state was fitted on."""
        c = self.table.centroids
        return int(c.shape[1]) if c.ndim == 2 else int(self.refs.vectors.shape[1])

    @property
    def n_topics(self) -> int:
        return int(self.table.topics.max()) + 1 if len(self.table.topics) else 0

    def subset(self, keep: np.ndarray) -> "ThemeState":
        """Only the themes ``keep`` (renumbered in that order); their mentions and references keep their
        theme, the others become noise."""
        keep = np.asarray(keep, dtype=int)
        remap = np.full(self.n_themes + 1, NOISE)
        remap[keep + 1] = np.arange(len(keep))
        labels = remap[self.fit_labels + 1]
        return replace(self, refs=self.refs.relabel(remap), table=self.table.subset(keep),
                       words=self.words.subset(keep),
                       phrases=None if self.phrases is None else self.phrases.subset(keep),
                       fit_labels=labels, fit_probs=np.where(labels >= 0, self.fit_probs, 0.0))

    def append(self, other: "ThemeState", table: ThemeTable | None = None) -> None:
        """Add ``other``'s themes after this state's (``extend``), in place. ``table``: ``other``'s
        table as it should be appended (e.g. with floors and topics set for the new themes).

        The fit mentions stay this state's (the new themes' mentions were not part of the fit)."""
        k, j = self.n_themes, other.n_themes
        self.refs = self.refs.concat(other.refs.offset(k))
        self.table = self.table.concat(other.table if table is None else table)
        self.words = self.words.concat(other.words)
        self.phrases = PhraseCounts.stack(self.phrases, other.phrases, k, j)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``arrays.npz``, in the file's order (the model file stays byte-identical)."""
        parts = {**self.refs.to_arrays(), **self.table.to_arrays(), **self.words.to_arrays(),
                 **_put(self, self.FILE)}
        order = ("references", "reference_labels", "reference_probabilities", "floors", "partners",
                 "negative_halves", "centroids", "counts", "sizes", "labels", "probabilities", "topics",
                 "negative_counts")
        out = {name: parts[name] for name in order}
        if self.seed is not None:
            out.update({f"taxonomy_{k}": v for k, v in self.seed.arrays().items()})
        if self.phrases is not None:
            out.update(self.phrases.to_arrays())
        return out
