"""Tests of voc.sample: determinism, properties, planted truth, the shipped file."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from voc import columns as C
from voc.errors import InputError
from voc.io import load_feedback
from voc.sample import PAIN_POINTS, THEMES, make_feedback, planted_truth, sample_path, write_sample


@pytest.fixture(scope="module")
def generated():
    return make_feedback(return_truth=True)


def test_same_seed_same_data_other_seed_other_data():
    a = make_feedback(200, random_state=3)
    pd.testing.assert_frame_equal(a, make_feedback(200, random_state=3))
    assert not a["text"].equals(make_feedback(200, random_state=4)["text"])


def test_shipped_sample_equals_a_regeneration(tmp_path):
    out = write_sample(tmp_path / "sample.csv")
    assert out.read_bytes() == sample_path().read_bytes()


def test_columns_ranges_and_coverage(generated):
    df, _ = generated
    assert list(df.columns) == ["id", "date", "touchpoint", "channel", "text", "nps", "ces", "csat"]
    assert len(df) == 2000 and df["id"].is_unique
    assert set(df["touchpoint"]) == {"website", "app", "checkout", "delivery", "support"}
    assert set(df["channel"]) == {"review", "ticket", "social", "survey"}
    assert df["nps"].dropna().between(0, 10).all() and df["nps"].notna().mean() > 0.85
    assert df["ces"].dropna().between(1, 7).all() and df["ces"].notna().mean() > 0.8
    assert df["csat"].dropna().between(1, 5).all() and 0.2 < df["csat"].notna().mean() < 0.6
    dates = pd.to_datetime(df["date"])
    assert dates.is_monotonic_increasing and (dates.max() - dates.min()).days >= 8 * 7


def test_text_is_bilingual_varied_and_natural(generated):
    df, gold = generated
    texts = df["text"]
    ja = texts.str.contains(r"[\u3040-\u30ff]")
    assert 0.28 < ja.mean() < 0.42
    assert 0.02 < (texts == "").mean() < 0.07
    assert texts.str.contains("[😡😍👍🙌✨😊😞🙄😤💢😭💯]").sum() > 30
    assert texts.str.contains(r"\w but \w").sum() > 10 and texts.str.contains("けど").sum() > 5
    assert texts.nunique() > 1300
    for theme in THEMES.values():
        assert len(theme.en) >= 8 and len(theme.ja) >= 8
    # every phrasing of a planted theme is actually used in both languages
    carrying = df.loc[gold["planted"].map(lambda k: "late_delivery" in k), "text"]
    used = {p for p in THEMES["late_delivery"].en + THEMES["late_delivery"].ja
            if carrying.str.contains(re.escape(p), case=False).any()}
    assert len(used) >= 14


def test_pain_points_sit_at_their_touchpoint_and_lower_scores(generated):
    df, gold = generated
    for key in PAIN_POINTS:
        carries = gold["planted"].map(lambda ks: key in ks)
        assert set(df.loc[carries, "touchpoint"]) == {THEMES[key].touchpoint}
        assert df.loc[carries, "nps"].mean() < df.loc[~carries, "nps"].mean() - 1
        assert df.loc[carries, "ces"].mean() < df.loc[~carries, "ces"].mean() - 0.5
    battery = gold["planted"].map(lambda ks: "battery_drain" in ks)
    assert gold.loc[battery, "week"].min() == 7 and battery.sum() > 40


def test_planted_truth_reports_realised_impact():
    truth = planted_truth()
    assert truth["key"].tolist() == list(PAIN_POINTS)
    assert truth.loc[truth["key"] == "battery_drain", "first_week"].item() == 7
    assert (truth["nps_impact"] < -2).all() and (truth["records"] > 40).all()
    shipped = pd.read_csv(sample_path())
    pd.testing.assert_frame_equal(planted_truth(shipped), truth)
    with pytest.raises(InputError, match=r"^planted_truth: df is not the output of make_feedback\(2000, random_state=1\)"):
        planted_truth(shipped, random_state=1)


def test_shipped_sample_loads_with_full_mapping():
    df = load_feedback(sample_path())
    assert len(df) == 2000 and len(df.attrs["voc_rejects"]) == 0
    assert df.attrs["voc_mapping"] == {c: ("id" if c == C.VOC_ID else c) for c in C.MAPPABLE}
    assert 50 < (~df[C.HAS_TEXT]).sum() < 150
