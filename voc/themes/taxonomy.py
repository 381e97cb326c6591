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

How it is used (``docs/taxonomy.md``); this module gathers the names of
three that do the work: :mod:`voc.themes.codeframe` (the file),
:mod:`voc.themes.seeds` (the seeds and seeded fits) and
:mod:`voc.themes.coverage` (coverage and suggestions).

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

from .codeframe import MATCH_KEYS, THEME_KEYS, TOP_KEYS, SeededTheme, Taxonomy, load_taxonomy
from .coverage import coverage, coverage_table, run_record, suggestions
from .seeds import MARGIN, SEED_QUANTILE, SeedIndex, attach, embed_taxonomy, fit_seeded, seed_index, seeded_ids

NOISE = -1

__all__ = ["Taxonomy", "SeededTheme", "SeedIndex", "load_taxonomy", "embed_taxonomy",
           "suggestions", "coverage", "coverage_table", "run_record", "attach", "fit_seeded", "seeded_ids",
           "seed_index", "SEED_QUANTILE", "MARGIN", "TOP_KEYS", "MATCH_KEYS", "THEME_KEYS"]
