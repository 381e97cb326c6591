"""Benchmark of the run store: dashboard queries on a store of ~1M mentions.

Builds a synthetic store (52 weekly runs, ~400k records, ~1M mentions, 40
themes, 8 touchpoints) in a temp folder, then times the read API (median of
5 calls, cold connection each call, as a dashboard would make them), the
weekly report (time and peak RSS, in a fresh process) and one more
incremental weekly write. Synthetic data only: needs nothing from
shared/data.

    python benchmarks/store.py [--records 400000] [--weeks 52] [--keep PATH]
    python benchmarks/store.py --records 4000000 --keep big.duckdb   # 10M mentions; again: reads only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voc.store import Store  # noqa: E402

N_THEMES = 40
TOUCHPOINTS = ["app", "web", "delivery", "checkout", "support", "returns", "store", "billing"]


def week_frames(rng, week: int, n: int, start_id: int):
    ids = np.array([f"r{start_id + i:08d}" for i in range(n)], dtype=object)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(week * 7 * 86400 + rng.integers(0, 7 * 86400, n), unit="s")
    tps = rng.choice(TOUCHPOINTS, n)
    n_units = rng.integers(1, 5, n)                      # 1..4 mentions, mean 2.5
    rec_idx = np.repeat(np.arange(n), n_units)
    m = len(rec_idx)
    themes = rng.integers(-1, N_THEMES, m)
    sent = np.clip(rng.normal(0, 0.5, m), -1, 1)
    mentions = pd.DataFrame({
        "voc_id": ids[rec_idx], "unit": np.concatenate([np.arange(k) for k in n_units]),
        "text": np.char.add("mention text ", themes.astype(str)).astype(object),
        "language": "en", "theme": themes, "theme_prob": rng.random(m), "sentiment": sent,
        "sentiment_label": np.where(sent < -0.2, "negative", np.where(sent > 0.2, "positive", "neutral")),
    })
    per_rec = pd.Series(themes, index=rec_idx)
    lists = per_rec[per_rec >= 0].groupby(level=0).agg(lambda s: sorted(set(s.tolist())))
    records = pd.DataFrame({
        "voc_id": ids, "text": "record text", "has_text": True, "source_line": np.arange(n) + 2,
        "date": dates, "touchpoint": tps, "channel": "survey",
        "nps": pd.array(np.where(rng.random(n) < 0.8, rng.integers(0, 11, n), -1), dtype="Int64"),
        "csat": rng.integers(1, 6, n).astype(float), "language": "en",
        "themes": [lists.get(i, []) for i in range(n)],
        "primary_theme": -1, "sentiment": rng.normal(0, 0.4, n), "sentiment_label": "neutral",
    })
    records.loc[records["nps"] < 0, "nps"] = pd.NA
    themes_t = pd.DataFrame({"theme": range(N_THEMES), "label": [f"theme {i}" for i in range(N_THEMES)],
                             "keywords": "", "mentions": 0, "records": 0, "share": 0.0, "exemplars": ""})
    pains = pd.DataFrame([{"touchpoint": tp, "theme": t, "label": f"theme {t}", "rank": r + 1,
                           "nps_impact": -1.0, "pain_score": 1.0, "quotes": "a | b"}
                          for tp in TOUCHPOINTS for r, t in enumerate(range(N_THEMES))])
    tps_t = pd.DataFrame({"touchpoint": ["all", *TOUCHPOINTS], "records": n, "nps": 0.0})
    return types.SimpleNamespace(records=records, mentions=mentions, themes=themes_t,
                                 touchpoints=tps_t, pain_points=pains, run={"config": {}}, model=None)


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


REPORT = """
import sys, tempfile, time
import voc.report
from voc.store import Store
t = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    voc.report.write_report(Store(sys.argv[1]), out)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked copy of the (big) parent
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"{time.perf_counter() - t:.3f} s, peak RSS {hwm / 1024:.0f} MB")
"""


def report_in_subprocess(path: Path) -> str:
    """The weekly report of the store, written in a fresh process: its seconds and peak RSS."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", REPORT, str(path)], capture_output=True, text=True, cwd=root)
    if out.returncode:
        raise SystemExit(f"write_report failed:\n{out.stderr}")
    return out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=400_000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--keep", type=Path, default=None, help="build the store here and keep it (if it exists: only time the reads)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tmp = tempfile.TemporaryDirectory()
    path = args.keep or Path(tmp.name) / "bench.duckdb"
    reuse = args.keep is not None and args.keep.exists()  # time the reads of a store kept earlier
    store = Store(path)
    per_week = args.records // args.weeks
    t0 = time.perf_counter()
    for w in range(0 if reuse else args.weeks):
        store.write_run(week_frames(rng, w, per_week, w * per_week), run_id=f"week{w:02d}")
    build = time.perf_counter() - t0
    runs = store.runs()
    print(f"store: {runs['n_records'].sum():,} records, {runs['n_mentions'].sum():,} mentions, "
          f"{len(runs)} runs, {path.stat().st_size / 1e6:.0f} MB "
          f"({path.stat().st_size / 1e6 / (runs['n_mentions'].sum() / 1e6):.0f} MB per million mentions); built in {build:.1f}s "
          f"({build / args.weeks:.2f}s per weekly write)")
    iso = pd.Timestamp(runs["date_max"].max()).isocalendar()
    last_week = f"{iso.year}-W{iso.week:02d}"
    queries = {
        "runs()": lambda: store.runs(),
        "themes()": lambda: store.themes(),
        "pain_points(touchpoint='app')": lambda: store.pain_points(touchpoint="app"),
        "trend('volume')": lambda: store.trend("volume"),
        "trend('volume', theme=7)": lambda: store.trend("volume", theme=7),
        "trend('negative_share', theme=7)": lambda: store.trend("negative_share", theme=7),
        "trend('sentiment', touchpoint='app')": lambda: store.trend("sentiment", touchpoint="app"),
        "trend('nps', theme=7, touchpoint='app')": lambda: store.trend("nps", theme=7, touchpoint="app"),
        "trend('nps_impact', theme=7)": lambda: store.trend("nps_impact", theme=7),
        "known_ids()  (all ids)": lambda: store.known_ids(),
        "known_ids(ids)  (2,000 ids of a new dump)": lambda: store.known_ids(
            [f"r{i:08d}" for i in range(per_week * args.weeks - 1000, per_week * args.weeks + 1000)]),
        "records(run=latest)": lambda: store.records(store.latest_run()),
        # the dashboard's quotes for one theme (Store API, voc.store_views): 5 per language, most negative first
        "quotes(theme=7)  (all weeks)": lambda: store.quotes(theme=7),
        "quotes(theme=7, weeks=last)": lambda: store.quotes(theme=7, weeks=last_week),
        "quotes(theme=7, touchpoint='app')": lambda: store.quotes(theme=7, touchpoint="app"),
        # the dashboard's views (voc.store.views) and its alerts, unfiltered and for the last week
        "pain_table()  (all weeks)": lambda: store.pain_table(),
        "pain_table(weeks=last)": lambda: store.pain_table(weeks=last_week),
        "heatmap()  (all weeks)": lambda: store.heatmap(),
        "alerts()": lambda: store.alerts(),
    }
    print(f"{'query':45s} median seconds (5 calls)")
    for name, fn in queries.items():
        print(f"{name:45s} {timed(fn):.3f}")
    print(f"{'write_report(store)  (fresh process)':45s} {report_in_subprocess(path)}")
    if reuse:  # keep the kept store as it was
        return
    t = time.perf_counter()
    store.write_run(week_frames(rng, args.weeks, per_week, args.weeks * per_week), run_id="extra")
    print(f"{'write_run (one more week, ' + str(per_week) + ' records)':45s} {time.perf_counter() - t:.3f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
