"""Tests of the theme hierarchy (voc.themes.hierarchy, ThemeModel topics, outputs, store)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from voc import columns as C
from voc.errors import ConfigError
from voc.themes import ThemeModel, load_edits
from voc.themes.hierarchy import complaint_leaves, group_themes, join_topics, topic_threshold


def fake_centroids(groups, n_single, *, dim=384, spread=0.6, seed=0):
    """Leaf centroids around a few topic directions, plus unrelated singletons (384 dimensions,
    like MiniLM: unrelated pairs have cosine about 0 +- 0.05)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, n in enumerate(groups):
        center = rng.normal(size=dim)
        rows += [center + rng.normal(scale=spread, size=dim) for _ in range(n)]
        truth += [g] * n
    rows += [rng.normal(size=dim) for _ in range(n_single)]
    truth += list(range(len(groups), len(groups) + n_single))
    order = rng.permutation(len(rows))  # leaves of a topic are not adjacent ids
    return np.asarray(rows)[order], np.asarray(truth)[order]


@pytest.mark.parametrize("groups, n_single", [((3, 3, 2), 2), ((5,) * 6, 4), ((4,) * 15, 10), ((3,) * 12, 8)])
def test_known_groups_are_recovered_and_singletons_stay_alone(groups, n_single):
    X, truth = fake_centroids(groups, n_single)
    topics = group_themes(X)
    assert adjusted_rand_score(truth, topics) == 1.0
    assert topics.max() + 1 == len(groups) + n_single
    for g in range(len(groups), len(groups) + n_single):
        assert (topics == topics[truth == g][0]).sum() == 1  # a singleton is a topic of its own


def test_grouping_is_deterministic_and_numbered_by_size():
    X, _ = fake_centroids((4, 3, 2), 3, seed=1)
    sizes = np.arange(len(X), 0, -1) * 10
    a, b = group_themes(X, sizes=sizes), group_themes(X.copy(), sizes=sizes)
    np.testing.assert_array_equal(a, b)
    totals = [sizes[a == t].sum() for t in range(a.max() + 1)]
    assert totals == sorted(totals, reverse=True)


def test_no_grouping_for_few_leaves_or_no_zscore():
    X, _ = fake_centroids((3,), 0)
    assert group_themes(X).tolist() == [0, 1, 2]  # 3 pairs cannot stand 1.5 std out
    X, _ = fake_centroids((3, 3), 2)
    assert group_themes(X, zscore=None).tolist() == list(range(8))
    assert topic_threshold(X, zscore=None) == np.inf


def test_new_leaves_join_the_nearest_topic_or_get_new_ids():
    X, truth = fake_centroids((4, 4), 2, seed=3)
    topics = group_themes(X)
    thr = topic_threshold(X)
    rng = np.random.default_rng(9)
    member = X[truth == truth[0]].mean(axis=0) + rng.normal(scale=0.3, size=X.shape[1])
    stranger = rng.normal(size=X.shape[1])
    new = join_topics(np.vstack([member, stranger]), X, topics, threshold=thr)
    assert new[0] == topics[0]
    assert new[1] == topics.max() + 1


def test_polarity_keeps_complaint_and_other_leaves_in_separate_topics():
    X, truth = fake_centroids((5,) * 6, 4)
    plain = group_themes(X)
    assert adjusted_rand_score(truth, plain) == 1.0
    # in group 0, the first three leaves are complaints (mostly negative), the other two praise
    share = np.full(len(X), 0.1)
    g0 = np.flatnonzero(truth == 0)
    share[g0[:3]] = 0.8
    topics = group_themes(X, negative_share=share)
    assert len(set(topics[g0[:3]])) == 1 and len(set(topics[g0[3:]])) == 1
    assert topics[g0[0]] != topics[g0[3]]
    g1 = np.flatnonzero(truth == 1)
    assert len(set(topics[g1])) == 1  # a group on one side is unchanged
    assert topics.max() + 1 == plain.max() + 2
    # no sentiment (None or NaN): the plain grouping
    np.testing.assert_array_equal(group_themes(X, negative_share=np.full(len(X), np.nan)), plain)
    # a new complaint leaf near group 0 joins the complaint topic, a new praise leaf the praise topic
    thr = topic_threshold(X)
    near = X[g0].mean(axis=0)
    new = join_topics(np.vstack([near, near]), X, topics, threshold=thr,
                      new_negative_share=[0.9, 0.0], negative_share=share)
    assert new.tolist() == [topics[g0[0]], topics[g0[3]]]
    assert complaint_leaves(None, 2).tolist() == [False, False]


