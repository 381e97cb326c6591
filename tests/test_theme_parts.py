"""The parts of voc.themes that its modules share: the state dataclasses, the outlier policy, clustering helpers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from voc.errors import ConfigError, InputError
from voc.themes import PARAMETER_RULES, ThemeModel
from voc.themes.assign import neighbours, policy, positions, resolve, support_floors, votes
from voc.themes.cluster import cohesion, knn_graph, merge_duplicates, relabel_by_size, split_by_polarity
from voc.themes.state import KeywordCounts, PhraseCounts, References, ThemeState, ThemeTable
from voc.themes.params import as_embeddings, check_params, param_names
from voc.themes.seeds import seed_index
from voc.themes.tables import build_tables, freeze_labels, group_labels
from voc.themes.edits import empty_edits


def unit(X):
    X = np.asarray(X, dtype=np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def table(k, *, dim=3, offset=0):
    rng = np.random.default_rng(k + offset)
    return ThemeTable(
        centroids=unit(rng.normal(size=(k, dim))), sizes=np.arange(1, k + 1) * 10, floors=np.linspace(0.1, 0.5, k),
        partner=np.full(k, -1), neg_half=np.zeros(k, dtype=bool), negative=np.full(k, 0.5),  # the file keeps counts: shares of whole mentions
        topics=np.arange(k), exemplars=[[f"q{offset + t}"] for t in range(k)],
        languages=["en 10" for _ in range(k)])


def state(k=3, *, dim=3, offset=0):
    rng = np.random.default_rng(offset)
    refs = References(unit(rng.normal(size=(2 * k, dim))).astype(np.float16).astype(np.float32),
                      np.repeat(np.arange(k), 2), np.linspace(0.5, 1.0, 2 * k))
    vocab = sorted(f"w{offset + i}" for i in range(4))
    words = KeywordCounts(vocab, rng.integers(0, 5, size=(k + 1, 4)).astype(np.int64))
    phrases = PhraseCounts([f"p{offset}"], [f"p{offset}"], np.ones((k + 1, 1), dtype=np.int64),
                           np.zeros((k + 1, 1), dtype=np.int64))
    labels = np.array([0, 1, -1, 2, 0][: 2 + k])
    return ThemeState(refs, table(k, dim=dim, offset=offset), words, phrases, fit_labels=labels,
                      fit_probs=np.where(labels >= 0, 0.8, 0.0), topic_threshold=0.5)


# ---------------------------------------------------------------- the state
def test_references_offset_relabel_concat():
    r = state(2).refs
    assert len(r) == 4 and r.offset(3).labels.tolist() == [3, 3, 4, 4]
    remap = np.array([-1, -1, 0])  # drop theme 0, theme 1 becomes 0
    kept = r.relabel(remap)
    assert kept.labels.tolist() == [0, 0] and np.array_equal(kept.vectors, r.vectors[2:])
    both = r.concat(r.offset(2))
    assert both.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and both.vectors.shape == (8, 3)
    assert len(References.empty(5)) == 0 and References.empty(5).vectors.shape == (0, 5)


def test_theme_table_subset_drops_a_lone_half_and_concat_offsets_partners():
    t = table(3)
    t.partner, t.neg_half = np.array([2, -1, 0]), np.array([False, False, True])
    sub = t.subset(np.array([1, 2]))  # theme 2's partner (0) is dropped: it stands alone
    assert sub.partner.tolist() == [-1, -1] and sub.neg_half.tolist() == [False, False]
    assert sub.exemplars == [["q1"], ["q2"]] and sub.sizes.tolist() == [20, 30]
    both = t.concat(t)
    assert both.partner.tolist() == [2, -1, 0, 5, -1, 3] and len(both) == 6
    assert both.centroids.shape == (6, 3) and both.exemplars[3:] == t.exemplars


def test_class_counts_subset_sums_the_rest_and_concat_unions_columns():
    a = KeywordCounts(["b", "c"], np.array([[1, 0], [0, 2], [5, 5]]))  # 2 themes + rest
    sub = a.subset(np.array([1]))
    assert sub.counts.tolist() == [[0, 2], [6, 5]]
    b = KeywordCounts(["a", "c"], np.array([[3, 1], [1, 1]]))          # 1 theme + rest
    ab = a.concat(b)
    assert ab.vocab == ["a", "b", "c"]
    assert ab.counts.tolist() == [[0, 1, 0], [0, 0, 2], [3, 0, 1], [1, 5, 6]]
    assert a.grow(2).counts.tolist() == [[1, 0], [0, 2], [0, 0], [0, 0], [5, 5]]
    p = PhraseCounts(["x"], ["x"], np.array([[1], [2], [3]]), np.array([[0], [1], [1]]))
    texts, keys, counts, negative = p  # unpacks like the tuple older code kept
    assert texts == ["x"] and p.subset(np.array([0])).counts.tolist() == [[1], [5]]
    stacked = PhraseCounts.stack(p, None, 2, 1)
    assert stacked.counts.tolist() == [[1], [2], [0], [3]]
    assert PhraseCounts.stack(None, None, 2, 1) is None


def test_state_subset_append_and_array_round_trip():
    s = state(3)
    sub = s.subset(np.array([2, 0]))
    assert sub.n_themes == 2 and sub.fit_labels.tolist() == [1, -1, -1, 0, 1]
    assert sub.refs.labels.tolist() == [1, 1, 0, 0] and sub.words.counts.shape == (3, 4)
    grown = copy.deepcopy(s)
    grown.append(state(2, offset=7))
    assert grown.n_themes == 5 and grown.refs.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert grown.words.counts.shape == (6, 8) and grown.phrases.counts.shape == (6, 2)
    assert grown.fit_labels.tolist() == s.fit_labels.tolist()  # the fit mentions stay the first fit's
    arrays = s.to_arrays()
    assert list(arrays)[:3] == ["references", "reference_labels", "reference_probabilities"]
    back = References.from_arrays(arrays)
    np.testing.assert_array_equal(back.vectors, s.refs.vectors)
    t = ThemeTable.from_arrays(arrays, s.table.exemplars, s.table.languages)
    for name in ("centroids", "sizes", "floors", "partner", "neg_half", "negative", "topics"):
        np.testing.assert_array_equal(getattr(t, name), getattr(s.table, name))
    np.testing.assert_array_equal(KeywordCounts.from_arrays(arrays, s.words.vocab).counts, s.words.counts)
    np.testing.assert_array_equal(PhraseCounts.from_arrays(arrays, ["p0"], ["p0"]).counts, s.phrases.counts)
    old = {k: v for k, v in arrays.items() if k not in ("partners", "negative_halves", "negative_counts")}
    t = ThemeTable.from_arrays(old, s.table.exemplars, s.table.languages)  # a model saved before splits
    assert (t.partner == -1).all() and not t.neg_half.any() and np.isnan(t.negative).all()


def test_tables_are_derived_from_the_state_and_the_edits():
    s = state(3)
    out = build_tables(s, empty_edits(), n_keywords=2, n_label_words=1, n_exemplars=1)
    assert out.themes["theme"].tolist() == [0, 1, 2] and out.labels.tolist() == s.fit_labels.tolist()
    edits = {**empty_edits(), "delete": [1]}
    out = build_tables(s, edits, n_keywords=2, n_label_words=1, n_exemplars=1)
    assert out.themes["theme"].tolist() == [0, 2] and 1 not in out.labels.tolist()
    assert out.id_map.tolist() == [-1, 0, -1, 2]
    assert len(group_labels(s, [[0], [1, 2]])) == 2


# ------------------------------------------------------------- the policy
def test_neighbours_votes_policy_and_resolve():
    refs = unit([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    labels = np.array([0, 0, 1, 1])
    idx, sim = neighbours(unit([[1, 0.05]]), refs, 2)
    assert idx.tolist() == [[0, 1]] and sim[0, 0] >= sim[0, 1]
    idx, _ = neighbours(refs, refs, 1, exclude=positions(np.arange(4), 4))
    assert idx.ravel().tolist() == [1, 0, 3, 2]  # never itself
    assert positions(np.array([1, 3]), 4).tolist() == [-1, 0, -1, 1]
    shares, support, nearest, _ = votes(unit([[1, 0.05], [0.05, 1]]), refs, labels, 2, 2)
    assert shares.argmax(axis=1).tolist() == [0, 1] and nearest.tolist() == [0, 2]
    ids, share = policy(shares, support, partner=np.array([-1, -1]), neg_half=np.zeros(2, bool),
                        floors=np.zeros(2), outlier_threshold=0.3)
    assert ids.tolist() == [0, 1] and (share > 0.9).all()
    ids, _ = policy(shares, support, partner=np.array([-1, -1]), neg_half=np.zeros(2, bool),
                    floors=np.full(2, 2.0), outlier_threshold=0.3)  # too far out: noise
    assert ids.tolist() == [-1, -1]
    moved = resolve(np.array([0, 1, -1]), np.array([True, True, False]), partner=np.array([1, 0]),
                    neg_half=np.array([False, True]))
    assert moved.tolist() == [1, 1, -1]
    floors = support_floors(refs, labels, 2, n_neighbors=1, quantile=0.0)
    assert floors.shape == (2,) and np.isfinite(floors).all()


# ------------------------------------------------------------- clustering
def test_cluster_helpers():
    X = unit([[1, 0], [0.99, 0.01], [0, 1], [0.01, 0.99], [0.7, 0.7]])
    idx, dist = knn_graph(X, 2)
    assert idx[:, 0].tolist() == [0, 1, 2, 3, 4] and (dist[:, 0] == 0).all()
    assert relabel_by_size(np.array([5, 7, 7, -1, 5, 7])).tolist() == [1, 0, 0, -1, 1, 0]
    c = cohesion(X, np.array([0, 0, 1, 1, -1]), 2)
    assert (c > 0.99).all()
    labels = np.array([0, 0, 1, 1, 2])
    assert merge_duplicates(X, labels, None).tolist() == labels.tolist()
    labels, partner, neg_half = split_by_polarity(np.zeros(6, dtype=int), np.array([-1, -1, -1, 1, 1, 1]), 2, 0.25)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0] and partner.tolist() == [1, 0] and neg_half.tolist() == [False, True]


# ------------------------------------------------------------- the model
def test_parameter_rules_cover_every_parameter_and_name_value_and_allowed():
    assert list(PARAMETER_RULES) and set(PARAMETER_RULES) == set(ThemeModel().get_params())
    assert list(ThemeModel().get_params())[:2] == ["min_theme_size", "n_components"]  # signature order
    with pytest.raises(ConfigError, match=r"The 'n_neighbors' parameter of ThemeModel must be an int >= 2\. "
                                          r"Got 1 instead\."):
        ThemeModel(n_neighbors=1).check_params()


def test_fit_records_the_embedder_name_and_set_state_rederives_the_tables(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.05, size=(30, 4)) for c in np.eye(4)[:2] * 3])
    texts = [f"t{i}" for i in range(60)]
    tokens = [["a" if i < 30 else "b"] for i in range(60)]
    model = ThemeModel(n_components=None, min_theme_size=5).fit(X, texts, tokens, embedder_name="fake")
    assert model.embedder_name_ == "fake" and model.state_.n_themes == model.n_themes_
    assert ThemeModel.load(model.save(tmp_path / "m")).embedder_name_ == "fake"
    assert ThemeModel(n_components=None, min_theme_size=5).fit(X, texts, tokens).embedder_name_ is None
    st = model.state_.subset(np.array([0]))
    model.set_state(st)
    assert model.n_themes_ == 1 and model.themes_["theme"].tolist() == [0]


def test_freeze_labels_keeps_the_current_keywords_and_labels():
    s = state(3)
    out = build_tables(s, empty_edits(), n_keywords=2, n_label_words=1, n_exemplars=1)
    freeze_labels(s, out.themes, out.topics, out.id_map, renamed={1: "renamed"})
    assert set(s.frozen_labels) == {0, 2} and set(s.frozen_words) <= {0, 1, 2}
    assert s.frozen_labels[0] == out.themes.set_index("theme").at[0, "label"]
    assert set(s.frozen_topic_words) <= set(out.topics["topic"])


def test_param_names_check_params_as_embeddings_and_seed_index():
    assert param_names(ThemeModel)[-1] == "random_state"
    check_params({"n_keywords": 3}, "X")
    with pytest.raises(ConfigError, match=r"The 'n_keywords' parameter of X must be an int >= 1\. Got 0 instead\."):
        check_params({"n_keywords": 0}, "X")
    X = as_embeddings([[3, 4], [0, 0]])
    assert X.dtype == np.float32 and X.tolist() == [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    with pytest.raises(InputError, match="2-D"):
        as_embeddings([1, 2])
    assert seed_index(ThemeModel()) is None and seed_index(object()) is None
