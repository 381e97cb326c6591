"""The analysts' code frame: named, seeded themes that discovery works around.

A taxonomy file (YAML, or the same structure as a mapping) names the themes
a team tracks every week, optionally grouped into topics, each with a few
seed phrases (English and/or Japanese) and optional exclusion phrases::

    topics:
      Delivery:
        late delivery: {seeds: ["my order arrived late", "配送が遅い"], exclude: ["fast delivery"]}
        damaged parcel: {seeds: ["the box was crushed", "商品が破損していた"]}
    themes:                      # themes without a topic (each is its own topic)
      app crashes: {seeds: ["the app keeps crashing", "アプリが落ちる"]}

How it is used (``docs/taxonomy.md``):

1. :func:`load_taxonomy` parses and validates the file (errors name the line
   and the fix) and gives it a version (a hash of its content).
2. :func:`embed_taxonomy` embeds the seeds with the run's embedder
   (:class:`SeedIndex`).
3. A mention goes to the seeded theme whose seeds it is most similar to
   when that similarity clears the calibrated bar (:meth:`SeedIndex.match`);
   an exclusion phrase of the theme that is closer than its seeds vetoes it.
4. :meth:`voc.themes.ThemeModel.fit` with ``taxonomy=`` clusters only the
   rest; seeded themes get ids ``0..k-1`` in file order, discovered themes
   the ids after them; seeded topics are topics of the hierarchy. The model
   keeps the seeds, so :meth:`~voc.themes.ThemeModel.assign` (weekly runs,
   the streaming and Dask engines) applies the same rule.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError

NOISE = -1
TOP_KEYS = ("topics", "themes", "match")
MATCH_KEYS = ("quantile", "margin", "min_similarity")
THEME_KEYS = ("seeds", "exclude")
# The rule (chosen on Banking77 and the airline tweets, docs/taxonomy.md):
# a mention joins a seeded theme when its best seed similarity is at least the
# SEED_QUANTILE quantile of the seed-to-seed similarities across different
# themes (an embedder-independent bar: as close as the closest seeds of two
# different themes usually are) and beats the second-best theme by MARGIN.
SEED_QUANTILE = 0.5
MARGIN = 0.02

__all__ = ["Taxonomy", "SeededTheme", "SeedIndex", "load_taxonomy", "embed_taxonomy",
           "suggestions", "coverage", "SEED_QUANTILE", "MARGIN"]


# ============================================================== the file
@dataclass(frozen=True)
class SeededTheme:
    """One theme of the code frame."""

    name: str
    topic: str | None
    seeds: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Taxonomy:
    """A parsed, validated code frame.

    Attributes
    ----------
    themes : tuple of SeededTheme
        In file order (their first-fit theme ids are ``0..k-1`` in this order).
    source : str
        The file name, or ``"taxonomy"`` for a mapping.
    version : str
        First 12 hex digits of the SHA-256 of the canonical content (names,
        topics, seeds, exclusions): a changed file is a new version.
    """

    themes: tuple[SeededTheme, ...]
    source: str = "taxonomy"
    version: str = ""
    match: tuple = ()  # (key, value) pairs of the optional 'match' block

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.themes]

    @property
    def topics(self) -> list[str]:
        """Topic names in file order (themes without a topic are left out)."""
        out: list[str] = []
        for t in self.themes:
            if t.topic is not None and t.topic not in out:
                out.append(t.topic)
        return out

    def to_dict(self) -> dict:
        """The content as plain JSON-able data (the hash is taken over this)."""
        out: dict = {"themes": [{"name": t.name, "topic": t.topic, "seeds": list(t.seeds),
                                 "exclude": list(t.exclude)} for t in self.themes]}
        if self.match:
            out["match"] = dict(self.match)
        return out


class _Node:
    """A parsed YAML value with its (1-based) line, or None for a plain mapping."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int | None) -> None:
        self.value, self.line = value, line


def _from_yaml(node: Any) -> _Node:
    import yaml

    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return _Node([(_from_yaml(k), _from_yaml(v)) for k, v in node.value], line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_from_yaml(v) for v in node.value], line)
    if node.tag.endswith(":null"):
        return _Node(None, line)
    return _Node(str(node.value), line)


def _from_plain(value: Any) -> _Node:
    if isinstance(value, Mapping):
        return _Node([(_Node(str(k), None), _from_plain(v)) for k, v in value.items()], None)
    if isinstance(value, (list, tuple)):
        return _Node([_from_plain(v) for v in value], None)
    return _Node(None if value is None else str(value), None)


