"""Tests of voc.io: formats, mapping, ids, validation messages, rejects, round-trips."""

from __future__ import annotations

import csv
import gzip
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voc import columns as C
from voc.errors import ConfigError, InputError
from voc.io import Rejects, load_feedback, rejects, validate_feedback

RECORDS = pd.DataFrame({
    "id": ["a1", "a2", "a3"],
    "text": ["Delivery was late, but \"great\" product", "アプリが落ちる😡", ""],
    "nps": [6, 1, 10],
    "date": ["2026-09-07", "2026-09-08T10:00:00+09:00", "2026-09-09 08:30"],
    "touchpoint": ["delivery", "app", "app"],
    "extra": ["x", "y", "z"],
})


def write(df: pd.DataFrame, path, fmt: str) -> None:
    """Write ``df`` in ``fmt`` (``csv``, ``tsv``, ``jsonl``, ``json``, ``parquet``)."""
    if fmt == "csv":  # quote all: pandas leaves a lone "\r" unquoted, which no reader can round-trip
        df.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    elif fmt == "tsv":
        df.to_csv(path, index=False, sep="\t")
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "json":
        df.to_json(path, orient="records", force_ascii=False)
    else:
        df.to_parquet(path, index=False)


def write_text(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- formats

@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet"])
@pytest.mark.parametrize("gz", [False, True])
def test_each_format_loads_the_same_records(tmp_path, fmt, gz):
    path = tmp_path / f"in.{fmt}"
    write(RECORDS, path, fmt)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress((tmp_path / f"in.{fmt}").read_bytes()))
    df = load_feedback(path)
    assert df[C.VOC_ID].tolist() == ["a1", "a2", "a3"]
    assert df[C.TEXT].tolist() == RECORDS["text"].tolist()
    assert df[C.HAS_TEXT].tolist() == [True, True, False]
    assert df[C.NPS].dtype == "Int64" and df[C.NPS].tolist() == [6, 1, 10]
    assert df[C.DATE].tolist() == [pd.Timestamp("2026-09-07"), pd.Timestamp("2026-09-08 01:00"),
                                   pd.Timestamp("2026-09-09 08:30")]
    assert df["extra"].tolist() == ["x", "y", "z"]
    expected_lines = [1, 2, 3] if fmt in ("json", "parquet") else ([2, 3, 4] if fmt != "jsonl" else [1, 2, 3])
    assert df[C.SOURCE_LINE].tolist() == expected_lines
    assert df.attrs["voc_line_unit"] == ("record" if fmt in ("json", "parquet") else "line")
    assert list(df.columns[:4]) == [C.VOC_ID, C.TEXT, C.HAS_TEXT, C.SOURCE_LINE]


def test_dataframe_source_and_format_override(tmp_path):
    df = load_feedback(RECORDS)
    assert df[C.SOURCE_LINE].tolist() == [1, 2, 3]
    path = tmp_path / "data.txt"
    write(RECORDS, path, "jsonl")
    assert load_feedback(path, format="jsonl")[C.VOC_ID].tolist() == ["a1", "a2", "a3"]


def test_csv_line_numbers_count_physical_lines(tmp_path):
    path = write_text(tmp_path, "m.csv", 'text,nps\n"two\nlines",5\n\nthird,7\r\n"x\r\ny\r\nz",8\n')
    df = load_feedback(path)
    assert df[C.SOURCE_LINE].tolist() == [2, 5, 6]
    assert df[C.TEXT].tolist() == ["two\nlines", "third", "x\r\ny\r\nz"]


def test_jsonl_blank_lines_keep_line_numbers(tmp_path):
    path = write_text(tmp_path, "b.jsonl", '{"text": "a"}\n\n{"text": "b", "nps": 3}\n')
    df = load_feedback(path)
    assert df[C.SOURCE_LINE].tolist() == [1, 3]
    assert df[C.NPS].tolist()[1] == 3 and df[C.NPS].isna().tolist()[0]


# --------------------------------------------------------------------------- mapping

