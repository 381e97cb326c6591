"""Chunked reading, the streaming engine and the Dask engine, on small seeded data."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import voc
from voc import columns as C
from voc.config import Config
from voc.engine import Reservoir, run_streaming
from voc.executors import LEAD as _LEAD
from voc.errors import ConfigError, InputError, ModelError
from voc.io import iter_feedback, load_feedback, rejects
from voc.pipeline import Analysis, analyze

FAKE = "tests.conftest:FakeEmbedder"  # importable by Dask workers too
TABLES = ("themes.csv", "touchpoints.csv", "pain_points.csv")
CONFIG = Config(n_bootstrap=100, cache_dir="")


class FakeScorer:
    """Deterministic per-text sentiment from the fake embeddings (no model, no batch effects)."""

    name = "fake-sentiment"

    def score(self, texts, *, embeddings=None, languages=None):
        from voc.sentiment import label_from_score

        s = np.clip(3 * np.asarray(embeddings)[:, :4].sum(axis=1), -1, 1)
        return pd.DataFrame({C.SENTIMENT: s, C.SENTIMENT_LABEL: label_from_score(s)})


def stream(*args, **kwargs):
    return run_streaming(*args, embedder=FAKE, scorer=FakeScorer(), **kwargs)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("engine")
    raw = voc.make_feedback(n=160, random_state=5)
    raw.to_csv(d / "ids.csv", index=False)
    raw.to_csv(d / "ids.csv.gz", index=False)
    raw.to_parquet(d / "ids.parquet")
    raw.to_json(d / "ids.jsonl", orient="records", lines=True, force_ascii=False)
    # no id column, and identical records in different chunks: content ids count them
    noid = raw.drop(columns=["id"])
    pd.concat([noid, noid.iloc[:30]], ignore_index=True).to_csv(d / "noid.csv", index=False)
    lines = (d / "ids.csv").read_text(encoding="utf-8").splitlines()
    lines[90] += ",extra"          # malformed line
    lines[120] = lines[3]          # duplicate id, in a later chunk than the first one
    lines[10] = ",".join(lines[10].split(",")[:-3] + ["11", "1", "1"])  # NPS out of range
    (d / "bad.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


# --------------------------------------------------------------------------- iter_feedback


@pytest.mark.parametrize("name", ["ids.csv", "ids.csv.gz", "ids.parquet", "ids.jsonl", "noid.csv"])
def test_chunks_concatenate_to_load_feedback(files, name):
    whole = load_feedback(files / name)
    chunks = list(iter_feedback(files / name, chunk_size=37))
    assert [len(c) for c in chunks[:-1]] == [37] * (len(chunks) - 1)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    assert chunks[-1].attrs["voc_mapping"] == whole.attrs["voc_mapping"]


def test_chunks_skip_the_same_rows_and_write_the_same_rejects(files):
    whole = load_feedback(files / "bad.csv", on_error="skip", rejects_path=files / "r1.csv")
    chunks = list(iter_feedback(files / "bad.csv", chunk_size=25, on_error="skip",
                                rejects_path=files / "r2.csv"))
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    assert rejects(whole)[C.SOURCE_LINE].tolist() == [11, 91, 121]
    assert (files / "r1.csv").read_text() == (files / "r2.csv").read_text()


def test_chunks_fail_with_the_whole_file_message(files):
    with pytest.raises(InputError) as whole:
        load_feedback(files / "bad.csv")
    with pytest.raises(InputError) as chunked:
        list(iter_feedback(files / "bad.csv", chunk_size=25))
    assert str(chunked.value) == str(whole.value)
    assert "1 row (line 91)" in str(chunked.value)


def test_chunk_size_and_options_are_checked(files):
    with pytest.raises(ConfigError, match="chunk_size must be a positive integer. Got 0."):
        next(iter_feedback(files / "ids.csv", chunk_size=0))
    with pytest.raises(ConfigError, match="Unknown load option\\(s\\): text_column"):
        next(iter_feedback(files / "ids.csv", text_column="text"))


def test_sample_does_not_depend_on_chunking():
    texts = [f"t{i}" for i in range(500)]

    def sample(step):
        r = Reservoir(60, random_state=1)
        for s in range(0, len(texts), step):
            r.add(texts[s : s + step], ["en"] * len(texts[s : s + step]))
        return r.sample()[0]

    assert sample(7) == sample(500) == sample(123)
    assert len(sample(7)) == 60 and sample(7) == sorted(sample(7), key=lambda t: int(t[1:]))


# --------------------------------------------------------------------------- streaming


@pytest.fixture(scope="module")
def reference(files, tmp_path_factory):
    from tests.conftest import FakeEmbedder

    out = tmp_path_factory.mktemp("ref") / "out"
    analyze(load_feedback(files / "ids.csv"), config=CONFIG, embedder=FakeEmbedder(),
            scorer=FakeScorer()).save(out)
    return out


def assert_same_outputs(a, b):
    for name in ("records.parquet", "mentions.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=True)
    for name in TABLES:
        assert (a / name).read_text(encoding="utf-8") == (b / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("chunk_size", [1000, 45])
def test_streaming_equals_analyze(files, reference, tmp_path, chunk_size):
    res = stream(files / "ids.csv", tmp_path / "out", config=CONFIG, chunk_size=chunk_size)
    assert_same_outputs(reference, tmp_path / "out")
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    ref_run = json.loads((reference / "run.json").read_text())
    assert run["counts"] == ref_run["counts"] == res.run["counts"]
    assert run["input_sha256"] == ref_run["input_sha256"]
    assert run["engine"]["chunks"] == -(-160 // chunk_size)
    loaded = res.load()
    assert isinstance(loaded, Analysis) and len(loaded.records) == 160


def test_outputs_are_row_groups_and_replace_the_folder_atomically(files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "themes.csv").write_text("old")
    stream(files / "ids.csv", out, config=CONFIG, chunk_size=50)
    assert pq.ParquetFile(out / "records.parquet").num_row_groups == 4
    assert pq.ParquetFile(out / "mentions.parquet").num_row_groups == 4
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp or stage folders left
    assert not (out / ".stage").exists()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(InputError, match="NPS must be an integer 0..10"):
        stream(files / "bad.csv", out, config=CONFIG, chunk_size=50)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_small_fit_sample_still_assigns_every_mention(files, tmp_path):
    res = stream(files / "ids.csv", tmp_path / "out", config=CONFIG.replace(fit_sample=120),
                 chunk_size=40)
    mentions = pd.read_parquet(tmp_path / "out" / "mentions.parquet", columns=[C.THEME])
    assert len(mentions) == res.run["counts"]["mentions"] > 120
    assert res.model.labels_.shape == (120,)
    # a saved model is reused as is: same theme ids for every mention
    stream(files / "ids.csv", tmp_path / "again", config=CONFIG, chunk_size=70, save_model=tmp_path / "m")
    stream(files / "ids.csv", tmp_path / "reuse", config=CONFIG, chunk_size=40, model_path=tmp_path / "m")
    themes = [pd.read_parquet(tmp_path / d / "mentions.parquet")[C.THEME] for d in ("again", "reuse")]
    pd.testing.assert_series_equal(*themes)


def test_an_embedding_error_ahead_of_scoring_stops_the_run_and_keeps_the_old_output(files, tmp_path):
    """The local engine embeds (pass 2a) in a thread ahead of scoring; its errors still surface."""
    from tests.conftest import FakeEmbedder

    class FailsOnThirdChunk(FakeEmbedder):
        calls = 0

        def embed(self, texts):
            FailsOnThirdChunk.calls += 1
            if FailsOnThirdChunk.calls == 3:
                raise RuntimeError("embedder broke")
            return super().embed(texts)

    config = CONFIG.replace(cache_dir=str(tmp_path / "cache"))
    model = stream(files / "ids.csv", tmp_path / "fit", config=CONFIG).model
    out = tmp_path / "out"
    out.mkdir()
    (out / "themes.csv").write_text("old")
    with pytest.raises(RuntimeError, match="embedder broke"):
        run_streaming(files / "ids.csv", out, config=config, chunk_size=20, model=model,
                      embedder=FailsOnThirdChunk(), scorer=FakeScorer())
    assert 3 <= FailsOnThirdChunk.calls <= 3 + _LEAD  # at most the chunks already ahead
    assert [p.name for p in out.iterdir()] == ["themes.csv"] and (out / "themes.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "fit", "out"]
    # with the cache on, every chunk embeds ahead of its scoring and the result is the same
    ok = run_streaming(files / "ids.csv", tmp_path / "ok", config=config, chunk_size=20, model=model,
                       embedder=FakeEmbedder(), scorer=FakeScorer())
    stream(files / "ids.csv", tmp_path / "nocache", config=CONFIG, chunk_size=20, model=model)
    assert ok.run["engine"]["chunks"] == 8
    assert_same_outputs(tmp_path / "ok", tmp_path / "nocache")


def test_engine_options_are_checked(files, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="engine must be one of local, dask. Got 'spark'."):
        run_streaming(files / "ids.csv", tmp_path / "o", engine="spark")
    with pytest.raises(ConfigError, match="--scheduler needs --engine dask."):
        run_streaming(files / "ids.csv", tmp_path / "o", scheduler="tcp://127.0.0.1:8786")
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ModelError, match='pip install "voc\\[dask\\]"'):
        run_streaming(files / "ids.csv", tmp_path / "o", engine="dask")


# --------------------------------------------------------------------------- dask


def test_dask_engine_matches_local(tmp_path):
    """Bit-identical outputs, even with an embedder whose vectors depend on the batch.

    The generated texts repeat across chunks ("ok", "fine", ...): two workers
    would embed them at the same time in different batches, unless each text
    is embedded only by the first chunk it occurs in (pass 2a).
    """
    distributed = pytest.importorskip("dask.distributed")
    # English only: the workers then need no Japanese tokenizer, which keeps the test short
    voc.make_feedback(n=120, random_state=2, ja_share=0.0).to_csv(tmp_path / "in.csv", index=False)

    def stream(*args, cache, **kwargs):  # a cold cache each: every vector is computed in the run
        return run_streaming(*args, config=CONFIG.replace(cache_dir=str(tmp_path / cache)),
                             embedder="tests.conftest:BatchSensitiveEmbedder", scorer=FakeScorer(),
                             **kwargs)

    # both runs get a fitted model: fitting would embed (and cache) every text of this
    # small input as the sample, and pass 2 would then have nothing left to embed
    model = stream(tmp_path / "in.csv", tmp_path / "fit", cache="c0").model
    local = stream(tmp_path / "in.csv", tmp_path / "local", cache="c1", chunk_size=30, model=model)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = stream(tmp_path / "in.csv", tmp_path / "dask", cache="c2", chunk_size=30,
                        engine="dask", scheduler=cluster.scheduler_address, model=model)
    assert remote.run["engine"]["name"] == "dask" and remote.run["engine"]["chunks"] == 4
    assert_same_outputs(tmp_path / "local", tmp_path / "dask")
    assert remote.run["counts"] == local.run["counts"]


def test_engine_quotes_fill_keeps_topic_rows():
    """Topic rows (theme <NA>) of the pain table keep their quotes; theme rows get the engine's."""
    from voc.streaming import Quotes as _Quotes
    from voc.rank import rank_pain_points

    mentions = pd.DataFrame({"voc_id": ["a", "b"], "theme": [0, 1], "topic": [3, 3],
                             "text": ["late again", "no reply"], "sentiment": [-0.9, -0.8],
                             "sentiment_label": ["negative", "negative"]})
    records = pd.DataFrame({"voc_id": ["a", "b"], "nps": [0, 2]})
    pain = rank_pain_points(records, mentions, None, config=Config(n_bootstrap=20))
    quotes = _Quotes()
    quotes.add(mentions.drop(columns="topic"), np.array(["all", "all"], dtype=object))
    got = quotes.fill(pain).set_index("level")
    assert got.loc["topic", "quotes"] == "late again | no reply"
    assert sorted(got.loc["theme", "quotes"]) == ["late again", "no reply"]
