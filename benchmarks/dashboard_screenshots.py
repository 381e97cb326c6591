"""Screenshots of the dashboard for docs/dashboard.md: the overview and a drill-down.

    voc demo && python benchmarks/dashboard_screenshots.py voc-demo/voc.duckdb docs/img

Starts ``voc dashboard`` on a free port, drives /usr/bin/chromium with
Playwright at 1280 px, clicks touchpoint ``checkout`` and its first pain
point, and writes ``dashboard-overview.png`` and ``dashboard-drilldown.png``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--touchpoint", default="checkout")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "voc", "dashboard", "--store", str(args.store), "--port", str(port)])
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#heatmap img.heatmap")
            args.out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out / "dashboard-overview.png"), full_page=True)
            page.locator("#d-touchpoint label", has_text=args.touchpoint).first.click()
            page.wait_for_selector("#d-pain label")
            page.locator("#d-pain label").first.click()
            page.wait_for_selector("#quotes tr.quote")
            page.wait_for_selector("#d-trend img.trend")
            page.locator("#drill").screenshot(path=str(args.out / "dashboard-drilldown.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"wrote {args.out / 'dashboard-overview.png'} and {args.out / 'dashboard-drilldown.png'}")


if __name__ == "__main__":
    main()