def test_model_topic_polarity_option(tmp_path):
    X, y, texts, tokens = hierarchical_blobs()
    # leaf 0 (80 mentions) is a complaint, its topic siblings 1 and 2 are not
    sentiment = np.where(y == 0, "negative", "positive").tolist()
    plain = ThemeModel(n_components=None, min_theme_size=10).fit(X, texts, tokens, sentiment=sentiment)
    assert plain.topic_of_.tolist() == [0, 0, 0, 1, 1, 2]  # off by default
    m = ThemeModel(n_components=None, min_theme_size=10, topic_polarity=True).fit(
        X, texts, tokens, sentiment=sentiment)
    assert m.topic_of_[0] not in m.topic_of_[1:].tolist()
    assert m.topic_of_[1] == m.topic_of_[2]
    back = ThemeModel.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.topic_of_, m.topic_of_)
    np.testing.assert_allclose(back._leaf_negative, m._leaf_negative)
    with pytest.raises(ConfigError, match="topic_polarity"):
        ThemeModel(topic_polarity="yes").fit(X, texts, tokens)


# ------------------------------------------------------------------ the model
def hierarchical_blobs(seed=0, dim=24):
    """Six tight leaf blobs: leaves 0-2 share a topic direction, 3-4 another, 5 alone."""
    rng = np.random.default_rng(7)
    a, b, c = rng.normal(size=(3, dim))
    centers = [a + 0.5 * rng.normal(size=dim) for _ in range(3)] + \
              [b + 0.5 * rng.normal(size=dim) for _ in range(2)] + [c]
    sizes = (80, 70, 60, 50, 40, 30)
    rng = np.random.default_rng(seed)
    X = np.vstack([ctr + rng.normal(scale=0.05, size=(n, dim)) for ctr, n in zip(centers, sizes)])
    y = np.repeat(np.arange(6), sizes)
    words = ["wait hold", "wait reply", "wait queue", "late parcel", "late box", "crash app"]
    tokens = [words[g].split() for g in y]
    texts = [f"{words[g]} text number {i}" for i, g in enumerate(y)]
    return X.astype(np.float32), y, texts, tokens


@pytest.fixture(scope="module")
def model():
    X, y, texts, tokens = hierarchical_blobs()
    return ThemeModel(n_components=None, min_theme_size=10).fit(X, texts, tokens)


def test_fit_learns_topics(model):
    assert model.n_themes_ == 6
    assert model.topic_of_.tolist() == [0, 0, 0, 1, 1, 2]
    t = model.topics_
    assert list(t.columns) == ["topic", "label", "keywords", "exemplars", "size", "languages", "themes"]
    assert t["themes"].tolist() == ["0; 1; 2", "3; 4", "5"]
    assert t["size"].tolist() == [210, 90, 30]
    assert t["label"][0].startswith("wait")  # the summed class counts of its leaves
    assert t["keywords"][1].split("; ")[0] == "late"
    assert len(t["exemplars"][0].split(" | ")) == 3
    assert model.topic_ids([0, 4, -1, 99]).tolist() == [0, 1, -1, -1]


def test_topic_edits_rename_merge_move_survive_rerun_and_save(model, tmp_path):
    m = ThemeModel.load(model.save(tmp_path / "m"))
    f = tmp_path / "edits.yaml"
    f.write_text('rename_topic: {0: "Support wait"}\nmerge_topics: [[1, 2]]\nmove: {2: 1}\n'
                 "merge: [[3, 4]]\n", encoding="utf-8")
    edits = load_edits(f)
    m.apply_edits(edits)
    first = m.topics_.copy()
    m.apply_edits(edits)  # replayed every run: same result
    pd.testing.assert_frame_equal(m.topics_, first)
    assert m.topic_of_.tolist() == [0, 0, 1, 1, -1, 1]  # 2 moved to 1; 4 merged into 3; 2 into 1
    assert m.topics_["topic"].tolist() == [0, 1]
    assert m.topics_.set_index("topic").loc[0, "label"] == "Support wait"
    assert m.topics_.set_index("topic").loc[1, "themes"] == "2; 3; 5"
    back = ThemeModel.load(m.save(tmp_path / "m2"))
    pd.testing.assert_frame_equal(back.topics_, m.topics_)
    np.testing.assert_array_equal(back.topic_of_, m.topic_of_)


