"""Browser tests of ``voc dashboard``: one server per module, driven by Playwright in Debian's chromium.

Skipped (with the reason) when the dashboard extra, Playwright or chromium is
missing locally; in CI (``CI=true``) a missing piece fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from voc.dashboard.app import fmt_value
from voc.dashboard.charts import heatmap_grid, heatmap_svg
from voc.errors import StoreError
from voc.store import Store

from .dashboard_fixtures import FORMULA, HOSTILE, build_dashboard_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[1]


def _need(what: str, hint: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed; CI must install it: {hint}")
    pytest.skip(f"{what} is not installed ({hint})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for mod, hint in (("dash", 'pip install "voc[dashboard]"'),
                      ("playwright", "pip install playwright (no 'playwright install': it drives /usr/bin/chromium)")):
        try:
            __import__(mod)
        except ImportError:
            _need(mod, hint)
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not chromium:
        _need("chromium", "apt-get install -y chromium fonts-noto-cjk")
    path = tmp_path_factory.mktemp("dash") / "voc.duckdb"
    store = build_dashboard_store(path)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "voc", "dashboard", "--store", str(path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"voc dashboard did not start: {proc.stdout.read()[-2000:]}")
            time.sleep(0.2)
    from playwright.sync_api import expect, sync_playwright

    globals()["expect"] = expect

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield {"url": url, "store": store, "browser": browser, "proc": proc}
    browser.close()
    pw.stop()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    """One page for the module: console errors, dialogs and requests to other origins are recorded."""
    page = server["browser"].new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(20_000)
    page.events = {"console": [], "foreign": [], "dialogs": []}
    page.on("console", lambda m: page.events["console"].append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: page.events["foreign"].append(r.url)
            if not r.url.startswith(server["url"]) and not r.url.startswith("data:") else None)
    page.on("dialog", lambda d: (page.events["dialogs"].append(d.message), d.dismiss()))
    page.goto(server["url"])
    page.wait_for_selector("#kpi-nps .value")
    page.wait_for_selector("#pain-points table")
    page.wait_for_selector("#heatmap img.heatmap")
    return page


def expect(locator):  # replaced by playwright's expect once the server fixture has imported it
    raise AssertionError("playwright is not imported")


def _heatmap_svg(page) -> str:
    import base64

    src = page.get_attribute("#heatmap img.heatmap", "src")
    return base64.b64decode(src.split(",", 1)[1]).decode("utf-8")


def _kpi_text(page, metric: str) -> str:
    return page.inner_text(f"#kpi-{metric} .value")


def test_overview_renders_offline_from_the_store(page, server):
    s = server["store"]
    k = s.kpi_summary().set_index("metric")
    for metric in ("volume", "nps", "csat", "ces"):
        assert _kpi_text(page, metric) == fmt_value(metric, k.loc[metric, "value"])
        assert page.inner_text(f"#kpi-{metric} .n") == f"n={k.loc[metric, 'n']}"
    assert page.inner_text("#kpi-week") == "Week 2024-W06"
    top = s.pain_table(level="topic", top=3)
    first = page.locator('#pain-points [data-touchpoint="all"] tr.pain').first.inner_text()
    assert top.iloc[0]["label"] in first and f"{top.iloc[0]['records']:,}" in first
    alerts = page.inner_text("#alerts")
    assert "New: 返品 returns" in alerts and "Spike: app crash" in alerts
    assert _heatmap_svg(page) == heatmap_svg(*heatmap_grid(s.heatmap(weeks=("2024-W01", "2024-W06")), rows=15))
    assert page.events["foreign"] == [] and page.events["console"] == []


def test_click_through_touchpoint_pain_point_quotes(page, server):
    page.locator("#f-level label", has_text="theme").click()
    page.locator("#d-touchpoint label", has_text="app").first.click()
    page.locator("#d-pain label", has_text="app crash").click()
    page.wait_for_selector("#quotes tr.quote")
    expect(page.locator("#d-label")).to_have_text("app crash")
    want = server["store"].quotes(1, touchpoint="app")
    rows = page.locator("#quotes tr.quote td.text").all_inner_texts()
    assert rows == want["text"].tolist()
    assert set(want["language"]) == {"en", "ja"}
    first = page.locator("#quotes tr.quote").first.inner_text()
    assert want["date"].iloc[0].strftime("%Y-%m-%d") in first and want["channel"].iloc[0] in first
    assert page.inner_text("#d-keywords") == "app; crash"
    assert page.locator("#d-trend img.trend").count() == 1


def test_japanese_quotes_render_with_a_cjk_font(page):
    cell = page.locator('#quotes td.text[lang="ja"]').first
    assert "アプリ" in cell.inner_text()
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": '#quotes td.text[lang="ja"]'})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert any("CJK" in f["familyName"] for f in fonts), fonts


def test_hostile_quote_shows_as_text(page):
    texts = page.locator("#quotes tr.quote td.text").all_inner_texts()
    assert HOSTILE in texts  # shown exactly as written
    assert page.locator("#quotes img, #quotes script").count() == 0
    assert page.evaluate("window.__pwned") is None and page.events["dialogs"] == []
    label = page.locator('#pain-points [data-touchpoint="checkout"] .label').first.inner_text()
    assert label == "checkout <script>alert(1)</script> | payment"
    svg = _heatmap_svg(page)  # an image: its text is escaped, and an SVG in <img> never runs script
    assert "checkout &lt;script&gt;alert(1)&lt;/script&gt;" in svg and "<script" not in svg
    assert page.locator("#heatmap script, #pain-points script").count() == 0


def test_filter_changes_numbers_to_the_store_api(page, server):
    s = server["store"]
    page.locator("#f-language label", has_text="ja").click()
    want = s.kpi_summary(language="ja", weeks=("2024-W01", "2024-W06")).set_index("metric")
    expect(page.locator("#kpi-volume .n")).to_have_text(f"n={want.loc['volume', 'n']}")
    for metric in ("volume", "nps", "csat", "ces"):
        assert _kpi_text(page, metric) == fmt_value(metric, want.loc[metric, "value"])
    t = s.pain_table(level="theme", top=3, language="ja", weeks=("2024-W01", "2024-W06"))
    rows = page.locator('#pain-points [data-touchpoint="all"] tr.pain').all_inner_texts()
    assert len(rows) == (t["touchpoint"] == "all").sum()
    for row, (_, r) in zip(rows, t[t["touchpoint"] == "all"].iterrows()):
        assert r["label"] in row and f"\t{r['records']:,}\t" in row
    expect(page.locator('#quotes td.text[lang="en"]')).to_have_count(0)
    expect(page.locator("#quotes td.text")).to_have_count(len(s.quotes(1, touchpoint="app", language="ja")))
    page.locator("#f-language label", has_text="any").click()
    all_n = s.kpi_summary().set_index("metric").loc["volume", "n"]
    expect(page.locator("#kpi-volume .n")).to_have_text(f"n={all_n}")


def test_export_is_formula_safe_csv(page, tmp_path):
    with page.expect_download() as dl:
        page.click("#export-pains")
    path = tmp_path / "pains.csv"
    dl.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("touchpoint,rank,theme") and "返品 returns" in text
    import pandas as pd

    pains = pd.read_csv(path)
    cells = set(pains["keywords"].dropna())
    assert "'" + FORMULA in cells and FORMULA not in cells  # a formula is exported as text (csv_safe)
    with page.expect_download() as dl:
        page.click("#export-quotes")
    dl.value.save_as(tmp_path / "quotes.csv")
    q = pd.read_csv(tmp_path / "quotes.csv")
    assert {"date", "channel", "nps", "text"} <= set(q.columns) and HOSTILE in set(q["text"])


WRITER = textwrap.dedent("""
    import sys, time
    from voc.store import Store
    s = Store(sys.argv[1])
    with s.writer_lock(), s._connect(write=True) as con:   # a weekly run in the middle of its write
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO runs (run_id, created_at) VALUES ('w-in-progress', now())")
        print("writing", flush=True)
        time.sleep(float(sys.argv[2]))
        con.execute("ROLLBACK")
