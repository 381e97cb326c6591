"""Tests of voc.rank: touchpoint summary and the pain-point table."""

from __future__ import annotations

import logging
import math
import re
import time

import numpy as np
import pandas as pd
import pytest

from voc.config import Config
from voc.errors import InputError
from voc.rank import (bh_fdr, complaint_mentions, pain_score, rank_pain_points, select_quotes,
                      touchpoint_summary)
from voc.survey import csat, nps

CFG = Config(n_bootstrap=200, random_state=0)


@pytest.fixture
def small():
    """8 records at 2 touchpoints; r7 has no NPS; r0 and r4 mention two themes."""
    records = pd.DataFrame(
        {
            "voc_id": [f"r{i}" for i in range(8)],
            "touchpoint": ["app"] * 4 + ["web"] * 4,
            "nps": pd.array([0, 3, 9, 10, 6, 8, 10, None], dtype="Int64"),
            "text": ["x"] * 7 + [""],
        }
    )
    mentions = pd.DataFrame(
        {
            "voc_id": ["r0", "r0", "r1", "r2", "r4", "r4", "r5", "r7", "r3"],
            "theme": [0, 1, 0, 1, 0, 1, -1, 0, 1],
            "sentiment": [-0.9, -0.2, -0.6, 0.8, -0.7, 0.5, 0.0, -0.4, 0.9],
            "sentiment_label": ["negative", "neutral", "negative", "positive", "negative",
                                "positive", "neutral", "negative", "positive"],
            "text": ["The app crashes all the time", "slow", "Crashed | again", "nice", "Page crashed",
                     "ok", "meh", "Crash on login", "love it"],
        }
    )
    themes = pd.DataFrame({"theme": [0, 1], "label": ["crashes", "speed"]})
    return records, mentions, themes


def _synthetic(n=600, n_themes=8, seed=3, tps=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    nps_vals = rng.integers(0, 11, n).astype(object)
    nps_vals[rng.random(n) < 0.2] = None
    records = pd.DataFrame(
        {
            "voc_id": [f"v{i}" for i in range(n)],
            "touchpoint": rng.choice(list(tps), n),
            "nps": pd.array(nps_vals, dtype="Int64"),
            "csat": np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 6, n)).astype(float),
            "ces": rng.integers(1, 6, n).astype(float),
        }
    )
    k = 2 * n
    mentions = pd.DataFrame(
        {
            "voc_id": rng.choice(records["voc_id"], k),
            "theme": rng.integers(-1, n_themes, k),
            "sentiment": rng.uniform(-1, 1, k),
            "text": [f"t{i}" for i in range(k)],
        }
    )
    mentions["sentiment_label"] = np.where(mentions["sentiment"] < -0.3, "negative", "neutral")
    return records, mentions


# --- touchpoint summary ---------------------------------------------------------------------


def test_touchpoint_summary_nps_equals_hand_calculation(small):
    records, _, _ = small
    t = touchpoint_summary(records, config=CFG).set_index("touchpoint")
    assert list(t.index) == ["all", "app", "web"]
    assert t.loc["app", "nps"] == 0.0  # 2 promoters, 2 detractors
    assert t.loc["web", "nps"] == 0.0  # 1 promoter (10), 1 detractor (6), 1 passive; r7 missing
    assert t.loc["all", "nps"] == pytest.approx(100 * (3 - 3) / 7)
    assert t.loc["web", "nps_n"] == 3 and t.loc["all", "nps_n"] == 7
    assert t.loc["web", "records"] == 4 and t.loc["web", "records_with_text"] == 3
    assert not t["nps_reliable"].any()
    assert "csat" not in t and "ces" not in t


def test_touchpoint_summary_exact_on_random_data():
    records, _ = _synthetic()
    t = touchpoint_summary(records, config=CFG).set_index("touchpoint")
    for tp, sub in records.groupby("touchpoint"):
        s = sub["nps"].dropna().astype(int)
        hand = 100 * ((s >= 9).sum() - (s <= 6).sum()) / len(s)
        assert t.loc[tp, "nps"] == pytest.approx(hand, abs=1e-12)
        c = sub["csat"].dropna()
        assert t.loc[tp, "csat"] == pytest.approx(100 * (c >= 4).mean())
        assert t.loc[tp, "csat_n"] == len(c)
    assert t.loc["all", "ces"] == pytest.approx(records["ces"].mean())


