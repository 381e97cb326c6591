"""Tests of voc.survey: NPS, CSAT, CES and their intervals."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.errors import ConfigError, InputError
from voc.survey import Metric, ces, csat, nps, wilson_interval


# --- NPS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([10, 9, 8, 7, 6, 0], 0.0),            # 2 promoters, 2 detractors of 6
        ([10, 10, 10, 6], 50.0),               # (3 - 1) / 4
        ([9, 7, 7, 5, 3], -20.0),              # (1 - 2) / 5
        ([8, 7, 8], 0.0),                      # passives only
        ([0, 1, 2, 9], -50.0),                 # (1 - 3) / 4
        ([10, 9, 9, 9, 9, 9, 0], 100 * 5 / 7),  # (6 - 1) / 7
    ],
)
def test_nps_equals_hand_calculation(scores, expected):
    m = nps(scores)
    assert m.value == pytest.approx(expected, abs=1e-12)
    assert m.n == len(scores)


def test_nps_interval_formula():
    # pP = .75, pD = .25: var = (.75 + .25 - .5**2) / 4 = .1875
    m = nps([10, 10, 10, 6])
    half = 1.959963984540054 * 100 * math.sqrt(0.1875)
    assert m.ci_low == pytest.approx(50 - half)
    assert m.ci_high == 100.0  # 50 + 84.9 clipped


def test_nps_all_promoters():
    m = nps([9, 10, 10])
    assert (m.value, m.ci_low, m.ci_high) == (100.0, 100.0, 100.0)


def test_nps_no_responses_is_nan_and_unreliable():
    for empty in ([], [None, np.nan], pd.Series([pd.NA], dtype="Int64")):
        m = nps(empty)
        assert math.isnan(m.value) and math.isnan(m.ci_low) and math.isnan(m.ci_high)
        assert m.n == 0 and m.reliable is False


def test_nps_missing_scores_ignored():
    m = nps([10, None, np.nan, pd.NA, 0])
    assert (m.value, m.n) == (0.0, 2)
    s = pd.Series([10, pd.NA, 9, 3], dtype="Int64")
    assert nps(s).value == pytest.approx(100 / 3) and nps(s).n == 3


def test_nps_reliable_flag_uses_min_n():
    assert nps([10] * 30).reliable is True
    assert nps([10] * 29).reliable is False
    assert nps([10] * 5, min_n=5).reliable is True


def test_nps_invalid_scores_raise_naming_them():
    msg = "NPS scores must be integers from 0 to 10. Got invalid value(s): 11, 3.5, -1. Fix or remove these answers."
    with pytest.raises(InputError, match=re.escape(msg)):
        nps([11, 3.5, 2, -1, 11])
    with pytest.raises(InputError, match=re.escape("NPS scores must be numbers. Got invalid value(s): 'ten'.")):
        nps([10, "ten"])


# --- CSAT -----------------------------------------------------------------------------------


def test_csat_top_two_boxes_by_default():
    m = csat([5, 4, 3, 2, 1])
    assert (m.value, m.n, m.extra["satisfied_from"]) == (40.0, 5, 4)


def test_csat_other_scales_and_thresholds():
    assert csat([7, 6, 5, 1], scale=(1, 7)).value == 50.0  # top two boxes: 6, 7
    assert csat([7, 6, 5, 1], scale=(1, 7), satisfied_from=5).value == 75.0
    assert csat([10, 8, 0, None], scale=(0, 10), satisfied_from=8).value == pytest.approx(200 / 3)


def test_csat_interval_is_wilson():
    m = csat([5] * 5 + [1] * 5)
    lo, hi = wilson_interval(5, 10)
    assert (m.ci_low, m.ci_high) == (pytest.approx(100 * lo), pytest.approx(100 * hi))


def test_csat_bad_options_and_values():
    with pytest.raises(ConfigError, match=re.escape("CSAT 'satisfied_from' must lie in (1, 5] for scale (1, 5). Got 6.")):
        csat([5], satisfied_from=6)
    with pytest.raises(InputError, match=re.escape("CSAT scores must be numbers from 1 to 5. Got invalid value(s): 7.")):
        csat([5, 7])
    with pytest.raises(ConfigError, match="'scale' must be two integers"):
        csat([5], scale=(5, 1))


@pytest.mark.parametrize(
    "k, n, lo, hi",
    [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == (pytest.approx(lo, abs=1e-4), pytest.approx(hi, abs=1e-4))


# --- CES ------------------------------------------------------------------------------------


def test_ces_requires_scale_and_direction():
    with pytest.raises(TypeError, match="missing 2 required keyword-only arguments: 'scale' and 'direction'"):
        ces([5])
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'direction'"):
        ces([5], scale=(1, 7))
    with pytest.raises(ConfigError, match=re.escape(
        "CES 'direction' must be one of higher_is_easier, lower_is_easier. Got 'high'."
    )):
        ces([5], scale=(1, 7), direction="high")


def test_ces_higher_is_easier():
    m = ces([7, 6, 5, 4, 1], scale=(1, 7), direction="higher_is_easier")
    assert m.value == pytest.approx(4.6)
    assert m.extra["easy_share"] == 60.0  # 5, 6, 7
    assert ces([5, 4, 3, 1], scale=(1, 5), direction="higher_is_easier").extra["easy_share"] == 50.0


def test_ces_lower_is_easier():
    m = ces([1, 2, 3, 4, 5], scale=(1, 5), direction="lower_is_easier")
    assert (m.value, m.extra["easy_share"]) == (3.0, 40.0)  # 1, 2
    assert ces([1, 3, 4, 7], scale=(1, 7), direction="lower_is_easier").extra["easy_share"] == 50.0


def test_ces_t_interval():
    # mean 4, sd sqrt(4/5), t(0.975, 5) = 2.570582
    m = ces([3, 4, 5, 3, 4, 5], scale=(1, 7), direction="higher_is_easier")
    half = 2.5705818366147395 * math.sqrt(0.8) / math.sqrt(6)
    assert (m.ci_low, m.ci_high) == (pytest.approx(4 - half), pytest.approx(4 + half))
    one = ces([4], scale=(1, 7), direction="higher_is_easier")
    assert one.value == 4.0 and math.isnan(one.ci_low)


def test_ces_out_of_scale_raises():
    with pytest.raises(InputError, match=re.escape("CES scores must be numbers from 1 to 5. Got invalid value(s): 6, 0.")):
        ces([6, 0, 3], scale=(1, 5), direction="lower_is_easier")


# --- Metric ---------------------------------------------------------------------------------


def test_metric_is_frozen_and_flattens():
    m = csat([5, 1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.value = 3  # type: ignore[misc]
    d = m.to_dict()
    assert d["name"] == "csat" and d["n"] == 2 and d["satisfied_from"] == 4 and "extra" not in d
    assert isinstance(m, Metric)


# --- invariants -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10), st.none()), max_size=60),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_nps_bounded_and_ci_contains_value(scores, confidence):
    m = nps(scores, confidence=confidence)
    assert m.n == sum(s is not None for s in scores)
    if m.n:
        assert -100 <= m.ci_low <= m.value <= m.ci_high <= 100
    else:
        assert math.isnan(m.value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=60))
def test_csat_bounded_and_ci_contains_value(scores):
    m = csat(scores)
    assert 0 <= m.ci_low <= m.value <= m.ci_high <= 100


# --- NPS from counts: the one NPS formula (issue 20, item 9) ------------------------------------


def test_nps_from_counts_known_counts():
    from voc.survey import NpsEstimate, nps_from_counts

    est = nps_from_counts(5, 3, 2)                       # n = 10, pP = .5, pD = .2
    assert isinstance(est, NpsEstimate) and est.n == 10
    assert est.value == pytest.approx(30.0)
    assert est.variance == pytest.approx(1e4 * (0.5 + 0.2 - 0.3 ** 2) / 10)   # 610
    half = 1.959963984540054 * math.sqrt(est.variance)
    assert (est.ci_low, est.ci_high) == pytest.approx((30 - half, 30 + half))
    assert nps_from_counts(5, 3, 2, confidence=0.8).ci_high < est.ci_high


def test_nps_from_counts_edge_cases():
    from voc.survey import nps_from_counts

    empty = nps_from_counts(0, 0, 0)                     # zero respondents: NaN, no warning, no error
    assert empty.n == 0 and all(math.isnan(v) for v in (empty.value, empty.variance, empty.ci_low, empty.ci_high))
    top = nps_from_counts(7, 0, 0)                       # all promoters: 100, no spread
    assert (top.value, top.variance, top.ci_low, top.ci_high) == (100.0, 0.0, 100.0, 100.0)
    bottom = nps_from_counts(0, 0, 4)
    assert (bottom.value, bottom.ci_low, bottom.ci_high) == (-100.0, -100.0, -100.0)
    wide = nps_from_counts(1, 0, 1)                      # the interval is clipped to [-100, 100]
    assert wide.value == 0.0 and (wide.ci_low, wide.ci_high) == (-100.0, 100.0)
    with pytest.raises(InputError, match=r"NPS counts must be non-negative\. Got promoters=-1"):
        nps_from_counts(-1, 2, 3)


def test_nps_from_counts_is_vectorised():
    from voc.survey import nps_from_counts

    est = nps_from_counts(np.array([5, 0, 7, np.nan]), np.array([3, 0, 0, 1]), np.array([2, 0, 0, 1]))
    np.testing.assert_allclose(est.value, [30.0, np.nan, 100.0, np.nan])
    np.testing.assert_allclose(est.n, [10, 0, 7, np.nan])
    for i in (0, 2):
        one = nps_from_counts(*(int(c[i]) for c in ([5, 0, 7], [3, 0, 0], [2, 0, 0])))
        assert (est.value[i], est.variance[i], est.ci_low[i], est.ci_high[i]) == one[:4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10), st.none()), min_size=1, max_size=80),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_nps_is_nps_from_counts_of_nps_counts(scores, confidence):
    """The per-record path is the counts path: same numbers to the last bit."""
    from voc.survey import nps_counts, nps_from_counts

    m = nps(scores, confidence=confidence)
    p, pa, d = nps_counts(scores)
    assert p + pa + d == m.n
    if m.n:
        est = nps_from_counts(p, pa, d, confidence=confidence)
        assert (m.value, m.ci_low, m.ci_high) == (est.value, est.ci_low, est.ci_high)
        assert m.extra == {"promoters": p / m.n, "detractors": d / m.n}


def test_nps_counts_validates_as_nps():
    from voc.survey import nps_counts

    assert nps_counts([10, 9, 8, 7, 6, 0, None, np.nan]) == (2, 2, 2)
    assert nps_counts([]) == (0, 0, 0)
    with pytest.raises(InputError, match=r"NPS scores must be integers from 0 to 10\. Got invalid value\(s\): 11"):
        nps_counts([10, 11])


def test_nps_from_totals_is_nps_from_counts_with_the_passives_as_the_rest():
    from voc.survey import nps_from_counts, nps_from_totals

    rng = np.random.default_rng(1)
    p, pa, d = (rng.integers(0, 50, 200) for _ in range(3))
    got, want = nps_from_totals(p, d, p + pa + d), nps_from_counts(p, pa, d)
    assert np.array_equal(got.value, want.value, equal_nan=True)
    assert np.array_equal(got.variance, want.variance, equal_nan=True)
    assert np.isnan(nps_from_totals(0, 0, 0).value)