def test_auto_mapping_recognises_common_names():
    raw = pd.DataFrame({"Ticket ID": ["t1"], "Comment": ["hi"], "Created At": ["2026-01-01"],
                        "journey_stage": ["app"], "source": ["social"],
                        "Likelihood to recommend": [9], "Effort": [6], "Satisfaction": [5], "other": [1]})
    df = load_feedback(raw)
    assert df.attrs["voc_mapping"] == {
        "text": "Comment", "voc_id": "Ticket ID", "date": "Created At", "touchpoint": "journey_stage",
        "channel": "source", "nps": "Likelihood to recommend", "ces": "Effort", "csat": "Satisfaction",
    }
    assert list(df.columns) == [C.VOC_ID, C.TEXT, C.HAS_TEXT, C.SOURCE_LINE, C.DATE, C.TOUCHPOINT,
                                C.CHANNEL, C.NPS, C.CES, C.CSAT, "other"]
    assert df[C.CES].dtype == "Float64"


def test_explicit_mapping_wins_and_is_case_insensitive():
    raw = pd.DataFrame({"text": ["short"], "Body": ["long text"], "score": [7]})
    df = load_feedback(raw, text_col="body", nps_col="score")
    assert df.attrs["voc_mapping"] == {"text": "Body", "nps": "score"}
    assert df[C.TEXT].tolist() == ["long text"]
    assert df["text_input"].tolist() == ["short"]  # a voc name passing through is renamed


CLOTHING_CSV = (
    "Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,Division Name,"
    "Department Name,Class Name\n"
    "767,33,,Absolutely wonderful - silky and comfortable,4,1,0,Initmates,Intimate,Intimates\n"
    "1080,34,,Love this dress! it's sooo pretty.,5,1,4,General,Dresses,Dresses\n"
    "1077,60,Some major design flaws,\"I had such high hopes, the arm holes were tight\",3,0,0,General,Dresses,Dresses\n"
    "1049,50,My favorite buy!,\"I love, love, love this jumpsuit.\",5,1,0,General Petite,Bottoms,Pants\n"
    "1080,47,Flattering shirt,This shirt is very flattering,1,0,6,General,Tops,Blouses\n"
)


def test_womens_clothing_headers_map_without_flags(tmp_path):
    path = write_text(tmp_path, "clothing.csv", CLOTHING_CSV)
    df = load_feedback(path)
    assert df.attrs["voc_mapping"] == {"text": "Review Text", "touchpoint": "Department Name", "csat": "Rating"}
    assert df[C.CSAT].tolist() == [4, 5, 3, 5, 1] and df[C.TOUCHPOINT].tolist()[:2] == ["Intimate", "Dresses"]
    assert df[C.VOC_ID].nunique() == 5                 # "Clothing ID" repeats: a product, not a record id
    notes = df.attrs["voc_mapping_notes"]
    assert set(notes) == {"touchpoint", "csat"}        # "Review Text" is a known name, not a guess
    assert notes["csat"].startswith("guessed from header 'Rating': values 1..5 fit the CSAT scale 1..5")
    summary = validate_feedback(path).summary()
    assert "csat <- Rating (guessed from header 'Rating'" in summary
    assert "touchpoint <- Department Name (guessed from header 'Department Name'" in summary


@pytest.mark.parametrize("headers,expected", [
    ({"ReviewText": "t", "DepartmentName": "Tops", "Rating": "4"},
     {"text": "ReviewText", "touchpoint": "DepartmentName", "csat": "Rating"}),
    ({"open-ended-response": "t", "date-of-review": "2026-01-02", "SurveyID": "s1", "TrafficSource": "web",
      "NPSRating": "9", "effort_rating": "3", "Overall Satisfaction": "5"},
     {"text": "open-ended-response", "voc_id": "SurveyID", "date": "date-of-review", "channel": "TrafficSource",
      "nps": "NPSRating", "ces": "effort_rating", "csat": "Overall Satisfaction"}),
    ({"CustomerComments": "t", "CreatedAt": "2026-01-02", "JourneyStep": "app", "Stars": "5"},
     {"text": "CustomerComments", "date": "CreatedAt", "touchpoint": "JourneyStep", "csat": "Stars"}),
    ({"Product Category": "shoes", "Free Text": "t", "Score": "2"},
     {"text": "Free Text", "touchpoint": "Product Category", "csat": "Score"}),
])
def test_compound_headers_are_guessed_and_reported(headers, expected):
    df = load_feedback(pd.DataFrame({k: [v] for k, v in headers.items()}))
    assert df.attrs["voc_mapping"] == expected
    for vocab, col in expected.items():
        assert df.attrs["voc_mapping_notes"][vocab].startswith(f"guessed from header '{col}'")


