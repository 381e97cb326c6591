"""The code frame file: parse and validate a taxonomy (YAML or a mapping) into a versioned :class:`Taxonomy`.

Errors name the line (for a file) and the fix; see :mod:`voc.themes.taxonomy`
for the whole feature and ``docs/taxonomy.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError

TOP_KEYS = ("topics", "themes", "match")
MATCH_KEYS = ("quantile", "margin", "min_similarity")
THEME_KEYS = ("seeds", "exclude")

__all__ = ["Taxonomy", "SeededTheme", "load_taxonomy", "TOP_KEYS", "MATCH_KEYS", "THEME_KEYS"]


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
