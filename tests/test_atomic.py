"""Outputs are replaced atomically: a writer killed at any moment leaves the
previous output folder or the new one, never a mix (and never nothing)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from voc._atomic import atomic_dir, atomic_path

WRITER = r"""
import sys, pandas as pd
from voc.pipeline import Analysis
out = sys.argv[1]
big = pd.DataFrame({"voc_id": [str(i) for i in range(150_000)], "text": ["x" * 40] * 150_000})
for gen in range(1, 10_000):
    frame = big.assign(gen=gen)
    small = pd.DataFrame({"gen": [gen]})
    Analysis(frame, frame, small, small, small, {"gen": gen}).save(out)
    print(gen, flush=True)
"""


def _generations(out: Path) -> set[int]:
    gens = {int(json.loads((out / "run.json").read_text())["gen"])}
    for name in ("themes.csv", "touchpoints.csv", "pain_points.csv"):
        gens |= set(pd.read_csv(out / name)["gen"])
    for name in ("records.parquet", "mentions.parquet"):
        gens |= set(pd.read_parquet(out / name, columns=["gen"])["gen"])
    return gens


def test_killed_writer_leaves_old_or_new_outputs_never_a_mix(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE,
                                env=env, text=True)
        assert proc.stdout.readline().strip() == "1"  # one complete output exists
        time.sleep(0.05 + 0.13 * attempt)  # kill at a different moment of a later write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert out.is_dir()
        assert len(_generations(out)) == 1  # every file from the same write


def test_atomic_dir_keeps_old_folder_on_error(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("old")
    try:
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("new")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folder left behind


def test_atomic_dir_keeps_unrelated_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "notes.md"]


def test_atomic_path_replaces_whole_file_or_nothing(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    except RuntimeError:
        pass
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