@pytest.mark.parametrize("headers,expected", [
    ({"ID": ["a", "b"], "投稿日": ["2026-01-05", "2026-01-06"], "接点": ["アプリ", "店舗"], "チャネル": ["x", "y"],
      "本文": ["遅い", "良い"], "推奨度": ["3", "9"], "評価": ["2", "5"]},
     {"text": "本文", "voc_id": "ID", "date": "投稿日", "touchpoint": "接点", "channel": "チャネル",
      "nps": "推奨度", "csat": "評価"}),
    ({"回答ID": ["a", "b"], "日付": ["2026-01-05", "2026-01-06"], "タッチポイント": ["web", "app"],
      "コメント": ["遅い", "良い"], "点数": ["1", "5"], "手間": ["3", "6"]},
     {"text": "コメント", "voc_id": "回答ID", "date": "日付", "touchpoint": "タッチポイント", "ces": "手間",
      "csat": "点数"}),
    ({"問い合わせ内容": ["遅い", "良い"], "受付日時": ["2026-01-05", "2026-01-06"], "顧客満足度": ["4", "5"],
      "カテゴリ": ["配送", "返品"]},
     {"text": "問い合わせ内容", "date": "受付日時", "touchpoint": "カテゴリ", "csat": "顧客満足度"}),
    ({"内容": ["遅い", "良い"], "ＩＤ": ["1", "2"]}, {"text": "内容", "voc_id": "ＩＤ"}),
])
def test_japanese_headers_are_recognised(headers, expected):
    df = load_feedback(pd.DataFrame(headers))
    assert df.attrs["voc_mapping"] == expected
    assert df[C.TEXT].tolist() == headers[expected["text"]]


def test_guesses_are_checked_against_values_and_never_beat_known_names():
    rating_0_10 = pd.DataFrame({"Review": ["a", "b"], "Rating": ["0", "10"], "Category": ["x", "y"]})
    df = load_feedback(rating_0_10)
    assert df.attrs["voc_mapping"] == {"text": "Review", "touchpoint": "Category"}   # 0..10 is no CSAT
    many = pd.DataFrame({"text": [f"t{i}" for i in range(60)], "Category": [f"c{i}" for i in range(60)]})
    assert "touchpoint" not in load_feedback(many).attrs["voc_mapping"]           # 60 values: no journey
    both = pd.DataFrame({"ReviewText": ["guess"], "comment": ["known"], "Date Created": ["2026-01-01"],
                         "date": ["2026-01-02"], "Department": ["d"], "stage": ["s"]})
    df = load_feedback(both)
    assert df.attrs["voc_mapping"] == {"text": "comment", "date": "date", "touchpoint": "stage"}
    assert df.attrs["voc_mapping_notes"] == {}
    assert load_feedback(pd.DataFrame({"text": ["a"], "Rating": ["4"]}), csat_col=None,
                         csat_scale=(1, 3)).attrs["voc_mapping"] == {"text": "text"}


def test_python_api_errors_name_keyword_arguments(tmp_path):
    raw = pd.DataFrame({"id": ["1"], "body": ["a"], "nps": ["11"]})
    with pytest.raises(InputError, match=r"Use text_col=\.$"):
        load_feedback(raw, text_col="nope")
    with pytest.raises(InputError, match=r"No text column found\. Available: id, nps\. Use text_col= to name it"):
        load_feedback(raw.drop(columns="body"))
    with pytest.raises(InputError) as info:
        load_feedback(raw)
    assert "map another column with nps_col=, or pass on_error='skip'." in str(info.value)
    assert "--" not in str(info.value)


