"""The analysts' code frame (voc.themes.taxonomy): parsing, seeded assignment, ids, coverage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FakeEmbedder
from voc.config import Config
from voc.errors import ConfigError
from voc.themes import ThemeModel
from voc.themes.taxonomy import (attach, coverage_table, embed_taxonomy, load_taxonomy, seeded_ids,
                                 suggestions)

TAXONOMY_YAML = """\
match: {min_similarity: 0.6}  # the fake embedder's scale (hashed words): a fixed bar
topics:
  Delivery:
    late delivery: {seeds: ["parcel delivery late", "delivery arrived late", "配送が遅い"], exclude: ["fast delivery"]}
themes:
  app crashes: {seeds: ["app keeps crashing", "crashing app", "アプリが落ちる"]}
  gift wrapping: {seeds: ["zebra giraffe elephant"]}
"""

GROUPS = {
    "late": "my parcel delivery arrived late",
    "crash": "the app keeps crashing",
    "price": "prices are much too high",
    "staff": "staff were rude and unfriendly",
}
FILLERS = ["today", "again", "sadly", "honestly", "really", "please", "seriously", "yesterday"]


def corpus(n: int = 24, groups=GROUPS, offset: int = 0):
    texts, gold = [], []
    for g, base in groups.items():
        for i in range(n):
            texts.append(f"{base} {FILLERS[(i + offset) % len(FILLERS)]} {FILLERS[(3 * i + 1) % len(FILLERS)]}")
            gold.append(g)
    return texts, np.asarray(gold)


def fitted(tmp_path, texts=None, taxonomy=TAXONOMY_YAML):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(taxonomy, encoding="utf-8")
    texts = texts if texts is not None else corpus()[0]
    emb = FakeEmbedder()
    index = embed_taxonomy(path, emb)
    X = emb.embed(texts)
    model = ThemeModel(n_components=None, random_state=0).fit(X, texts, [t.split() for t in texts],
                                                              taxonomy=index)
    return model, X, path


# ---------------------------------------------------------------- parsing
def test_bilingual_file_parses_with_topics_and_a_content_version(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(TAXONOMY_YAML, encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.names == ["late delivery", "app crashes", "gift wrapping"]
    assert [t.topic for t in tax.themes] == ["Delivery", None, None]
    assert tax.themes[0].seeds[-1] == "配送が遅い" and tax.themes[0].exclude == ("fast delivery",)
    assert len(tax.version) == 12
    as_mapping = load_taxonomy({"match": {"min_similarity": 0.6}, "topics": {"Delivery": {"late delivery": {
        "seeds": ["parcel delivery late", "delivery arrived late", "配送が遅い"], "exclude": ["fast delivery"]}}},
        "themes": {"app crashes": {"seeds": ["app keeps crashing", "crashing app", "アプリが落ちる"]},
                   "gift wrapping": ["zebra giraffe elephant"]}})
    assert as_mapping.version == tax.version  # same content, same version (path or mapping)
    path.write_text(TAXONOMY_YAML.replace("crashing app", "the app crashed"), encoding="utf-8")
    assert load_taxonomy(path).version != tax.version  # a changed file is a new version


@pytest.mark.parametrize("text, line, words", [
    ("themes:\n  late delivery:\n    seed: [\"late\"]\n", 3, ["Unknown key 'seed'", "allowed keys: seeds, exclude"]),
    ("themes:\n  late delivery: {seeds: []}\n", 2, ["has no seeds", "at least one seed phrase"]),
    ("themes:\n  late delivery: [\"late\"]\n  Late  Delivery: [\"slow\"]\n", 3,
     ["Duplicate theme name 'Late  Delivery'", "first at line 2", "Rename"]),
    ("topics:\n  A:\n    late delivery: [\"order was late\"]\nthemes:\n  slow: [\"Order was late\"]\n", 5,
     ["Seed 'Order was late'", "theme 'slow' and in theme 'late delivery'", "one theme only"]),
    ("themse:\n  late delivery: [\"late\"]\n", 1, ["Unknown key 'themse'", "allowed top-level keys"]),
    ("match: {quantile: 2}\nthemes:\n  a: [\"b\"]\n", 1, ["'quantile'", "from 0 to 1"]),
])
def test_bad_files_name_the_line_and_the_fix(tmp_path, text, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_taxonomy(path)
    message = str(err.value)
    assert f"line {line} of {path}" in message
    for w in words:
        assert w in message


def test_config_key_accepts_a_path_or_a_mapping_and_rejects_other_types():
    assert Config(taxonomy={"themes": {"a": ["b"]}}).taxonomy == {"themes": {"a": ["b"]}}
    assert Config(taxonomy="taxonomy.yaml").to_dict()["taxonomy"] == "taxonomy.yaml"
    with pytest.raises(ConfigError, match="taxonomy"):
        Config(taxonomy=3)


# ------------------------------------------------------------- assignment
def test_seeded_themes_get_ids_first_names_topics_and_their_mentions(tmp_path):
    texts, gold = corpus()
    model, X, _ = fitted(tmp_path, texts)
    labels = model.labels_
    assert (labels[gold == "late"] == 0).all() and (labels[gold == "crash"] == 1).all()
    other = labels[np.isin(gold, ["price", "staff"])]
    assert (other != 0).all() and (other != 1).all() and (other != 2).all()
    assert (other[other >= 0] >= 3).all() and (other >= 0).any()  # discovered after the seeded ids
    themes = model.themes_.set_index("theme")
    assert themes.loc[0, "label"] == "late delivery" and themes.loc[1, "label"] == "app crashes"
    assert seeded_ids(model) == [0, 1, 2]
    topic = model.topic_ids([0])[0]
    assert model.topics_.set_index("topic").loc[topic, "label"] == "Delivery"
    # assign() applies the same rule; an exclusion phrase vetoes its theme
    ids, probs = model.assign(FakeEmbedder().embed(["parcel delivery late", "fast delivery", "crashing app"]))
    assert ids[0] == 0 and ids[1] != 0 and ids[2] == 1 and probs[0] > 0
    again = ThemeModel.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(again.assign(X)[0], model.assign(X)[0])
    assert seeded_ids(again) == [0, 1, 2]


def test_suggestions_list_near_discovered_themes_and_flag_empty_seeded_ones(tmp_path):
    texts, gold = corpus()
    model, X, _ = fitted(tmp_path, texts)
    ids, _ = model.assign(X)
    out = suggestions(model, pd.DataFrame({"theme": ids}))
    assert out["empty"] == [{"theme": 2, "name": "gift wrapping"}]
    assert out["candidates"] == []  # prices and staff are far from every seed
    # a seeded theme whose bar its mentions miss: their discovered themes are candidate additions
    strict = TAXONOMY_YAML.replace("min_similarity: 0.6", "min_similarity: 0.99") + \
        '  staff attitude: {seeds: ["staff were rude", "unfriendly staff"]}\n'
    model, X, _ = fitted(tmp_path, texts, taxonomy=strict)
    ids, _ = model.assign(X)
    staff = set(ids[gold == "staff"].tolist()) - {-1}
    assert staff and min(staff) >= 4  # discovered, not the seeded theme 3
    near = suggestions(model, pd.DataFrame({"theme": ids}), min_similarity=0.3)["candidates"]
    assert {c["theme"] for c in near if c["near"] == "staff attitude"} == staff
    assert all(c["near_theme"] == 3 and c["exemplars"] for c in near if c["near"] == "staff attitude")
    assert all("staff" in q for c in near if c["near"] == "staff attitude" for q in c["exemplars"])
    assert {"theme": 3, "name": "staff attitude"} in suggestions(model, pd.DataFrame({"theme": ids}))["empty"]


def test_coverage_counts_code_frame_discovered_and_unassigned_per_touchpoint_and_week():
    m = pd.DataFrame({
        "theme": [0, 0, 1, 5, 5, -1, 0, 7],
        "touchpoint": ["app", "app", "web", "web", "app", "web", "web", "app"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"]),
    })
    t = coverage_table(m, [0, 1])
    overall = t[t["level"] == "overall"].iloc[0]
    assert (overall["code_frame"], overall["discovered"], overall["unassigned"]) == (4, 3, 1)
    assert overall["code_frame_share"] == 0.5
    tp = t[t["level"] == "by_touchpoint"].set_index("touchpoint")
    assert tp.loc["app", "code_frame"] == 2 and tp.loc["app", "discovered"] == 2
    assert tp.loc["web", "code_frame_share"] == 0.5 and tp.loc["web", "unassigned"] == 1
    wk = t[t["level"] == "by_week"].set_index("week")
    assert list(wk.index) == ["2024-01-01", "2024-01-08"]
    assert wk.loc["2024-01-01", "code_frame"] == 3 and wk.loc["2024-01-08", "code_frame"] == 1
    per_run = coverage_table(m.assign(run_id=["a"] * 4 + ["b"] * 4), {"a": [0, 1], "b": [5]})
    assert per_run[per_run["level"] == "overall"].iloc[0]["code_frame"] == 4  # 0,0,1 in a; 5 in b


# ----------------------------------------------------- weekly runs, store
def _frame(texts, week: int, start: int):
    return pd.DataFrame({
        "voc_id": [f"r{start + i}" for i in range(len(texts))], "text": texts,
        "touchpoint": ["app" if "app" in t else "shop" for t in texts],
        "date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * week),
    })


def test_weekly_runs_keep_seeded_ids_and_a_changed_taxonomy_is_a_new_version(tmp_path, monkeypatch):
    import voc.embed
    import voc.sentiment
    from tests.test_engine import FakeScorer
    from voc.pipeline import analyze, run_incremental
    from voc.store import Store

    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())
    texts, _ = corpus(12)
    model, _, path = fitted(tmp_path, texts)
    config = Config(taxonomy=str(path), n_bootstrap=20, cache_dir="", unit="record", embedder="fake")
    store = Store(tmp_path / "voc.duckdb")
    model.embedder_name_ = "fake"
    first = analyze(_frame(texts, 0, 0), config=config, model=model, embedder=FakeEmbedder(), scorer=FakeScorer())
    store.write_run(first, run_id="w0")
    assert first.run["taxonomy"]["themes"] == {"late delivery": 0, "app crashes": 1, "gift wrapping": 2}
    n_before = store.load_model().n_themes_
    # week 1: same taxonomy, new records (and a new complaint for discovery)
    week1, _ = corpus(12, {**GROUPS, "refund": "refund never came back to my card"}, offset=1)
    second = run_incremental(_frame(week1, 1, 1000), store, config=config)
    assert second.run["taxonomy"]["version"] == first.run["taxonomy"]["version"]
    assert second.run["taxonomy"]["themes"] == first.run["taxonomy"]["themes"]
    late = second.mentions[second.mentions["text"].str.contains("parcel")]
    assert (late["theme"] == 0).all()
    assert all(t >= n_before for t in second.run.get("emerging_themes", []))
    # week 2: the analysts rename nothing, drop "gift wrapping" and add "rude staff"
    path.write_text(TAXONOMY_YAML.replace('  gift wrapping: {seeds: ["zebra giraffe elephant"]}\n',
                                          '  rude staff: {seeds: ["staff were rude", "rude unfriendly staff"]}\n'),
                    encoding="utf-8")
    n_themes = store.load_model().n_themes_
    week2, _ = corpus(12, offset=2)
    third = run_incremental(_frame(week2, 2, 2000), store, config=config)
    ids = third.run["taxonomy"]["themes"]
    assert ids["late delivery"] == 0 and ids["app crashes"] == 1 and ids["rude staff"] == n_themes
    rude = third.mentions[third.mentions["text"].str.contains("rude")]
    assert (rude["theme"] == n_themes).mean() > 0.5
    versions = store.taxonomy_versions()
    assert versions["version"].iloc[0] == versions["version"].iloc[1] != versions["version"].iloc[2]
    assert "gift wrapping" in versions["themes"].iloc[0] and "rude staff" in versions["themes"].iloc[2]
    assert json.loads(store.runs()["run"].iloc[0])["taxonomy"]["version"] == versions["version"].iloc[0]
    cov = store.coverage()
    overall = cov[cov["level"] == "overall"].iloc[0]
    assert overall["mentions"] == len(store.mentions()) and 0 < overall["code_frame_share"] < 1
    assert set(cov.loc[cov["level"] == "by_touchpoint", "touchpoint"]) == {"app", "shop"}
    assert len(cov[cov["level"] == "by_week"]) == 3
    w0 = store.coverage("w0")
    assert w0[w0["level"] == "overall"].iloc[0]["code_frame"] == int(first.mentions["theme"].isin([0, 1, 2]).sum())


def test_streaming_engine_applies_the_taxonomy_per_chunk(tmp_path):
    from tests.test_engine import FakeScorer
    from voc.engine import run_streaming

    texts, gold = corpus(10)
    model, _, path = fitted(tmp_path, texts)
    model.embedder_name_ = "fake"
    src = tmp_path / "in.csv"
    _frame(texts, 0, 0).to_csv(src, index=False)
    res = run_streaming(src, tmp_path / "out", config=Config(taxonomy=str(path), unit="record", cache_dir="",
                                                              n_bootstrap=20),
                        model=model, embedder=FakeEmbedder(), scorer=FakeScorer(), chunk_size=15)
    mentions = pd.read_parquet(tmp_path / "out" / "mentions.parquet")
    themes = mentions.set_index("text")["theme"]
    assert (themes[[t for t, g in zip(texts, gold) if g == "late"]] == 0).all()
    assert (themes[[t for t, g in zip(texts, gold) if g == "crash"]] == 1).all()
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run["taxonomy"]["version"] == load_taxonomy(path).version
    assert run["taxonomy"]["coverage"]["overall"]["code_frame"] == int(mentions["theme"].isin([0, 1]).sum())
    assert attach(model, None) is model


def test_cli_flag_fails_before_any_work_on_a_bad_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import voc.io
    from voc.cli import main

    def never(*a, **k):
        raise AssertionError("the data was read before the taxonomy was checked")

    monkeypatch.setattr(voc.io, "load_feedback", never)
    (tmp_path / "in.csv").write_text("text\nhello\n", encoding="utf-8")
    (tmp_path / "tax.yaml").write_text("themes:\n  late: {seeds: []}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "in.csv", "--out", "o", "--taxonomy", "tax.yaml"])
    assert result.exit_code == 2
    assert "Theme 'late' at line 2 of tax.yaml has no seeds" in result.output
    assert "--taxonomy" in CliRunner().invoke(main, ["run", "--help"]).output
