"""Same report across a refactor: render the weekly report with two commits, compare bytes and pixels.

    python benchmarks/report_screens.py bb7efe2 .                 # a commit against the working tree
    python benchmarks/report_screens.py OLD NEW --store voc-demo/voc.duckdb --keep /tmp/screens
    python benchmarks/report_screens.py old/report.html new/report.html   # two HTML files

With two commits (``.`` is the working tree), the report's inputs are built once (the test fixtures:
the weekly tables with hostile text, topics, topic rows, a code frame, the demo-size tables, a run store
of six weekly runs, plus each ``--store``) and rendered by each commit's ``voc.report.write_report`` in
its own process. Then ``report.md`` and ``report.html`` are compared byte for byte, and each HTML page is
screenshotted full-page in headless Chromium (Playwright) at 1280 and 800 px wide and as printed
(``print`` media) and the pixels compared. No image library needed: identical PNG bytes mean identical
pixels; otherwise both images are decoded on a canvas in the browser and the differing pixels counted
(and where they are). On a busy machine Chromium now and then draws the same page a few pixels
differently, so a view that differs is taken again (``RETAKES``) before it counts.
Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import base64
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (1280, 800)
RETAKES = 2
"""Times a view whose pixels differ is taken again (both sides), before it counts as different."""

RENDER = """
import pickle, sys
from pathlib import Path
import voc, voc.report
cases, out = pickle.loads(Path(sys.argv[1]).read_bytes()), Path(sys.argv[2])
print("rendering with", voc.__file__, file=sys.stderr)
for name, (source, week) in cases.items():
    voc.report.write_report(source, out / name, week=week)
"""


def build_cases(tmp: Path, stores: list[str]) -> dict[str, tuple[object, str | None]]:
    """name -> (source for write_report, week): analysis-like namespaces, and paths of stores."""
    import types

    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from tests.test_report import demo_size_tables
    from tests.weekly_fixtures import XSS, analysis_like, make_frames, weekly_analyses
    from voc.store import Store

    records, mentions = make_frames()
    base = analysis_like(records, mentions)
    cases: dict[str, tuple[object, str | None]] = {"fixture": (base, None), "fixture-w03": (base, "2024-W03")}
    themes = base.themes.copy()
    themes["topic"] = themes["theme"].map({0: 0, 5: 0, 1: 1, 2: 2, 3: 3})
    themes["topic_label"] = themes["topic"].map({0: f"delivery {XSS}", 1: "app", 2: "checkout", 3: "support"})
    cases["topics"] = (types.SimpleNamespace(**{**vars(base), "themes": themes}), None)
    pp = base.pain_points.assign(level="theme", topic=lambda d: d["theme"].map({0: 0, 5: 0, 1: 1, 2: 2, 3: 3}))
    tops = pp.drop_duplicates(["touchpoint", "topic"]).assign(level="topic", theme=-1, label=f"topic {XSS}")
    tops["rank"] = tops.groupby("touchpoint").cumcount() + 1
    cases["levels"] = (types.SimpleNamespace(**{**vars(base), "themes": themes,
                                                "pain_points": pd.concat([pp, tops], ignore_index=True)}), None)
    tax = {"version": "3f9a2c41d07e", "themes": {"late delivery": 0, "app crash": 1},
           "suggestions": {"candidates": [{"label": f"returns {XSS}", "near": "late delivery", "similarity": 0.81,
                                           "mentions": 12, "exemplars": ["Return label never arrived.",
                                                                         "返品の手続きが面倒です。", "third"]}],
                           "empty": [{"name": f"gift {XSS}"}, {"name": "rude staff"}]}}
    cases["code-frame"] = (types.SimpleNamespace(**{**vars(base), "run": {**base.run, "taxonomy": tax}}), None)
    cases["bare"] = (types.SimpleNamespace(records=records.drop(columns=["ces", "csat"]), mentions=mentions), None)
    cases["demo-size"] = (demo_size_tables(), None)
    store = Store(tmp / "fixture.duckdb")
    for i, a in enumerate(weekly_analyses()):
        store.write_run(a, run_id=f"w{i}")
    del store
    cases["store"] = (str(tmp / "fixture.duckdb"), None)
    cases["store-w02"] = (str(tmp / "fixture.duckdb"), "2024-W02")
    for i, spec in enumerate(stores):
        path, _, week = spec.partition("@")
        cases[f"extra{i}-{Path(path).parent.name or 'store'}"] = (path, week or None)
    return cases


def render(rev: str, cases: dict, out: Path, tmp: Path, side: str) -> None:
    """Write each case's report.html and report.md under ``out`` with the ``voc`` of commit ``rev``."""
    if rev == ".":
        tree = ROOT
    else:
        tree = tmp / f"tree-{side}"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "voc"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    copies = {}
    for name, (source, week) in cases.items():   # stores are copied: each side reads its own file
        if isinstance(source, str):
            copy = tmp / f"{side}-{name}.duckdb"
            shutil.copyfile(source, copy)
            source = str(copy)
        copies[name] = (source, week)
    spec = tmp / f"cases-{side}.pkl"
    spec.write_bytes(pickle.dumps(copies))
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", RENDER, str(spec), str(out)], check=True, env=env, cwd=tree)