def test_content_hash_ids_are_stable_and_distinct(tmp_path):
    raw = pd.DataFrame({"text": ["same", "same", "other"], "nps": [5, 5, 5]})
    ids = load_feedback(raw)[C.VOC_ID].tolist()
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    assert load_feedback(raw)[C.VOC_ID].tolist() == ids
    write(raw, tmp_path / "r.csv", "csv")
    write(raw, tmp_path / "r.jsonl", "jsonl")
    assert load_feedback(tmp_path / "r.csv")[C.VOC_ID].tolist() == ids
    assert load_feedback(tmp_path / "r.jsonl")[C.VOC_ID].tolist() == ids
    # a row's id does not depend on the rows around it
    assert load_feedback(raw.iloc[[2]])[C.VOC_ID].tolist() == [ids[2]]


# --------------------------------------------------------------------------- errors

def csv_error(tmp_path, text, **kw):
    path = write_text(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as info:
        load_feedback(path, **kw)
    return str(info.value).replace(str(path), "bad.csv")


def test_missing_named_column(tmp_path):
    msg = csv_error(tmp_path, "id,text,score\n1,a,5\n", nps_col="nps")
    assert msg == "Column 'nps' not found. Available: id, text, score. Use nps_col=."


def test_no_text_column(tmp_path):
    msg = csv_error(tmp_path, "id,score\n1,5\n")
    assert msg == "No text column found. Available: id, score. Use text_col= to name it."


def test_nps_not_integer_0_to_10(tmp_path):
    rows = "".join(f"r{i},t,{v}\n" for i, v in enumerate(["5", "11", "x", "7.5", "-1", "3", "12", "99", "10"]))
    msg = csv_error(tmp_path, "id,text,nps\n" + rows)
    assert msg == ("NPS must be an integer 0..10 in column 'nps': 6 rows (lines 3, 4, 5, 6, 8, ...), e.g. '11'. "
                   "Fix the values, map another column with nps_col=, or pass on_error='skip'.")


@pytest.mark.parametrize("col,name,scale,option", [("ces", "CES", "1..7", "ces"), ("csat", "CSAT", "1..5", "csat")])
def test_score_outside_scale(tmp_path, col, name, scale, option):
    msg = csv_error(tmp_path, f"text,{col}\na,3\nb,9\n")
    assert msg == (f"{name} must be a number on the scale {scale} in column '{col}': 1 row (line 3), e.g. '9'. "
                   f"Set the scale with {option}_scale=(LOW, HIGH), map another column with "
                   f"{option}_col=, or pass on_error='skip'.")


def test_custom_scale_accepts_values(tmp_path):
    path = write_text(tmp_path, "s.csv", "text,ces\na,3\nb,9\n")
    assert load_feedback(path, ces_scale=(0, 10))[C.CES].tolist() == [3.0, 9.0]


def test_unparseable_dates(tmp_path):
    msg = csv_error(tmp_path, "text,date\na,2026-09-07\nb,yesterday\nc,Sep 9 2026\n")
    assert msg == ("Unparseable dates in column 'date': 1 row (line 3), e.g. 'yesterday'. Use ISO dates like "
                   "2026-09-07, map another column with date_col=, or pass on_error='skip'.")


def test_duplicate_ids(tmp_path):
    msg = csv_error(tmp_path, "id,text\na,x\nb,y\na,z\n")
    assert msg == ("Duplicate ids in column 'id': 1 row (line 4), e.g. 'a'. Make the ids unique, use id_col= "
                   "to map another column, or pass on_error='skip' (keeps the first).")


@pytest.mark.parametrize("text,encoding,guess", [
    ("text\ncafé crème\n", "cp1252", "cp1252"),
    ("text\nok\n配送が遅かったです\n", "cp932", "cp932"),
])
def test_non_utf8_file_suggests_encoding(tmp_path, text, encoding, guess):
    path = write_text(tmp_path, "enc.csv", text, encoding)
    with pytest.raises(InputError) as info:
        load_feedback(path)
    line = 2 if encoding == "cp1252" else 3
    byte = text.split("\n")[line - 1].encode(encoding)[[c.isascii() for c in text.split("\n")[line - 1]].index(False)]
    assert str(info.value) == (f"File '{path}' is not valid UTF-8 (first bad byte 0x{byte:02x} on line {line}); "
                               f"it looks like {guess}. Pass encoding='{guess}'.")
    assert load_feedback(path, encoding=guess)[C.TEXT].tolist()[-1] == text.split("\n")[-2]


@pytest.mark.parametrize("name,text,message", [
    ("e.csv", "", "File 'e.csv' is empty. Give a file with a header and at least one record."),
    ("e.jsonl", "\n  \n", "File 'e.jsonl' is empty. Give a file with a header and at least one record."),
    ("h.csv", "id,text\n", "File 'h.csv' has a header but no records. Add at least one record below the header."),
    ("h.json", "[]", "File 'h.json' has no records. Give at least one record."),
    ("x.xlsx", "a", "Cannot tell the format of 'x.xlsx' from its suffix. Formats: csv, tsv, jsonl, json, "
                    "parquet (optionally .gz). Use format=."),
])
def test_file_level_errors(tmp_path, monkeypatch, name, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        load_feedback(name, on_error="skip")


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^File 'nope.csv' not found\.$"):
        load_feedback("nope.csv")


def test_malformed_csv_line(tmp_path):
    msg = csv_error(tmp_path, "id,text,nps\n1,ok,5\n2,too,many,fields\n3,fine,7\n")
    assert msg == ("Malformed CSV lines in 'bad.csv': 1 row (line 3), e.g. line 3: 4 fields, header has 3. "
                   "Fix the quoting/format of those lines or pass on_error='skip'.")


def test_broken_csv_quoting_fails_with_line(tmp_path):
    msg = csv_error(tmp_path, 'text,nps\nok,5\n"bad"x,3\n', on_error="skip")
    assert msg.startswith("Malformed CSV in 'bad.csv' at line 3: ")


def test_malformed_jsonl_line(tmp_path):
    path = write_text(tmp_path, "bad.jsonl", '{"text": "a"}\n{"text": "b",\n[1, 2]\n{"text": "c"}\n')
    with pytest.raises(InputError) as info:
        load_feedback(path)
    assert str(info.value) == (
        f"Malformed JSONL lines in '{path}': 2 rows (lines 2, 3), e.g. line 2: invalid JSON (Expecting "
        f"property name enclosed in double quotes at column 14). Fix the quoting/format of those lines or "
        f"pass on_error='skip'.")
    df = load_feedback(path, on_error="skip")
    assert df[C.TEXT].tolist() == ["a", "c"]
    assert rejects(df)[C.SOURCE_LINE].tolist() == [2, 3]


def test_bad_option_values():
    with pytest.raises(ConfigError, match=r"^on_error must be one of fail, skip\. Got 'ignore'\.$"):
        load_feedback(RECORDS, on_error="ignore")
    with pytest.raises(ConfigError, match=r"^Unknown format 'xls'\. Allowed: csv, tsv, jsonl, json, parquet\.$"):
        load_feedback("x.csv", format="xls")


# --------------------------------------------------------------------------- skip and rejects

def test_skip_writes_rejects_with_line_numbers(tmp_path):
    path = write_text(tmp_path, "in.csv", "id,text,nps\n1,ok,5\n2,\"multi\nline\",11\n3,fine,7\n1,dup,3\n4,x\n")
    out = tmp_path / "rejects.csv"
    df = load_feedback(path, on_error="skip", rejects_path=out)
    assert df[C.VOC_ID].tolist() == ["1", "3"]
    rej = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert rej["source_line"].tolist() == ["3", "6", "7"]
    assert rej["reason"].tolist() == ["NPS not an integer 0..10 in 'nps'", "duplicate id in 'id'",
                                      "malformed CSV line: 2 fields, header has 3"]
    assert rej["text"].tolist() == ["multi\nline", "dup", "x"]
    # nothing silently dropped: every record is kept or rejected
    assert len(df) + len(rejects(df)) == 5
    assert isinstance(df.attrs["voc_rejects"], Rejects) and len(df.attrs["voc_rejects"]) == 3


def test_rejects_file_written_even_when_failing(tmp_path):
    path = write_text(tmp_path, "in.csv", "text,nps\nok,5\nbad,eleven\n")
    out = tmp_path / "rej.csv"
    with pytest.raises(InputError):
        load_feedback(path, rejects_path=out)
    assert pd.read_csv(out)["source_line"].tolist() == [3]


def test_empty_text_is_kept_not_rejected():
    df = load_feedback(pd.DataFrame({"text": ["", "   ", None, "ok"], "nps": [1, 2, 3, 4]}))
    assert df[C.HAS_TEXT].tolist() == [False, False, False, True]
    assert df[C.TEXT].tolist() == ["", "   ", "", "ok"]
    assert len(rejects(df)) == 0


def test_attrs_survive_pandas_operations():
    df = load_feedback(pd.DataFrame({"id": ["a", "a", "b"], "text": ["x", "y", "z"]}), on_error="skip")
    both = pd.concat([df, df[df[C.HAS_TEXT]].copy()])  # would raise with a bare DataFrame in attrs
    assert len(both) == 4 and both.attrs["voc_mapping"] == {"text": "text", "voc_id": "id"}


# --------------------------------------------------------------------------- validation report

def test_validate_feedback_summary():
    raw = RECORDS.assign(ces=[7, 2, None])
    report = validate_feedback(raw)
    text = report.summary()
    assert "Rows: 3 (2 with text, 1 without)" in text
    assert "Languages: en 1, ja 1" in text
    assert "Columns mapped: text <- text, voc_id <- id, date <- date, touchpoint <- touchpoint, nps <- nps, ces <- ces" in text
    assert "Score coverage: NPS 100%, CES 67%, CSAT 0%" in text
    assert "Date range: 2026-09-07 to 2026-09-09" in text
    assert "Touchpoints: app 2, delivery 1" in text
    assert text.endswith("Problems: none")


def test_validate_feedback_lists_skipped_problems():
    raw = pd.DataFrame({"text": ["a", "b", "c"], "nps": [1, 20, 30]})
    report = validate_feedback(raw, on_error="skip")
    assert not report.ok
    assert report.summary().splitlines()[-2:] == [
        "Problems: 2 row(s) skipped", "  - NPS not an integer 0..10 in 'nps': 2 rows (records 2, 3)"]


# --------------------------------------------------------------------------- round trip and speed

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT | st.sampled_from(["配送が遅い😡", 'say "hi",\n\tok', "\r\n", "NA", "null"]),
                      min_size=1, max_size=6))
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_any_unicode_text_round_trips(tmp_path, fmt, texts):
    path = tmp_path / f"rt.{fmt}"
    write(pd.DataFrame({"text": texts, "nps": np.arange(len(texts)) % 11}), path, fmt)
    df = load_feedback(path)
    assert df[C.TEXT].tolist() == texts
    assert df[C.HAS_TEXT].tolist() == [t.strip() != "" for t in texts]


def test_a_100000_row_csv_loads_every_row(tmp_path):
    n = 100_000
    raw = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": ["The app crashes on login, again"] * n,
                        "date": ["2026-09-07 10:00"] * n, "nps": np.arange(n) % 11, "ces": np.arange(n) % 7 + 1})
    path = tmp_path / "big.csv"
    raw.to_csv(path, index=False)
    df = load_feedback(path)  # its speed: benchmarks/hardening.py
    assert len(df) == n


def test_timezone_aware_dates_become_naive_utc():
    raw = pd.DataFrame({"text": ["a", "b"],
                        "date": pd.to_datetime(["2026-09-07 09:00", "2026-09-08 00:30"]).tz_localize("Asia/Tokyo")})
    df = load_feedback(raw)
    assert df[C.DATE].tolist() == [pd.Timestamp("2026-09-07 00:00"), pd.Timestamp("2026-09-07 15:30")]


def test_file_with_only_malformed_lines_always_fails(tmp_path):
    path = write_text(tmp_path, "bad.jsonl", '{"text": 1\n[2]\n')
    with pytest.raises(InputError, match=r"Malformed JSONL lines in .*: 2 rows \(lines 1, 2\).*no record could be read\.$"):
        load_feedback(path, on_error="skip")