def load_taxonomy(spec: Any) -> Taxonomy | None:
    """Read and validate a taxonomy: a YAML file path, a mapping, or a :class:`Taxonomy`.

    ``None`` gives ``None``. Problems raise :class:`~voc.errors.ConfigError`
    naming the line (for a file) and the fix: an unknown key, a theme
    without seeds, a theme name used twice, a seed phrase in two themes.
    """
    if spec is None or isinstance(spec, Taxonomy):
        return spec
    if isinstance(spec, Mapping):
        return _parse(_from_plain(spec), "taxonomy")
    if isinstance(spec, (str, os.PathLike)):
        import yaml

        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"Taxonomy file {path} does not exist. Check the 'taxonomy' path "
                              "(--taxonomy, taxonomy=).") from None
        except UnicodeDecodeError:
            raise ConfigError(f"Taxonomy file {path} is not UTF-8 text; save it as UTF-8.") from None
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"Taxonomy file {path} is not valid YAML{where}: {problem}. "
                              "Fix the YAML syntax (indentation, quotes, colons).") from None
        if root is None:
            raise ConfigError(f"Taxonomy file {path} is empty; add 'topics:' or 'themes:' with seeded themes "
                              "(see docs/taxonomy.md).")
        return _parse(_from_yaml(root), str(path))
    raise ConfigError(f"taxonomy= must be the path of a YAML file or a mapping; got {type(spec).__name__}.")


def _at(node: _Node, source: str) -> str:
    return f"line {node.line} of {source}" if node.line is not None else source


