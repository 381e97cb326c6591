"""Tests of voc.trends: periods, weekly theme metrics, deltas, spikes, new themes, KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voc import trends as T
from voc.errors import ConfigError, InputError

from .weekly_fixtures import make_frames


@pytest.fixture(scope="module")
def frames():
    return make_frames()


def test_periods_and_week_labels():
    d = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-07 23:59", "2024-01-08 00:00", "2024-12-30 12:00"]))
    assert T.periods(d).tolist() == [pd.Timestamp("2024-01-01")] * 2 + [pd.Timestamp("2024-01-08"),
                                                                       pd.Timestamp("2024-12-30")]
    assert T.week_label(pd.Timestamp("2024-12-30")) == "2025-W01"
    assert T.parse_week("2024-W02") == pd.Timestamp("2024-01-08")
    assert T.periods(d, freq="M").tolist()[-1] == pd.Timestamp("2024-12-01")
    with pytest.raises(ConfigError, match=r"Bad week '2024-13'\: use the ISO form YYYY-Www, e\.g\. 2024-W07\."):
        T.parse_week("2024-13")
    with pytest.raises(ConfigError, match=r"Bad week '2024-W60'"):
        T.parse_week("2024-W60")
    with pytest.raises(ConfigError, match=r"Unknown freq 'Y'\. Allowed: D, W, M\."):
        T.periods(d, freq="Y")


def _tiny():
    # week 1: a,b,c; week 2: d,e. Theme 7 = "late" in a, b, d.
    records = pd.DataFrame({
        "voc_id": list("abcde"),
        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-08", "2024-01-09"]),
        "touchpoint": ["x", "x", "y", "x", "y"],
        "nps": pd.array([0, 10, 10, 3, 9], dtype="Int64"),
    })
    mentions = pd.DataFrame({
        "voc_id": ["a", "a", "b", "c", "d", "e"], "unit": [0, 1, 0, 0, 0, 0],
        "theme": [7, 7, 7, 8, 7, -1],
        "sentiment": [-0.8, -0.4, 0.5, 0.9, -0.9, 0.0],
        "sentiment_label": ["negative", "negative", "positive", "positive", "negative", "neutral"],
    })
    return records, mentions


def test_theme_trends_by_hand():
    records, mentions = _tiny()
    t = T.theme_trends(records, mentions).set_index(["theme", "period"])
    w1, w2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")
    late1 = t.loc[(7, w1)]
    assert (late1["volume"], late1["mentions"], late1["negative_mentions"]) == (2, 3, 2)
    assert late1["negative_share"] == pytest.approx(2 / 3)
    # NPS of a,b (0, 10) = 0; all = (0,10,10) -> 33.3; without theme = (10) -> 100
    assert late1["nps"] == pytest.approx(0.0)
    assert late1["nps_impact"] == pytest.approx(100 / 3 - 100)
    late2 = t.loc[(7, w2)]
    assert late2["volume"] == 1 and late2["volume_delta"] == -1
    assert late2["nps_impact"] == pytest.approx(0.0 - 100)          # all (3, 9) = 0; without (9) = 100
    assert late2["nps_impact_delta"] == pytest.approx(-100 - (100 / 3 - 100))
    assert t.loc[(8, w2), "volume"] == 0 and np.isnan(t.loc[(8, w2), "negative_share"])
    by_tp = T.theme_trends(records, mentions, by_touchpoint=True)
    assert by_tp.query("theme == 7 and touchpoint == 'x'")["volume"].tolist() == [2, 1]


def test_metric_trend_matches_theme_trends(frames):
    records, mentions = frames
    tt = T.theme_trends(records, mentions)
    for theme in (0, 1, 5):
        rows = tt[tt["theme"] == theme].reset_index(drop=True)
        for metric in ("volume", "nps_impact", "negative_share"):
            got = T.metric_trend(records, mentions, metric, theme=theme)
            assert np.allclose(got["value"], rows[metric], equal_nan=True), (theme, metric)


def test_volume_spike_and_new_theme_in_last_week(frames):
    records, mentions = frames
    tt = T.theme_trends(records, mentions)
    spikes = T.detect_spikes(tt)
    assert spikes["theme"].tolist() == [1] and spikes["kind"].tolist() == ["volume"]
    last = tt[(tt["theme"] == 1)].iloc[-1]
    past = tt[(tt["theme"] == 1)].iloc[-5:-1]
    expected = last["period_records"] * past["volume"].sum() / past["period_records"].sum()
    assert spikes["expected"].iloc[0] == pytest.approx(expected)
    assert spikes["p_value"].iloc[0] < 0.01
    assert T.detect_spikes(tt, min_count=10_000).empty
    assert T.detect_spikes(tt, period=pd.Timestamp("2024-01-22")).empty     # a quiet week
    new = T.new_themes(tt)
    assert new["theme"].tolist() == [5] and new["source"].tolist() == ["data"]
    assert T.new_themes(tt, period=pd.Timestamp("2024-01-22")).empty


def test_negative_share_spike_z_test():
    rows = []
    for i, week in enumerate(pd.date_range("2024-01-01", periods=5, freq="7D")):
        neg = 2 if i < 4 else 15                      # same volume, suddenly negative
        rows.append({"period": week, "theme": 3, "volume": 20, "mentions": 20,
                     "negative_mentions": neg, "negative_share": neg / 20, "period_records": 100})
    spikes = T.detect_spikes(pd.DataFrame(rows))
    assert spikes["kind"].tolist() == ["negative_share"]
    assert spikes["observed"].iloc[0] == pytest.approx(0.75) and spikes["expected"].iloc[0] == pytest.approx(0.1)


def test_new_theme_from_lineage(frames):
    records, mentions = frames
    tt = T.theme_trends(records, mentions)
    lineage = pd.DataFrame({"theme": [0], "event": ["new"],
                            "date_max": [pd.Timestamp("2024-02-10")]})     # re-seen after a split
    new = T.new_themes(tt, lineage=lineage)
    assert dict(zip(new["theme"], new["source"])) == {5: "data", 0: "lineage"}


def test_kpis_latest_week(frames):
    records, _ = frames
    k = T.kpis(records).set_index("metric")
    last = records[records["date"] >= "2024-02-05"]
    prev = records[(records["date"] >= "2024-01-29") & (records["date"] < "2024-02-05")]
    nps = lambda s: 100 * ((s.dropna() >= 9).mean() - (s.dropna() <= 6).mean())  # noqa: E731
    assert k.loc["volume", "value"] == len(last) and k.loc["volume", "delta"] == len(last) - len(prev)
    assert k.loc["nps", "value"] == pytest.approx(nps(last["nps"].astype(float)))
    assert k.loc["nps", "delta"] == pytest.approx(nps(last["nps"].astype(float)) - nps(prev["nps"].astype(float)))
    assert k.loc["csat", "value"] == pytest.approx(100 * (last["csat"] >= 4).mean())
    assert k.loc["nps", "n"] == last["nps"].notna().sum()
    assert list(k.index) == ["nps", "ces", "csat", "volume", "sentiment"]
    no_scores = T.kpis(records.drop(columns=["ces", "csat"]))
    assert list(no_scores["metric"]) == ["nps", "volume", "sentiment"]


def test_touchpoint_trends(frames):
    records, _ = frames
    tp = T.touchpoint_trends(records)
    allrows = tp[tp["touchpoint"] == "all"]
    assert allrows["records"].tolist() == [60, 60, 60, 60, 60, 90]
    assert allrows["records_delta"].iloc[-1] == 30
    assert set(tp["touchpoint"]) == {"all", "app", "checkout", "delivery", "support"}


def test_errors(frames):
    records, mentions = frames
    with pytest.raises(ConfigError, match=r"Unknown trend metric 'vol'\. Allowed: volume, mentions"):
        T.metric_trend(records, mentions, "vol")
    with pytest.raises(InputError, match=r"Trends need a 'date' column in the records; map one with --date-col\."):
        T.theme_trends(records.drop(columns=["date"]), mentions)


@pytest.mark.parametrize("bad, message", [
    (11, r"NPS scores must be integers from 0 to 10\. Got invalid value\(s\): 11\."),
    (7.5, r"NPS scores must be integers from 0 to 10\. Got invalid value\(s\): 7\.5\."),
    ("ten", r"NPS scores must be numbers\. Got invalid value\(s\): 'ten'\."),
])
def test_trends_reject_a_bad_nps_score_as_survey_does(bad, message):
    """Trends validate NPS answers as voc.nps does (issue 20, item 9): no silent coercion."""
    from voc import survey

    records, mentions = _tiny()
    records = records.assign(nps=pd.Series([0, 10, bad, 3, 9], dtype=object))
    with pytest.raises(InputError, match=message):
        survey.nps(records["nps"])
    with pytest.raises(InputError, match=message):
        T.theme_trends(records, mentions)
    with pytest.raises(InputError, match=message):
        T.touchpoint_trends(records)
    for metric in ("nps", "nps_impact"):
        with pytest.raises(InputError, match=message):
            T.metric_trend(records, mentions, metric, theme=7)


def test_trends_reject_a_non_number_csat_or_ces():
    records, mentions = _tiny()
    for col, name in (("csat", "CSAT"), ("ces", "CES")):
        bad = records.assign(**{col: pd.Series([5, 4, "n/a", 1, 2], dtype=object)})
        with pytest.raises(InputError, match=rf"{name} scores must be numbers\. Got invalid value\(s\): 'n/a'\."):
            T.touchpoint_trends(bad)
        with pytest.raises(InputError, match=rf"{name} scores must be numbers"):
            T.metric_trend(bad, mentions, col)
