"""The themes and topics tables: a fitted state plus the analyst edits -> ids, keywords (c-TF-IDF), labels, quotes."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from . import labels as L
from .labels import c_tf_idf
from . import summary as summ
from .state import ThemeState

NOISE = -1
LABEL_SEPARATOR = " / "
KEYWORD_SEPARATOR = "; "
EXEMPLAR_SEPARATOR = " | "

__all__ = ["Tables", "build_tables", "group_labels", "freeze_labels", "c_tf_idf", "LABEL_SEPARATOR", "KEYWORD_SEPARATOR",
           "EXEMPLAR_SEPARATOR"]


class Tables(NamedTuple):
    """What :func:`build_tables` derives (the model's ``labels_``, ``themes_``, ... and the id map)."""

    id_map: np.ndarray          # fit id + 1 -> theme id after edits (-1: noise)
    labels: np.ndarray          # labels_
    probabilities: np.ndarray   # probabilities_
    themes: pd.DataFrame        # themes_
    topic_of: np.ndarray        # topic_of_
    topics: pd.DataFrame        # topics_


def _top_words(scores: np.ndarray, counts: np.ndarray, vocab: list[str], n: int) -> list[str]:
    present = np.flatnonzero(counts > 0)
    if not len(present):
        return []
    # highest score first; ties by higher count, then alphabetically
    order = sorted(present, key=lambda j: (-scores[j], -counts[j], vocab[j]))
    return [vocab[j] for j in order[:n]]


def _keywords(state: ThemeState, groups: list[np.ndarray], rest: np.ndarray, n: int) -> list[list[str]]:
    """Keywords of each group of fitted theme ids, and the one place they are made.

    The groups' rows of the class-count matrix are summed (``rest``, the
    deleted themes and noise, is one more class) and scored with
    c-TF-IDF. Themes (one group per theme after merges) and topics (one
    group per topic) both come through here.
    """
    if not groups:
        return []
    counts = state.words.counts
    rows = np.vstack([counts[g].sum(axis=0) for g in groups] + [counts[rest].sum(axis=0)])
    scores = c_tf_idf(rows)
    return [_top_words(scores[i], rows[i], state.words.vocab, n) for i in range(len(groups))]


def group_labels(state: ThemeState, groups: Sequence[Sequence[int]]) -> list[str]:
    """Phrase label of each group of fitted theme ids (a theme, a merge, a topic).

    A group's row is the sum of its themes' rows of the theme x phrase
    counts; the themes in no group and the noise count in the IDF as one
    background row (:func:`voc.themes.labels.phrase_labels`). Returns ""
    for every group when the state has no phrase counts (fitted without
    ``phrases``, or saved by an older voc).
    """
    if state.phrases is None:
        return [""] * len(groups)
    texts, keys, counts, neg = state.phrases
    k = state.n_themes
    rows, neg_rows, rest = [], [], np.ones(k + 1, dtype=bool)
    for g in groups:
        g = np.asarray(g, dtype=int)
        rows.append(counts[g].sum(axis=0))
        neg_rows.append(neg[g].sum(axis=0))
        rest[g] = False
    rows.append(counts[rest].sum(axis=0))
    neg_rows.append(neg[rest].sum(axis=0))
    languages = [summ.merge_languages([state.table.languages[t] for t in g]) for g in groups]
    return L.phrase_labels(np.vstack(rows), np.vstack(neg_rows), texts, keys, n_rows=len(groups),
                           languages=languages, separator=LABEL_SEPARATOR)


def build_tables(state: ThemeState, edits: dict, *, n_keywords: int, n_label_words: int,
                 n_exemplars: int) -> Tables:
    """Derive the model's ``labels_``, ``probabilities_``, ``themes_``, ``topic_of_``, ``topics_``
    from the fitted ``state`` and the analyst ``edits`` (:func:`voc.themes.edits.validate_edits`)."""
    k = state.n_themes
    table = state.table
    target = np.arange(k)
    for group in edits["merge"]:
        root = int(target[group[0]])
        for t in group[1:]:
            target[target == target[t]] = root
    for t in edits["delete"]:
        target[target == target[t]] = NOISE
    id_map = np.concatenate([[NOISE], target]).astype(int)
    labels = id_map[state.fit_labels + 1]
    probabilities = np.where(labels >= 0, state.fit_probs, 0.0)

    survivors = sorted({int(t) for t in target if t >= 0})
    parts_of = {s: np.flatnonzero(target == s) for s in survivors}
    rest = np.concatenate([np.flatnonzero(target == NOISE), np.arange(k, len(state.words.counts))])
    words_of = _keywords(state, [parts_of[s] for s in survivors], rest, n_keywords)
    phrase_labels = group_labels(state, [parts_of[s] for s in survivors])
    records, quotes_of = [], {}
    for s, words, phrase in zip(survivors, words_of, phrase_labels):
        parts = parts_of[s]
        single = int(parts[0]) if len(parts) == 1 else None
        if single in state.frozen_words:  # kept across extend()
            words = list(state.frozen_words[single])
        label = (state.frozen_labels.get(single) or phrase
                 or LABEL_SEPARATOR.join(words[:n_label_words]) or f"theme {s}")
        label = edits["rename"].get(s, label)
        quotes_of[s] = summ.merge_exemplars([table.exemplars[p] for p in parts], n_exemplars)
        records.append(
            {
                "theme": s,
                "label": label,
                "keywords": KEYWORD_SEPARATOR.join(words),
                "exemplars": EXEMPLAR_SEPARATOR.join(quotes_of[s]),
                "size": int(table.sizes[parts].sum()),
                "languages": summ.merge_languages([table.languages[p] for p in parts]),
            }
        )
    cols = ["theme", "label", "keywords", "exemplars", "size", "languages"]
    themes = pd.DataFrame(records, columns=cols).astype({"theme": int, "size": int})
    topic_of, topics = _topics(state, edits, parts_of, quotes_of, rest, themes, n_keywords=n_keywords,
                               n_label_words=n_label_words, n_exemplars=n_exemplars)
    return Tables(id_map, labels, probabilities, themes, topic_of, topics)


def _topics(state: ThemeState, edits: dict, parts_of: dict, quotes_of: dict, rest: np.ndarray,
            themes: pd.DataFrame, *, n_keywords: int, n_label_words: int, n_exemplars: int):
    """``topic_of_`` and ``topics_`` from the fitted topics and the edits.

    A theme merged by the analyst is in its first id's topic; then
    ``move`` puts themes in other topics, ``merge_topics`` merges topics
    (into the first id) and ``rename_topic`` renames them.
    """
    table = state.table
    topic_target = np.arange(state.n_topics)
    for group in edits["merge_topics"]:
        root = int(topic_target[group[0]])
        for t in group[1:]:
            topic_target[topic_target == topic_target[t]] = root
    topic_of = np.full(state.n_themes, NOISE, dtype=int)
    for s in parts_of:
        topic_of[s] = edits["move"].get(s, table.topics[s])
    on = topic_of >= 0
    topic_of[on] = topic_target[topic_of[on]]
    topics = sorted({int(t) for t in topic_of[on]})
    leaves_of = {t: [s for s in sorted(parts_of, key=lambda s: (-table.sizes[parts_of[s]].sum(), s))
                     if topic_of[s] == t] for t in topics}
    groups = [np.concatenate([parts_of[s] for s in leaves_of[t]]) for t in topics]
    records = []
    theme_label = dict(zip(themes["theme"], themes["label"]))
    phrases = group_labels(state, groups)  # a topic's phrase label: its leaves' phrase counts summed
    for t, words, parts, phrase in zip(topics, _keywords(state, groups, rest, n_keywords), groups, phrases):
        frozen = state.frozen_topic_words.get(t)
        if frozen is not None and frozen[0] == tuple(sorted(int(p) for p in parts)):  # kept across extend()
            words = list(frozen[1])
        if len(leaves_of[t]) == 1:  # a one-theme topic is called what its theme is called
            phrase = theme_label.get(leaves_of[t][0], phrase)
        label = (state.topic_names.get(t) or phrase  # a taxonomy topic keeps its name
                 or LABEL_SEPARATOR.join(words[:n_label_words]) or f"topic {t}")
        quotes = summ.merge_exemplars([quotes_of[s] for s in leaves_of[t]], n_exemplars)
        records.append({
            "topic": t,
            "label": edits["rename_topic"].get(t, label),
            "keywords": KEYWORD_SEPARATOR.join(words),
            "exemplars": EXEMPLAR_SEPARATOR.join(quotes),
            "size": int(table.sizes[parts].sum()),
            "languages": summ.merge_languages([table.languages[p] for p in parts]),
            "themes": KEYWORD_SEPARATOR.join(str(s) for s in sorted(leaves_of[t])),
        })
    cols = ["topic", "label", "keywords", "exemplars", "size", "languages", "themes"]
    return topic_of, pd.DataFrame(records, columns=cols).astype({"topic": int, "size": int})


def freeze_labels(state: ThemeState, themes: pd.DataFrame, topics: pd.DataFrame, id_map: np.ndarray, *,
                  renamed: dict) -> None:
    """Keep the current keywords and labels of established themes and topics (``extend``), in place.

    Themes that are one fit id keep their keywords and (unless renamed by
    the analyst) their label; topics keep their keywords while their themes
    do not change.
    """
    # established themes keep their keywords and labels: new classes
    # would otherwise shift every theme's c-TF-IDF weights a little
    target = id_map[1:]
    for row in themes.itertuples():
        parts = np.flatnonzero(target == row.theme)
        if len(parts) == 1 and row.keywords:
            state.frozen_words.setdefault(int(parts[0]), row.keywords.split(KEYWORD_SEPARATOR))
        if len(parts) == 1 and row.theme not in renamed:
            state.frozen_labels.setdefault(int(parts[0]), row.label)
    # so do topics whose themes do not change
    for row in topics.itertuples():
        parts = tuple(sorted(int(p) for s in row.themes.split(KEYWORD_SEPARATOR)
                             for p in np.flatnonzero(target == int(s))))
        if row.keywords:
            state.frozen_topic_words[int(row.topic)] = (parts, row.keywords.split(KEYWORD_SEPARATOR))
