"""Tests of the helpers one voc module shares with another (public names of their owner)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FakeEmbedder
from voc.engine import Reservoir, cached_embedder
from voc.errors import ConfigError, InputError, StoreError
from voc.pipeline import check_report_dates, new_events
from voc.store import Store
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


# --- voc.pipeline (used by voc.stream_store) -----------------------------------------------


class _LineageStore:
    def __init__(self, lineage):
        self._lineage = lineage

    def lineage(self):
        if self._lineage is None:
            raise StoreError("no lineage table")
        return self._lineage


EVENTS = [{"theme": 1, "event": "renamed", "detail": "to Delivery"},
          {"theme": 2, "event": "merged", "detail": "into 1"},
          {"theme": 2, "event": "merged", "detail": "into 1", "level": "topic"}]


def test_new_events_drops_what_the_store_already_has():
    seen = pd.DataFrame({"theme": [2, 1], "event": ["merged", "renamed"], "detail": ["into 1", "to Refunds"],
                         "level": ["theme", "theme"]})
    assert new_events(_LineageStore(seen), EVENTS) == [EVENTS[0], EVENTS[2]]


def test_new_events_reads_a_missing_level_as_theme_and_keeps_all_for_a_new_store():
    seen = pd.DataFrame({"theme": [2], "event": ["merged"], "detail": ["into 1"]})
    assert new_events(_LineageStore(seen), EVENTS) == [EVENTS[0], EVENTS[2]]
    assert new_events(_LineageStore(None), EVENTS) == EVENTS


class _RunsStore(Store):
    def __init__(self, date_min):
        super().__init__("unused.duckdb")
        self.date_min = date_min

    def runs(self):
        return pd.DataFrame({"date_min": self.date_min})


def test_check_report_dates_fails_without_any_dated_record(tmp_path):
    with pytest.raises(ConfigError, match="The report needs dated records, but 'in.csv' has no dates"):
        check_report_dates(tmp_path / "new.duckdb", "in.csv")  # no store yet
    with pytest.raises(ConfigError, match="but the input has no dates and the store holds none"):
        check_report_dates(_RunsStore([None, None]), pd.DataFrame())


def test_check_report_dates_passes_when_the_store_holds_dates():
    assert check_report_dates(_RunsStore([None, "2026-11-16"]), "in.csv") is None


# --- voc.engine (used by voc.stream_store) -------------------------------------------------


def test_cached_embedder_builds_a_spec_once_and_passes_objects_through():
    first = cached_embedder("tests.conftest:FakeEmbedder")
    assert isinstance(first, FakeEmbedder)
    assert cached_embedder("tests.conftest:FakeEmbedder") is first
    given = FakeEmbedder()
    assert cached_embedder(given) is given


def _splitmix64(i, seed):
    m = 2**64
    z = (i + (seed + 1) * 0x9E3779B97F4A7C15) % m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % m
    return z ^ (z >> 31)


def test_reservoir_priority_is_splitmix64_of_position_and_seed():
    keys = Reservoir(3, random_state=0).priority(np.arange(4))
    assert keys.dtype == np.uint64 and int(keys[0]) == 0xE220A8397B1DCDAF  # splitmix64's first output
    assert [int(k) for k in keys] == [_splitmix64(i, 0) for i in range(4)]
    assert [int(k) for k in Reservoir(3, random_state=7).priority(np.arange(4))] == \
        [_splitmix64(i, 7) for i in range(4)]


def test_reservoir_keeps_the_lowest_priorities_in_input_order():
    r = Reservoir(3, random_state=5)
    texts = [f"t{i}" for i in range(10)]
    r.add(texts[:4], ["en"] * 4)
    r.add(texts[4:], ["ja"] * 6)
    lowest = np.sort(np.argsort(r.priority(np.arange(10)))[:3])
    languages = ["en"] * 4 + ["ja"] * 6
    assert r.sample() == ([texts[i] for i in lowest], [languages[i] for i in lowest])


# --- voc.privacy (used by voc.config) -------------------------------------------------------


def test_compile_patterns_names_placeholders_and_refuses_bad_patterns():
    from voc.privacy import CUSTOM, compile_patterns

    assert compile_patterns(None) == []
    [(name, rx, placeholder)] = compile_patterns({"order_id": r"ORD-\d+"})
    assert (name, placeholder) == ("order_id", "[ORDER_ID]") and rx.search("see ORD-123")
    assert [(p[0], p[2]) for p in compile_patterns([r"\d{4}", r"x+"])] == [(CUSTOM, f"[{CUSTOM.upper()}]")] * 2
    with pytest.raises(ConfigError, match="matches the empty string"):
        compile_patterns({"any": r"\d*"})
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        compile_patterns({"bad": "("})
    with pytest.raises(ConfigError, match="Bad redaction pattern name 'order id'"):
        compile_patterns({"order id": "x"})


# --- voc.themes.summary and voc.themes.edits (used by voc.themes.taxonomy) -----------------


def test_summary_counts_shares_and_languages_per_theme():
    from voc.themes import summary as S

    labels = np.array([0, 0, 1, -1, 1, 1])
    vocab, counts = S.class_counts([["late"], ["late", "box"], ["app"], ["noise"], ["app"], ["crash"]], labels, 2)
    assert vocab == ["app", "box", "crash", "late", "noise"]
    assert counts.tolist() == [[0, 1, 0, 2, 0], [2, 0, 1, 0, 0], [0, 0, 0, 0, 1]]  # last row: noise
    sentiment = ["negative", "positive", "negative", "negative", "neutral", "negative"]
    assert S.polarity(sentiment).tolist() == [-1, 1, -1, -1, 0, -1] and S.polarity(None) is None
    neg = S.negative_mask(sentiment)
    assert neg.tolist() == [True, False, True, True, False, True]
    np.testing.assert_allclose(S.negative_shares(neg, labels, 3), [0.5, 2 / 3, np.nan])
    assert S.language_mix(["en", "ja", "en", "en", "en", "ja"], labels, 2) == ["en 1; ja 1", "en 2; ja 1"]
    assert S.merge_languages(["en 1; ja 1", "ja 3"]) == "ja 4; en 1"


def test_summary_centroids_and_exemplars():
    from voc.themes import summary as S

    X = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    labels = np.array([0, 0, 1])
    C = S.centroids(X, labels, 2)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(C[1], [0.0, 1.0])
    texts = ["The parcel came a week late.", "the parcel came a week LATE.", "ok"]
    X2 = np.array([[1.0, 0.0], [0.99, 0.1], [0.9, 0.4]], dtype=np.float32)
    # duplicates by case and spacing are quoted once; 20-200 characters come first
    assert S.exemplars(X2, texts, np.array([0, 0, 0]), 0, np.array([1.0, 0.0]), 2) == [texts[0], "ok"]
    assert S.exemplars(X2, texts, np.array([0, 0, 0]), 0, np.array([1.0, 0.0]), 0) == []
    assert S.merge_exemplars([["a", "b"], ["b", "c"]], 3) == ["a", "b", "c"]


def test_edits_empty_json_and_validation():
    from voc.themes.edits import EDIT_KEYS, edits_to_json, empty_edits, validate_edits

    assert set(empty_edits()) == set(EDIT_KEYS) and not any(empty_edits().values())
    edits = validate_edits({"rename": {"3": "Late delivery"}, "merge": [[4, 7]]}, 10, source="edits.yaml")
    assert edits["rename"] == {3: "Late delivery"} and edits["merge"] == [[4, 7]]
    assert edits_to_json(edits)["rename"] == {"3": "Late delivery"}
    assert validate_edits(None, 5, source="e") == empty_edits()
    with pytest.raises(ConfigError, match=r"Bad theme id 12 in .*theme ids are 0\.\.9"):
        validate_edits({"delete": [12]}, 10, source="edits.yaml")


# --- voc.rank (used by voc.report and voc.cli) ------------------------------------------------


def test_trim_quote_keeps_short_text_on_one_line():
    from voc.rank import trim_quote

    assert trim_quote("  late\n\tparcel  again ", 40) == "late parcel again"
    assert trim_quote(12, 40) == "12"


def test_trim_quote_cuts_at_a_word_or_at_the_character():
    from voc.rank import trim_quote

    text = "the parcel arrived late, again and again"
    assert trim_quote(text, 26) == "the parcel arrived late…"         # at the last space, "," dropped
    assert trim_quote(text, 26, at_word=False) == "the parcel arrived late,…"  # the report's cut
    assert len(trim_quote("x" * 500, 180, at_word=False)) == 180
    assert trim_quote("abcdefghij klm", 12) == "abcdefghij…"      # the space keeps > 60%
    assert trim_quote("ab cdefghijklm", 12) == "ab cdefghij…"      # it would not: cut at the character


def test_label_map_skips_missing_ids_and_labels():
    from voc.rank import label_map

    themes = pd.DataFrame({"theme": [0, 1, np.nan, 3], "label": ["late", None, "x", "返品"], "topic": [0, 0, 1, 1]})
    assert label_map(themes) == {0: "late", 3: "返品"}
    assert label_map(pd.DataFrame({"topic": [0], "label": ["delivery"]}), "topic") == {0: "delivery"}
    assert label_map(None) == {} and label_map(themes[["theme"]]) == {} and label_map(themes, "missing") == {}


def test_impact_column_prefers_the_complaint_impact_of_a_table_or_row():
    from voc.rank import impact_column

    new = pd.DataFrame(columns=["nps_impact", "complaint_nps_impact", "csat_impact"])
    assert impact_column(new, "nps") == "complaint_nps_impact"
    assert impact_column(new, "csat") == "csat_impact"                # no complaint impact for CSAT here
    assert impact_column({"ces_impact": -0.1}, "ces") == "ces_impact"
    assert impact_column({"complaint_ces_impact": -0.1}, "ces") == "complaint_ces_impact"


def test_the_console_and_the_report_show_the_same_impact_column():
    from voc.cli import _impact_text
    from voc.report.content import _impact_column  # the report's use of the rule

    row = {"nps_impact": -9.0, "nps_impact_ci_low": -12.0, "nps_impact_ci_high": -6.0, "nps_with_n": 10,
           "complaint_nps_impact": -3.0, "complaint_nps_impact_ci_low": -4.0, "complaint_nps_impact_ci_high": -2.0,
           "complaint_nps_with_n": 50}
    assert _impact_text(row, [("nps", "NPS", "+.1f")], min_n=30) == "NPS -3.0 [-4.0, -2.0]"
    assert _impact_column(pd.DataFrame([row])) == ("complaint_nps_impact", "NPS complaint impact")
    old = {k: v for k, v in row.items() if not k.startswith("complaint_")}
    assert _impact_text(old, [("nps", "NPS", "+.1f")], min_n=30) == "NPS -9.0 [-12.0, -6.0] (n=10, unreliable)"
    assert _impact_column(pd.DataFrame([old])) == ("nps_impact", "NPS impact")
    assert _impact_column(None) == ("nps_impact", "NPS impact")