@pytest.mark.parametrize("text, message", [
    ("merge_topics: [[1, 1]]", r"cannot merge into itself"),
    ("merge_topics: [[0, 9]]", r"Bad topic id 9 in edits 'merge_topics': topic ids are 0..2"),
    ("move: {7: 0}", r"Bad theme id 7 in edits 'move': theme ids are 0..5"),
    ("move: {1: 5}", r"Bad topic id 5 in edits 'move'"),
    ("merge_topics: [[0, 1]]\nrename_topic: {1: x}", r"Topic 1 is renamed .* merged into 0; rename 0 instead"),
    ("merge_topics: [[0, 1]]\nmove: {5: 1}", r"moved .* to topic 1, which is merged into 0; move it to 0"),
    ("merge: [[0, 1]]\nmove: {1: 2}", r"Theme 1 is moved .* merged into 0; move 0 instead"),
    ("delete: [5]\nmove: {5: 0}", r"Theme 5 is both moved and deleted"),
    ("move: [1, 2]", r"'move' in edits must map theme id to topic id"),
])
def test_topic_edit_errors(model, text, message):
    import yaml

    with pytest.raises(ConfigError, match=message):
        model.apply_edits(yaml.safe_load(text))
    model.apply_edits({})


def test_old_model_without_topics_loads_and_derives_them(model, tmp_path):
    path = model.save(tmp_path / "old")
    meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    del meta["topic_threshold"]
    del meta["params"]["topic_zscore"]
    meta["edits"] = {"rename": {}, "merge": [], "delete": []}
    (path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with np.load(path / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "topics"}
    np.savez_compressed(path / "arrays.npz", **arrays)
    back = ThemeModel.load(path)
    np.testing.assert_array_equal(back.topic_of_, model.topic_of_)
    pd.testing.assert_frame_equal(back.topics_, model.topics_)


def test_extend_keeps_topic_ids_and_joins_or_adds_topics(tmp_path):
    X, y, texts, tokens = hierarchical_blobs()
    keep = np.isin(y, [0, 1, 3, 4, 5])
    m = ThemeModel(n_components=None, min_theme_size=10).fit(X[keep], [texts[i] for i in np.flatnonzero(keep)],
                                                          [tokens[i] for i in np.flatnonzero(keep)])
    before = m.topics_.set_index("topic")
    assert m.topic_of_.tolist() == [0, 0, 1, 1, 2]
    # week 2: leaf 2 (a third wording of topic 0); week 3: an unrelated group
    rng = np.random.default_rng(11)
    week2 = y == 2
    assert m.extend(X[week2], [texts[i] for i in np.flatnonzero(week2)],
                    [tokens[i] for i in np.flatnonzero(week2)], min_theme_size=10) == [5]
    other = (rng.normal(size=X.shape[1]) + rng.normal(scale=0.05, size=(40, X.shape[1]))).astype(np.float32)
    # its words overlap topic 1's: fresh c-TF-IDF would reorder topic 1's keywords
    assert m.extend(other, [f"refund {i}" for i in range(40)], [["refund", "parcel", "parcel", "parcel"]] * 40,
                    min_theme_size=10) == [6]
    assert m.topic_of_.tolist()[:5] == [0, 0, 1, 1, 2]  # every old theme keeps its topic
    assert m.topic_of_[5] == 0                          # the new wording joins its topic
    assert m.topic_of_[6] == 3                          # the unrelated group gets the next id
    after = m.topics_.set_index("topic")
    assert set(before.index) <= set(after.index)
    for t in (1, 2):  # topics whose themes did not change keep their keywords and labels
        assert after.loc[t, ["label", "keywords", "themes"]].tolist() == before.loc[t, ["label", "keywords", "themes"]].tolist()
    assert after.loc[0, "themes"] == "0; 1; 5"
    back = ThemeModel.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.topic_of_, m.topic_of_)
    pd.testing.assert_frame_equal(back.topics_, m.topics_)