""")


def test_answers_while_another_process_writes_a_run(page, server):
    store = server["store"]
    want = store.kpi_summary(channel="app-store", weeks=("2024-W01", "2024-W06")).set_index("metric")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(store.path), "12"], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "writing"
        with pytest.raises(StoreError):  # a direct reader has to wait for the writer ...
            Store(store.path, timeout=0.3).latest_run()
        t = time.monotonic()  # ... the dashboard answers from its snapshot (the last complete run)
        page.locator("#f-channel label", has_text="app-store").click()
        expect(page.locator("#kpi-volume .n")).to_have_text(f"n={want.loc['volume', 'n']}")
        assert time.monotonic() - t < 5
        assert _kpi_text(page, "nps") == fmt_value("nps", want.loc["nps", "value"])
        page.reload()
        page.wait_for_selector("#kpi-nps .value")
        assert "run w5" in page.inner_text("#run-info") and child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_cli_names_the_extra_when_dash_is_missing(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from voc.cli import main

    monkeypatch.setitem(sys.modules, "dash", None)  # import dash -> ImportError
    result = CliRunner().invoke(main, ["dashboard", "--store", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert 'Install it with: pip install "voc[dashboard]"' in result.output
    assert "--host TEXT" in CliRunner().invoke(main, ["dashboard", "--help"]).output
    assert "[default: 127.0.0.1]" in CliRunner().invoke(main, ["dashboard", "--help"]).output
