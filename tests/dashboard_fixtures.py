"""A small run store for the dashboard reads and the browser tests.

The six weekly runs of :mod:`tests.weekly_fixtures` with two channels
(survey, app-store), parent topics (themes 0 and 5 under one topic) and a
hostile quote (``<img onerror>``) in the last week's app-crash mentions.
"""

from __future__ import annotations

import pandas as pd

from voc.store import Store

from .weekly_fixtures import XSS, weekly_analyses

IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE = f"App crashed {IMG} and {XSS} again."
FORMULA = "=HYPERLINK(\"http://x\",\"pay\"); checkout"
TOPIC_OF = {0: 0, 5: 0, 1: 1, 2: 2, 3: 3}
TOPIC_LABELS = {0: "delivery problems", 1: "app", 2: "checkout", 3: "support"}


def dashboard_analyses():
    out = []
    for i, a in enumerate(weekly_analyses()):
        records = a.records.copy()
        records["channel"] = ["app-store" if int(v[1:]) % 3 == 0 else "survey" for v in records["voc_id"]]
        mentions = a.mentions.copy()
        mentions["topic"] = mentions["theme"].map(TOPIC_OF).fillna(-1).astype(int)
        if i == 5:  # one hostile quote in the last week
            hit = mentions.index[(mentions["theme"] == 1) & (mentions["language"] == "en")][0]
            mentions.loc[hit, "text"] = HOSTILE
            mentions.loc[hit, "sentiment"] = -0.99
        themes = a.themes.assign(topic=a.themes["theme"].map(TOPIC_OF),
                                 topic_label=a.themes["theme"].map(TOPIC_OF).map(TOPIC_LABELS))
        themes.loc[themes["theme"] == 2, "keywords"] = FORMULA  # a spreadsheet formula in an exported cell
        topics = pd.DataFrame([{"topic": k, "label": v, "keywords": v, "themes": ", ".join(
            str(t) for t, tp in TOPIC_OF.items() if tp == k), "mentions": 0, "records": 0, "share": 0.0,
            "exemplars": ""} for k, v in TOPIC_LABELS.items()])
        a.records, a.mentions, a.themes, a.topics = records, mentions, themes, topics
        out.append(a)
    return out


def build_dashboard_store(path) -> Store:
    store = Store(path)
    for i, a in enumerate(dashboard_analyses()):
        store.write_run(a, run_id=f"w{i}")
    return store
