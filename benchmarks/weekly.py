"""Weekly incremental run vs. a from-scratch run (issue target: < 15%).

Generates 52,000 records with the sample generator (no shared data needed),
stores the first 50,000 in a fresh run store, then times

- the weekly run: the next 2,000 records added with ``run_incremental``
  (assign to the stored model, emerging-theme search, store write), and
- a from-scratch run over all 52,000 into a new store.

The embedding cache is off for every run, so nothing is reused between them
except what a weekly run reuses by design (the stored model). Generated texts
repeat phrases, so absolute times are lower than on real data of this size;
the ratio is what this measures.

Run: ``OMP_NUM_THREADS=1 python benchmarks/weekly.py [--total 52000 --new 2000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from voc.config import Config
from voc.io import load_feedback
from voc.pipeline import run_incremental
from voc.sample import make_feedback
from voc.store import Store


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total", type=int, default=52_000)
    ap.add_argument("--new", type=int, default=2_000)
    args = ap.parse_args(argv)
    config = Config(cache_dir="", ces_scale=(1, 7), ces_direction="higher_is_easier", ces_configured=True)
    raw = make_feedback(args.total, random_state=0, weeks=52)
    df = load_feedback(raw)
    old, new = df.iloc[: args.total - args.new], df.iloc[args.total - args.new :]
    old.attrs = new.attrs = df.attrs
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "weekly.duckdb")
        t0 = time.perf_counter()
        run_incremental(old, store, config=config)
        t_old = time.perf_counter() - t0
        t0 = time.perf_counter()
        week = run_incremental(new, store, config=config)
        t_week = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_incremental(df, Store(Path(tmp) / "scratch.duckdb"), config=config)
        t_scratch = time.perf_counter() - t0
    print("| run | records | seconds |\n|---|---|---|")
    print(f"| initial store | {len(old):,} | {t_old:.1f} |")
    print(f"| weekly (incremental) | {len(new):,} | {t_week:.1f} |")
    print(f"| from scratch | {len(df):,} | {t_scratch:.1f} |")
    print(f"\nweekly / from scratch = {t_week / t_scratch:.1%} (target < 15%); "
          f"emerging themes this week: {week.run.get('emerging_themes', []) if week else 'n/a'}")
    print("seconds per stage, weekly run:", week.run["seconds"] if week else {})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
