"""End-to-end pipeline tests on the sample generator with the fake embedder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import voc
from voc import columns as C
from voc.config import Config
from voc.errors import InputError, ModelError
from voc.pipeline import OUTPUT_FILES, Analysis, analyze, csv_safe


@pytest.fixture(scope="module")
def sample_df():
    raw = voc.make_feedback(n=400, random_state=3)
    return voc.load_feedback(raw)


@pytest.fixture(scope="module")
def result(sample_df):
    from tests.conftest import FakeEmbedder

    return analyze(sample_df, config=Config(sentiment="default", cache_dir=""), embedder=FakeEmbedder())


def test_tables_follow_the_column_contract(result, sample_df):
    assert len(result.records) == len(sample_df)
    for col in (C.VOC_ID, C.LANGUAGE, C.THEMES, C.PRIMARY_THEME, C.SENTIMENT, C.SENTIMENT_LABEL):
        assert col in result.records.columns
    for col in (C.VOC_ID, C.UNIT, C.TEXT, C.LANGUAGE, C.THEME, C.THEME_PROB, C.SENTIMENT,
                C.SENTIMENT_LABEL):
        assert col in result.mentions.columns
    for col in ("theme", "label", "keywords", "mentions", "records", "share", "exemplars"):
        assert col in result.themes.columns
    assert set(result.mentions[C.VOC_ID]) <= set(result.records[C.VOC_ID])
    assert result.mentions[C.SENTIMENT].between(-1, 1).all()


def test_primary_theme_is_one_of_the_record_themes(result):
    rec = result.records
    for themes, primary in zip(rec[C.THEMES], rec[C.PRIMARY_THEME]):
        if len(themes):
            assert primary in themes
        else:
            assert primary == C.NOISE


def test_theme_counts_match_mentions(result):
    themed = result.themes.set_index(C.THEME)
    counts = result.mentions[C.THEME].value_counts()
    for theme, n in counts.items():
        assert themed.loc[theme, "mentions"] == n


def test_same_input_and_seed_give_same_themes(sample_df, result):
    from tests.conftest import FakeEmbedder

    again = analyze(sample_df, config=Config(cache_dir=""), embedder=FakeEmbedder())
    assert again.mentions[C.THEME].tolist() == result.mentions[C.THEME].tolist()
    assert again.themes["label"].tolist() == result.themes["label"].tolist()


def test_run_record_has_config_versions_and_timings(result):
    run = result.run
    assert run["config"]["random_state"] == 0
    assert run["embedder"] == "fake"
    assert {"segment", "embed", "themes", "sentiment", "rank"} <= set(run["seconds"])
    assert run["versions"]["pandas"] == pd.__version__
    assert run["counts"]["records"] == len(result.records)
    assert len(run["input_sha256"]) == 64
    assert any("CES" in w for w in run["warnings"])  # CES assumed, said out loud


def test_save_and_load_round_trip(result, tmp_path):
    out = result.save(tmp_path / "out")
    assert all((out / f).exists() for f in OUTPUT_FILES)
    back = Analysis.load(out)
    pd.testing.assert_frame_equal(back.mentions, result.mentions, check_dtype=False)
    assert back.records.columns.tolist() == result.records.columns.tolist()
    for col in result.records.columns:  # every value of every column (lists as lists)
        got = [list(v) if isinstance(v, (list, np.ndarray)) else v for v in back.records[col]]
        want = [list(v) if isinstance(v, (list, np.ndarray)) else v for v in result.records[col]]
        assert pd.Series(got, dtype=object).equals(pd.Series(want, dtype=object)), col
    for name in ("themes", "topics", "touchpoints", "pain_points"):  # the CSVs read back as written
        a, b = getattr(back, name), getattr(result, name)
        assert a.columns.tolist() == b.columns.tolist() and len(a) == len(b), name
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_dtype=False, check_exact=False, rtol=1e-9, obj=name)
    assert json.loads((out / "run.json").read_text())["counts"] == result.run["counts"]
    X = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    for a, b in zip(back.model.assign(X), result.model.assign(X)):  # the saved model assigns alike
        np.testing.assert_array_equal(a, b)
    assert back.model.themes_.equals(result.model.themes_)


def test_assign_to_saved_model_keeps_theme_ids(result, sample_df, tmp_path):
    from tests.conftest import FakeEmbedder

    result.model.save(tmp_path / "m")
    model = type(result.model).load(tmp_path / "m")
    again = analyze(sample_df, config=Config(cache_dir=""), model=model, embedder=FakeEmbedder())
    assert again.mentions[C.THEME].tolist() == result.mentions[C.THEME].tolist()


def test_model_from_another_embedder_is_refused(result, sample_df):
    class Other:
        name = "other"

        def embed(self, texts):
            return np.ones((len(texts), 64), dtype=np.float32) / 8

    with pytest.raises(ModelError, match="fitted on 'fake' embeddings but this run uses 'other'"):
        analyze(sample_df, config=Config(cache_dir=""), model=result.model, embedder=Other())


def test_all_empty_text_is_a_clear_error():
    df = pd.DataFrame({"text": ["", "  "], "nps": [3, 9]})
    with pytest.raises(InputError, match="No record has any text"):
        analyze(df, config=Config(cache_dir=""))


def test_csv_safe_neutralises_formulas_only_in_text():
    df = pd.DataFrame({"a": ["=1+1", "+cmd", "-x", "@SUM(A1)", "fine"], "n": [-1, 2, 3, 4, 5]})
    out = csv_safe(df)
    assert out["a"].tolist() == ["'=1+1", "'+cmd", "'-x", "'@SUM(A1)", "fine"]
    assert out["n"].tolist() == [-1, 2, 3, 4, 5]


class _WordScorer:
    """Sentiment from words, so that the test controls which mentions are negative."""

    name = "words"

    def score(self, texts, *, embeddings=None, languages=None):
        neg = ("late", "delayed", "slow", "crash", "遅")
        pos = ("fast", "early", "quick", "great", "早")
        s = np.array([-1.0 if any(w in t.lower() for w in neg) else 1.0 if any(w in t.lower() for w in pos)
                      else 0.0 for t in texts])
        labels = np.where(s < 0, "negative", np.where(s > 0, "positive", "neutral"))
        return pd.DataFrame({C.SENTIMENT: s, C.SENTIMENT_LABEL: labels})


def test_split_polarity_reaches_the_theme_model():
    from tests.conftest import FakeEmbedder

    rng = np.random.default_rng(0)
    filler = ["monday", "friday", "morning", "evening", "again", "today", "yesterday", "week",
              "parcel", "order", "box", "courier"]

    def some(k=4):
        return " ".join(rng.choice(filler, k, replace=False))

    # "late" and "fast" deliveries differ in one word; the filler words vary more than that
    texts = ([f"delivery shipping {some()} late" for _ in range(40)]
             + [f"delivery shipping {some()} fast" for _ in range(40)]
             + [f"login screen phone app froze {some(2)}" for _ in range(30)]
             + [f"checkout page takes promo code {some(2)}" for _ in range(30)])
    df = voc.load_feedback(pd.DataFrame({"text": rng.permutation(texts),
                                         "nps": rng.integers(0, 11, len(texts))}))

    def run(**options):
        return analyze(df, config=Config(cache_dir="", min_theme_size=10, **options),
                       embedder=FakeEmbedder(), scorer=_WordScorer())

    plain, split = run(), run(split_polarity=0.25)
    assert plain.model.split_polarity is None and not (plain.model._partner >= 0).any()
    assert split.model.split_polarity == 0.25 and (split.model._partner >= 0).sum() == 2
    m = split.mentions
    late, fast = (m[m[C.TEXT].str.contains(w)][C.THEME] for w in ("late", "fast"))
    assert late.nunique() == fast.nunique() == 1 and late.iloc[0] != fast.iloc[0]
    assert "late" in split.themes.set_index(C.THEME).loc[late.iloc[0], "label"]
    assert plain.mentions[plain.mentions[C.TEXT].str.contains("late|fast")][C.THEME].nunique() == 1
    with pytest.raises(voc.ConfigError, match=r"Config 'split_polarity' must be a share in \(0, 0.5\] or None. Got 0.9"):
        Config(split_polarity=0.9)


def _theme_outcome(analysis):
    """What must not depend on the cache: every mention's theme and every theme's label."""
    return (analysis.mentions[C.THEME].tolist(), analysis.mentions[C.THEME_PROB].round(12).tolist(),
            analysis.themes[["theme", "label", "keywords", "mentions"]].to_dict("records"))


def test_themes_do_not_depend_on_the_cache_history(sample_df, tmp_path):
    """Cold cache, warm cache, and a cache another run filled with other batches: same themes.

    The batch-sensitive embedder moves every vector with the size of the call
    it is embedded in, as real models do in their last bits (padding, BLAS
    blocking); the fit is sensitive to differences that small.
    """
    from voc.embed import EmbeddingCache, embed_texts
    from voc.segment import model_text
    from tests.conftest import BatchSensitiveEmbedder
    from tests.test_engine import FakeScorer

    def run(cache):
        return analyze(sample_df, config=Config(cache_dir=str(tmp_path / cache)),
                       embedder=BatchSensitiveEmbedder(), scorer=FakeScorer())

    cold = run("a")
    warm = run("a")
    # another run (a part of the data, in small batches) filled cache "b" first
    other = [model_text(t) for t in cold.mentions[C.TEXT][::3]]
    embed_texts(other, BatchSensitiveEmbedder(), cache=EmbeddingCache(tmp_path / "b"), batch_size=7)
    prefilled = run("b")
    assert cold.run["counts"]["themes"] > 3
    assert _theme_outcome(warm) == _theme_outcome(cold)
    assert _theme_outcome(prefilled) == _theme_outcome(cold)


@pytest.mark.slow
def test_real_themes_do_not_depend_on_the_cache_history(tmp_path):
    """The packaged multilingual embedder on a slice of the shipped sample: cold, warm, prefilled."""
    from voc.embed import EmbeddingCache, embed_texts, get_embedder
    from voc.segment import model_text
    from tests.test_engine import FakeScorer

    df = voc.load_feedback(pd.read_csv(voc.sample_path()).head(300))

    def run(cache):
        return analyze(df, config=Config(cache_dir=str(tmp_path / cache)),
                       embedder=get_embedder("use-multilingual"), scorer=FakeScorer())

    cold = run("a")
    warm = run("a")
    other = [model_text(t) for t in cold.mentions[C.TEXT][::3]]
    embed_texts(other, get_embedder("use-multilingual"), cache=EmbeddingCache(tmp_path / "b"), batch_size=7)
    prefilled = run("b")
    assert cold.run["counts"]["themes"] > 3
    assert _theme_outcome(warm) == _theme_outcome(cold)
    assert _theme_outcome(prefilled) == _theme_outcome(cold)


def test_batch_date_dates_the_undated_records(fake_embedder):
    from tests.test_engine import FakeScorer

    df = voc.load_feedback(pd.DataFrame({"text": ["late parcel", "great app", "slow support"],
                                         "date": ["2026-11-10", None, ""]}))
    out = analyze(df, config=Config(cache_dir="", batch_date="2026-11-16"), embedder=fake_embedder,
                  scorer=FakeScorer())
    assert out.records[C.DATE].astype(str).tolist() == ["2026-11-10", "2026-11-16", "2026-11-16"]
    undated = voc.load_feedback(pd.DataFrame({"text": ["late parcel", "great app", "slow support"]}))
    out = analyze(undated, config=Config(cache_dir="", batch_date="2026-11-16"), embedder=fake_embedder,
                  scorer=FakeScorer())
    assert out.records[C.DATE].astype(str).tolist() == ["2026-11-16"] * 3
    assert out.run["date_range"] == ["2026-11-16 00:00:00", "2026-11-16 00:00:00"]


@pytest.mark.parametrize("column,values,config,expected", [
    ("Rating", {"nps": [1, 2, 3, 4, 5] * 4}, {},
     "NPS column 'Rating': all 20 answers lie within 1-5, the lower half of the NPS scale 0-10. "
     "Is it a 1-5 rating? Map it as CSAT (--csat-col Rating --csat-scale 1 5) or map the NPS column "
     "with --nps-col."),
    ("sat", {"csat": [1, 2, 3, 4, 5] * 4}, {"csat_scale": (1, 10)},
     "CSAT column 'sat': all 20 answers lie within 1-5, the lower half of the CSAT scale 1-10. "
     "Set the scale with --csat-scale LOW HIGH, or map another column with --csat-col."),
    ("effort", {"ces": [1, 2, 3, 4] * 5}, {"ces_scale": (1, 7), "ces_direction": "higher_is_easier"},
     "CES column 'effort': all 20 answers lie within 1-4, the lower half of the CES scale 1-7. "
     "Set the scale with --ces-scale LOW HIGH, or map another column with --ces-col."),
])
def test_a_column_that_does_not_fit_its_metric_is_warned_about(fake_embedder, column, values, config,
                                                                expected):
    from tests.test_engine import FakeScorer

    metric, answers = next(iter(values.items()))
    raw = pd.DataFrame({"text": [f"comment number {i}" for i in range(len(answers))], column: answers})
    cfg = Config(cache_dir="", **config)
    df = voc.load_feedback(raw, **{f"{metric}_col": column}, csat_scale=cfg.csat_scale,
                           ces_scale=cfg.ces_scale)
    out = analyze(df, config=cfg, embedder=fake_embedder, scorer=FakeScorer())
    assert expected in out.run["warnings"]
    fits = raw.assign(**{column: [min(v * 2, 10 if metric == "nps" else cfg.csat_scale[1] if metric == "csat"
                                      else cfg.ces_scale[1]) for v in answers]})
    df = voc.load_feedback(fits, **{f"{metric}_col": column}, csat_scale=cfg.csat_scale,
                           ces_scale=cfg.ces_scale)
    out = analyze(df, config=cfg, embedder=fake_embedder, scorer=FakeScorer())
    assert not any(column in w for w in out.run["warnings"])


def test_analysis_repr_is_short(result):
    text = repr(result)
    n_themes = int((result.themes["theme"] != -1).sum())
    assert text.startswith(f"Analysis(records={len(result.records):,}, mentions={len(result.mentions):,}, "
                           f"themes={n_themes}, touchpoints=5, pain_points={len(result.pain_points):,}")
    lo, hi = result.run["date_range"]
    assert text.endswith(f"dates={lo[:10]}..{hi[:10]})")
    assert "\n" not in text and len(text) < 200 and str(result) == text


def test_run_weekly_is_a_public_store_run(tmp_path, monkeypatch):
    import subprocess
    import sys

    import voc.embed
    import voc.sentiment
    from tests.conftest import FakeEmbedder

    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: _WordScorer())
    path = tmp_path / "dump.csv"
    voc.make_feedback(n=300, random_state=5).to_csv(path, index=False)
    config = Config(cache_dir="", ces_scale=(1, 7), ces_direction="higher_is_easier", ces_configured=True)
    first = voc.run_weekly(path, store=tmp_path / "voc.duckdb", config=config, report_dir=tmp_path / "report",
                           on_error="fail")
    assert isinstance(first, Analysis) and len(first.records) == 300
    store = voc.Store(tmp_path / "voc.duckdb")
    assert store.runs()["n_records"].tolist() == [300]
    assert f"run_id={store.latest_run()!r}" in repr(first)
    assert (tmp_path / "report" / "report.html").exists()
    assert voc.run_weekly(path, store=store, config=config) is None       # nothing new: store unchanged
    assert len(store.runs()) == 1
    assert "run_weekly" in voc.__all__ and "run_weekly" in dir(voc)
    code = "import sys, voc; print('voc.pipeline' in sys.modules, 'pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == ["False", "False"]
