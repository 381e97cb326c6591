"""Tests of the helpers one voc module shares with another (public names of their owner)."""

from __future__ import annotations

import numpy as np
import pytest

from voc.errors import InputError
from voc.survey import as_float, validate_scores


# --- voc.survey (used by voc.rank) ------------------------------------------------------------


def test_as_float_gives_nan_for_missing_and_numbers_for_text():
    x = as_float(["7", 3, None, float("nan"), 4.5], "CSAT")
    assert x.dtype == float
    np.testing.assert_array_equal(x, [7.0, 3.0, np.nan, np.nan, 4.5])


def test_as_float_refuses_words_naming_them():
    with pytest.raises(InputError, match=r"CES scores must be numbers.*'great'"):
        as_float([1, "great", 3], "CES")


def test_validate_scores_passes_answers_in_scale_and_ignores_missing():
    validate_scores(np.array([1.0, 5.0, np.nan, 2.5]), "CSAT", (1, 5), integer=False)


@pytest.mark.parametrize("x, integer, bad", [([0.0, 3.0], False, "0"), ([1.0, 6.0], False, "6"),
                                             ([1.0, 2.5], True, "2.5")])
def test_validate_scores_refuses_out_of_scale_or_fractional(x, integer, bad):
    with pytest.raises(InputError, match=rf"CSAT scores must be .* from 1 to 5\. Got invalid value\(s\): .*{bad}"):
        validate_scores(np.array(x), "CSAT", (1, 5), integer=integer)
