"""The demo: the shipped sample run as a backfill plus overlapping weekly dumps into a fresh store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import columns as C
from . import progress as P
from .config import Config
from .outputs import Analysis
from .steps import load_args


def run_demo(out_dir: str | Path = "voc-demo", *, backfill_weeks: int = 6,
             progress: bool = False) -> tuple[Analysis, list[dict[str, Any]]]:
    """The demo: the shipped sample as a backfill plus overlapping weekly dumps.

    Weeks 1..``backfill_weeks`` are the first run (it fits the theme model);
    every later week is one incremental run whose dump also repeats the
    previous week's last two days (overlapping dumps are normal and add
    nothing). Writes ``out_dir/voc.duckdb``, the all-time tables and the
    meeting report into ``out_dir``. Returns the all-time Analysis and one
    summary dict per run.
    """
    from .io import read_feedback
    from .pipeline import run_incremental, store_analysis
    from .report import write_report
    from .sample import sample_path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "voc.duckdb"
    for stale in (store_path, store_path.with_name(store_path.name + ".wal")):
        stale.unlink(missing_ok=True)  # the demo starts from scratch every time
    config = Config(ces_scale=(1, 7), ces_direction="higher_is_easier", ces_configured=True)
    with P.stage(progress, "read", "the shipped sample") as info:
        loaded = read_feedback(sample_path(), **load_args(config))
        df = loaded.frame
        info["detail"] = f"{len(df):,} records"
    start = df[C.DATE].min().normalize()
    week = ((df[C.DATE] - start).dt.days // 7 + 1).to_numpy()
    steps = []
    for last_week in range(backfill_weeks, int(week.max()) + 1):
        first_day = start + pd.Timedelta(days=7 * (last_week - 1) - 2)
        mask = (week <= last_week) if last_week == backfill_weeks else (
            (week <= last_week) & (df[C.DATE] >= first_day).to_numpy())
        dump = df[mask]
        analysis = run_incremental(loaded.with_frame(dump), store_path, config=config, progress=progress)
        steps.append({
            "weeks": f"1-{last_week}" if last_week == backfill_weeks else str(last_week),
            "dump_records": int(len(dump)),
            "new_records": 0 if analysis is None else int(len(analysis.records)),
            "emerging_themes": [] if analysis is None else analysis.run.get("emerging_themes", []),
        })
    with P.stage(progress, "tables", f"all weeks -> {out_dir}"):
        total = store_analysis(store_path, config=config)
        total.save(out_dir)
    with P.stage(progress, "report", str(out_dir)):
        write_report(store_path, out_dir)
    return total, steps
