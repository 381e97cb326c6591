"""Benchmark of the dashboard on a store of ~1M mentions: every Store call the views make, and the page in Chromium.

Builds the synthetic store of ``benchmarks/store.py`` (52 weekly runs, ~400k
records, ~1M mentions, 40 themes, 8 touchpoints; or reuses ``--store PATH``),
then times

1. every Store read the dashboard's views make (:mod:`voc.store.views`),
   unfiltered and with filters, median of ``--repeat`` calls on a plain
   :class:`voc.Store` (a cold DuckDB connection per call: the slowest case;
   the dashboard's snapshot keeps one connection and remembers answers);
2. the page in headless Chromium (Playwright, ``/usr/bin/chromium``): load
   until KPIs, pain points and heatmap are drawn (wall time as Playwright
   sees it, and in the page: navigation start to the last of the three
   drawn), a filter click until the KPIs change, and a drill-down click
   until the trend and quotes show.

Target: every Store call and every interaction under 1 second. Synthetic data
only: needs nothing from shared/data.

    nice -n 10 python benchmarks/dashboard.py [--records 400000] [--weeks 52] [--store PATH] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from store import timed, week_frames  # noqa: E402  (benchmarks/store.py)

from voc.store import Store  # noqa: E402


def build(path: Path, records: int, weeks: int) -> Store:
    rng = np.random.default_rng(0)
    store = Store(path)
    per_week = records // weeks
    t0 = time.perf_counter()
    for w in range(weeks):
        store.write_run(week_frames(rng, w, per_week, w * per_week), run_id=f"week{w:02d}")
    print(f"built in {time.perf_counter() - t0:.0f}s")
    return store


def store_calls(store: Store) -> dict:
    weeks = store.filter_options()["weeks"]
    last12 = (weeks[-12], weeks[-1])
    full = (weeks[0], weeks[-1])
    f = {"weeks": last12, "touchpoint": "app", "sentiment": "negative"}
    return {
        "filter_options()": lambda: store.filter_options(),
        "kpi_summary()": lambda: store.kpi_summary(weeks=full),
        "kpi_summary(filters)": lambda: store.kpi_summary(**f),
        "pain_table(top=3)": lambda: store.pain_table(top=3, weeks=full),
        "pain_table(top=3, filters)": lambda: store.pain_table(top=3, **f),
        "pain_table(level='topic', top=3)": lambda: store.pain_table(level="topic", top=3, weeks=full),
        "heatmap()": lambda: store.heatmap(weeks=full),
        "heatmap(filters)": lambda: store.heatmap(**f),
        "alerts()": lambda: store.alerts(weeks=full),
        "alerts(filters)": lambda: store.alerts(**f),
        "pain_trend(7, touchpoint='app')": lambda: store.pain_trend(7, touchpoint="app", weeks=full),
        "pain_trend(7, filters)": lambda: store.pain_trend(7, **f),
        "quotes(7, touchpoint='app')": lambda: store.quotes(7, touchpoint="app", weeks=full),
        "quotes(7, filters)": lambda: store.quotes(7, **f),
        "topics() + themes() + latest_run()": lambda: (store.topics(), store.themes(), store.latest_run()),
        "snapshot(folder)": lambda: store.snapshot(Path(tempfile.mkdtemp(prefix="voc-bench-snap-"))),
    }


DRAWN_JS = """
window.__drawn = {};
new MutationObserver(() => {
  for (const s of ['#kpi-nps .value', '#pain-points table', '#heatmap img.heatmap'])
    if (!(s in window.__drawn) && document.querySelector(s)) window.__drawn[s] = performance.now();
}).observe(document, {subtree: true, childList: true});
"""
"""Records, in the page, when KPIs, pain points and heatmap first appear (ms after navigation start)."""


def page_times(path: Path, loads: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "voc", "dashboard", "--store", str(path), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("voc dashboard did not start")
            time.sleep(0.2)
    out = {"server start (imports + snapshot)": time.perf_counter() - t0}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            page.add_init_script(DRAWN_JS)
            times, drawn = [], []
            for _ in range(loads):
                t = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("#kpi-nps .value")
                page.wait_for_selector("#pain-points table")
                page.wait_for_selector("#heatmap img.heatmap")
                times.append(time.perf_counter() - t)
                drawn.append(page.evaluate("Math.max(...Object.values(window.__drawn)) / 1000"))
            out["page load, first (wall)"] = times[0]
            out[f"page load, median of {loads} (wall)"] = statistics.median(times)
            out["page load, first (in page)"] = drawn[0]
            out[f"page load, median of {loads} (in page)"] = statistics.median(drawn)
            for name, widget, value in (("touchpoint=app", "#f-touchpoint", "app"),
                                        ("+ sentiment=negative", "#f-sentiment", "negative"),
                                        ("touchpoint=any", "#f-touchpoint", "any")):
                before = page.inner_text("#kpi-volume .n")
                t = time.perf_counter()
                page.locator(f"{widget} label", has_text=value).first.click()
                expect(page.locator("#kpi-volume .n")).not_to_have_text(before, timeout=60_000)
                page.wait_for_selector("#pain-points table")
                out[f"filter click ({name}) -> KPIs"] = time.perf_counter() - t
            t = time.perf_counter()
            page.locator("#d-pain label").first.click()
            page.wait_for_selector("#quotes tr.quote")
            out["pain point click -> trend + quotes"] = time.perf_counter() - t
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=400_000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--store", type=Path, help="use this store instead of building one")
    ap.add_argument("--keep", type=Path, help="build the store here and keep it")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.store:
        store = Store(args.store)
    else:
        store = build(args.keep or Path(tmp.name) / "bench.duckdb", args.records, args.weeks)
    runs = store.runs()
    print(f"store: {runs['n_records'].sum():,} records, {runs['n_mentions'].sum():,} mentions, {len(runs)} runs, "
          f"{store.path.stat().st_size / 1e6:.0f} MB")
    print(f"{'Store call (plain Store, cold connection)':45s} median s ({args.repeat} calls)  < 1 s")
    for name, fn in store_calls(store).items():
        sec = timed(fn, args.repeat)
        print(f"{name:45s} {sec:8.3f}   {'yes' if sec < 1 else 'NO'}")
    if not args.no_browser:
        if not os.path.exists("/usr/bin/chromium"):
            print("skipped the browser part: /usr/bin/chromium is not installed")
        else:
            for name, sec in page_times(store.path, args.loads).items():
                print(f"{name:45s} {sec:8.3f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
