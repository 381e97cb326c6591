"""Analyst edits of a theme model: rename, merge, delete themes; rename, merge topics; move a theme.

:func:`load_edits` reads them from YAML, :func:`validate_edits` checks them
against a fitted model, and :meth:`voc.themes.ThemeModel.apply_edits`
replays them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

EDIT_KEYS = ("rename", "merge", "delete", "rename_topic", "merge_topics", "move")

__all__ = ["EDIT_KEYS", "edits_to_json", "empty_edits", "load_edits", "validate_edits"]


def empty_edits() -> dict:
    """No edits: every key of :data:`EDIT_KEYS` empty."""
    return {"rename": {}, "merge": [], "delete": [], "rename_topic": {}, "merge_topics": [], "move": {}}


def edits_to_json(edits: dict) -> dict:
    """Validated edits as JSON-ready values (ids as string keys, groups as lists), as ``model.json`` keeps them."""
    return {
        "rename": {str(k): v for k, v in edits["rename"].items()},
        "merge": [list(g) for g in edits["merge"]],
        "delete": list(edits["delete"]),
        "rename_topic": {str(k): v for k, v in edits["rename_topic"].items()},
        "merge_topics": [list(g) for g in edits["merge_topics"]],
        "move": {str(k): v for k, v in edits["move"].items()},
    }


def _theme_id(value: Any, where: str, n_themes: int | None, kind: str = "theme") -> int:
    if isinstance(value, bool):
        ok = False
    elif isinstance(value, (int, np.integer)):
        ok = True
    else:
        ok = isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value) is not None
    allowed = f"0..{n_themes - 1}" if n_themes else f"a {kind} id (int >= 0)"
    if not ok or int(value) < 0 or (n_themes is not None and int(value) >= n_themes):
        raise ConfigError(
            f"Bad {kind} id {value!r} in {where}: {kind} ids are {allowed}"
            + (f" (the fitted model's {kind}s)" if n_themes is not None else "")
            + ". Fix the edits file."
        )
    return int(value)


def validate_edits(edits: Any, n_themes: int | None, *, source: str, n_topics: int | None = None) -> dict:
    """Check and normalise an edits dict; ``n_themes`` / ``n_topics`` bound the ids if given."""
    if edits is None:
        return empty_edits()
    if not isinstance(edits, dict):
        raise ConfigError(
            f"Theme edits in {source} must be a mapping with keys {', '.join(EDIT_KEYS)}; "
            f"got {type(edits).__name__}."
        )
    unknown = sorted(str(k) for k in edits if k not in EDIT_KEYS)
    if unknown:
        raise ConfigError(
            f"Unknown key {unknown[0]!r} in theme edits {source}; allowed keys: "
            f"{', '.join(EDIT_KEYS)}."
        )
    rename_in = edits.get("rename") or {}
    merge_in = edits.get("merge") or []
    delete_in = edits.get("delete") or []
    if not isinstance(rename_in, dict):
        raise ConfigError(f"'rename' in {source} must map theme id to new label, e.g. {{3: \"Login crashes\"}}.")
    if not isinstance(merge_in, list) or not all(isinstance(g, list) for g in merge_in):
        raise ConfigError(f"'merge' in {source} must be a list of id lists, e.g. [[4, 7]] (7 merges into 4).")
    if not isinstance(delete_in, list):
        raise ConfigError(f"'delete' in {source} must be a list of theme ids, e.g. [9].")

    merge: list[list[int]] = []
    merged_away: dict[int, int] = {}
    for group in merge_in:
        ids = [_theme_id(v, f"{source} 'merge'", n_themes) for v in group]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ConfigError(
                f"Each 'merge' group in {source} needs two or more different theme ids; got {group!r}."
            )
        for t in ids[1:]:
            if t in merged_away:
                raise ConfigError(
                    f"Theme {t} is merged twice in {source} (into {merged_away[t]} and {ids[0]}); "
                    "list it in one merge group only."
                )
            merged_away[t] = ids[0]
        merge.append(ids)
    for start in merged_away:  # 1 into 0 and 0 into 1 (or a longer loop) says two contradictory things
        chain, t = [start], merged_away[start]
        while t in merged_away and t not in chain:
            chain.append(t)
            t = merged_away[t]
        if t in chain:
            loop = " -> ".join(str(x) for x in chain[chain.index(t):] + [t])
            raise ConfigError(
                f"The 'merge' groups in {source} contradict each other: they merge themes in a cycle "
                f"({loop}, each into the next). List those themes in one group instead, e.g. "
                f"[{', '.join(str(x) for x in sorted(set(chain[chain.index(t):])))}]."
            )
    delete = sorted({_theme_id(v, f"{source} 'delete'", n_themes) for v in delete_in})
    rename: dict[int, str] = {}
    for key, label in rename_in.items():
        t = _theme_id(key, f"{source} 'rename'", n_themes)
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"New label of theme {t} in {source} 'rename' must be non-empty text; got {label!r}.")
        if t in merged_away:
            raise ConfigError(
                f"Theme {t} is renamed in {source} but merged into {merged_away[t]}; rename {merged_away[t]} instead."
            )
        if t in delete:
            raise ConfigError(f"Theme {t} is both renamed and deleted in {source}; keep one of the two.")
        rename[t] = label.strip()
    return {"rename": rename, "merge": merge, "delete": delete,
            **_validate_topic_edits(edits, n_topics, source=source, merged_away=merged_away, deleted=delete,
                                    n_themes=n_themes)}


def _validate_topic_edits(edits: dict, n_topics: int | None, *, source: str, merged_away: dict,
                          deleted: list, n_themes: int | None) -> dict:
    """The topic keys of an edits dict: rename_topic, merge_topics, move."""
    rename_in = edits.get("rename_topic") or {}
    merge_in = edits.get("merge_topics") or []
    move_in = edits.get("move") or {}
    if not isinstance(rename_in, dict):
        raise ConfigError(f"'rename_topic' in {source} must map topic id to new label, e.g. {{2: \"Support wait\"}}.")
    if not isinstance(merge_in, list) or not all(isinstance(g, list) for g in merge_in):
        raise ConfigError(f"'merge_topics' in {source} must be a list of topic id lists, e.g. [[1, 4]] "
                          "(4 merges into 1).")
    if not isinstance(move_in, dict):
        raise ConfigError(f"'move' in {source} must map theme id to topic id, e.g. {{12: 3}} "
                          "(theme 12 moves to topic 3).")

    def topic(v: Any, key: str) -> int:
        return _theme_id(v, f"{source} '{key}'", n_topics, kind="topic")

    merge: list[list[int]] = []
    merged_away_topics: dict[int, int] = {}
    for group in merge_in:
        ids = [topic(v, "merge_topics") for v in group]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ConfigError(f"Each 'merge_topics' group in {source} needs two or more different topic ids "
                              f"(a topic cannot merge into itself); got {group!r}.")
        for t in ids[1:]:
            if t in merged_away_topics:
                raise ConfigError(f"Topic {t} is merged twice in {source} (into {merged_away_topics[t]} and "
                                  f"{ids[0]}); list it in one 'merge_topics' group only.")
            merged_away_topics[t] = ids[0]
        merge.append(ids)
    rename: dict[int, str] = {}
    for key, label in rename_in.items():
        t = topic(key, "rename_topic")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"New label of topic {t} in {source} 'rename_topic' must be non-empty text; "
                              f"got {label!r}.")
        if t in merged_away_topics:
            raise ConfigError(f"Topic {t} is renamed in {source} but merged into {merged_away_topics[t]}; "
                              f"rename {merged_away_topics[t]} instead.")
        rename[t] = label.strip()
    move: dict[int, int] = {}
    for key, value in move_in.items():
        leaf = _theme_id(key, f"{source} 'move'", n_themes)
        t = topic(value, "move")
        if leaf in merged_away:
            raise ConfigError(f"Theme {leaf} is moved in {source} but merged into {merged_away[leaf]}; "
                              f"move {merged_away[leaf]} instead.")
        if leaf in deleted:
            raise ConfigError(f"Theme {leaf} is both moved and deleted in {source}; keep one of the two.")
        if t in merged_away_topics:
            raise ConfigError(f"Theme {leaf} is moved in {source} to topic {t}, which is merged into "
                              f"{merged_away_topics[t]}; move it to {merged_away_topics[t]} instead.")
        move[leaf] = t
    return {"rename_topic": rename, "merge_topics": merge, "move": move}


def load_edits(path: str | Path) -> dict:
    """Read and validate an analyst edits YAML file.

    Format::

        rename: {3: "Login crashes"}
        merge: [[4, 7]]        # 7 merges into 4 (several ids: all into the first)
        delete: [9]            # theme 9 becomes noise (-1)
        rename_topic: {2: "Support wait"}
        merge_topics: [[1, 5]] # topic 5 merges into topic 1
        move: {12: 3}          # theme 12 moves to topic 3

    Every key is optional. Ids are checked against a model in
    :meth:`ThemeModel.apply_edits`.

    Returns
    -------
    dict
        ``{"rename": {int: str}, "merge": [[int, ...]], "delete": [int],
        "rename_topic": {int: str}, "merge_topics": [[int, ...]], "move": {int: int}}``.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Theme edits file {path} does not exist. Check the 'edits' path.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Theme edits file {path} is not valid YAML: {exc}".strip()) from None
    return validate_edits(data if data is not None else {}, None, source=str(path))