VIEWS = {**{f"screen-{w}": (w, "screen") for w in WIDTHS}, "print-800": (800, "print")}
"""Each view of a page: its width and CSS media."""


def screenshot(browser, html: Path, view: str) -> bytes:
    """A full-page PNG of one page in one view, after its fonts have loaded."""
    width, media = VIEWS[view]
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.emulate_media(media=media)
    page.goto(html.resolve().as_uri())
    page.evaluate("document.fonts.ready.then(() => true)")
    shot = page.screenshot(full_page=True)
    page.close()
    return shot


def pixel_diff(browser, a: bytes, b: bytes) -> str:
    """"identical", or the sizes / count of differing pixels of two PNGs (decoded on a canvas)."""
    if a == b:
        return "identical"
    page = browser.new_page()
    result = page.evaluate("""async ([a, b]) => {
        const load = src => new Promise(ok => { const i = new Image(); i.onload = () => ok(i); i.src = src; });
        const [ia, ib] = await Promise.all([load(a), load(b)]);
        if (ia.width !== ib.width || ia.height !== ib.height)
            return `size ${ia.width}x${ia.height} vs ${ib.width}x${ib.height}`;
        const data = img => { const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const x = c.getContext('2d'); x.drawImage(img, 0, 0); return x.getImageData(0, 0, c.width, c.height).data; };
        const da = data(ia), db = data(ib);
        let n = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
        for (let i = 0; i < da.length; i += 4)
            if (da[i] !== db[i] || da[i+1] !== db[i+1] || da[i+2] !== db[i+2] || da[i+3] !== db[i+3]) {
                n++; const p = i / 4, x = p % ia.width, y = Math.floor(p / ia.width);
                x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
            }
        return n === 0 ? 'identical' : `${n} of ${da.length / 4} pixels differ, in x ${x0}-${x1}, y ${y0}-${y1}`;
    }""", [f"data:image/png;base64,{base64.b64encode(x).decode()}" for x in (a, b)])
    page.close()
    return result


def compare(pairs: dict[str, tuple[Path, Path]], keep: Path | None) -> int:
    """Bytes of each file pair, then screenshots of the HTML pairs; prints one line each."""
    from playwright.sync_api import sync_playwright

    bad = 0
    for name, (a, b) in pairs.items():
        same = a.read_bytes() == b.read_bytes()
        bad += not same
        print(f"{'same  ' if same else 'DIFFER'} bytes  {name}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for name, (a, b) in pairs.items():
            if not name.endswith(".html"):
                continue
            for view in VIEWS:
                for attempt in range(RETAKES + 1):   # Chromium under load now and then shifts a glyph: retake
                    shots = {"old": screenshot(browser, a, view), "new": screenshot(browser, b, view)}
                    verdict = pixel_diff(browser, shots["old"], shots["new"])
                    if verdict == "identical":
                        break
                bad += verdict != "identical"
                again = f" (taken {attempt + 1} times)" if attempt else ""
                print(f"{'same  ' if verdict == 'identical' else 'DIFFER'} pixels {name} {view}: {verdict}{again}")
                if keep:
                    for side, shot in shots.items():
                        target = keep / side / "screens" / f"{name.replace('/', '_')}-{view}.png"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(shot)
        browser.close()
    print(f"{len(pairs)} files compared: {'all identical' if not bad else f'{bad} differences'}")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", help="a commit, '.' (the working tree), or an HTML file")
    ap.add_argument("new", nargs="?", default=".", help="a commit, '.' (default), or an HTML file")
    ap.add_argument("--store", action="append", default=[], metavar="PATH[@YYYY-Www]",
                    help="also report on this run store (e.g. the demo's voc-demo/voc.duckdb); repeatable")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the rendered files and screenshots here")
    args = ap.parse_args()
    if args.old.endswith(".html") and args.new.endswith(".html"):
        return compare({"report.html": (Path(args.old), Path(args.new))}, args.keep)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        cases = build_cases(tmp, args.store)
        outs = {side: (args.keep or tmp) / side for side in ("old", "new")}
        for side, rev in (("old", args.old), ("new", args.new)):
            render(rev, cases, outs[side], tmp, side)
        pairs = {f"{name}/{f}": (outs["old"] / name / f, outs["new"] / name / f)
                 for name in cases for f in ("report.md", "report.html")}
        return compare(pairs, args.keep)


if __name__ == "__main__":
    sys.exit(main())
