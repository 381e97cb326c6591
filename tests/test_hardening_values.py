"""Hardening, round two (issue 19): messy survey values, dates, encodings and escaping.

Each test fails on the code before the fix it names (see docs/security.md,
"Hardening round two: input values and escaping").
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from voc import columns as C
from voc.cli import main, terminal_safe
from voc.errors import ConfigError, InputError
from voc.io import MISSING_MARKERS, iter_feedback, load_feedback, rejects, validate_feedback
from voc.pipeline import Analysis, csv_safe
from tests.test_hardening import _assert_clean_exit, _assert_no_live_formulas, _fake_models

TEXTS = ["The parcel was late", "The app crashed again", "Great support solved quickly",
         "Refund took weeks", "Checkout was easy", "配送が遅かったです"]


def _csv(path, header: str, rows: list[str], encoding: str = "utf-8"):
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ----------------------------------------------------------------------------- item 2: CES/CSAT values

@pytest.mark.parametrize("marker", ["N/A", "NA", "-", "n.a.", "nan", "NULL", "Ｎ／Ａ", "－", "無回答"])
@pytest.mark.parametrize("column", ["nps", "ces", "csat"])
def test_missing_value_markers_are_missing_in_every_score(tmp_path, marker, column):
    path = _csv(tmp_path / "m.csv", f"id,text,{column}", [f"1,hello there,{marker}", "2,fine,3"])
    df = load_feedback(path)
    assert df[column].isna().tolist() == [True, False]
    assert len(rejects(df)) == 0


def test_one_list_of_missing_markers_documented():
    assert {"na", "n/a", "n.a.", "nan", "-"} <= set(MISSING_MARKERS)
    assert "x" not in MISSING_MARKERS  # an unknown value is a problem, never silently missing


@pytest.mark.parametrize("column, value, expected", [("ces", "４", 4.0), ("csat", "５", 5.0), ("nps", "１０", 10),
                                                     ("ces", "３．５", 3.5)])
def test_full_width_digits_are_digits(tmp_path, column, value, expected):
    path = _csv(tmp_path / "w.csv", f"id,text,{column}", [f"1,hello there,{value}"])
    assert load_feedback(path)[column].tolist() == [expected]


@pytest.mark.parametrize("column, name", [("ces", "CES"), ("csat", "CSAT")])
def test_non_numeric_ces_csat_is_a_row_problem_with_its_line(tmp_path, column, name):
    path = _csv(tmp_path / "x.csv", f"id,text,nps,{column}", ["1,hello there,5,2", "2,ok,5,x", "3,fine,7,N/A"])
    with pytest.raises(InputError, match=rf"^{name} must be a number on the scale .* 1 row \(line 3\), e.g. 'x'"):
        load_feedback(path)
    df = load_feedback(path, on_error="skip")
    assert df[C.VOC_ID].tolist() == ["1", "3"]
    assert rejects(df)[C.SOURCE_LINE].tolist() == [3]


def test_cli_validate_and_run_with_na_scores(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    rows = [f"{i},{TEXTS[i % 5]},{i % 11},{['N/A', '4', 'x', '５'][i % 4]}" for i in range(24)]
    path = _csv(tmp_path / "in.csv", "id,text,nps,csat", rows)
    failed = _invoke("validate", path)
    _assert_clean_exit(failed, 2)
    assert "CSAT must be a number on the scale 1..5 in column 'csat'" in failed.output
    ok = _invoke("validate", path, "--on-error", "skip")
    _assert_clean_exit(ok, 0)
    assert "Problems: 6 row(s) skipped" in ok.output
    result = _invoke("run", path, "--out", tmp_path / "out", "--quiet", "--on-error", "skip",
                     "--rejects", tmp_path / "rej.csv")
    _assert_clean_exit(result, 0)
    records = pd.read_parquet(tmp_path / "out" / "records.parquet")
    assert len(records) == 18 and records[C.CSAT].isna().sum() == 6
    assert pd.read_csv(tmp_path / "rej.csv")[C.SOURCE_LINE].tolist() == [i + 2 for i in range(2, 24, 4)]


# ----------------------------------------------------------------------------- item 3: redacted rejects

PII_ROWS = ["1,mail me at taro@example.com card 4111 1111 1111 1111,11"] + [
    f"{i},{TEXTS[i % 5]},{i % 11}" for i in range(2, 26)]


@pytest.mark.parametrize("engine", [[], ["--engine", "local", "--chunk-size", "7"]], ids=["memory", "local"])
def test_redact_covers_the_rejects_file_on_every_path(tmp_path, monkeypatch, engine):
    _fake_models(monkeypatch)
    path = _csv(tmp_path / "pii.csv", "id,text,nps", PII_ROWS)
    rej = tmp_path / "rejects.csv"
    result = _invoke("run", path, "--out", tmp_path / "out", "--quiet", "--redact", "--on-error", "skip",
                     "--rejects", rej, *engine)
    _assert_clean_exit(result, 0)
    text = rej.read_text(encoding="utf-8")
    assert "taro@example.com" not in text and "4111" not in text
    assert "[EMAIL]" in text and "[CARD]" in text


@pytest.mark.parametrize("engine", [[], ["--engine", "local"]], ids=["memory", "local"])
def test_redacted_rejects_are_written_also_when_the_load_fails(tmp_path, monkeypatch, engine):
    _fake_models(monkeypatch)
    path = _csv(tmp_path / "pii.csv", "id,text,nps", PII_ROWS)
    rej = tmp_path / "rejects.csv"
    result = _invoke("run", path, "--out", tmp_path / "out", "--quiet", "--redact", "--rejects", rej, *engine)
    _assert_clean_exit(result, 2)
    text = rej.read_text(encoding="utf-8")
    assert "taro@example.com" not in text and "[EMAIL]" in text


def test_load_feedback_redacts_rejects_in_memory():
    df = pd.DataFrame({"text": ["call 090-1234-5678", "ok"], "nps": ["eleven", "5"]})
    out = load_feedback(df, on_error="skip", redact_rejects=True)
    assert rejects(out)["text"].tolist() == ["call [PHONE]"]


# ----------------------------------------------------------------------------- item 5: dates

def _dates(values, **options):
    df = load_feedback(pd.DataFrame({"text": ["x"] * len(values), "date": values}), **options)
    return [None if pd.isna(d) else f"{d:%Y-%m-%d %H:%M}" for d in df[C.DATE]], df.attrs.get("voc_warnings", [])


def test_one_date_order_per_column_day_first_proven():
    got, warnings = _dates(["03/04/2026", "13/04/2026"])
    assert got == ["2026-04-03 00:00", "2026-04-13 00:00"] and warnings == []


def test_one_date_order_per_column_month_first_proven():
    got, warnings = _dates(["03/04/2026", "04/13/2026"])
    assert got == ["2026-03-04 00:00", "2026-04-13 00:00"] and warnings == []


def test_dotted_dates_are_day_first():
    got, warnings = _dates(["07.09.2026", "08.09.2026"])
    assert got == ["2026-09-07 00:00", "2026-09-08 00:00"]
    assert len(warnings) == 1 and "read as day first" in warnings[0]


def test_undecidable_dates_warn_and_date_format_decides(tmp_path, monkeypatch):
    got, warnings = _dates(["03/04/2026", "05/06/2026"])
    assert got == ["2026-03-04 00:00", "2026-05-06 00:00"]
    assert len(warnings) == 1 and "ambiguous" in warnings[0] and "date_format='dmy'" in warnings[0]
    got, warnings = _dates(["03/04/2026", "05/06/2026"], date_format="dmy")
    assert got == ["2026-04-03 00:00", "2026-06-05 00:00"] and warnings == []
    got, _ = _dates(["03.04.2026 10:30"], date_format="%d.%m.%Y %H:%M")
    assert got == ["2026-04-03 10:30"]
    with pytest.raises(ConfigError, match="date_format must be auto, dmy, mdy or a strptime format"):
        _dates(["03/04/2026"], date_format="european")


def test_dates_contradicting_the_column_format_fail_with_line_numbers(tmp_path):
    path = _csv(tmp_path / "d.csv", "text,date", ["a,13/04/2026", "b,14/04/2026", "c,04/15/2026", "d,03/04/2026"])
    with pytest.raises(InputError, match=r"contradict the column's format day first \(DD/MM/YYYY\).*"
                                         r"1 row \(line 4\), e.g. '04/15/2026'"):
        load_feedback(path)
    df = load_feedback(path, on_error="skip")
    assert [f"{d:%m-%d}" for d in df[C.DATE]] == ["04-13", "04-14", "04-03"]
    assert rejects(df)[C.SOURCE_LINE].tolist() == [4]


def test_date_not_matching_the_given_format_is_a_row_problem():
    with pytest.raises(InputError, match=r"do not match date_format='%d.%m.%Y': 1 row \(record 2\)"):
        _dates(["03.04.2026", "2026-04-13"], date_format="%d.%m.%Y")


@pytest.mark.parametrize("value, expected", [
    ("2026年9月7日", "2026-09-07 00:00"), ("2026/9/7", "2026-09-07 00:00"), ("2026/09/07 9:05", "2026-09-07 09:05"),
    ("2026年9月7日 10時30分", "2026-09-07 10:30"), ("2026年9月7日(月) 10時", "2026-09-07 10:00"),
    ("２０２６年９月７日", "2026-09-07 00:00"), ("2026.9.7", "2026-09-07 00:00"),
])
def test_japanese_date_forms(value, expected):
    assert _dates([value, "2026-09-08"]) == ([expected, "2026-09-08 00:00"], [])


@pytest.mark.parametrize("value, expected", [
    ("2026-09-07T10:00:00+09:00", "2026-09-07 01:00"), ("2026-09-07T01:00:00Z", "2026-09-07 01:00"),
    ("2026-09-07 10:00:00-05:00", "2026-09-07 15:00"), ("2026-09-07T10:00", "2026-09-07 10:00"),
])
def test_iso_dates_with_time_zones_become_utc(value, expected):
    assert _dates([value, "2026-09-08T00:00:00+09:00", "03/04/2026"])[0][0] == expected


def test_streamed_chunks_use_the_order_of_the_whole_column(tmp_path):
    rows = [f"t{i},{d}" for i, d in enumerate(["03/04/2026", "05/06/2026", "07/08/2026", "13/04/2026"])]
    path = _csv(tmp_path / "d.csv", "text,date", rows)
    whole = load_feedback(path)[C.DATE].tolist()
    streamed = pd.concat(list(iter_feedback(path, chunk_size=1)))[C.DATE].tolist()
    assert streamed == whole and f"{whole[0]:%m-%d}" == "04-03"


def test_cli_date_format_and_the_warning_in_run_json(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    rows = [f"{TEXTS[i % 5]},{i % 11},0{1 + i % 9}/0{1 + i % 3}/2026" for i in range(24)]
    path = _csv(tmp_path / "in.csv", "text,nps,date", rows)
    result = _invoke("run", path, "--out", tmp_path / "out", "--quiet")
    _assert_clean_exit(result, 0)
    warnings = json.loads((tmp_path / "out" / "run.json").read_text())["warnings"]
    assert any("ambiguous" in w for w in warnings)
    result = _invoke("run", path, "--out", tmp_path / "out2", "--quiet", "--date-format", "dmy")
    _assert_clean_exit(result, 0)
    run = json.loads((tmp_path / "out2" / "run.json").read_text())
    assert not any("ambiguous" in w for w in run["warnings"]) and run["config"]["date_format"] == "dmy"
    first = pd.read_parquet(tmp_path / "out2" / "records.parquet")[C.DATE].iloc[0]
    assert f"{first:%m-%d}" == "01-01" and _invoke("validate", path, "--date-format", "mdy").exit_code == 0
    assert "Warning: Dates in column 'date' are ambiguous" in _invoke("validate", path).output


# ----------------------------------------------------------------------------- item 8: encodings

JA = ["配送が遅かったです", "アプリがすぐ落ちる", "サポートは親切でした", "返金に二週間かかった"] * 9


def test_utf8_file_with_one_stray_byte_is_not_told_to_use_latin1(tmp_path):
    data = ("text\n" + "\n".join(JA) + "\n").encode("utf-8")
    cut = data.index("サポート".encode()) + len("サポート".encode())
    path = tmp_path / "stray.csv"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    with pytest.raises(InputError) as info:
        load_feedback(path)
    msg = str(info.value)
    assert "first bad byte 0xff on line 4" in msg and "UTF-8 file with damaged bytes" in msg
    for wrong in ("latin-1", "cp1252", "cp932", "--encoding "):
        assert wrong not in msg


def test_shift_jis_is_suggested_only_when_it_reads_as_japanese(tmp_path):
    path = tmp_path / "sjis.csv"
    path.write_bytes(("text\n" + "\n".join(JA) + "\n").encode("cp932"))
    with pytest.raises(InputError, match=r"first bad byte 0x\w\w on line 2\); it looks like cp932"):
        load_feedback(path)
    binary = tmp_path / "binary.csv"  # decodes under latin-1, but as control characters
    binary.write_bytes(b"text\n" + bytes(range(0x80, 0xa0)) * 3 + b"\n")
    with pytest.raises(InputError) as info:
        load_feedback(binary)
    assert "latin-1" not in str(info.value) and "pass its encoding with encoding=." in str(info.value)


def test_japanese_utf8_read_as_latin1_warns_of_mojibake(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    rows = [f"{t} {TEXTS[i % 5]},{i % 11}" for i, t in enumerate(JA)]  # English words: the fake embedder needs some
    path = _csv(tmp_path / "ja.csv", "text,nps", rows)
    df = load_feedback(path, encoding="latin-1")
    assert df[C.TEXT].str.match("[ä-éã]").all()  # what following the old hint gave, silently
    assert len(df.attrs["voc_warnings"]) == 1 and "mojibake: 36 of 36 texts" in df.attrs["voc_warnings"][0]
    assert load_feedback(path).attrs["voc_warnings"] == []
    result = _invoke("run", path, "--out", tmp_path / "out", "--quiet", "--encoding", "latin-1")
    _assert_clean_exit(result, 0)
    assert any("mojibake" in w for w in json.loads((tmp_path / "out" / "run.json").read_text())["warnings"])
    shown = subprocess.run([sys.executable, "-m", "voc", "validate", str(path), "--encoding", "latin-1"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "mojibake" in shown.stderr


def test_latin_text_is_not_mojibake():
    from voc.io import looks_like_mojibake

    for text in ("café crème brûlée", "naïve façade – déjà vu", "São Paulo, não", "配送が遅い😡"):
        assert not looks_like_mojibake(text)
    for text in ("cafÃ© crÃ¨me", "ã\x82¢ã\x83\x97ã\x83ª", "ã‚¢ãƒ—ãƒª"):
        assert looks_like_mojibake(text)


# ----------------------------------------------------------------------------- item 9: smaller ones

def test_rejects_csv_is_formula_escaped(tmp_path):
    path = _csv(tmp_path / "f.csv", "text,nps", ['"=HYPERLINK(""http://evil.example"",""x"")",11', "ok,5"])
    rej = tmp_path / "rejects.csv"
    load_feedback(path, on_error="skip", rejects_path=rej)
    _assert_no_live_formulas(rej)
    assert pd.read_csv(rej)["text"].tolist() == ["'=HYPERLINK(\"http://evil.example\",\"x\")"]


def test_cli_does_not_echo_terminal_escape_sequences(tmp_path):
    osc, csi = "\x1b]0;pwned\x07", "\x1b[31m"
    path = _csv(tmp_path / "e.csv", "text,touchpoint,nps", [f"a,{osc}app,5", f"b,web,{csi}11"])
    failed = _invoke("validate", path)
    _assert_clean_exit(failed, 2)
    assert "\x1b" not in failed.output and "\\x1b[31m11" in failed.output
    ok = _invoke("validate", path, "--on-error", "skip")
    assert "\x1b" not in ok.output and "\x07" not in ok.output and "\\x1b]0;pwned\\x07app 1" in ok.output
    assert terminal_safe("a\tb\nc\u202ed\x9b") == "a\\tb\nc\\u202ed\\x9b"


def test_analysis_load_removes_the_formula_prefix(tmp_path):
    cells = ["-tp", "=cmd", "'=x", "'plain", "ok"]
    frame = pd.DataFrame({C.TOUCHPOINT: cells, "records": np.arange(5)})
    empty = pd.DataFrame({C.VOC_ID: pd.Series(dtype=str)})
    Analysis(records=empty, mentions=empty, themes=frame, touchpoints=frame, pain_points=frame,
             run={"warnings": []}).save(tmp_path / "out")
    assert pd.read_csv(tmp_path / "out" / "touchpoints.csv")[C.TOUCHPOINT].tolist()[:3] == ["'-tp", "'=cmd", "''=x"]
    again = Analysis.load(tmp_path / "out")
    for table in (again.themes, again.touchpoints, again.pain_points):
        assert table[C.TOUCHPOINT].tolist() == cells
    assert csv_safe(again.touchpoints).equals(csv_safe(frame))


@pytest.mark.parametrize("text, expected", [
    ("reset at HTTPS://EXAMPLE.COM/reset?TOKEN=abc123 now", "reset at [URL] now"),
    ("WWW.EXAMPLE.COM/login?SESSIONID=xyz", "[URL]"),
    ("mail taro@例え.jp please", "mail [EMAIL] please"),
    ("連絡はtaro@例え.jpまで", "連絡は[EMAIL]まで"),
    ("user@xn--r8jz45g.jp", "[EMAIL]"),
])
def test_redaction_upper_case_urls_and_idn_emails(text, expected):
    from voc.privacy import redact

    assert redact([text])[0] == [expected]


@pytest.mark.parametrize("merge", [[[0, 1], [1, 0]], [[0, 1], [1, 2], [2, 0]]])
def test_contradictory_merges_are_rejected(tmp_path, merge):
    from voc.themes.edits import load_edits, validate_edits as _validate_edits

    with pytest.raises(ConfigError, match=r"contradict each other: they merge themes in a cycle \(1 -> 0 -> "):
        _validate_edits({"merge": merge}, 5, source="edits.yaml")
    path = tmp_path / "edits.yaml"
    path.write_text("merge: [[0, 1], [1, 0]]\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_edits(path)
    assert _validate_edits({"merge": [[4, 7], [7, 9]]}, 10, source="e")["merge"] == [[4, 7], [7, 9]]


def test_emoji_only_negative_text_is_not_scored_positive(tmp_path):
    from tests.test_sentiment import _write_head
    from voc.sentiment import EmbeddingHeadScorer, load_head

    _write_head(tmp_path)
    scorer = EmbeddingHeadScorer("minilm")
    scorer._head = load_head("minilm", directory=tmp_path)
    texts = ["😡😡😡", "😠👎!!", "👍👍", "😡👍", "📦", "late 😡"]
    positive = np.tile([0, 1, 0, 0], (len(texts), 1)).astype(np.float32)  # the head says positive to all
    out = scorer.score(texts, embeddings=positive)
    assert out["sentiment_label"].tolist() == ["negative", "negative", "positive", "neutral", "neutral", "positive"]
    assert out["sentiment"].iloc[0] == -1.0
    from voc.sentiment import emoji_scores

    assert np.isnan(emoji_scores(["great 😡😡😡"])).all()  # words: the model decides


@pytest.mark.slow
@pytest.mark.parametrize("name, embedder", [("head", "minilm"), ("head", "use-multilingual"),
                                            ("default", "use-multilingual")])
def test_emoji_only_negative_text_with_the_shipped_heads(name, embedder):
    from voc.sentiment import get_scorer

    out = get_scorer(name, embedder_name=embedder).score(["😡😡😡", "😭😭", "👎"])
    assert (out["sentiment_label"] == "negative").all()
