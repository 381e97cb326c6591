"""Tests of voc.report: content, escaping, Markdown, write_report, and a real headless browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from voc import report as R
from voc.charts import impact_bar_svg
from voc.errors import ConfigError
from voc.store import Store

from .weekly_fixtures import analysis_like, make_frames, weekly_analyses


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("report") / "voc.duckdb")
    for i, a in enumerate(weekly_analyses()):
        s.write_run(a, run_id=f"w{i}")
    return s


@pytest.fixture(scope="module")
def tables():
    records, mentions = make_frames()
    a = analysis_like(records, mentions)
    return dict(records=records, mentions=mentions, themes=a.themes, pain_points=a.pain_points,
                touchpoints=a.touchpoints, run=a.run)


def test_content_numbers(tables):
    c = R.report_content(**tables)
    assert c["week"] == "2024-W06" and c["previous"] == "2024-W05"
    assert c["n"]["records"] == 90 and c["n"]["weeks"] == 6
    assert c["new_themes"]["theme"].tolist() == [5]
    assert c["spikes"]["theme"].tolist() == [1]
    assert all(1 <= len(q) <= 3 for q in c["spikes"]["quotes"])
    assert [name for name, _ in c["pain_sections"]][0] == "all"
    assert all(len(g) <= 3 for _, g in c["pain_sections"])
    c3 = R.report_content(**tables, week="2024-W03")
    assert c3["week"] == "2024-W03" and c3["n"]["records"] == 60 and c3["new_themes"].empty


def test_html_is_self_contained_and_escaped(tables):
    page = R.render_html(**tables)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<script" not in page.lower()                      # customer text never becomes markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page        # ... but is shown as written
    assert re.search(r"(src|href)\s*=", page) is None             # no external resource at all
    assert "http://" not in page and "https://" not in page and "@import" not in page
    assert "default-src 'none'" in page                           # CSP: no script, no network
    for section in ("kpis", "pain-points", "heatmap", "trends", "alerts", "methods"):
        assert f'id="{section}"' in page
    assert '<li lang="ja">アプリがすぐに落ちます。</li>' in page   # Japanese as written, tagged
    assert "返品 returns" in page and "<svg" in page and "@media print" in page


def test_markdown_escapes_pipes_and_html(tables):
    md = R.render_markdown(**tables)
    assert md.startswith("# Voice of the customer: weekly report: 2024-W06")
    assert "checkout \\<script\\>alert(1)\\</script\\> \\| payment" in md
    assert "<script>" not in md
    for line in md.splitlines():                                  # every table row has 5 or 6 cells
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (5, 6), line
    assert "- **New:** 返品 returns" in md and "- **Spike:** app crash" in md


def test_write_report_from_store_and_analysis(store, tables, tmp_path):
    paths = R.write_report(store, tmp_path / "out")
    assert set(paths) == {"html", "md"} and all(p.exists() for p in paths.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.md"]
    html = paths["html"].read_text(encoding="utf-8")
    assert "run <code>w5</code>" in html and "2024-W06" in html
    old = R.write_report(str(store.path), tmp_path / "old", week="2024-W02")
    text = old["md"].read_text(encoding="utf-8")
    assert text.startswith("# Voice of the customer: weekly report: 2024-W02") and "compared with 2024-W01" in text
    assert "run <code>w1</code>" in old["html"].read_text(encoding="utf-8")
    a = analysis_like(tables["records"], tables["mentions"])
    assert R.write_report(a, tmp_path / "a")["html"].read_text(encoding="utf-8").count('class="kpi"') == 5


def _same_content(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key].reset_index(drop=True), value.reset_index(drop=True),
                                          check_dtype=False, obj=key)
        elif key == "trend_lines":
            assert list(got[key]) == list(value)
            for t, s in value.items():  # the columns WeekSlices documents
                cols = ["period", "theme", "volume", "mentions", "negative_mentions", "negative_share",
                        "nps_impact", "period_records", "volume_delta"]
                pd.testing.assert_frame_equal(got[key][t][cols].reset_index(drop=True),
                                              s[cols].reset_index(drop=True), check_dtype=False)
        elif key != "pain_sections":  # the run tables: read the same way on both paths
            assert got[key] == want[key], key
    assert R.html_from_content(got) == R.html_from_content(want)
    assert R.markdown_from_content(got) == R.markdown_from_content(want)


@pytest.mark.parametrize("week", [None, "2024-W01", "2024-W02", "2024-W04"])
def test_store_report_reads_one_week_and_says_what_the_full_read_says(store, week, monkeypatch):
    want = R.report_content(**R.tables_from_store(store, week=week), week=week)
    for name in ("records", "mentions"):  # the bounded path never reads a whole table
        read = getattr(Store, name)

        def only_weeks(self, run=None, *, weeks=None, _read=read, _name=name):
            assert weeks is not None and weeks[-1] is not None, f"store.{_name}() read without a week bound"
            return _read(self, run, weeks=weeks)

        monkeypatch.setattr(Store, name, only_weeks)
    got = R.store_report_content(store, week=week)
    _same_content(got, want)


def test_store_report_content_on_the_dashboard_store_with_topics_and_alerts(tmp_path):
    from .dashboard_fixtures import build_dashboard_store

    s = build_dashboard_store(tmp_path / "dash.duckdb")
    for week in (None, "2024-W03"):
        want = R.report_content(**R.tables_from_store(s, week=week), week=week)
        got = R.store_report_content(s, week=week, heatmap_top=2, top=1)
        with pytest.raises(AssertionError):  # the options reach the content
            _same_content(got, want)
        _same_content(got, R.report_content(**R.tables_from_store(s, week=week), week=week, heatmap_top=2, top=1))
    assert len(R.store_report_content(s)["new_themes"]) == 1
    with pytest.raises(ConfigError, match="No records in week 2023-W40. Weeks with data: 2024-W01"):
        R.store_report_content(s, week="2023-W40")
    with pytest.raises(ConfigError, match="heatmap_by must be one of pain, volume"):
        R.store_report_content(s, heatmap_by="size")


def test_store_reads_records_and_mentions_of_weeks(store):
    rec, men = store.records(), store.mentions()
    week = store.records(weeks="2024-W03")
    assert len(week) and (week["date"].dt.strftime("%G-W%V") == "2024-W03").all()
    assert sorted(week["voc_id"]) == sorted(rec.loc[rec["date"].dt.strftime("%G-W%V") == "2024-W03", "voc_id"])
    span = store.records(weeks=("2024-W02", "2024-W03"))
    assert set(span["date"].dt.strftime("%G-W%V")) == {"2024-W02", "2024-W03"}
    assert len(store.records(weeks=(None, "2024-W02"))) + len(store.records(weeks=("2024-W03", None))) == len(rec)
    m = store.mentions(weeks="2024-W03")
    assert sorted(m["voc_id"].unique()) == sorted(week["voc_id"].unique())
    pd.testing.assert_frame_equal(m, men[men["voc_id"].isin(week["voc_id"])].reset_index(drop=True))
    assert store.records(store.latest_run(), weeks="2024-W01").empty  # the latest run holds only its week
    with pytest.raises(ConfigError, match="weeks= must be"):
        store.records(weeks=3)


def test_bad_weeks(tables):
    with pytest.raises(ConfigError, match=r"No records in week 2023-W40\. Weeks with data: 2024-W01, "
                                          r"2024-W02, 2024-W03, 2024-W04, 2024-W05, 2024-W06\."):
        R.report_content(**tables, week="2023-W40")
    with pytest.raises(ConfigError, match=r"Bad week 'last'"):
        R.report_content(**tables, week="last")
    no_dates = {**tables, "records": tables["records"].drop(columns=["date"])}
    with pytest.raises(ConfigError, match=r"The report needs dated records: map a date column \(--date-col\)\."):
        R.report_content(**no_dates)


def test_report_without_optional_tables(tables):
    records = tables["records"].drop(columns=["ces", "csat"])
    page = R.render_html(records, tables["mentions"])
    assert "No pain-point table in this run." in page and 'id="kpi-ces"' not in page
    assert "theme 5" in page                                      # no labels: ids are shown


# ------------------------------------------------------------------ browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed; CI must install it: apt-get install -y chromium fonts-noto-cjk")
    pytest.skip("chromium is not installed (apt-get install -y chromium fonts-noto-cjk)")
    return None


@pytest.mark.slow
def test_report_in_headless_chromium(store, tmp_path):
    chromium = _chromium()
    paths = R.write_report(store, tmp_path / "out")
    url = paths["html"].resolve().as_uri()
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--enable-logging=stderr", "--v=0", "--dump-dom", url],
                         capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines()
               if re.search(r"CONSOLE|Uncaught|Refused to|Content Security Policy", line)]
    assert console == [], console
    html = dom.stdout
    for section in ("kpis", "pain-points", "heatmap", "trends", "alerts", "methods"):
        assert f'id="{section}"' in html, section
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert re.search(r'id="kpi-volume".*?<div class="value">90</div>', html, re.S)
    assert 'id="week">2024-W06<' in html and "new this week" in html and "アプリがすぐに落ちます。" in html

    shot = tmp_path / "report.png"
    run = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2000", url],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    print(f"report screenshot: {shot}")


def _with_topics(tables):
    """The fixture tables with themes 0 and 5 under one topic (its label holds markup), 1-3 alone."""
    from .weekly_fixtures import XSS

    themes = tables["themes"].copy()
    themes["topic"] = themes["theme"].map({0: 0, 5: 0, 1: 1, 2: 2, 3: 3})
    themes["topic_label"] = themes["topic"].map({0: f"delivery {XSS}", 1: "app", 2: "checkout", 3: "support"})
    return {**tables, "themes": themes}


def test_report_leads_with_topics_and_shows_their_themes_beneath(tables):
    t = _with_topics(tables)
    c = R.report_content(**t)
    name, g = c["pain_sections"][0]
    assert name == "all"
    delivery = g[g["topic"] == 0].iloc[0]
    assert {leaf["theme"] for leaf in delivery["leaves"]} <= {0, 5} and len(delivery["leaves"]) >= 1
    assert all(len(h["leaves"]) >= 1 for _, h in g.iterrows())
    ranks = tables["pain_points"].query("touchpoint == 'all'").set_index("theme")["rank"]
    best = [min(ranks[leaf["theme"]] for leaf in h["leaves"]) for _, h in g.iterrows()]
    assert best == sorted(best)  # topics in the order of their best theme
    page = R.render_html(**t)
    assert "<script" not in page.lower()
    assert "<strong>delivery &lt;script&gt;alert(1)&lt;/script&gt;</strong>" in page
    assert page.count('<tr class="leaf">') >= len(g)
    md = R.render_markdown(**t)
    assert "delivery \\<script\\>alert(1)\\</script\\>" in md and "| ↳ " in md
    for line in md.splitlines():
        if line.startswith("|"):
            assert len(re.split(r"(?<!\\)\|", line)[1:-1]) in (5, 6), line


def test_report_uses_topic_rows_when_pain_points_have_levels(tables):
    t = _with_topics(tables)
    pp = t["pain_points"].assign(level="theme", topic=lambda d: d["theme"].map({0: 0, 5: 0, 1: 1, 2: 2, 3: 3}))
    tops = pp.drop_duplicates(["touchpoint", "topic"]).assign(level="topic", theme=-1, label="TOPIC ROW",
                                                            nps_impact=-42.0)
    tops["rank"] = tops.groupby("touchpoint").cumcount() + 1
    c = R.report_content(**{**t, "pain_points": pd.concat([pp, tops], ignore_index=True)})
    _, g = c["pain_sections"][0]
    assert (g["label"] == "TOPIC ROW").all() and (g["level"] == "topic").all()
    assert all(leaf["level"] == "theme" for _, h in g.iterrows() for leaf in h["leaves"])
    assert "-42.0" in R.render_markdown(**{**t, "pain_points": pd.concat([pp, tops], ignore_index=True)})


# ------------------------------------------------------ demo-size layout
TOUCHPOINTS = ("app", "checkout", "delivery", "support", "website")
WORDS = ("delivery late parcel app crash login checkout promo code support wait refund battery update "
         "screen password payment card rejected courier tracking agent chat queue").split()


def demo_size_tables(n_weeks: int = 10, per_week: int = 200, n_themes: int = 80, *, seed: int = 0):
    """A report's tables at the demo's size: ~80 themes (most of them tiny), long quotes in two languages."""
    import types

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    labels = {t: " / ".join(rng.choice(WORDS, 3, replace=False)) + (" / 配送が遅い" if t % 4 == 0 else "")
              for t in range(n_themes)}
    p = 1.0 / np.arange(1, n_themes + 1) ** 1.3
    recs, ments = [], []
    for i in range(n_weeks * per_week):
        t = int(rng.choice(n_themes, p=p / p.sum()))
        neg = bool(rng.random() < 0.3 + 0.6 * (t % 3 == 0))
        text = (f"{labels[t]}: " + " ".join(rng.choice(WORDS, 22)) if t % 2 else
                "アプリを更新したら電池がすぐなくなるし、ログインしようとするとアプリが落ちるので困っています。" * 2)
        s = -0.7 if neg else 0.6
        vid = f"r{i:05d}"
        recs.append({"voc_id": vid, "text": text, "has_text": True, "source_line": i + 2,
                     "date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * (i // per_week) + i % 7),
                     "touchpoint": TOUCHPOINTS[(t + i % 2) % 5], "channel": "survey",
                     "nps": int(rng.integers(0, 7) if neg else rng.integers(7, 11)),
                     "ces": float(rng.integers(1, 8)), "csat": float(rng.integers(1, 6)),
                     "language": "en", "themes": [t], "primary_theme": t, "sentiment": s,
                     "sentiment_label": "negative" if neg else "positive", "min_sentiment": s})
        ments.append({"voc_id": vid, "unit": 0, "text": text, "language": "en", "theme": t, "theme_prob": 0.9,
                      "sentiment": s, "sentiment_label": "negative" if neg else "positive"})
    records, mentions = pd.DataFrame(recs), pd.DataFrame(ments)
    records["nps"] = records["nps"].astype("Int64")
    themes = pd.DataFrame({"theme": list(labels), "label": list(labels.values())})
    rows = []
    for tp in ("all", *TOUCHPOINTS):
        for rank in range(1, 6):
            t = rank * 3 + TOUCHPOINTS.index(tp) if tp != "all" else rank
            quotes = mentions.loc[mentions["theme"] == t, "text"].head(3)
            rows.append({"touchpoint": tp, "theme": t, "label": labels[t], "rank": rank, "records": 40 - rank,
                         "negative_share": 0.8, "nps_impact": -12.34 / rank, "nps_impact_ci_low": -25.67 / rank,
                         "nps_impact_ci_high": -1.5, "nps_impact_q": 0.012, "quotes": " | ".join(quotes)})
    return types.SimpleNamespace(records=records, mentions=mentions, themes=themes, pain_points=pd.DataFrame(rows),
                                 touchpoints=None, run={"config": {"ces_scale": [1, 7]}, "run_id": "demo-size"})


def test_heatmap_shows_top_themes_and_folds_the_rest():
    a = demo_size_tables()
    tables = dict(themes=a.themes, pain_points=a.pain_points, run=a.run)
    c = R.report_content(a.records, a.mentions, heatmap_top=15, **tables)
    ht = c["heatmap_themes"]
    assert len(ht) > 40 and ht["shown"].sum() == 15
    negative = ht["negative"].to_numpy()
    assert (negative[:15].min() >= negative[15:].max())                 # by pain: most negative records
    page = R.html_from_content(c)
    heat = re.search(r'<table class="heat">.*?</table>', page, re.S)[0]
    assert heat.count("<tr") == 1 + 15 + 1                              # header, 15 themes, one folded row
    assert f"other themes ({len(ht) - 15})" in heat and f"The other {len(ht) - 15} themes" in page
    by_volume = R.report_content(a.records, a.mentions, heatmap_top=5, heatmap_by="volume", **tables)
    assert by_volume["heatmap_themes"]["records"].head(5).min() >= by_volume["heatmap_themes"]["records"][5:].max()
    assert R.report_content(a.records, a.mentions, heatmap_top=500, **tables)["heatmap_themes"]["shown"].all()
    with pytest.raises(ConfigError, match=r"heatmap_by must be one of pain, volume\. Got 'size'\."):
        R.report_content(a.records, a.mentions, heatmap_by="size", **tables)


def test_zero_change_has_a_neutral_marker(tables):
    c = R.report_content(**tables)
    kpis = c["kpis"].set_index("metric")
    kpis.loc["ces", "delta"], kpis.loc["nps", "delta"], kpis.loc["csat", "delta"] = 0.004, -0.04, 0.0
    c["kpis"] = kpis.reset_index()
    page = R.html_from_content(c)
    for metric, shown in (("ces", "0.00"), ("nps", "0.0"), ("csat", "0.0 pt")):
        card = re.search(rf'id="kpi-{metric}".*?</div></div>', page, re.S)[0]
        assert f'<div class="delta flat">= {shown} vs previous week' in card, card
        assert "▲" not in card and "▼" not in card and "up-good" not in card and "up-bad" not in card
    assert "| CES | " in R.markdown_from_content(c) and "+0.00" not in R.markdown_from_content(c)
    assert impact_bar_svg(0.0, -1, 1, (-5, 5)).count('class="nil"') == 1  # a zero impact bar is neither red nor green


MEASURE = """<script>
const w = s => [...document.querySelectorAll(s)].map(e => Math.round(e.getBoundingClientRect().width));
const wraps = [...document.querySelectorAll('.scroll')].map(e => e.scrollWidth - e.clientWidth);
const out = {inner: innerWidth, page: document.documentElement.scrollWidth, theme: w('table.pains td:nth-child(2)'),
             quote: w('table.pains .quotes li'), heat: w('table.heat th.theme'), overflow: Math.max(...wraps)};
