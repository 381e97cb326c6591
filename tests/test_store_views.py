"""Tests of the dashboard reads of voc.Store (voc.store_views, voc.snapshot) against pandas over the same rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from voc import survey
from voc import report as R
from voc.errors import ConfigError, StoreError
from voc.report import tables_from_store as _tables_from_store
from voc.snapshot import SnapshotStore
from voc.store import Store

from .dashboard_fixtures import HOSTILE, build_dashboard_store

FILTERS = [
    {},
    {"language": "ja"},
    {"channel": "app-store", "weeks": ("2024-W02", "2024-W05")},
    {"touchpoint": "delivery", "sentiment": "negative"},
    {"weeks": "2024-W06", "sentiment": "positive"},
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_dashboard_store(tmp_path_factory.mktemp("views") / "voc.duckdb")


@pytest.fixture(scope="module")
def frames(store):
    records, mentions = store.records(), store.mentions()
    records["period"] = records["date"].dt.to_period("W-SUN").dt.start_time
    return records, mentions


def _filtered(frames, f):
    """The filter semantics of voc.store_views, written again in pandas."""
    from voc.trends import parse_week

    r, m = frames
    weeks = f.get("weeks")
    if isinstance(weeks, str):
        weeks = (weeks, weeks)
    if weeks:
        r = r[(r["date"] >= parse_week(weeks[0])) & (r["date"] < parse_week(weeks[1]) + pd.Timedelta(days=7))]
    for k in ("touchpoint", "channel", "language"):
        if k in f:
            r = r[r[k] == f[k]]
    m = m[m["voc_id"].isin(r["voc_id"])]
    if "language" in f:
        m = m[m["language"] == f["language"]]
    if "sentiment" in f:
        m = m[m["sentiment_label"] == f["sentiment"]]
        r = r[r["voc_id"].isin(m["voc_id"])]
    return r, m


def _nps(s):
    s = pd.to_numeric(s, errors="coerce").dropna()
    return 100.0 * ((s >= 9).mean() - (s <= 6).mean()) if len(s) else np.nan


def test_filter_options(store, frames):
    o = store.filter_options()
    assert o["weeks"] == [f"2024-W0{i}" for i in range(1, 7)]
    assert o["touchpoints"] == sorted(frames[0]["touchpoint"].unique())
    assert o["channels"] == ["app-store", "survey"] and o["languages"] == ["en", "ja"]
    assert o["sentiments"] == ["negative", "neutral", "positive"]


@pytest.mark.parametrize("f", FILTERS)
def test_kpi_summary_is_survey_metrics_of_the_latest_filtered_week(store, frames, f):
    r, _ = _filtered(frames, f)
    k = store.kpi_summary(**f).set_index("metric")
    weeks = sorted(r["period"].unique())
    cur = r[r["period"] == weeks[-1]]
    if len(weeks) == 1:  # no week before: no delta
        assert k["delta"].isna().all() and k["previous_period"].isna().all()
        weeks = [None, *weeks]
    prev = r[r["period"] == weeks[-2]]
    assert k.loc["volume", "value"] == len(cur)
    want = survey.nps(cur["nps"].dropna().astype(int))
    assert k.loc["nps", "value"] == pytest.approx(want.value)
    assert (k.loc["nps", "ci_low"], k.loc["nps", "ci_high"]) == pytest.approx((want.ci_low, want.ci_high))
    assert k.loc["nps", "n"] == want.n and k.loc["nps", "reliable"] == (want.n >= 30)
    if len(prev):
        assert k.loc["volume", "delta"] == len(cur) - len(prev)
        assert k.loc["nps", "delta"] == pytest.approx(want.value - survey.nps(prev["nps"].dropna().astype(int)).value)
    csat = survey.csat(cur["csat"].dropna(), scale=(1, 5), satisfied_from=4)
    assert k.loc["csat", "value"] == pytest.approx(csat.value) and k.loc["csat", "n"] == csat.n
    ces = survey.ces(cur["ces"].dropna(), scale=(1, 7), direction="higher_is_easier")
    assert k.loc["ces", "ci_high"] == pytest.approx(ces.ci_high)
    assert k["period"].iloc[0] == weeks[-1]
    assert weeks[-2] is None or k["previous_period"].iloc[0] == weeks[-2]


@pytest.mark.parametrize("f", FILTERS)
def test_pain_table_counts_and_complaint_impact(store, frames, f):
    r, m = _filtered(frames, f)
    t = store.pain_table(**f)
    assert t[t["touchpoint"] == "all"]["rank"].tolist() == list(range(1, (t["touchpoint"] == "all").sum() + 1))
    assert t["touchpoint"].iloc[0] == "all"
    m = m[m["theme"] >= 0].drop(columns=["touchpoint"]).merge(r[["voc_id", "touchpoint"]], on="voc_id")
    for (tp, theme), g in [*m.groupby(["touchpoint", "theme"]), *m.assign(touchpoint="all").groupby(
            ["touchpoint", "theme"])]:
        row = t[(t["touchpoint"] == tp) & (t["theme"] == theme)].iloc[0]
        assert row["records"] == g["voc_id"].nunique() and row["mentions"] == len(g)
        assert row["negative_share"] == pytest.approx((g["sentiment_label"] == "negative").mean())
        base = r if tp == "all" else r[r["touchpoint"] == tp]
        complaint = base["voc_id"].isin(g.loc[g["sentiment_label"] == "negative", "voc_id"])
        assert row["complaint_records"] == complaint.sum()
        rest = base.loc[~complaint, "nps"].dropna()
        want = _nps(base["nps"]) - _nps(rest) if complaint.any() and len(rest) else np.nan
        assert (math.isnan(row["nps_impact"]) and math.isnan(want)) or row["nps_impact"] == pytest.approx(want)
        if not math.isnan(want):
            assert row["nps_impact_ci_low"] <= row["nps_impact"] <= row["nps_impact_ci_high"]
    assert len(t) == m.groupby(["touchpoint", "theme"]).ngroups + m["theme"].nunique()


def test_pain_table_topics_and_top(store):
    t = store.pain_table(level="topic", top=2)
    assert (t.groupby("touchpoint")["rank"].max() <= 2).all()
    row = t[(t["touchpoint"] == "delivery") & (t["topic"] == 0)].iloc[0]
    theme_rows = store.pain_table(touchpoint="delivery")
    assert row["label"] == "delivery problems" and row["themes"] == "late delivery | 返品 returns"
    # a topic's records: its themes' records, each record once
    assert row["records"] <= theme_rows.query("touchpoint == 'delivery' and theme in (0, 5)")["records"].sum()
    with pytest.raises(ConfigError, match=r"level= must be 'theme' or 'topic'\. Got 'x'"):
        store.pain_table(level="x")


def test_heatmap_matches_the_report_for_a_week(store):
    h = store.heatmap(weeks="2024-W06")
    tables = _tables_from_store(store, week=None)
    rec, men = tables.pop("records"), tables.pop("mentions")
    want = R.report_content(rec, men, **tables)["heatmap"].sort_values(["touchpoint", "theme"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(h[["touchpoint", "theme", "records", "negative_share"]],
                                  want[["touchpoint", "theme", "records", "negative_share"]], check_dtype=False)
    assert h["label"].tolist() == want["label"].tolist()


def test_pain_trend_matches_store_trend(store):
    tr = store.pain_trend(1)
    vol = store.trend("volume", theme=1)
    neg = store.trend("negative_share", theme=1)
    assert tr["records"].tolist() == vol["value"].astype(int).tolist()
    assert tr["base_records"].tolist() == vol["n"].tolist()
    assert tr["negative_share"].to_numpy() == pytest.approx(neg["value"].to_numpy())
    ja = store.pain_trend(1, language="ja", touchpoint="app")
    assert (ja["records"] <= tr["records"]).all() and ja["records"].sum() > 0
    with pytest.raises(ConfigError, match="exactly one of theme= or topic="):
        store.pain_trend()


def test_quotes_negative_first_per_language_with_filters(store, frames):
    q = store.quotes(1, per_language=3)
    assert q["sentiment"].is_monotonic_increasing
    assert q.groupby("language").size().to_dict() == {"en": 3, "ja": 3}
    assert q["text"].iloc[0] == HOSTILE  # stored as written; the page escapes it
    r, m = frames
    ja_app = m[(m["theme"] == 1) & (m["language"] == "ja")].nsmallest(3, "sentiment")
    assert q.loc[q["language"] == "ja", "sentiment"].tolist() == pytest.approx(ja_app["sentiment"].tolist())
    store_ch = store.quotes(1, channel="app-store", per_language=50)
    assert set(store_ch["channel"]) == {"app-store"}
    assert len(store_ch) == ((m["theme"] == 1) & m["voc_id"].isin(r.loc[r["channel"] == "app-store", "voc_id"])).sum()
    assert {"date", "channel", "nps", "csat", "ces", "sentiment_label"} <= set(q.columns)
    assert len(store.quotes(topic=0, per_language=2)) == 4


@pytest.mark.parametrize("weeks", [None, "2024-W03", ("2024-W02", "2024-W05"), (None, "2024-W04"), ("2024-W05", None)])
def test_theme_week_counts_from_theme_lists_equal_the_joined_counts(store, weeks):
    from voc.store.views import theme_week_sql

    fast, joined = (store._query(*theme_week_sql(weeks=weeks, joined=j)) for j in (False, True))
    assert len(fast) and fast["volume"].sum() > 0 and fast["mentions"].sum() >= fast["volume"].sum()
    pd.testing.assert_frame_equal(fast, joined, check_dtype=False)
    with pytest.raises(ConfigError, match="takes only the weeks= filter"):
        theme_week_sql(weeks=weeks, language="ja", joined=False)


def test_alerts_are_the_reports_emerging_themes_and_spikes(store):
    a = store.alerts()
    tables = _tables_from_store(store, week=None)
    rec, men = tables.pop("records"), tables.pop("mentions")
    c = R.report_content(rec, men, **tables)
    assert a["period"] == c["period"]
    assert a["spikes"][["theme", "kind"]].values.tolist() == c["spikes"][["theme", "kind"]].values.tolist()
    assert a["spikes"]["p_value"].to_numpy() == pytest.approx(c["spikes"]["p_value"].to_numpy())
    assert a["new_themes"]["theme"].tolist() == c["new_themes"]["theme"].tolist() == [5]
    assert a["new_themes"]["label"].tolist() == ["返品 returns"]
    earlier = store.alerts(weeks=("2024-W01", "2024-W03"))
    assert earlier["period"] == pd.Timestamp("2024-01-15") and earlier["new_themes"].empty


def test_bad_filters_name_the_value(store):
    with pytest.raises(ConfigError, match=r"sentiment= must be one of negative, neutral, positive\. Got 'bad'"):
        store.kpi_summary(sentiment="bad")
    with pytest.raises(ConfigError, match=r"Bad week"):
        store.heatmap(weeks=("2024-W01", "soon"))
    assert store.kpi_summary(language="fr").empty


def test_snapshot_is_a_read_only_copy_that_remembers(store, tmp_path):
    snap = store.snapshot(tmp_path / "snaps")
    assert isinstance(snap, SnapshotStore) and snap.path.parent == tmp_path / "snaps"
    assert snap.latest_run() == store.latest_run() == "w5"
    pd.testing.assert_frame_equal(snap.pain_table(language="ja"), store.pain_table(language="ja"))
    first = snap.kpi_summary()
    first.loc[0, "value"] = -1  # callers may change what they get; the snapshot's answer stays
    assert snap.kpi_summary().loc[0, "value"] == store.kpi_summary().loc[0, "value"]
    with pytest.raises(StoreError, match="read-only snapshot"):
        snap.write_run({"records": pd.DataFrame(), "mentions": pd.DataFrame()})
    assert Store(snap.path).latest_run() == "w5"  # a plain Store reads it too
    snap.close()
