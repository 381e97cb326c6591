"""Timing of the hardening cases that once were slow (moved here from wall-clock asserts in the tests).

Run from the repository root::

    python benchmarks/hardening.py

Generated inputs only (no shared data). Each case prints its wall time and
the limit the tests used to assert; the tests still check the behaviour
(the error, the shape, the kept text), this checks the speed:

* 1,000,000 empty rows: ``voc run`` ends in the clear "no record has any
  text" error (limit 60 s; was measured at ~9 s on 2 busy cores).
* A 20,000-column CSV loads (limit 30 s; pass-through columns used to be
  added one by one, and 20,000 took over 9 minutes).
* A CSV with a ~1 MB quoted field loads whole (limit 45 s for the whole
  run in the old test; this times the load).
* 100,000 rows load (limit 8 s).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    from voc.io import load_feedback

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        empty = tmp / "empty.csv"
        empty.write_text("text,a,b,c\n" + ",,,\n" * 1_000_000, encoding="utf-8")

        def run_empty():
            r = subprocess.run([sys.executable, "-m", "voc", "run", str(empty), "--out", str(tmp / "out"),
                                "--quiet"], capture_output=True, text=True)
            assert r.returncode == 2 and "No record has any text" in r.stderr + r.stdout, r.stderr[-300:]

        rows.append(("voc run, 1,000,000 empty rows -> clear error", timed(run_empty), 60))
        n = 20_000
        wide = tmp / "wide.csv"
        pd.DataFrame([["late parcel", *(["x"] * n)]] * 3,
                     columns=["text", *(f"q{i}" for i in range(n))]).to_csv(wide, index=False)
        rows.append(("load_feedback, 20,000 columns", timed(lambda: load_feedback(wide)), 30))
        big = tmp / "big.csv"
        long = "\r\n".join(["The parcel was late, \"crushed\"\tand wet. " * 2_000] * 12)
        pd.DataFrame({"text": [long, "bad app crash"], "nps": [2, 1]}).to_csv(big, index=False)
        rows.append(("load_feedback, a ~1 MB quoted field", timed(lambda: load_feedback(big)), 45))
        m = 100_000
        many = tmp / "many.csv"
        pd.DataFrame({"id": [f"r{i}" for i in range(m)], "text": ["The app crashes on login, again"] * m,
                      "date": ["2026-09-07 10:00"] * m, "nps": np.arange(m) % 11,
                      "ces": np.arange(m) % 7 + 1}).to_csv(many, index=False)
        rows.append(("load_feedback, 100,000 rows", timed(lambda: load_feedback(many)), 8))
    print("| case | seconds | limit | within |")
    print("|---|---|---|---|")
    for name, s, limit in rows:
        print(f"| {name} | {s:.1f} | {limit} | {'yes' if s < limit else 'NO'} |")
    return 0 if all(s < limit for _, s, limit in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