document.body.insertAdjacentHTML('beforeend', '<pre id="measure">' + JSON.stringify(out) + '</pre>');
</script>"""


@pytest.mark.slow
def test_demo_size_report_layout_at_800_and_1280_px_and_in_print(tmp_path):
    import json

    chromium = _chromium()
    paths = R.write_report(demo_size_tables(), tmp_path / "out")
    page = paths["html"].read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"   # the report plus a measuring script (the report's CSP forbids scripts)
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
                     .replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    for width in (800, 1280):
        dom = subprocess.run([*base, f"--window-size={width},1600", "--dump-dom", probe.resolve().as_uri()],
                             capture_output=True, text=True, timeout=90)
        assert dom.returncode == 0, dom.stderr[-2000:]
        m = json.loads(html_unescape(re.findall(r'<pre id="measure">(\{.*?)</pre>', dom.stdout, re.S)[-1]))
        print(width, {k: v if not isinstance(v, list) else (min(v), max(v)) for k, v in m.items()})
        assert m["inner"] == width
        assert m["page"] <= width, m                  # nothing sticks out of the page
        assert m["overflow"] <= 0, m                  # no table needs its sideways scroll at these widths
        assert len(m["theme"]) == 18 and min(m["theme"]) >= 240, m   # theme + quotes: never a word per line
        assert min(m["quote"]) >= 200 and min(m["heat"]) >= 120, m
    pdf = tmp_path / "report.pdf"
    run = subprocess.run([*base, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", paths["html"].resolve().as_uri()],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
    assert 2 <= pages <= 6, pages                     # 18 pain points, 16 heatmap rows, trends (was 19 pages)


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --------------------------------------------------- escaping and the package's parts
HOSTILE = "<script>alert(\"x\")</script> 'q' & {{ 6*7 }} {% if 1 %}{% endif %}"
LOGIC = {"metric", "kind", "level", "ces_direction", "heatmap_by", "impact"}  # keys the report decides by


def _poison(v, key=None):
    """Every display string of a report's content, with HOSTILE appended (logic keys left alone)."""
    if key in LOGIC:
        return v
    if isinstance(v, str):
        return v + HOSTILE
    if isinstance(v, dict):
        return {k: _poison(x, k) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_poison(x) for x in v)
    if isinstance(v, pd.DataFrame):
        df = v.copy()
        for col in df.columns:
            if col not in LOGIC and (df[col].dtype == object or pd.api.types.is_string_dtype(df[col])):
                df[col] = [_poison(x) for x in df[col]]
        return df
    return v


