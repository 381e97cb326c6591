"""The helpers the two drivers share (voc.steps, voc.provenance, voc.outputs, voc.streaming, voc.executors)
and the load result object (voc.io.Loaded)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FakeEmbedder
from voc import columns as C
from voc.config import Config
from voc.errors import ConfigError, InputError, ModelError
from voc.io import Loaded, Rejects, as_loaded, iter_feedback, iter_loaded, load_feedback, read_feedback, rejects

RAW = pd.DataFrame({"id": ["a", "b", "b", "c"], "text": ["late parcel", "great app", "dup", ""],
                    "nps": [3, 10, 5, 11]})


# --- voc.io.Loaded ----------------------------------------------------------------------------


def test_read_feedback_gives_the_records_and_side_data_apart():
    loaded = read_feedback(RAW, on_error="skip")
    assert isinstance(loaded, Loaded)
    assert loaded.frame[C.VOC_ID].tolist() == ["a", "b"]
    assert loaded.frame.attrs == {}
    assert loaded.mapping == {"text": "text", "voc_id": "id", "nps": "nps"}
    assert loaded.rejects[C.SOURCE_LINE].tolist() == [3, 4]
    assert loaded.source == "DataFrame" and loaded.line_unit == "record" and loaded.warnings == []
    assert "2 records, 2 rejects" in repr(loaded)


def test_load_feedback_is_read_feedback_with_the_documented_attrs():
    loaded = read_feedback(RAW, on_error="skip")
    df = load_feedback(RAW, on_error="skip")
    pd.testing.assert_frame_equal(df, loaded.frame)
    assert df.attrs["voc_mapping"] == loaded.mapping
    assert df.attrs["voc_mapping_notes"] == loaded.notes
    assert isinstance(df.attrs["voc_rejects"], Rejects)
    pd.testing.assert_frame_equal(rejects(df), loaded.rejects)
    assert (df.attrs["voc_line_unit"], df.attrs["voc_source"], df.attrs["voc_warnings"]) == ("record", "DataFrame", [])


def test_to_frame_and_from_frame_round_trip():
    loaded = read_feedback(RAW, on_error="skip")
    df = loaded.to_frame()
    assert loaded.frame.attrs == {}  # to_frame does not touch the Loaded
    back = Loaded.from_frame(df)
    assert back.frame.attrs == {} and df.attrs  # from_frame does not touch the frame either
    pd.testing.assert_frame_equal(back.frame, loaded.frame)
    pd.testing.assert_frame_equal(back.rejects, loaded.rejects)
    assert (back.mapping, back.notes, back.warnings, back.source, back.line_unit) == (
        loaded.mapping, loaded.notes, loaded.warnings, loaded.source, loaded.line_unit)


def test_as_loaded_accepts_what_analyze_accepts():
    loaded = read_feedback(RAW, on_error="skip")
    assert as_loaded(loaded) is loaded
    assert as_loaded(loaded.to_frame()).mapping == loaded.mapping
    raw = as_loaded(pd.DataFrame({"comment": ["hello"]}))  # no voc_id: loaded first
    assert raw.mapping == {"text": "comment"} and raw.frame[C.TEXT].tolist() == ["hello"]
    by_hand = as_loaded(pd.DataFrame({C.VOC_ID: ["x"], C.TEXT: ["hi"]}))  # voc columns, no attrs
    assert by_hand.mapping == {} and len(by_hand.rejects) == 0


def test_with_frame_keeps_the_side_data():
    loaded = read_feedback(RAW, on_error="skip")
    part = loaded.with_frame(loaded.frame.iloc[:1])
    assert len(part.frame) == 1 and part.mapping is loaded.mapping and part.rejects is loaded.rejects
    assert len(loaded.frame) == 2


def test_iter_loaded_chunks_add_up_to_read_feedback(tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame({"id": ["a", "a", "b", "c"], "text": ["w", "x", "y", "z"], "nps": [3, 5, 11, 4]}).to_csv(
        path, index=False)  # every chunk of 2 keeps a row (a chunk with none is not yielded)
    whole = read_feedback(path, on_error="skip")
    chunks = list(iter_loaded(path, chunk_size=2, on_error="skip"))
    assert all(isinstance(c, Loaded) and c.frame.attrs == {} for c in chunks)
    pd.testing.assert_frame_equal(pd.concat([c.frame for c in chunks], ignore_index=True), whole.frame)
    assert sum(len(c.rejects) for c in chunks) == len(whole.rejects)
    frames = list(iter_feedback(path, chunk_size=2, on_error="skip"))
    assert [len(f) for f in frames] == [len(c.frame) for c in chunks]
    assert frames[0].attrs["voc_mapping"] == whole.mapping


def test_read_feedback_refuses_unknown_options():
    with pytest.raises(ConfigError, match="Unknown load option"):
        read_feedback(RAW, txt_col="text")
    with pytest.raises(ConfigError, match="on_error must be one of"):
        read_feedback(RAW, on_error="ignore")


# --- voc.io.convert / voc.io.validate ---------------------------------------------------------


def test_convert_helpers():
    from voc.io.convert import check_scale, where_lines
    from voc.io.validate import script_language

    assert where_lines([3, 6, 7]) == "3 rows (lines 3, 6, 7)"
    assert where_lines(list(range(1, 8)), "record") == "7 rows (records 1, 2, 3, 4, 5, ...)"
    assert check_scale("ces_scale", ["1", 5]) == (1, 5)
    with pytest.raises(ConfigError, match="low < high"):
        check_scale("ces_scale", (5, 1))
    assert [script_language(t) for t in ("遅い", "late", "123")] == ["ja", "en", "und"]


# --- voc.steps --------------------------------------------------------------------------------


def test_ces_warning_only_for_unconfigured_ces_answers(caplog):
    from voc.steps import ces_warning, warn

    with_ces = pd.DataFrame({C.CES: [3.0, None]})
    message = ces_warning(with_ces, Config())
    assert message.startswith("CES scale and direction not configured; assumed 1-7, higher is easier.")
    assert ces_warning(with_ces, Config(ces_configured=True)) is None
    assert ces_warning(pd.DataFrame({C.CES: [None]}), Config()) is None
    seen: list[str] = []
    warn(seen, message)
    warn(seen, None)
    assert seen == [message] and message in caplog.text


def test_run_errors_name_the_fix():
    from voc.steps import no_records_error, no_text_error

    assert isinstance(no_records_error(3), InputError) and "all 3 rows were rejected" in str(no_records_error(3))
    assert "(5 records, all empty). Check --text-col." in str(no_text_error(5))


def test_choose_embedder_builds_a_spec_and_checks_the_model():
    from voc.steps import choose_embedder

    fake = FakeEmbedder()
    assert choose_embedder(Config(), None, ["en"], fake) == (fake, fake)
    built = []
    spec, emb = choose_embedder(Config(embedder="my-spec"), None, ["en"], build=lambda s: built.append(s) or fake)
    assert (spec, emb, built) == ("my-spec", fake, ["my-spec"])

    class Model:
        embedder_name_ = "another"

    with pytest.raises(ModelError, match="fitted on 'another' embeddings"):
        choose_embedder(Config(), Model(), ["en"], fake)


def test_fit_sample_index_is_all_or_a_sorted_seeded_sample():
    from voc.steps import fit_sample_index

    np.testing.assert_array_equal(fit_sample_index(4, 10, 0), np.arange(4))
    idx = fit_sample_index(100, 10, 7)
    assert len(idx) == 10 and (np.diff(idx) > 0).all()
    np.testing.assert_array_equal(idx, fit_sample_index(100, 10, 7))


def test_apply_edits_none_leaves_the_model():
    from voc.steps import apply_edits

    model = object()
    assert apply_edits(model, None) is model


# --- voc.provenance ---------------------------------------------------------------------------


def test_frame_checksum_of_chunks_is_the_frames():
    from voc.provenance import FrameChecksum, frame_checksum

    df = pd.DataFrame({"a": range(10), "b": list("abcdefghij")})
    chunked = FrameChecksum().add(df.iloc[:4]).add(df.iloc[4:]).hexdigest()
    assert chunked == frame_checksum(df)
    assert frame_checksum(df.rename(columns={"a": "x"})) != frame_checksum(df)


def test_run_record_keeps_one_key_order():
    from voc.provenance import date_range, run_counts, run_record, scorer_name

    themes = pd.DataFrame({C.THEME: [-1, 0, 1]})
    topics = pd.DataFrame({C.TOPIC: [-1, 0]})
    counts = run_counts(records=3, records_with_text=np.int64(2), mentions=4, themes=themes, topics=topics,
                        mention_themes=pd.Series([0, 1, -1, 1]), rejected_rows=1)
    assert counts == {"records": 3, "records_with_text": 2, "mentions": 4, "themes": 2, "topics": 1,
                      "unassigned_mentions": 1, "rejected_rows": 1}
    common = dict(embedder="e", scorer=FakeEmbedder(), mapping={}, mapping_guesses={}, input_sha256="x",
                  counts=counts, languages={"en": 3}, dates=None, seconds={}, warnings=[], rank_metric="nps")
    run = run_record(config=Config(), **common)
    assert list(run)[:4] == ["voc_version", "created_at", "config", "embedder"]
    assert list(run)[-2:] == ["warnings", "rank_metric"] and "redaction" not in run
    streamed = run_record(config=Config(redact=True), engine={"name": "local"}, extra={"emerging_themes": []},
                          redacted={"email": np.int64(2)}, taxonomy={"version": "1"}, **common)
    assert list(streamed)[3] == "engine"
    assert list(streamed)[-4:] == ["rank_metric", "emerging_themes", "redaction", "taxonomy"]
    assert streamed["redaction"] == {"email": 2} and json.dumps(streamed)
    assert scorer_name(FakeEmbedder()) == FakeEmbedder().name and scorer_name(object()) == "object"
    assert date_range(pd.DataFrame({C.DATE: pd.to_datetime(["2026-01-02", "2026-01-01"])})) == [
        "2026-01-01 00:00:00", "2026-01-02 00:00:00"]
    assert date_range(pd.DataFrame({"x": [1]})) is None


# --- voc.outputs ------------------------------------------------------------------------------


def test_write_tables_and_read_safe_csv_round_trip(tmp_path):
    from voc.outputs import TOPICS_FILE, read_safe_csv, write_run_record, write_tables

    table = pd.DataFrame({"label": ["=cmd()", "'+x", "", "plain"], "n": [1, 2, 3, 4]})
    write_tables(tmp_path, themes=table, touchpoints=table, pain_points=table)
    assert not (tmp_path / TOPICS_FILE).exists()
    assert (tmp_path / "themes.csv").read_text().splitlines()[1] == "'=cmd(),1"
    pd.testing.assert_frame_equal(read_safe_csv(tmp_path / "themes.csv"), table)
    write_tables(tmp_path, themes=table, touchpoints=table, pain_points=table, topics=table)
    assert (tmp_path / TOPICS_FILE).exists()
    write_run_record(tmp_path, {"when": pd.Timestamp("2026-01-01"), "名前": "x"})
    assert json.loads((tmp_path / "run.json").read_text(encoding="utf-8")) == {
        "when": "2026-01-01 00:00:00", "名前": "x"}


# --- voc.streaming / voc.executors ------------------------------------------------------------


def test_owners_give_each_text_to_its_first_chunk():
    from voc.streaming import Owners

    owners = Owners()
    assert owners.take(["a", "b", "a"]) == ["a", "b"]
    assert owners.take(["b", "c"]) == ["c"]
    assert owners.take([]) == []


def test_parquet_appender_and_read_columns(tmp_path):
    from voc.streaming import ParquetAppender, read_columns

    out = ParquetAppender(tmp_path / "x.parquet")
    out.write(pd.DataFrame({"a": [1, 2], "b": [None, None]}))  # an all-empty column is text, not null
    out.write(pd.DataFrame({"a": [3], "b": ["x"]}))
    out.close()
    back = read_columns(tmp_path / "x.parquet", ("a", "missing"))
    assert list(back.columns) == ["a"] and back["a"].tolist() == [1, 2, 3]
    bad = ParquetAppender(tmp_path / "y.parquet")
    bad.write(pd.DataFrame({"a": [1]}))
    with pytest.raises(InputError, match="column types that differ"):
        bad.write(pd.DataFrame({"a": ["not a number"]}))
    bad.close()


def test_local_engine_lead_keeps_order_and_raises():
    from voc.executors import LocalEngine, make_engine

    engine = make_engine("local", None)
    assert isinstance(engine, LocalEngine)
    assert list(engine.lead(lambda x, k: x * k, range(6), k=2)) == [0, 2, 4, 6, 8, 10]
    assert list(engine.map(lambda x: -x, [1, 2])) == [-1, -2]

    def fails(x):
        if x == 3:
            raise ValueError("chunk 3")
        return x

    with pytest.raises(ValueError, match="chunk 3"):
        list(engine.lead(fails, range(6)))
    with pytest.raises(ConfigError, match="engine must be one of"):
        make_engine("spark", None)


# --- a chunk whose every row is rejected -----------------------------------------------------


def test_a_fully_rejected_chunk_still_counts_its_rejects(tmp_path):
    import voc
    from tests.test_engine import CONFIG, stream

    raw = voc.make_feedback(n=160, random_state=5)
    raw.loc[120:, "nps"] = 11  # the whole last chunk of 40 is out of range
    path = tmp_path / "in.csv"
    raw.to_csv(path, index=False)
    chunks = list(iter_loaded(path, chunk_size=40, on_error="skip"))
    assert [len(c.frame) for c in chunks] == [40, 40, 40, 0]
    assert [len(c.rejects) for c in chunks] == [0, 0, 0, 40]
    assert [len(f) for f in iter_feedback(path, chunk_size=40, on_error="skip")] == [40, 40, 40]
    res = stream(path, tmp_path / "out", config=CONFIG, chunk_size=40, on_error="skip")
    assert res.run["counts"]["rejected_rows"] == 40 == len(read_feedback(path, on_error="skip").rejects)
    assert res.run["counts"]["records"] == 120 and res.run["mapping"]["nps"] == "nps"
