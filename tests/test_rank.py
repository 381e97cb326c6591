"""Tests of voc.rank: touchpoint summary and the pain-point table."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pandas as pd
import pytest

from voc.config import Config
from voc.errors import InputError
from voc.rank import bh_fdr, pain_score, rank_pain_points, select_quotes, touchpoint_summary
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