def test_touchpoint_summary_without_touchpoint_column(small):
    records, _, _ = small
    t = touchpoint_summary(records.drop(columns="touchpoint"), config=CFG)
    assert t["touchpoint"].tolist() == ["all"]


def test_touchpoint_summary_without_scores_and_with_sentiment():
    records = pd.DataFrame({"voc_id": ["a", "b", "c"], "sentiment": [-0.5, 0.5, np.nan],
                            "sentiment_label": ["negative", "positive", None]})
    t = touchpoint_summary(records).iloc[0]
    assert t["records"] == 3 and t["nps_n"] == 0 and math.isnan(t["nps"])
    assert t["mean_sentiment"] == 0.0 and t["negative_share"] == 0.5


# --- pain points ----------------------------------------------------------------------------


def test_pain_table_counts_and_scores(small):
    records, mentions, themes = small
    t = rank_pain_points(records, mentions, themes, config=CFG)
    row = t.set_index(["touchpoint", "label"])
    # multi-theme records count for each theme: r0 (app) and r4 (web) are in both
    assert row.loc[("app", "crashes"), "records"] == 2  # r0, r1
    assert row.loc[("app", "speed"), "records"] == 3  # r0, r2, r3
    assert row.loc[("web", "crashes"), "records"] == 2  # r4, r7
    assert row.loc[("all", "crashes"), "records"] == 4
    assert row.loc[("app", "speed"), "share"] == 0.75
    assert row.loc[("app", "crashes"), "negative_share"] == 1.0
    assert row.loc[("app", "speed"), "negative_share"] == 0.0
    assert row.loc[("app", "speed"), "mean_sentiment"] == pytest.approx((-0.2 + 0.8 + 0.9) / 3)
    # records without NPS count for volume, not for NPS: r7 (web) has none
    assert row.loc[("web", "crashes"), "nps_with_n"] == 1
    assert row.loc[("web", "crashes"), "nps_with"] == -100.0  # only r4 (6)
    assert row.loc[("web", "crashes"), "nps_without"] == 50.0  # 8, 10
    assert row.loc[("web", "crashes"), "share"] == 0.5
    # NPS with / without equal the survey function on the same records
    app = records[records["touchpoint"] == "app"]
    assert row.loc[("app", "crashes"), "nps_with"] == nps(app["nps"][:2]).value
    assert row.loc[("app", "crashes"), "nps_without"] == nps(app["nps"][2:]).value
    assert row.loc[("app", "crashes"), "nps_impact"] == nps(app["nps"]).value - nps(app["nps"][2:]).value
    assert set(t["touchpoint"]) == {"all", "app", "web"} and -1 not in set(t["theme"])
    assert t["touchpoint"].iloc[0] == "all"


