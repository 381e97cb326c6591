"""Tests of phrase labels (voc.themes.labels) and their use in ThemeModel."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voc.themes import ThemeModel
from voc.themes.labels import phrase_labels

from .test_themes import blobs

PHRASES = {
    0: [("late delivery", "late delivery"), ("delivery", "delivery")],
    1: [("app crashes", "app crash"), ("app keeps crashing", "app keep crash")],
    2: [("no refund", "no refund"), ("refund", "refund")],
    -1: [("misc thing", "misc thing")],
}


def _phrases(y):
    return [list(PHRASES[g]) for g in y]


# ------------------------------------------------------------ candidates
@pytest.mark.slow
def test_english_candidates_from_the_keyword_parse():
    from voc.segment import keyword_tokens, keyword_tokens_and_phrases

    texts = ["The promo code was rejected at checkout.", "My delivery was late again",
             "I was on hold for an hour and nobody answered", "No reply from support",
             "The app crashes every time", "Delivery was fast"]
    tokens, phrases = keyword_tokens_and_phrases(texts, ["en"] * len(texts))
    assert tokens == keyword_tokens(texts, ["en"] * len(texts))  # the same tokens from one parse
    got = [{p for p, _ in ps} for ps in phrases]
    assert "promo code was rejected" in got[0] and "promo code" in got[0]
    assert ("promo code was rejected", "promo code reject") in phrases[0]
    assert "delivery was late" in got[1]
    assert "on hold for an hour" in got[2] and "nobody answered" in got[2]
    assert not any("and" in p.split() for p in got[2])  # never across a clause word
    assert "no reply" in got[3] and "no reply from support" in got[3]
    assert "app crashes" in got[4]
    assert "delivery was fast" in got[5]
    _, short = keyword_tokens_and_phrases(["Love it. 💯", "So frustrating.", "I love it"], ["en"] * 3)
    assert [p for p, _ in short[0]] == ["love it"]  # a short unit as a whole
    assert [p for p, _ in short[1]] == ["so frustrating"]
    assert [p for p, _ in short[2]] == ["love it"]  # leading pronoun trimmed
    _, more = keyword_tokens_and_phrases(["It doesn't work", "Great, thank you!", "Flights to Denver"], ["en"] * 3)
    assert "doesn't work" in {p for p, _ in more[0]}  # n't starts with its auxiliary
    assert "thank you" in {p for p, _ in more[1]}  # an object pronoun may end a phrase
    assert not any(p.startswith("to ") for p, _ in more[2])  # only on/without start a phrase
    for ps in got:
        assert all(2 <= len(p.split()) <= 6 for p in ps)
        assert not any(p.split()[0] in ("the", "my", "i") for p in ps)  # determiners/pronouns trimmed


@pytest.mark.slow
def test_japanese_candidates_from_sudachi_bunsetsu():
    from voc.segment import keyword_tokens_and_phrases

    texts = ["配送の遅れがひどい。", "ログインするとアプリが落ちます。", "三日経っても返事がない。",
             "丁寧な対応でした", "クーポンコードが拒否された", "荷物が届かなかった"]
    _, phrases = keyword_tokens_and_phrases(texts, ["ja"] * len(texts))
    got = [{p for p, _ in ps} for ps in phrases]
    assert "配送の遅れ" in got[0]
    assert "アプリが落ちる" in got[1]  # predicate in dictionary form
    assert "返事がない" in got[2]
    assert "丁寧な対応" in got[3]
    assert "クーポンコードが拒否される" in got[4]
    assert "荷物が届かない" in got[5]  # negation kept
    _, short = keyword_tokens_and_phrases(["2回目の購入です。", "アプリが固まっている", "確認してください。"], ["ja"] * 3)
    assert [p for p, _ in short[0]] == ["2回目の購入"]  # a short unit as a whole, copula dropped
    assert "アプリが固まる" in {p for p, _ in short[1]}  # ている dropped
    assert "確認してください" in {p for p, _ in short[2]}
    assert all(3 <= len(p) <= 15 for ps in got for p in ps)


# ------------------------------------------------------------- selection
def test_praise_and_complaint_get_different_labels():
    texts = ["delivery", "late delivery", "fast delivery", "delivery was late", "delivery was fast"]
    keys = ["delivery", "late delivery", "fast delivery", "delivery late", "delivery fast"]
    counts = np.array([[30, 20, 2, 8, 1],   # complaint theme (mostly negative)
                       [25, 1, 15, 0, 9],   # praise theme
                       [5, 1, 1, 1, 1]])    # background
    neg = np.array([[24, 20, 0, 8, 0],
                    [1, 1, 0, 0, 0],
                    [0, 0, 0, 0, 0]])
    labels = phrase_labels(counts, neg, texts, keys, n_rows=2)
    assert labels == ["late delivery", "fast delivery"]


def test_negative_mentions_win_in_a_mostly_negative_theme():
    texts, keys = ["great app", "app crashes"], ["great app", "app crash"]
    counts = np.array([[10, 8], [0, 0]])
    neg = np.array([[2, 8], [0, 0]])  # most candidates come from negative mentions
    assert phrase_labels(counts, neg, texts, keys, n_rows=1) == ["app crashes"]
    assert phrase_labels(counts, None, texts, keys, n_rows=1) == ["great app"]


def test_spellings_pool_by_key_and_label_is_the_rows_own_spelling():
    texts = ["promo code rejected", "promo code was rejected", "promo codes rejected", "gift card"]
    keys = ["promo code reject", "promo code reject", "promo code reject", "gift card"]
    counts = np.array([[2, 5, 2, 6], [0, 0, 0, 9]])
    assert phrase_labels(counts, None, texts, keys, n_rows=1) == ["promo code was rejected"]


def test_longer_phrase_containing_the_best_replaces_it():
    texts = keys = ["promo code", "promo code rejected", "promo code rejected at checkout"]
    counts = np.array([[20, 12, 2], [5, 0, 0]])
    assert phrase_labels(counts, None, texts, keys, n_rows=1) == ["promo code rejected"]


def test_mixed_language_theme_gets_both_phrases():
    texts = keys = ["late delivery", "配送の遅れ", "配送が遅い", "app crashes", "返事がない"]
    counts = np.array([[10, 6, 3, 0, 0],   # mixed
                       [1, 0, 0, 12, 1],   # English, a stray Japanese mention
                       [0, 0, 0, 0, 9]])   # Japanese only
    labels = phrase_labels(counts, None, texts, keys)
    assert labels == ["late delivery / 配送の遅れ", "app crashes", "返事がない"]


def test_language_mix_of_mentions_decides_the_label_language():
    texts = keys = ["late delivery", "配送の遅れ", "配送が遅い"]
    counts = np.array([[2, 8, 4], [0, 0, 0]])
    assert phrase_labels(counts, None, texts, keys, n_rows=1) == ["配送の遅れ"]
    assert phrase_labels(counts, None, texts, keys, n_rows=1, languages=["en 9; ja 1"]) == ["late delivery"]
    assert phrase_labels(counts, None, texts, keys, n_rows=1, languages=["en 5; ja 5"]) == [
        "late delivery / 配送の遅れ"]


def test_rows_without_candidates_get_empty_labels():
    assert phrase_labels(np.zeros((2, 0)), None, [], [], n_rows=1) == [""]
    assert phrase_labels(np.array([[0, 0], [3, 1]]), None, ["a b", "c d"], ["a b", "c d"], n_rows=1) == [""]


# ------------------------------------------------------------ ThemeModel
@pytest.fixture(scope="module")
def phrase_model():
    X, y, texts, tokens = blobs(n_noise=6)
    model = ThemeModel(n_components=None, min_theme_size=10).fit(X, texts, tokens, phrases=_phrases(y))
    return model, X, y, texts, tokens


def test_fit_labels_themes_with_phrases_and_keeps_keywords(phrase_model):
    model, X, y, texts, tokens = phrase_model
    labels = model.themes_.set_index("theme")["label"].tolist()
    assert labels == ["late delivery", "app crashes", "no refund"]
    plain = ThemeModel(n_components=None, min_theme_size=10).fit(X, texts, tokens)
    assert model.themes_["keywords"].tolist() == plain.themes_["keywords"].tolist()
    assert plain.themes_["label"][0] == "delivery / late / service"  # no phrases: keyword triplets


def test_group_labels_of_summed_rows(phrase_model):
    model = phrase_model[0]
    assert model.group_labels([[0], [1, 2]]) == ["late delivery", "app crashes"]


def test_merge_sums_phrase_rows_and_rename_wins(phrase_model, tmp_path):
    model = ThemeModel.load(phrase_model[0].save(tmp_path / "m"))
    model.apply_edits({"merge": [[1, 2]], "rename": {0: "Parcels late"}})
    labels = model.themes_.set_index("theme")["label"]
    assert labels[0] == "Parcels late"
    assert labels[1] == model.group_labels([[1, 2]])[0] == "app crashes"


def test_save_load_round_trip_keeps_phrase_counts(phrase_model, tmp_path):
    model = phrase_model[0]
    loaded = ThemeModel.load(model.save(tmp_path / "m"))
    assert loaded.themes_.equals(model.themes_)
    for a, b in zip(model._phrases, loaded._phrases):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert "late delivery" in meta["phrases"]


def test_model_saved_without_phrases_loads_with_keyword_labels(phrase_model, tmp_path):
    model = phrase_model[0]
    path = model.save(tmp_path / "m")
    meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    for key in ("phrases", "phrase_keys", "frozen_labels"):
        meta.pop(key)
    (path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with np.load(path / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("phrase_")}
    np.savez_compressed(path / "arrays.npz", **arrays)
    old = ThemeModel.load(path)
    assert old.themes_["label"][0] == "delivery / late / service"
    assert old.group_labels([[0]]) == [""]


def test_extend_keeps_established_labels_and_labels_new_themes(phrase_model, tmp_path):
    model, X, y, texts, tokens = phrase_model
    model = ThemeModel.load(model.save(tmp_path / "m"))
    before = model.themes_["label"].tolist()
    rng = np.random.default_rng(3)
    center = rng.normal(size=X.shape[1])
    Xn = (center + rng.normal(scale=0.15, size=(30, X.shape[1]))).astype(np.float32)
    new = model.extend(Xn, [f"new {i}" for i in range(30)], [["wifi", "slow"]] * 30,
                       phrases=[[("wifi keeps dropping", "wifi keep drop")]] * 30)
    assert new == [3]
    assert model.themes_["label"].tolist() == before + ["wifi keeps dropping"]
    loaded = ThemeModel.load(model.save(tmp_path / "m2"))
    assert loaded.themes_["label"].tolist() == model.themes_["label"].tolist()