def _taxonomy_run(tables):
    tax = {"version": "3f9a2c41", "themes": {"late delivery": 0, "app crash": 1},
           "suggestions": {"candidates": [{"label": "returns", "near": "late delivery", "similarity": 0.8,
                                           "mentions": 12, "exemplars": ["Return label never arrived."]}],
                           "empty": [{"name": "gift wrapping"}]}}
    return {**tables["run"], "run_id": "w5", "taxonomy": tax}


def test_a_hostile_value_anywhere_in_the_content_is_escaped_in_html_and_markdown(tables):
    import html
    from html.parser import HTMLParser

    c = _poison(R.report_content(**{**_with_topics(tables), "run": _taxonomy_run(tables)}))
    page = R.html_from_content(c)
    shown = html.escape(HOSTILE, quote=True)
    assert HOSTILE not in page and "<script" not in page.lower()
    assert "{{ 6*7 }}" in page and "{% if 1 %}" in page                # shown as written, never run
    # every section that shows customer or analyst text shows the value, escaped
    for part in ("header", "alerts", "pain-points", "heatmap", "trends", "code-frame"):
        block = re.search(rf'<{part}>.*?</{part}>' if part == "header" else rf'<section id="{part}".*?</section>',
                          page, re.S)[0]
        assert shown in block, part

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs, self.text = set(), set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attrs |= {name for name, _ in attrs}
            assert all(HOSTILE not in (value or "") for _, value in attrs)

        def handle_data(self, data):
            self.text.append(data)

    parsed = Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.attrs <= {"lang", "charset", "name", "content", "http-equiv", "class", "id", "style", "width",
                            "height", "viewbox", "role", "aria-label", "x1", "y1", "x2", "y2", "x", "y",
                            "text-anchor", "points", "cx", "cy", "r"}
    assert "".join(parsed.text).count(HOSTILE) > 20                    # the text reads as written
    md = R.markdown_from_content(c)
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", md) and "\\<script\\>" in md
    for line in md.splitlines():                                        # no hostile pipe splits a table row
        if line.startswith("|"):
            assert len(re.split(r"(?<!\\)\|", line)[1:-1]) in (4, 5, 6), line