def _parse(root: _Node, source: str) -> Taxonomy:
    example = 'e.g. themes: {"late delivery": {seeds: ["my order arrived late"]}}'
    if not isinstance(root.value, list) or (root.value and not isinstance(root.value[0], tuple)):
        raise ConfigError(f"The taxonomy in {source} must be a mapping with keys {', '.join(TOP_KEYS)}; "
                          f"{example}.")
    themes: list[SeededTheme] = []
    match: tuple = ()
    first_name: dict[str, tuple[str, _Node]] = {}
    seed_owner: dict[str, tuple[str, _Node]] = {}
    seen_top: set[str] = set()
    seen_topics: dict[str, _Node] = {}

    def theme(name_node: _Node, spec: _Node, topic: str | None) -> None:
        name = (name_node.value or "").strip()
        if not name:
            raise ConfigError(f"A theme at {_at(name_node, source)} has no name; give it one.")
        key = " ".join(name.lower().split())
        if key in first_name:
            other = first_name[key][1]
            raise ConfigError(
                f"Duplicate theme name {name!r} at {_at(name_node, source)}"
                + (f" (first at line {other.line})" if other.line else "")
                + "; theme names must be unique across the taxonomy. Rename or merge one of them.")
        first_name[key] = (name, name_node)
        if isinstance(spec.value, list) and spec.value and not isinstance(spec.value[0], tuple):
            fields = {"seeds": spec}  # shorthand: a list of seeds
        elif isinstance(spec.value, list):
            fields = {}
            for k, v in spec.value:
                if k.value not in THEME_KEYS:
                    raise ConfigError(
                        f"Unknown key {k.value!r} at {_at(k, source)} (theme {name!r}); allowed keys: "
                        f"{', '.join(THEME_KEYS)}. Rename it, e.g. seeds: [\"...\"].")
                fields[k.value] = v
        else:
            fields = {}
        phrases: dict[str, tuple[str, ...]] = {}
        for field in THEME_KEYS:
            node = fields.get(field)
            items = [] if node is None or node.value is None else node.value
            if isinstance(items, str):
                items = [_Node(items, node.line)]
            if not isinstance(items, list) or any(isinstance(i, tuple) for i in items) or any(
                    not isinstance(i.value, str) for i in items):
                raise ConfigError(f"'{field}' of theme {name!r} at {_at(node or spec, source)} must be a list "
                                  f"of phrases, e.g. {field}: [\"my order arrived late\", \"配送が遅い\"].")
            out = []
            for item in items:
                text = " ".join(item.value.split())
                if not text:
                    continue
                if field == "seeds":
                    low = text.lower()
                    if low in seed_owner and seed_owner[low][0] != name:
                        other, where = seed_owner[low]
                        raise ConfigError(
                            f"Seed {text!r} at {_at(item, source)} is in theme {name!r} and in theme "
                            f"{other!r}" + (f" (line {where.line})" if where.line else "")
                            + "; a seed phrase may belong to one theme only. Remove it from one of them.")
                    seed_owner[low] = (name, item)
                if text not in out:
                    out.append(text)
            phrases[field] = tuple(out)
        if not phrases["seeds"]:
            raise ConfigError(f"Theme {name!r} at {_at(name_node, source)} has no seeds; give it at least "
                              "one seed phrase, e.g. seeds: [\"my order arrived late\"].")
        themes.append(SeededTheme(name, topic, phrases["seeds"], phrases["exclude"], name_node.line))

    def theme_map(node: _Node, topic: str | None, what: str) -> None:
        if node.value is None or (isinstance(node.value, list) and not node.value):
            raise ConfigError(f"{what} at {_at(node, source)} has no themes; list its themes with their seeds, "
                              f"{example}.")
        if not isinstance(node.value, list) or not isinstance(node.value[0], tuple):
            raise ConfigError(f"{what} at {_at(node, source)} must map theme names to their seeds, {example}.")
        for name_node, spec in node.value:
            theme(name_node, spec, topic)

    for key, value in root.value:
        if key.value not in TOP_KEYS:
            raise ConfigError(f"Unknown key {key.value!r} at {_at(key, source)}; allowed top-level keys: "
                              f"{', '.join(TOP_KEYS)}. Put themes under 'themes:' or under a topic in 'topics:'.")
        if key.value in seen_top:
            raise ConfigError(f"Key {key.value!r} appears twice at {_at(key, source)}; merge the two blocks.")
        seen_top.add(key.value)
        if key.value == "match":
            match = _match(value, source)
            continue
        if key.value == "themes":
            theme_map(value, None, "'themes'")
            continue
        if not isinstance(value.value, list) or not value.value or not isinstance(value.value[0], tuple):
            raise ConfigError(f"'topics' at {_at(value, source)} must map topic names to their themes, e.g. "
                              'topics: {Delivery: {"late delivery": {seeds: ["my order arrived late"]}}}.')
        for topic_node, themes_node in value.value:
            topic = (topic_node.value or "").strip()
            if not topic:
                raise ConfigError(f"A topic at {_at(topic_node, source)} has no name; give it one.")
            low = topic.lower()
            if low in seen_topics:
                raise ConfigError(f"Duplicate topic name {topic!r} at {_at(topic_node, source)}; merge the two "
                                  "topics into one block.")
            seen_topics[low] = topic_node
            theme_map(themes_node, topic, f"Topic {topic!r}")
    if not themes:
        raise ConfigError(f"The taxonomy in {source} has no themes; {example}.")
    tax = Taxonomy(tuple(themes), source, "", match)
    digest = hashlib.sha256(json.dumps(tax.to_dict(), ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return Taxonomy(tax.themes, source, digest[:12], match)


def _match(node: _Node, source: str) -> tuple:
    """The optional ``match`` block: quantile (0-1), margin (>= 0), min_similarity (-1 to 1)."""
    example = "e.g. match: {quantile: 0.9, margin: 0.02} or match: {min_similarity: 0.6}"
    if not isinstance(node.value, list) or (node.value and not isinstance(node.value[0], tuple)):
        raise ConfigError(f"'match' at {_at(node, source)} must be a mapping, {example}.")
    out = {}
    ranges = {"quantile": (0.0, 1.0), "margin": (0.0, 1.0), "min_similarity": (-1.0, 1.0)}
    for k, v in node.value:
        if k.value not in MATCH_KEYS:
            raise ConfigError(f"Unknown key {k.value!r} at {_at(k, source)} in 'match'; allowed keys: "
                              f"{', '.join(MATCH_KEYS)}. {example[0].upper()}{example[1:]}.")
        low, high = ranges[k.value]
        try:
            x = float(v.value)
        except (TypeError, ValueError):
            x = float("nan")
        if not low <= x <= high:
            raise ConfigError(f"'{k.value}' at {_at(v, source)} must be a number from {low:g} to {high:g}; "
                              f"got {v.value!r}. Fix it, {example}.")
        out[k.value] = x
    return tuple(sorted(out.items()))


# ======================================================== the seed index
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
def fit_seeded(model: Any, index: SeedIndex, X: np.ndarray, texts: list[str], tokens: list[list[str]], *,
               languages: Sequence[str] | None, sentiment: Sequence[str] | None,
               phrases: Sequence[Sequence] | None) -> Any:
    """:meth:`ThemeModel.fit` with a taxonomy: seeded themes ``0..s-1``, discovery on the rest."""
    from . import default_min_theme_size
    from . import summary as summ
    from .edits import empty_edits
    from . import labels as L
    from .hierarchy import topic_threshold

    s = len(index.names)
    index.theme_ids = np.arange(s)
    seeded, sim = index.match(X)
    rest = np.flatnonzero(seeded < 0)
    n = len(X)
    sub = None
    if len(rest) >= 3:
        sub = type(model)(**model.get_params())
        pick = lambda seq: None if seq is None else [seq[i] for i in rest]  # noqa: E731
        sub.fit(X[rest], pick(texts), pick(tokens), languages=pick(languages), sentiment=pick(sentiment),
                phrases=pick(phrases))
    d = sub.n_themes_ if sub is not None else 0
    k = s + d
    final = seeded.copy()
    probs = np.where(seeded >= 0, sim, 0.0)
    if sub is not None:
        final[rest] = np.where(sub._base_labels >= 0, sub._base_labels + s, NOISE)
        probs[rest] = sub._base_probs
    dim = X.shape[1]
    seed_centroids = np.vstack([index.seed_embeddings[index.seed_owner == j].mean(axis=0) for j in range(s)])
    model._k = model.n_themes_ = k
    model.min_theme_size_ = int(sub.min_theme_size_ if sub is not None else (
        model.min_theme_size or default_min_theme_size(n)))
    if sub is not None:
        model._ref, model._ref_probs = sub._ref, sub._ref_probs
        model._ref_labels = sub._ref_labels + s
        floor = float(np.median(sub._floors)) if d else 0.0
        model._floors = np.concatenate([np.full(s, floor), sub._floors])
        model._partner = np.concatenate([np.full(s, NOISE), np.where(sub._partner >= 0, sub._partner + s, NOISE)])
        model._neg_half = np.concatenate([np.zeros(s, dtype=bool), sub._neg_half])
    else:
        model._ref = np.zeros((0, dim), dtype=np.float32)
        model._ref_probs = np.zeros(0)
        model._ref_labels = np.zeros(0, dtype=int)
        model._floors = np.zeros(s)
        model._partner = np.full(s, NOISE)
        model._neg_half = np.zeros(s, dtype=bool)
    C = np.zeros((k, dim), dtype=np.float32)
    for t in range(k):
        members = final == t
        c = X[members].mean(axis=0) if members.any() else seed_centroids[t]  # an empty seeded theme: its seeds
        C[t] = c / (np.linalg.norm(c) or 1.0)
    model._centroids = C
    model._base_labels, model._base_probs = final, probs
    model._vocab, model._counts = summ.class_counts(tokens, final, k)
    negative = summ.negative_mask(sentiment)
    model._phrases = None if phrases is None else L.phrase_counts(
        phrases, final, k, None if negative is None else np.asarray(negative))
    model._base_sizes = np.bincount(final[final >= 0], minlength=k).astype(int)
    model._leaf_negative = summ.negative_shares(negative, final, k)
    model._base_exemplars = [summ.exemplars(X, texts, final, t, C[t], model.n_exemplars) for t in range(k)]
    model._base_languages = summ.language_mix(languages, final, k)
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
    if sub is not None and d:
        model._topic_threshold = sub._topic_threshold
        rest_topics = sub._base_topics + n_seeded_topics
    else:
        model._topic_threshold = topic_threshold(C, zscore=model.topic_zscore)
        rest_topics = np.zeros(0, dtype=int)
    model._base_topics = np.concatenate([np.asarray(seeded_topics, dtype=int), rest_topics]).astype(int)
    model._topic_names = {i: name for i, name in enumerate(topic_names) if name}
    model.edits_ = empty_edits()
    model._frozen_words, model._frozen_topic_words = {}, {}
    model._frozen_labels = {j: index.names[j] for j in range(s)}
    model._seed = index
    model._rebuild()
    return model


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
    old = getattr(model, "_seed", None)
    known = {} if old is None else {n.lower(): int(t) for n, t in zip(old.names, old.theme_ids)}
    if old is not None:  # names the model seeded before (also retired ones) keep their ids
        known = {**getattr(model, "_retired_seeds", {}), **known}
    topic_names = dict(getattr(model, "_topic_names", {}))
    topic_id = {v.lower(): t for t, v in topic_names.items()}
    ids = []
    new = []
    for j, name in enumerate(index.names):
        t = known.get(name.lower())
        if t is None or t >= model.n_themes_:
            t = model.n_themes_ + len(new)
            new.append(j)
        ids.append(t)
    if new:
        _append_empty(model, index, new, topic_id, topic_names)
    index.theme_ids = np.asarray(ids, dtype=int)
    retired = {n: t for n, t in known.items() if n not in {x.lower() for x in index.names}}
    model._retired_seeds = retired
    for name, t in zip(index.names, ids):
        if t not in model.edits_["rename"]:
            model._frozen_labels[int(t)] = name
    model._seed = index
    model._rebuild()
    return model


def _append_empty(model: Any, index: SeedIndex, new: list[int], topic_id: dict, topic_names: dict) -> None:
    k, j = model.n_themes_, len(new)
    cents = []
    for i in new:
        c = index.seed_embeddings[index.seed_owner == i].mean(axis=0)
        cents.append(c / (np.linalg.norm(c) or 1.0))
    model._centroids = np.vstack([model._centroids, np.asarray(cents, dtype=np.float32)])
    floor = float(np.median(model._floors)) if len(model._floors) else 0.0
    model._floors = np.concatenate([model._floors, np.full(j, floor)])
    model._partner = np.concatenate([model._partner, np.full(j, NOISE)])
    model._neg_half = np.concatenate([model._neg_half, np.zeros(j, dtype=bool)])
    counts = np.zeros((k + j + 1, model._counts.shape[1]), dtype=np.int64)
    counts[:k], counts[k + j] = model._counts[:k], model._counts[k]
    model._counts = counts
    if model._phrases is not None:
        texts, keys, pc, pn = model._phrases
        out = []
        for M in (pc, pn):
            N = np.zeros((k + j + 1, M.shape[1]), dtype=np.int64)
            N[:k], N[k + j] = M[:k], M[k]
            out.append(N)
        model._phrases = (texts, keys, out[0], out[1])
    model._base_sizes = np.concatenate([model._base_sizes, np.zeros(j, dtype=int)])
    model._leaf_negative = np.concatenate([model._leaf_negative, np.full(j, np.nan)])
    model._base_exemplars = model._base_exemplars + [[] for _ in new]
    model._base_languages = model._base_languages + ["" for _ in new]
    topics = []
    next_topic = model.n_topics_
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
    model._base_topics = np.concatenate([model._base_topics, np.asarray(topics, dtype=int)])
    model._topic_names = topic_names
    model._k = model.n_themes_ = k + j


def seeded_ids(model: Any) -> list[int]:
    """Theme ids of the model's current seeded themes (empty without a taxonomy)."""
    index = getattr(model, "_seed", None)
    return [] if index is None else [int(t) for t in index.theme_ids]


# =================================================== suggestions, coverage
def suggestions(model: Any, mentions: pd.DataFrame, *, min_similarity: float | None = None) -> dict:
    """Candidate additions and empty seeded themes.

    ``candidates``: discovered themes (with mentions in ``mentions``) whose
    centroid is at least ``min_similarity`` (default: the seed index's
    threshold) similar to a seeded theme's seeds: the nearest seeded theme,
    the similarity and the discovered theme's label and exemplars.
    ``empty``: seeded themes with no mention in ``mentions``.
    """
    index = getattr(model, "_seed", None)
    if index is None:
        return {"candidates": [], "empty": []}
    bar = index.threshold if min_similarity is None else float(min_similarity)
    counts = mentions["theme"].value_counts() if "theme" in mentions else pd.Series(dtype=int)
    seeded = set(int(t) for t in index.theme_ids)
    themes = model.themes_.set_index("theme")
    cands = []
    present = [int(t) for t in counts.index if int(t) >= 0 and int(t) not in seeded and int(t) in themes.index]
    if present:
        T = index.scores(model._centroids[present])
        for row, t in enumerate(present):
            j = int(np.argmax(T[row]))
            if np.isfinite(T[row, j]) and T[row, j] >= bar:
                cands.append({"theme": t, "label": str(themes.at[t, "label"]),
                              "near": index.names[j], "near_theme": int(index.theme_ids[j]),
                              "similarity": round(float(T[row, j]), 3), "mentions": int(counts[t]),
                              "exemplars": [q for q in str(themes.at[t, "exemplars"]).split(" | ") if q]})
    cands.sort(key=lambda c: -c["similarity"])
    empty = [{"theme": int(t), "name": n} for n, t in zip(index.names, index.theme_ids) if int(counts.get(t, 0)) == 0]
    return {"candidates": cands, "empty": empty}


def coverage(mentions: pd.DataFrame, seeded: Sequence[int], *, freq: str = "W") -> dict:
    """Share of mentions inside the code frame (a seeded theme) vs discovered vs unassigned.

    ``mentions`` needs ``theme`` and, for the breakdowns, ``touchpoint`` and
    ``date`` (records' columns copied on, as in the store). Returns
    ``{"overall": {...}, "by_touchpoint": [...], "by_week": [...]}``; each
    entry has ``mentions``, ``code_frame``, ``discovered``, ``unassigned``
    (counts) and ``code_frame_share``, ``discovered_share``.
    """
    table = coverage_table(mentions, seeded, freq=freq)
    out: dict[str, Any] = {}
    for level, key in (("overall", None), ("by_touchpoint", "touchpoint"), ("by_week", "week")):
        part = table[table["level"] == level].drop(columns=["level"])
        rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()
                 if k in ("mentions", "code_frame", "discovered", "unassigned", "code_frame_share",
                          "discovered_share") or k == key}
                for r in part.to_dict("records")]
        out[level] = rows[0] if level == "overall" and rows else rows
    return out


