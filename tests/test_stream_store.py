"""Weekly runs and backfills into the run store with the streaming engines (voc.stream_store)."""

from __future__ import annotations

import pandas as pd
import pytest

import voc.embed
import voc.sentiment
import voc.store.write as S
from voc.config import Config
from voc.pipeline import run_store
from voc.store import Store
from voc.stream_store import run_store_streaming

from .conftest import FakeEmbedder
from .test_hardening import FakeScorer
from .test_store import _topic_dump

CONFIG = Config(embedder="fake", cache_dir="", n_bootstrap=20)


@pytest.fixture
def dumps(tmp_path, monkeypatch):
    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())
    base = _topic_dump(["delivery", "app", "support"], 90, 0, 0)
    week = pd.concat([base.tail(10), _topic_dump(["refund"], 30, 1000, 1)], ignore_index=True)  # overlaps
    base.to_csv(tmp_path / "base.csv", index=False)
    week.to_csv(tmp_path / "week.csv", index=False)
    return tmp_path


def contents(store: Store) -> dict[str, pd.DataFrame]:
    """Everything a store holds, without run ids and timestamps."""
    runs = store.runs()["run_id"].tolist()
    out = {
        "records": store.records().drop(columns="run_id", errors="ignore"),
        "mentions": store.mentions().drop(columns="run_id", errors="ignore"),
        "lineage": store.lineage()[["theme", "event", "detail", "level"]],
        "runs": store.runs()[["n_records", "n_mentions"]],
    }
    for run in runs:
        for name in ("themes", "topics", "touchpoints", "pain_points"):
            out[f"{name}-{runs.index(run)}"] = getattr(store, name)(run).drop(columns="run_id", errors="ignore")
    out["model"] = store.load_model().themes_[["theme", "label"]]
    return out


def assert_same_store(a: Store, b: Store) -> None:
    ca, cb = contents(a), contents(b)
    assert ca.keys() == cb.keys()
    for name in ca:
        pd.testing.assert_frame_equal(ca[name], cb[name], check_exact=True, obj=name)


def test_backfill_and_weekly_run_equal_the_in_memory_path_and_are_kill_safe(dumps, monkeypatch):
    mem, loc = Store(dumps / "mem.duckdb"), Store(dumps / "loc.duckdb")
    run_store(dumps / "base.csv", mem, config=CONFIG)
    first = run_store_streaming(dumps / "base.csv", loc, config=CONFIG, chunk_size=40)
    assert first.run["engine"]["chunks"] == 3 and first.run["store"]["run_id"] == loc.latest_run()
    run_store(dumps / "week.csv", mem, config=CONFIG)

    # a weekly write that fails after its first chunk is in leaves the store as it was
    before = contents(loc)
    real, calls = S._insert_frame, []

    def failing(con, table, frame, **kw):
        calls.append(table)
        if calls.count("mentions") == 2:
            raise RuntimeError("disk full")
        return real(con, table, frame, **kw)

    monkeypatch.setattr(S, "_insert_frame", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run_store_streaming(dumps / "week.csv", loc, config=CONFIG, chunk_size=15)
    monkeypatch.setattr(S, "_insert_frame", real)
    after = contents(loc)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)

    week = run_store_streaming(dumps / "week.csv", loc, config=CONFIG, chunk_size=15)
    assert week.run["emerging_themes"], "the refund dump should bring emerging themes"
    assert week.run["store"]["records_known"] == 10
    assert week.run["counts"]["records"] == 30   # the 10 known records are not analysed
    assert_same_store(mem, loc)
    # the same dump again: nothing new, store unchanged
    assert run_store_streaming(dumps / "week.csv", loc, config=CONFIG, chunk_size=15) is None
    assert len(loc.runs()) == 2


def test_cli_runs_the_engine_into_the_store(dumps):
    from click.testing import CliRunner

    from voc.cli import main

    args = ["run", str(dumps / "base.csv"), "--store", str(dumps / "s.duckdb"), "--engine", "local",
            "--chunk-size", "50", "--embedder", "fake", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert Store(dumps / "s.duckdb").runs()["n_records"].tolist() == [90]
    again = CliRunner().invoke(main, args[:-1])
    assert again.exit_code == 0 and "No new records" in again.output


def test_dask_backfill_and_weekly_run_match_local(tmp_path):
    """A 2-worker LocalCluster: the workers get only the embedder spec and the chunks."""
    distributed = pytest.importorskip("dask.distributed")
    _topic_dump(["delivery", "app", "support"], 60, 0, 0).to_csv(tmp_path / "base.csv", index=False)
    _topic_dump(["refund"], 30, 1000, 1).to_csv(tmp_path / "week.csv", index=False)
    opts = dict(config=CONFIG.replace(embedder=None), chunk_size=25,
                embedder="tests.conftest:FakeEmbedder", scorer=FakeScorer())
    local = Store(tmp_path / "local.duckdb")
    for dump in ("base", "week"):
        run_store_streaming(tmp_path / f"{dump}.csv", local, **opts)
    remote = Store(tmp_path / "dask.duckdb")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        for dump in ("base", "week"):
            res = run_store_streaming(tmp_path / f"{dump}.csv", remote, engine="dask",
                                      scheduler=cluster.scheduler_address, **opts)
            assert res.run["engine"]["name"] == "dask"
    assert_same_store(local, remote)