def test_rank_is_one_worst_within_each_touchpoint(small):
    records, mentions, themes = small
    t = rank_pain_points(records, mentions, themes, config=CFG)
    for _, g in t.groupby("touchpoint"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert g["pain_score"].is_monotonic_decreasing
    top = t[t["rank"] == 1].set_index("touchpoint")["label"]
    assert top["app"] == "crashes" and top["web"] == "crashes"


def test_impact_identity_on_every_row():
    records, mentions = _synthetic()
    cfg = CFG.replace(ces_scale=(1, 5), ces_direction="lower_is_easier")
    t = rank_pain_points(records, mentions, None, config=cfg)
    assert len(t) == 4 * 8
    for m, sign in (("nps", 1), ("csat", 1), ("ces", -1)):
        share = t[f"{m}_with_n"] / (t[f"{m}_with_n"] + t[f"{m}_without_n"])
        identity = sign * share * (t[f"{m}_with"] - t[f"{m}_without"])
        np.testing.assert_allclose(t[f"{m}_impact"], identity, rtol=1e-9, atol=1e-9)
        assert t[f"{m}_impact"].notna().all()


def test_impact_matches_definition_by_removal():
    records, mentions = _synthetic(n=200, n_themes=4)
    t = rank_pain_points(records, mentions, None, config=CFG)
    for row in t.itertuples():
        recs = records if row.touchpoint == "all" else records[records["touchpoint"] == row.touchpoint]
        ids = set(mentions.loc[mentions["theme"] == row.theme, "voc_id"])
        rest = recs[~recs["voc_id"].isin(ids)]
        assert row.nps_impact == pytest.approx(nps(recs["nps"]).value - nps(rest["nps"]).value, abs=1e-9)
        assert row.csat_impact == pytest.approx(csat(recs["csat"]).value - csat(rest["csat"]).value, abs=1e-9)


def test_ces_impact_sign_follows_direction():
    records = pd.DataFrame({"voc_id": list("abcdef"), "ces": [5.0, 5.0, 1.0, 1.0, 2.0, 1.0]})
    mentions = pd.DataFrame({"voc_id": ["a", "b"], "theme": [0, 0]})
    low = rank_pain_points(records, mentions, None,
                           config=CFG.replace(ces_scale=(1, 5), ces_direction="lower_is_easier"))
    high = rank_pain_points(records, mentions, None,
                            config=CFG.replace(ces_scale=(1, 5), ces_direction="higher_is_easier"))
    # theme records report effort 5: worse when lower is easier, better when higher is easier
    assert low["ces_impact"].iloc[0] < 0 < high["ces_impact"].iloc[0]
    assert low["ces_impact"].iloc[0] == -high["ces_impact"].iloc[0]
    assert low["ces_impact_ci_low"].iloc[0] <= low["ces_impact_ci_high"].iloc[0] <= 0


def test_bootstrap_is_seeded():
    records, mentions = _synthetic(n=300, n_themes=5)
    cols = ["nps_impact_ci_low", "nps_impact_ci_high", "csat_impact_ci_low"]
    a = rank_pain_points(records, mentions, None, config=CFG)[cols]
    b = rank_pain_points(records, mentions, None, config=CFG)[cols]
    c = rank_pain_points(records, mentions, None, config=CFG.replace(random_state=1))[cols]
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert (a["nps_impact_ci_low"] <= a["nps_impact_ci_high"]).all()


def test_bootstrap_interval_covers_a_strong_planted_effect():
    rng = np.random.default_rng(0)
    n = 400
    theme = rng.random(n) < 0.25
    score = np.where(theme, rng.choice([0, 3, 5, 7], n), rng.choice([7, 9, 10], n))
    records = pd.DataFrame({"voc_id": np.arange(n).astype(str), "nps": score})
    mentions = pd.DataFrame({"voc_id": records["voc_id"][theme], "theme": 0})
    row = rank_pain_points(records, mentions, None, config=CFG).iloc[0]
    assert row["nps_impact_ci_low"] <= row["nps_impact"] <= row["nps_impact_ci_high"] < 0
    assert row["nps_impact_p"] < 1e-6 and row["nps_reliable"]


def test_p_and_q_values():
    records, mentions = _synthetic()
    t = rank_pain_points(records, mentions, None, config=CFG)
    assert t["nps_impact_p"].between(0, 1).all()
    np.testing.assert_allclose(t["nps_impact_q"], bh_fdr(t["nps_impact_p"]))
    assert (t["nps_impact_q"] >= t["nps_impact_p"] - 1e-12).all()


def test_bh_fdr_hand_example():
    # sorted p: .01 .02 .03 .04 .05 .5; m * p / rank: .06 .06 .06 .06 .06 .5
    p = [0.05, 0.5, 0.01, np.nan, 0.03, 0.02, 0.04]
    q = bh_fdr(p)
    np.testing.assert_allclose(q[[0, 1, 2, 4, 5, 6]], [0.06, 0.5, 0.06, 0.06, 0.06, 0.06])
    assert math.isnan(q[3])
    # monotone step: .01 .04 .03 .2 -> .04 .0533 .0533 .2
    np.testing.assert_allclose(bh_fdr([0.01, 0.04, 0.03, 0.2]), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert bh_fdr([0.9, 0.8]).tolist() == [0.9, 0.9]


def test_without_touchpoint_column_everything_is_all(small):
    records, mentions, themes = small
    t = rank_pain_points(records.drop(columns="touchpoint"), mentions, themes, config=CFG)
    assert t["touchpoint"].unique().tolist() == ["all"]
    assert t.set_index("label").loc["crashes", "records"] == 4
    # the pipeline fills a missing touchpoint column with "all": same table
    same = rank_pain_points(records.assign(touchpoint="all"), mentions, themes, config=CFG)
    pd.testing.assert_frame_equal(t, same)


def test_without_nps_ranks_by_volume_and_negativity(small):
    records, mentions, themes = small
    t = rank_pain_points(records.drop(columns="nps"), mentions, themes, config=CFG)
    assert t["nps_impact"].isna().all() and (t["nps_with_n"] == 0).all()
    np.testing.assert_allclose(t["pain_score"], 100 * t["share"] * t["negative_share"])
    assert "csat_impact" not in t and "ces_impact" not in t
    assert t.loc[t["touchpoint"] == "all", "label"].tolist() == ["crashes", "speed"]


def test_pain_score_formula():
    got = pain_score([0.2, 0.2, 0.1, 0.3], [0.5, np.nan, 1.0, 0.5], [-10.0, np.nan, 5.0, -20.0],
                     [30, 0, 50, 90], min_n=30)
    np.testing.assert_allclose(got, [10 * 1.5, 20.0, 10.0, 15 * (1 + 20 * 0.75 / 10)])


def test_quotes_are_short_negative_and_from_the_touchpoint(small):
    records, mentions, themes = small
    t = rank_pain_points(records, mentions, themes, config=CFG).set_index(["touchpoint", "label"])
    assert t.loc[("app", "crashes"), "quotes"] == "The app crashes all the time | Crashed / again"
    assert t.loc[("web", "crashes"), "quotes"] == "Page crashed | Crash on login"
    assert t.loc[("app", "speed"), "quotes"] == ""  # no negative mention


def test_select_quotes_trims_and_dedupes():
    long = "word " * 60
    m = pd.DataFrame({"text": [long, "Bad  bad\nservice", "bad bad service"], "sentiment": [-0.9, -0.8, -0.7]})
    got = select_quotes(m, n=2, max_chars=160).split(" | ")
    assert len(got[0]) <= 160 and got[0].endswith("…")
    assert got[1] == "Bad bad service" and len(got) == 2


def test_bad_inputs_raise(small):
    records, mentions, themes = small
    dup = pd.concat([records, records.iloc[:1]])
    with pytest.raises(InputError, match=re.escape("records 'voc_id' must be unique. Duplicated: ['r0'].")):
        rank_pain_points(dup, mentions, themes, config=CFG)
    with pytest.raises(InputError, match="mentions table is missing column\\(s\\) theme"):
        rank_pain_points(records, mentions.drop(columns="theme"), themes, config=CFG)
    bad = records.assign(nps=[0, 3, 9, 12, 6, 8, 10, None])
    with pytest.raises(InputError, match=re.escape("Got invalid value(s): 12.")):
        rank_pain_points(bad, mentions, themes, config=CFG)


def test_unknown_mentions_ignored_and_no_themes(small):
    records, mentions, themes = small
    extra = pd.DataFrame({"voc_id": ["zz"], "theme": [0], "sentiment": [-1.0],
                          "sentiment_label": ["negative"], "text": ["ghost"]})
    t = rank_pain_points(records, pd.concat([mentions, extra]), themes, config=CFG)
    assert t.set_index(["touchpoint", "label"]).loc[("all", "crashes"), "mentions"] == 4
    empty = rank_pain_points(records, mentions.assign(theme=-1), themes, config=CFG)
    assert len(empty) == 0 and "nps_impact" in empty and "pain_score" in empty


def test_fast_enough_on_realistic_size():
    records, mentions = _synthetic(n=2000, n_themes=50, tps=tuple("abcdef"))
    start = time.perf_counter()
    t = rank_pain_points(records, mentions, None, config=Config(n_bootstrap=1000))
    assert time.perf_counter() - start < 10  # about 0.5 s on 2 cores
    assert len(t) == 7 * 50 and t["nps_impact_ci_low"].notna().all()


# --- complaint-level impact, levels, rank metric --------------------------------------------


def _tiny():
    """6 records; theme 0 is mentioned by a, b (negative) and c, d (positive)."""
    records = pd.DataFrame({"voc_id": list("abcdef"), "nps": [0, 2, 10, 9, 8, 10]})
    mentions = pd.DataFrame({"voc_id": list("abcde"), "theme": [0, 0, 0, 0, 1],
                             "sentiment_label": ["negative", "negative", "positive", "positive", "neutral"]})
    return records, mentions


def test_complaint_impact_hand_computed():
    records, mentions = _tiny()
    # negative mentions only (theme 0 is half negative, a complaint theme by the default rule)
    row = rank_pain_points(records, mentions, None, config=CFG, complaint_share=None).set_index("theme").loc[0]
    # NPS(all) = 100 * (3 promoters - 2 detractors) / 6; complaint records a, b (both detractors);
    # NPS(c, d, e, f) = 100 * 3 / 4 = 75; NPS(e, f) = 50 for the whole theme
    assert row["complaint_records"] == 2 and row["records"] == 4
    assert row["complaint_nps_with"] == -100.0 and row["complaint_nps_without"] == 75.0
    assert row["complaint_nps_with_n"] == 2
    assert row["complaint_nps_impact"] == pytest.approx(100 / 6 - 75)  # -58.33
    assert row["nps_impact"] == pytest.approx(100 / 6 - 50)  # -33.33
    assert row["complaint_nps_impact_ci_low"] <= row["complaint_nps_impact"] <= row["complaint_nps_impact_ci_high"]
    assert 0 < row["complaint_nps_impact_p"] < 1
    # theme 1 has no negative mention: no complaint records, no complaint impact
    other = rank_pain_points(records, mentions, None, config=CFG).set_index("theme").loc[1]
    assert other["complaint_records"] == 0 and math.isnan(other["complaint_nps_impact"])


def test_every_mention_of_a_complaint_theme_is_a_complaint():
    """Theme 0: 3 of 4 mentions negative (a complaint theme); theme 1: 1 of 3 (not one)."""
    records = pd.DataFrame({"voc_id": list("abcdefgh"), "nps": [0, 2, 3, 6, 10, 9, 1, 10]})
    mentions = pd.DataFrame({"voc_id": list("abcdefg"), "theme": [0, 0, 0, 0, 1, 1, 1],
                             "sentiment_label": ["negative", "negative", "negative", "neutral",
                                                 "positive", "positive", "negative"]})
    t = rank_pain_points(records, mentions, None, config=CFG).set_index("theme")
    # theme 0: a, b, c, d are complaint records; NPS(all) = 100 * (3 - 5) / 8 = -25; NPS(e, f, g, h) = 50
    assert t.loc[0, "complaint_records"] == 4
    assert t.loc[0, "complaint_nps_impact"] == pytest.approx(-25.0 - 50.0)
    # theme 1: only its negative mention g counts; NPS without g = 100 * (3 - 4) / 7
    assert t.loc[1, "complaint_records"] == 1
    assert t.loc[1, "complaint_nps_impact"] == pytest.approx(-25.0 - 100 * (3 - 4) / 7)
    # a stricter share turns theme 0 back to its negative mentions
    strict = rank_pain_points(records, mentions, None, config=CFG, complaint_share=0.8).set_index("theme")
    assert strict.loc[0, "complaint_records"] == 3
    assert complaint_mentions(mentions).tolist() == [True] * 4 + [False, False, True]


def test_complaint_impact_identity_and_removal_on_every_row():
    records, mentions = _synthetic(n=300, n_themes=5)
    cfg = CFG.replace(ces_scale=(1, 5), ces_direction="lower_is_easier")
    t = rank_pain_points(records, mentions, None, config=cfg)
    for m, sign in (("nps", 1), ("csat", 1), ("ces", -1)):
        n_all = t[f"{m}_with_n"] + t[f"{m}_without_n"]
        share = t[f"complaint_{m}_with_n"] / n_all
        identity = sign * share * (t[f"complaint_{m}_with"] - t[f"complaint_{m}_without"])
        np.testing.assert_allclose(t[f"complaint_{m}_impact"], identity, rtol=1e-9, atol=1e-9)
        assert t[f"complaint_{m}_impact"].notna().all()
        np.testing.assert_allclose(t[f"complaint_{m}_impact_q"], bh_fdr(t[f"complaint_{m}_impact_p"]))
        assert (t[f"complaint_{m}_impact_ci_low"] <= t[f"complaint_{m}_impact_ci_high"]).all()
    neg = mentions[mentions["sentiment_label"] == "negative"]
    for row in t.itertuples():
        recs = records if row.touchpoint == "all" else records[records["touchpoint"] == row.touchpoint]
        ids = set(neg.loc[neg["theme"] == row.theme, "voc_id"]) & set(recs["voc_id"])
        rest = recs[~recs["voc_id"].isin(ids)]
        assert row.complaint_records == len(ids)
        assert row.complaint_nps_impact == pytest.approx(nps(recs["nps"]).value - nps(rest["nps"]).value, abs=1e-9)
        assert row.complaint_csat_impact == pytest.approx(csat(recs["csat"]).value - csat(rest["csat"]).value,
                                                          abs=1e-9)


def test_pain_score_uses_the_complaint_impact(small):
    records, mentions, themes = small
    t = rank_pain_points(records, mentions, themes, config=CFG)
    assert (t["rank_metric"] == "nps").all()
    expected = pain_score(t["share"], t["negative_share"], t["complaint_nps_impact"], t["complaint_nps_with_n"],
                          min_n=CFG.min_n)
    np.testing.assert_allclose(t["pain_score"], expected)


def test_without_topic_column_only_theme_rows(small):
    records, mentions, themes = small
    t = rank_pain_points(records, mentions, themes, config=CFG)
    assert set(t["level"]) == {"theme"} and (t["topic"] == -1).all()
    assert str(t["theme"].dtype) == "Int64" and t["theme"].notna().all()


def _with_topics(mentions):
    parent = {t: (t % 3 if t >= 0 else -1) for t in range(-1, 20)}
    return mentions.assign(topic=mentions["theme"].map(parent))


def test_topic_rows_are_the_union_of_their_themes():
    records, mentions = _synthetic(n=300, n_themes=6)
    mentions = _with_topics(mentions)
    topics = pd.DataFrame({"topic": [0, 1], "label": ["delivery", "support"]})
    t = rank_pain_points(records, mentions, None, topics=topics, config=CFG)
    top, th = t[t["level"] == "topic"], t[t["level"] == "theme"]
    assert set(top["topic"]) == {0, 1, 2} and top["theme"].isna().all()
    assert top.set_index("topic")["label"].loc[[0, 1, 2]].unique().tolist()[:2] == ["delivery", "support"]
    assert (top.loc[top["topic"] == 2, "label"] == "topic 2").all()
    assert (th["topic"] == th["theme"].astype(int) % 3).all()
    m = mentions[mentions["theme"] >= 0]
    neg = m[m["sentiment_label"] == "negative"]
    for row in top.itertuples():
        recs = records if row.touchpoint == "all" else records[records["touchpoint"] == row.touchpoint]
        members = set(m.loc[m["topic"] == row.topic, "voc_id"]) & set(recs["voc_id"])
        complaints = set(neg.loc[neg["topic"] == row.topic, "voc_id"]) & set(recs["voc_id"])
        assert row.records == len(members)  # a record with two themes of the topic counts once
        assert row.complaint_records == len(complaints)
        assert row.mentions == int(m.loc[m["topic"] == row.topic, "voc_id"].isin(recs["voc_id"]).sum())
        rest = recs[~recs["voc_id"].isin(complaints)]
        assert row.complaint_nps_impact == pytest.approx(nps(recs["nps"]).value - nps(rest["nps"]).value,
                                                         abs=1e-9)
        rest = recs[~recs["voc_id"].isin(members)]
        assert row.nps_impact == pytest.approx(nps(recs["nps"]).value - nps(rest["nps"]).value, abs=1e-9)
    # the union is a real union: some record mentions two themes of one topic
    pairs = m[["voc_id", "topic", "theme"]].drop_duplicates().groupby(["voc_id", "topic"]).size()
    assert (pairs > 1).any()


def test_rank_within_touchpoint_and_level_and_theme_rows_unchanged_by_topics():
    records, mentions = _synthetic(n=300, n_themes=6)
    plain = rank_pain_points(records, mentions, None, config=CFG)
    both = rank_pain_points(records, _with_topics(mentions), None, config=CFG)
    for (_, level), g in both.groupby(["touchpoint", "level"], sort=False):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert g["pain_score"].is_monotonic_decreasing
    # within each touchpoint the topic rows come first
    for _, g in both.groupby("touchpoint", sort=False):
        assert g["level"].tolist() == sorted(g["level"], key=["topic", "theme"].index)
    themes_only = both[both["level"] == "theme"].drop(columns="topic").reset_index(drop=True)
    pd.testing.assert_frame_equal(themes_only, plain.drop(columns="topic"))


def _csat_case(n=100):
    """Theme 0: praise, 60 records (20 negative, still satisfied); theme 1: 15 unhappy complaints."""
    ids = [f"r{i}" for i in range(n)]
    csat_vals = np.full(n, 5.0)
    csat_vals[60:75] = 1.0
    mentions = pd.DataFrame({
        "voc_id": ids[:60] + ids[60:75],
        "theme": [0] * 60 + [1] * 15,
        "sentiment_label": ["negative"] * 20 + ["positive"] * 40 + ["negative"] * 15,
    })
    return pd.DataFrame({"voc_id": ids, "csat": csat_vals}), mentions


def test_without_nps_ranks_by_csat_complaint_impact():
    records, mentions = _csat_case()
    t = rank_pain_points(records, mentions, None, config=CFG).set_index("theme")
    assert (t["rank_metric"] == "csat").all()
    # volume x negativity alone: theme 0 = 100 * 0.6 / 3 = 20 > theme 1 = 15
    assert t.loc[1, "complaint_csat_impact"] == pytest.approx(85.0 - 100.0)
    w = 15 / (15 + CFG.min_n)
    assert t.loc[1, "pain_score"] == pytest.approx(15 * (1 + 15 * w / 10))
    assert t.loc[0, "pain_score"] == pytest.approx(20.0)
    assert t.loc[1, "rank"] == 1 and t.loc[0, "rank"] == 2


def test_without_nps_and_csat_ranks_by_ces_complaint_impact_in_scale_percent():
    records, mentions = _csat_case()
    effort = np.where(records["csat"] == 1.0, 5.0, 1.0)  # the complainers report high effort
    records = pd.DataFrame({"voc_id": records["voc_id"], "ces": effort})
    cfg = CFG.replace(ces_scale=(1, 5), ces_direction="lower_is_easier")
    t = rank_pain_points(records, mentions, None, config=cfg).set_index("theme")
    assert (t["rank_metric"] == "ces").all()
    impact = t.loc[1, "complaint_ces_impact"]
    assert impact == pytest.approx(-(1.6 - 1.0))  # mean 1.6 with them, 1.0 without; lower is easier
    w = 15 / (15 + CFG.min_n)
    assert t.loc[1, "pain_score"] == pytest.approx(15 * (1 + (0.6 * 100 / 4) * w / 10))
    assert t.loc[1, "rank"] == 1


def test_rank_metric_prefers_nps_and_falls_back_per_touchpoint():
    records, mentions = _csat_case()
    records = records.assign(touchpoint=["a"] * 50 + ["b"] * 50,
                             nps=pd.array([9] * 50 + [None] * 50, dtype="Int64"))
    t = rank_pain_points(records, mentions, None, config=CFG)
    got = t.groupby("touchpoint")["rank_metric"].unique().map(list).to_dict()
    assert got == {"all": ["nps"], "a": ["nps"], "b": ["csat"]}
    from voc.rank import rank_metric_used

    assert rank_metric_used(t) == "nps"
    none = rank_pain_points(records.drop(columns=["nps", "csat"]), mentions, None, config=CFG)
    assert none["rank_metric"].isna().all() and rank_metric_used(none) is None


def test_theme_rows_of_old_and_new_tables(small):
    from voc.rank import theme_rows

    records, mentions, themes = small
    new = rank_pain_points(records, _with_topics(mentions), themes, config=CFG)
    assert set(theme_rows(new)["level"]) == {"theme"} and len(theme_rows(new)) < len(new)
    old = new[new["level"] == "theme"].drop(columns=["level", "topic"])
    assert len(theme_rows(old)) == len(old)


# --- the helpers voc.rank's modules share (voc.rank.readers, .impact, .quotes) --------------


def test_readers_require_columns_and_touchpoint_groups(caplog):
    from voc.rank.readers import UNKNOWN_TOUCHPOINT, require_columns, touchpoint_groups

    recs = pd.DataFrame({"voc_id": list("abcde"), "touchpoint": ["web", None, "app", "web", "all"]})
    require_columns(recs, ["voc_id", "touchpoint"], "records")
    with pytest.raises(InputError, match=r"records table is missing column\(s\) nps, ces\. Got columns: voc_id"):
        require_columns(recs, ["voc_id", "nps", "ces"], "records")
    with caplog.at_level(logging.WARNING):
        groups = touchpoint_groups(recs)
    assert [(name, idx.tolist()) for name, idx in groups] == [
        ("all", [0, 1, 2, 3, 4]), ("app", [2]), (UNKNOWN_TOUCHPOINT, [1]), ("web", [0, 3])]
    assert "literally named 'all'" in caplog.text
    assert [name for name, _ in touchpoint_groups(recs.drop(columns="touchpoint"))] == ["all"]


def test_readers_negative_flags_and_float_column():
    from voc.rank.readers import float_column, negative_flags

    df = pd.DataFrame({"sentiment_label": ["negative", "positive", None], "sentiment": ["-0.5", "x", None]})
    np.testing.assert_array_equal(negative_flags(df), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(float_column(df, "sentiment"), [-0.5, np.nan, np.nan])
    assert np.isnan(negative_flags(df.drop(columns="sentiment_label"))).all()
    assert np.isnan(float_column(df, "nps")).all() and len(float_column(df, "nps")) == 3


def test_impact_metric_values_points_and_signs():
    from voc.rank.impact import metric_values

    recs = pd.DataFrame({"nps": [10, 7, 0, None], "csat": [5, 3, None, 4], "ces": [1, 7, 4, None]})
    vals = metric_values(recs, Config(ces_direction="lower_is_easier"))
    assert list(vals) == ["nps", "csat", "ces"]
    np.testing.assert_array_equal(vals["nps"][0], [100.0, 0.0, -100.0, np.nan])
    np.testing.assert_array_equal(vals["csat"][0], [100.0, 0.0, np.nan, 100.0])
    assert vals["ces"][1] == -1.0 and vals["nps"][1] == vals["csat"][1] == 1.0
    assert np.isnan(metric_values(recs[["ces"]], Config())["nps"][0]).all()


def test_impact_estimates_by_hand():
    from scipy import sparse

    from voc.rank.impact import impact_estimates

    x = np.array([-100.0, -100.0, 100.0, 100.0, np.nan])
    member = sparse.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 1, 1]], dtype=float))
    est = impact_estimates(x, member)
    # theme 0: with = -100 (2 answers), without = 100 (2), all = 0: impact = 0 - 100
    assert est["with"][0] == -100.0 and est["without"][0] == 100.0 and est["impact"][0] == -100.0
    assert est["n_with"].tolist() == [2.0, 0.0, 4.0] and est["n_without"].tolist() == [2.0, 4.0, 0.0]
    assert 0 < est["p"][0] < 0.05
    # theme 1: no respondent; theme 2: every respondent: no impact, no p
    assert np.isnan(est["impact"][1:]).all() and np.isnan(est["p"][1:]).all()


