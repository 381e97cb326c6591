"""The dashboard's server side without a browser: the charts (voc.dashboard.charts) and the
snapshot warm-up that answers the first page before it serves, and the page layout."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from voc.dashboard.app import ANY, Snapshots, filters_from, first_page_reads, pain_choices, top_pains
from voc.dashboard.charts import heat_color, heatmap_grid, heatmap_svg, svg_data_uri, trend_svg

from .dashboard_fixtures import build_dashboard_store


def test_heat_color_runs_from_white_to_red_and_grey_when_unknown():
    assert heat_color(0) == "rgb(255,255,255)"
    assert heat_color(1) == "rgb(192,57,43)"
    assert heat_color(1.7) == heat_color(1) and heat_color(-0.2) == heat_color(0)
    assert heat_color(None) == heat_color(float("nan")) == "#f3f3f3"
    mid = [int(v) for v in heat_color(0.5)[4:-1].split(",")]
    assert mid == [224, 156, 149]


def _heat():
    return pd.DataFrame({
        "touchpoint": ["app", "app", "delivery", "delivery", "store"],
        "theme": [1, 2, 1, 3, 2],
        "label": ["crash", "login", "crash", "late", "login"],
        "records": [10, 40, 5, 30, 2],
        "negative_share": [0.9, 0.1, 0.2, 0.8, np.nan],
    })


def test_heatmap_grid_orders_themes_by_negative_mentions_and_keeps_gaps():
    order, records, share = heatmap_grid(_heat(), rows=2)
    # negative mentions: late 24, crash 9 + 1 = 10, login 4: top two are late, crash
    assert order["theme"].tolist() == [3, 1] and order["label"].tolist() == ["late", "crash"]
    assert list(records.columns) == ["app", "delivery"]  # store only has login, which is cut
    assert records.loc[1, "app"] == 10 and records.loc[1, "delivery"] == 5
    assert math.isnan(records.loc[3, "app"]) and share.loc[3, "delivery"] == 0.8


def test_heatmap_svg_draws_every_cell_with_its_colour_and_number_and_escapes_labels():
    h = _heat()
    h.loc[h["theme"] == 3, "label"] = "late <script>alert(1)</script> & slow"
    order, records, share = heatmap_grid(h)
    root = ET.fromstring(heatmap_svg(order, records, share))
    ns = "{http://www.w3.org/2000/svg}"
    cells = [r for r in root.iter(f"{ns}rect") if r.get("width") != "100%"]
    assert len(cells) == records.size  # 3 themes x 3 touchpoints, gaps drawn grey
    assert {c.get("fill") for c in cells} >= {heat_color(0.8), heat_color(np.nan)}
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "late <script>alert(1)</script> & slow (3)" in texts  # parsed back: it was escaped
    assert "30" in texts and "40" in texts and texts.count("2") == 1
    assert [t for t in texts if t in ("app", "delivery", "store")] == ["app", "delivery", "store"]


def test_heatmap_grid_of_nothing_is_empty():
    order, records, share = heatmap_grid(_heat().iloc[:0])
    assert order.empty and records.empty and share.empty


def _trend(n=12):
    rng = np.random.default_rng(0)
    imp = rng.normal(-3, 2, n)
    imp[min(3, n - 1)] = np.nan  # a week without respondents
    return pd.DataFrame({
        "period": pd.date_range("2024-01-01", periods=n, freq="7D"),
        "records": rng.integers(0, 50, n), "negative_share": rng.uniform(0, 1, n),
        "nps_impact": imp, "nps_impact_ci_low": imp - 2, "nps_impact_ci_high": imp + 2,
    })


def test_trend_svg_is_valid_svg_with_one_bar_per_week_and_no_point_without_respondents():
    tr = _trend()
    root = ET.fromstring(trend_svg(tr))
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    bars = [r for r in root.iter(f"{ns}rect") if r.get("fill") == "#9db4d3"]
    assert len(bars) == len(tr)
    heights = [float(b.get("height")) for b in bars]
    assert np.argmax(heights) == int(tr["records"].idxmax())  # the tallest bar is the busiest week
    impact_points = [c for c in root.iter(f"{ns}circle") if c.get("fill") == "#222"]
    assert len(impact_points) == len(tr) - 1
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert "2024-W01" in labels and "2024-W12" in labels


def test_trend_svg_of_no_weeks_says_so_and_data_uri_round_trips():
    import base64

    svg = trend_svg(_trend().iloc[:0])
    assert "No weeks" in svg
    uri = svg_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


@pytest.mark.parametrize("n", [1, 52])
def test_trend_svg_handles_one_week_and_a_year(n):
    root = ET.fromstring(trend_svg(_trend(n)))
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and "-W" in t.text]
    assert 1 <= len(labels) <= 11


def test_a_new_snapshot_answers_the_first_page_before_it_serves(tmp_path):
    store = build_dashboard_store(tmp_path / "voc.duckdb")
    snaps = Snapshots(store, refresh=0, warm=first_page_reads)
    snap = snaps.store()
    warmed = {k[0] for k in snap._cache}
    assert {"filter_options", "kpi_summary", "alerts", "heatmap", "pain_table", "topics", "latest_run"} <= warmed
    # the page's own first reads (as its callbacks build them) are answered from what is remembered
    weeks = snap.filter_options()["weeks"]
    f = filters_from([0, len(weeks) - 1], weeks, ANY, ANY, ANY, ANY)
    before = len(snap._cache)
    snap.kpi_summary(**f), snap.alerts(**f), snap.heatmap(**f)
    top_pains(snap, "topic", f, 3)
    dtp = snap.filter_options()["touchpoints"][0]  # the drill-down's first touchpoint (no "all" here)
    assert dtp != "all"
    pain_choices(snap, "topic", {**f, "touchpoint": dtp})
    assert len(snap._cache) == before
    # and they are the plain store's answers
    pd.testing.assert_frame_equal(snap.kpi_summary(**f), store.kpi_summary(**f))


def test_a_failing_warm_up_only_costs_speed(tmp_path):
    store = build_dashboard_store(tmp_path / "voc.duckdb")

    def broken(s):
        raise RuntimeError("boom")

    snaps = Snapshots(store, refresh=0, warm=broken)
    assert len(snaps.store().kpi_summary()) > 0


def test_the_same_read_asked_twice_at_once_is_computed_once(tmp_path, monkeypatch):
    import threading
    import time

    from voc.store import Store

    store = build_dashboard_store(tmp_path / "voc.duckdb")
    snap = store.snapshot(tmp_path / "snaps")
    calls, real = [], Store.heatmap

    def slow(self, **kw):
        calls.append(kw)
        time.sleep(0.3)
        return real(self, **kw)

    monkeypatch.setattr(Store, "heatmap", slow)
    out = []
    threads = [threading.Thread(target=lambda: out.append(snap.heatmap(touchpoint="app"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 3
    for df in out[1:]:
        pd.testing.assert_frame_equal(df, out[0])
    snap.heatmap(touchpoint="checkout")  # another key is its own read
    assert len(calls) == 2


def _find(component, cid):
    """The component with id `cid` inside a Dash layout tree."""
    if getattr(component, "id", None) == cid:
        return component
    kids = getattr(component, "children", None)
    for k in kids if isinstance(kids, (list, tuple)) else [kids] if kids is not None else []:
        hit = _find(k, cid) if hasattr(k, "to_plotly_json") else None
        if hit is not None:
            return hit
    return None


def test_the_page_layout_carries_the_first_overview_and_preloads_the_slider(tmp_path):
    pytest.importorskip("dash")
    from voc.dashboard.app import build_app

    store = build_dashboard_store(tmp_path / "voc.duckdb")
    app = build_app(store, refresh=0)
    page = app.layout()
    for cid in ("kpis", "alerts", "pain-points", "heatmap"):
        assert _find(page, cid).children, cid  # drawn by the layout, no callback needed
    from voc.dashboard.app import fmt_value

    weeks = store.filter_options()["weeks"]
    k = store.kpi_summary(**filters_from([0, len(weeks) - 1], weeks, ANY, ANY, ANY, ANY))
    for r in k.itertuples():  # each card shows the store's value for every week, no filter
        card = _find(page, f"kpi-{r.metric}")
        assert fmt_value(r.metric, r.value) in [c.children for c in card.children]
    html = app.index()
    assert 'rel="preload"' in html and "async-slider.js" in html