def coverage_table(mentions: pd.DataFrame, seeded: Any, *, freq: str = "W") -> pd.DataFrame:
    """Coverage as a frame (``seeded``: the seeded theme ids, or a mapping run_id -> ids
    for mentions with a ``run_id`` column): ``level`` (overall, by_touchpoint, by_week), ``touchpoint``,
    ``week`` (start date of the period, ISO), ``mentions``, ``code_frame``, ``discovered``,
    ``unassigned``, ``code_frame_share``, ``discovered_share``."""
    theme = pd.to_numeric(mentions["theme"], errors="coerce").fillna(NOISE).astype(int) \
        if "theme" in mentions else pd.Series([], dtype=int)
    if isinstance(seeded, Mapping):  # per run (the store): each run's own seeded ids
        runs = mentions["run_id"].astype(str).to_numpy()
        sets = {str(r): set(int(t) for t in ids) for r, ids in seeded.items()}
        inside = np.asarray([t in sets.get(r, ()) for r, t in zip(runs, theme)], dtype=bool)
    else:
        inside = theme.isin(list(seeded)).to_numpy()
    kind = np.where(inside, "code_frame", np.where(theme >= 0, "discovered", "unassigned"))
    df = pd.DataFrame({"kind": kind}, index=mentions.index)
    if "touchpoint" in mentions:
        df["touchpoint"] = mentions["touchpoint"].astype(str)
    if "date" in mentions and mentions["date"].notna().any():
        dates = pd.to_datetime(mentions["date"], utc=True).dt.tz_localize(None)
        df["week"] = dates.dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    parts = []

    def summarise(g: pd.DataFrame) -> dict:
        n = len(g)
        c = int((g["kind"] == "code_frame").sum())
        dsc = int((g["kind"] == "discovered").sum())
        return {"mentions": n, "code_frame": c, "discovered": dsc, "unassigned": n - c - dsc,
                "code_frame_share": round(c / n, 4) if n else 0.0,
                "discovered_share": round(dsc / n, 4) if n else 0.0}

    parts.append({"level": "overall", **summarise(df)})
    for key, level in (("touchpoint", "by_touchpoint"), ("week", "by_week")):
        if key in df:
            for value, g in df.dropna(subset=[key]).groupby(key, sort=True):
                parts.append({"level": level, key: value, **summarise(g)})
    cols = ["level", "touchpoint", "week", "mentions", "code_frame", "discovered", "unassigned",
            "code_frame_share", "discovered_share"]
    out = pd.DataFrame(parts)
    for c in cols:
        if c not in out:
            out[c] = None
    return out[cols]


def run_record(model: Any, mentions: pd.DataFrame, records: pd.DataFrame | None = None) -> dict | None:
    """The ``run.json`` ``taxonomy`` entry: version, seeded themes, coverage, suggestions."""
    index = getattr(model, "_seed", None)
    if index is None:
        return None
    m = mentions
    if records is not None:
        keys = [c for c in ("date", "touchpoint") if c in records.columns and c not in mentions.columns]
        if keys:
            lookup = records.drop_duplicates("voc_id").set_index("voc_id")[keys]
            m = mentions.join(lookup, on="voc_id")
    return {"version": index.version, "source": index.source,
            "themes": {n: int(t) for n, t in zip(index.names, index.theme_ids)},
            "threshold": round(index.threshold, 4), "rule": {"quantile": index.quantile, "margin": index.margin},
            "coverage": coverage(m, seeded_ids(model)), "suggestions": suggestions(model, mentions)}

