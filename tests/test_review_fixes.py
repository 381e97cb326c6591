"""Bugs found while reading the code (issue 20, item 10), each pinned by a test."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

import voc
from voc.cli import summary_text
from voc.config import Config
from voc.pipeline import analyze
from voc.rank import rank_pain_points


def _pain():
    ids = [f"r{i}" for i in range(100)]
    records = pd.DataFrame({"voc_id": ids, "csat": np.where(np.arange(100) < 15, 1.0, 5.0)})
    mentions = pd.DataFrame({"voc_id": ids[:40], "theme": [0] * 15 + [1] * 25, "topic": 7,
                             "sentiment_label": ["negative"] * 15 + ["positive"] * 25})
    return rank_pain_points(records, mentions, pd.DataFrame({"theme": [0, 1], "label": ["sizing", "colour"]}),
                            topics=pd.DataFrame({"topic": [7], "label": ["fit"]}), config=Config(n_bootstrap=50))


COUNTS = {"records": 100, "mentions": 40, "themes": 2, "unassigned_mentions": 0}


@pytest.mark.parametrize("level, shown", [(0.95, "95% CI"), (0.9, "90% CI"), (0.995, "99.5% CI")])
def test_summary_names_the_configured_confidence_level(level, shown):
    run = {"counts": COUNTS, "config": {"confidence": level, "min_n": 30}}
    text = summary_text(types.SimpleNamespace(pain_points=_pain(), run=run), "out", top=3)
    assert f"complaint impact on CSAT, {shown};" in text
    if level != 0.95:
        assert "95% CI" not in text


def test_store_run_without_out_does_not_claim_files_were_written():
    run = {"counts": COUNTS, "store": {"path": "weekly.duckdb", "run_id": "run-1"}}
    text = summary_text(types.SimpleNamespace(pain_points=_pain(), run=run), None, top=3)
    assert "Wrote" not in text
    assert "Stored run run-1 in weekly.duckdb" in text
    with_out = summary_text(types.SimpleNamespace(pain_points=_pain(), run=run), "out", top=3)
    assert "Wrote out/: records.parquet" in with_out and "Stored run run-1" in with_out


class _Scorer:
    """'late', 'crash', 'slow' or 遅 is negative, the rest positive (no model)."""

    name = "keyword-scorer"
    neutral_band = 0.2

    def score(self, texts, *, embeddings=None, languages=None):
        from voc.sentiment import label_from_score

        s = np.array([-0.6 if any(w in t for w in ("late", "crash", "slow", "遅")) else 0.4 for t in texts])
        return pd.DataFrame({"sentiment": s, "sentiment_label": label_from_score(s)})


def test_discover_on_a_fresh_fit_does_not_treat_its_noise_as_emerging(monkeypatch):
    from tests.conftest import FakeEmbedder
    from voc.themes import ThemeModel

    calls = []
    real_extend = ThemeModel.extend
    monkeypatch.setattr(ThemeModel, "extend", lambda self, *a, **k: calls.append(1) or real_extend(self, *a, **k))
    df = voc.load_feedback(voc.make_feedback(n=150, random_state=3))
    config = Config(cache_dir="", n_bootstrap=20)
    fresh = analyze(df, config=config, embedder=FakeEmbedder(), scorer=_Scorer(), discover=True)
    assert calls == []  # nothing was fitted before this run, so nothing can be "new"
    assert fresh.run["emerging_themes"] == [] and fresh.run["emerging_topics"] == []
    analyze(df, config=config, model=fresh.model, embedder=FakeEmbedder(), scorer=_Scorer(), discover=True)
    assert calls == [1]  # with a stored model, discovery runs over the unassigned mentions