def test_bootstrap_impacts_shape_seed_and_shared_resamples():
    from scipy import sparse

    from voc.rank.impact import bootstrap_impacts, impact_estimates

    rng = np.random.default_rng(0)
    x = np.where(rng.random(200) < 0.5, -100.0, 100.0)
    member = sparse.csr_matrix((rng.random((200, 3)) < 0.3).astype(float))
    a, b = bootstrap_impacts([x, x], member, 500, np.random.default_rng(1))
    assert a.shape == (500, 3)
    np.testing.assert_array_equal(a, b)  # both metrics see the same resamples
    again = bootstrap_impacts([x], member, 500, np.random.default_rng(1))[0]
    np.testing.assert_array_equal(a, again)
    est = impact_estimates(x, member)["impact"]
    assert np.abs(a.mean(axis=0) - est).max() < 3.0  # centred on the point estimate
    lo, hi = np.quantile(a, [0.025, 0.975], axis=0)
    assert ((lo <= est) & (est <= hi)).all()


def test_quotes_by_unit_is_select_quotes_per_unit():
    from voc.rank.quotes import QUOTE_SEP, quotes_by_unit

    ments = pd.DataFrame({
        "_tcol": [0, 0, 0, 1, 1, 2],
        "text": ["fine", "so  late", "broken | lid", "rude", "rude", "great"],
        "sentiment": [0.2, -0.9, -0.5, -0.7, -0.8, 0.9],
        "sentiment_label": ["neutral", "negative", "negative", "negative", "negative", "positive"],
    })
    got = quotes_by_unit(ments)
    assert got == {t: select_quotes(g) for t, g in ments.groupby("_tcol") if select_quotes(g)}
    assert got[0] == "so late" + QUOTE_SEP + "broken / lid" and got[1] == "rude"
    assert quotes_by_unit(ments.drop(columns="text")) == {}