def test_jinja2_is_imported_on_the_first_render_not_with_voc():
    import subprocess
    import sys

    code = "import sys, voc, voc.report, voc.charts; print('jinja2' in sys.modules, 'markupsafe' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_templates_ship_with_the_package_and_html_autoescapes():
    from importlib import resources

    from voc.report.render import environment, template_source

    names = {p.name for p in (resources.files("voc.report") / "templates").iterdir()}
    assert {"report.html.j2", "report.md.j2", "report.css"} <= names
    assert environment("html").autoescape is True and environment("md").autoescape is False
    assert "\n" not in template_source("report.html.j2")               # lines stripped and joined
    assert template_source("report.md.j2").count("\n") > 40            # Markdown keeps its lines


def test_format_helpers():
    from voc.report.format import fmt_kpi, isnum, lang, md_escape, num, pct

    assert [isnum(x) for x in (0, 2.5, None, float("nan"), pd.NA, "x", [1, 2])] == [True, True, False, False,
                                                                              False, True, False]
    assert (fmt_kpi(12.345, "nps"), fmt_kpi(0.004, "ces", delta=True), fmt_kpi(1.25, "csat", delta=True),
            fmt_kpi(81.0, "csat"), fmt_kpi(None, "nps")) == ("12.3", "0.00", "+1.2 pt", "81.0%", "–")
    assert (num(None), num(2, "{:+.0f}"), pct(0.256), pct(float("nan"))) == ("–", "+2", "26%", "–")
    assert (lang("ｱﾌﾟﾘ"), lang("app")) == ("ja", "en")
    assert md_escape("a_b | [x](y)\n<i>") == "a\\_b \\| \\[x\\](y) \\<i\\>"


def test_report_charts_escape_and_scale():
    from voc.charts import impact_bar_svg, volume_line_svg

    bar = impact_bar_svg(-5.0, -8.0, -2.0, (-10.0, 10.0), width=216)
    assert bar.startswith('<svg class="bar" width="216"') and 'class="neg"' in bar and bar.count('class="ci"') == 3
    assert 'x="58.0"' in bar and 'aria-label="NPS impact -5.0"' in bar  # 8 + 200 * (-5 + 10) / 20 = 58
    assert 'class="ci"' not in impact_bar_svg(float("nan"), None, None, (-1, 1)) and "<rect" not in \
        impact_bar_svg(None, None, None, (-1, 1))
    s = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=3, freq="W-MON"), "volume": [1, 4, 2]})
    line = volume_line_svg(s)
    assert line.count("<circle") == 3 and ">2024-W01<" in line and ">2024-W03<" in line and ">4<" in line
