"""A streaming backfill or weekly run killed (SIGKILL) between two chunks of its store write commits nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from voc.config import Config
from voc.store import Store
from voc.stream_store import run_store_streaming

from .test_hardening import FakeScorer
from .test_store import _topic_dump
from .test_stream_store import assert_same_store, contents

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Config(embedder=None, cache_dir="", n_bootstrap=20)
OPTS = dict(config=CONFIG, chunk_size=25, embedder="tests.conftest:FakeEmbedder")

# The run in its own process. Its store write takes the (records, mentions) chunks one at a time
# inside one transaction; once the first chunk is inserted (the writer asks for the second), the
# child marks it and waits to be killed.
_CHILD = """
import pathlib, sys, time
sys.path.insert(0, {root!r})
from voc.config import Config
from voc.store import Store
from voc.stream_store import run_store_streaming
from tests.test_hardening import FakeScorer

dump, path, flag = sys.argv[1:4]
real = Store.write_run_chunks

def write_run_chunks(self, chunks, *a, **k):
    def slow():
        for i, pair in enumerate(chunks):
            if i == 1:                      # chunk 0 is in the open transaction
                pathlib.Path(flag).touch()
                time.sleep(600)
            yield pair
    return real(self, slow(), *a, **k)

Store.write_run_chunks = write_run_chunks
run_store_streaming(dump, Store(path), config=Config(embedder=None, cache_dir="", n_bootstrap=20),
                    chunk_size=25, embedder="tests.conftest:FakeEmbedder", scorer=FakeScorer())
"""


def kill_mid_write(tmp_path: Path, dump: Path, store: Path) -> None:
    script, flag = tmp_path / "child.py", tmp_path / "inserted"
    script.write_text(_CHILD.format(root=str(ROOT)), encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(dump), str(store), str(flag)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not flag.exists():
            assert child.poll() is None, child.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the child never reached its store write"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow  # a child process that segments with spaCy: ~15 s
@pytest.mark.parametrize("killed", ["backfill", "weekly"])
def test_killed_streaming_run_leaves_the_store_as_it_was_and_reruns_whole(tmp_path, killed):
    _topic_dump(["delivery", "app", "support"], 90, 0, 0).to_csv(tmp_path / "base.csv", index=False)
    week = pd.concat([_topic_dump(["delivery"], 10, 0, 0), _topic_dump(["refund"], 60, 1000, 1)],
                     ignore_index=True)
    week.to_csv(tmp_path / "week.csv", index=False)
    reference = Store(tmp_path / "reference.duckdb")
    for dump in ("base", "week"):
        run_store_streaming(tmp_path / f"{dump}.csv", reference, scorer=FakeScorer(), **OPTS)

    path = tmp_path / "killed.duckdb"
    if killed == "weekly":
        run_store_streaming(tmp_path / "base.csv", Store(path), scorer=FakeScorer(), **OPTS)
        before = contents(Store(path))
    kill_mid_write(tmp_path, tmp_path / f"{'base' if killed == 'backfill' else 'week'}.csv", path)

    store = Store(path, timeout=10)  # opens after the kill: the lock is free, the open transaction gone
    assert list(tmp_path.glob(".killed.duckdb.voc-stage-*")), "the killed writer's staging folder stays behind"
    other = tmp_path / ".other.duckdb.voc-stage-x"  # another store's staging folder in the same folder
    other.mkdir()
    if killed == "backfill":
        assert store.runs().empty and store.records().empty and store.load_model() is None
        run_store_streaming(tmp_path / "base.csv", store, scorer=FakeScorer(), **OPTS)
    else:
        after = contents(store)
        for name in before:
            pd.testing.assert_frame_equal(before[name], after[name], obj=name)
    run_store_streaming(tmp_path / "week.csv", store, scorer=FakeScorer(), **OPTS)  # the rerun starts over
    assert_same_store(reference, store)
    assert not list(tmp_path.glob(".killed.duckdb.voc-stage-*"))  # the next write removed the stale one
    assert other.is_dir()  # and left the other store's alone