# ---------------------------------------------------------------- outputs
def test_theme_and_topic_tables(model):
    from voc.pipeline import theme_table, topic_table

    X, y, texts, tokens = hierarchical_blobs(seed=1)
    ids, _ = model.assign(X)
    mentions = pd.DataFrame({C.VOC_ID: [f"r{i // 2}" for i in range(len(ids))], C.THEME: ids,
                             C.TOPIC: model.topic_ids(ids), C.SENTIMENT: 0.0, C.SENTIMENT_LABEL: "neutral"})
    themes = theme_table(model, mentions, n_records=len(ids) // 2)
    assert list(themes.columns) == ["theme", "label", "topic", "topic_label", "keywords", "mentions", "records",
                                    "share", "mean_sentiment", "negative_share", "exemplars"]
    assert themes["topic"].tolist() == [0, 0, 0, 1, 1, 2, -1]
    assert themes["topic_label"].iloc[-1] == "(unassigned)"
    topics = topic_table(model, mentions, n_records=len(ids) // 2)
    assert list(topics.columns) == ["topic", "label", "keywords", "themes", "mentions", "records", "share",
                                    "mean_sentiment", "negative_share", "exemplars"]
    assert topics["topic"].tolist() == [0, 1, 2, -1]
    assert topics["mentions"].tolist() == [
        int((mentions[C.TOPIC] == t).sum()) for t in (0, 1, 2, -1)]
    assert topics["records"][0] == mentions.loc[mentions[C.TOPIC] == 0, C.VOC_ID].nunique()


def test_weekly_runs_keep_topic_ids_in_the_store(tmp_path, monkeypatch):
    """Two weekly runs through run_incremental (fake embedder): topic ids, lineage, Store.topics."""
    import voc
    import voc.embed
    import voc.sentiment
    from tests.test_engine import FakeScorer
    from tests.conftest import FakeEmbedder
    from voc.config import Config
    from voc.pipeline import run_incremental, store_analysis
    from voc.sample import make_feedback
    from voc.store import Store

    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())
    df = voc.load_feedback(make_feedback(500, random_state=0, weeks=2))
    week2 = df["date"] >= df["date"].min() + pd.Timedelta(days=7)
    config = Config(n_bootstrap=20, cache_dir="", min_theme_size=8, embedder="fake")
    store = Store(tmp_path / "voc.duckdb")
    first = run_incremental(df[~week2], store, config=config)
    topics1 = store.topics()
    assert sorted(topics1["topic"]) == [-1] + first.model.topics_["topic"].tolist()
    assert (first.mentions[C.TOPIC] == first.model.topic_ids(first.mentions[C.THEME])).all()
    edits = tmp_path / "edits.yaml"
    edits.write_text('rename_topic: {0: "Topic zero"}\nmove: {1: 2}\n', encoding="utf-8")
    config2 = Config(n_bootstrap=20, cache_dir="", min_theme_size=8, embedder="fake", edits=str(edits))
    second = run_incremental(df, store, config=config2)
    assert second is not None
    old = first.model.topic_of_
    new = second.model.topic_of_
    moved = np.arange(len(old)) == 1
    np.testing.assert_array_equal(new[: len(old)][~moved], old[~moved])  # stable topic ids
    assert new[1] == 2
    assert store.load_model().topics_.set_index("topic").loc[0, "label"] == "Topic zero"
    lin = store.lineage()
    assert "level" in lin
    assert set(lin.loc[(lin["level"] == "topic") & (lin["detail"] == "initial fit"), "theme"]) == set(
        first.model.topics_["topic"])
    assert ((lin["event"] == "moved") & (lin["theme"] == 1) & (lin["detail"] == "to topic 2")).sum() == 1
    total = store_analysis(store, config=config)
    assert total.topics is not None and "themes" in total.topics
    assert (total.mentions[C.TOPIC] == total.model.topic_ids(total.mentions[C.THEME])).all()


def test_tables_of_a_model_without_themes():
    from voc.pipeline import theme_table, topic_table

    X = np.random.default_rng(0).normal(size=(12, 8)).astype(np.float32)
    m = ThemeModel(n_components=None, min_theme_size=20).fit(X, ["t"] * 12, [["w"]] * 12)
    assert m.n_themes_ == 0 and m.topics_.empty and m.topic_of_.tolist() == []
    mentions = pd.DataFrame({C.VOC_ID: ["a"] * 12, C.THEME: -1, C.SENTIMENT: 0.0, C.SENTIMENT_LABEL: "neutral"})
    themes = theme_table(m, mentions, n_records=1)
    assert themes[["theme", "topic", "topic_label"]].values.tolist() == [[-1, -1, "(unassigned)"]]
    assert topic_table(m, mentions, n_records=1)["topic"].tolist() == [-1]
