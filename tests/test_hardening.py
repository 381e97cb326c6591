"""Hostile and broken input: every case ends in a result or a clear VocError.

Property-based (Hypothesis, bounded) over the loaders in every format and over
the whole pipeline with the fake embedder; example-based for named cases
(BOM, CRLF, duplicate headers, a million empty rows, 1 MB texts, formulas,
HTML). A source scan checks that nothing unpickles user files.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voc
import voc.embed
import voc.sentiment
from voc import columns as C
from voc.cli import main
from voc.config import Config
from voc.embed import MAX_CHARS, embed_texts
from voc.errors import InputError, VocError
from voc.io import load_feedback
from voc.pipeline import Analysis, analyze
from tests.conftest import FakeEmbedder

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE = [
    "", " ", "\x00", "a\x00b", "\r", "\r\n", "\n", "\n\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x1b[31m",
    "\x7f", "\ufeff", "\u202e", "\u200b", '"', '""', "'", ",", "\t", ";", "|", "\\", "\\u0000",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</td></tr>", "&amp;",
    "=1+1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0",
    "配送が遅い。", "ｱﾌﾟﾘ", "😀", "👍🏽", "\u0301", "Ω≈ç√", "nan", "NaN", "NULL", "None", "N/A", "null",
    "1e309", "0", "-0", "late but great.", "The app crashed again!", "x" * 300,
]
PIECE = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(codec="utf-8"), max_size=20))
TEXT = st.lists(PIECE, max_size=4).map("".join)
"""Any Unicode text that UTF-8 can encode, biased towards hostile pieces."""
SENTENCES = ["The parcel was late.", "The app crashed again!", "Great support, solved quickly.",
             "配送が遅かったです。", "アプリがすぐ落ちる。", "Refund took weeks but staff were kind."]
_WRAPPED = st.builds(lambda a, b, c: a + b + c, TEXT, st.sampled_from(SENTENCES), TEXT)
FEEDBACK = st.one_of(_WRAPPED, _WRAPPED, TEXT)
"""Feedback-like text wrapped in hostile pieces (so runs get far enough to fit themes)."""

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FakeScorer:
    """Deterministic sentiment without a model: 'bad', 'crash' or 'late' is negative."""

    name = "fake-scorer"

    def score(self, texts, *, embeddings=None, languages=None):
        s = np.array([-0.6 if re.search("bad|crash|late", t) else 0.4 for t in texts], dtype=float)
        return pd.DataFrame({C.SENTIMENT: s,
                             C.SENTIMENT_LABEL: np.where(s < 0, "negative", "positive")})


class RecordingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every text it was sent."""

    name = "recording"

    def __init__(self):
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return super().embed(texts)


CONFIG = Config(cache_dir="")


def _write(path: Path, fmt: str, header: list[str], rows: list[list], *, bom=False, crlf=False,
           trailing=False, ascii_json=False) -> Path:
    """Write rows in ``fmt`` the way a typical exporter would."""
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        end = "\r\n" if crlf else "\n"
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator=end)
        w.writerow(header)
        w.writerows([["" if v is None else str(v) for v in r] for r in rows])
        path.write_bytes((buf.getvalue() + (end if trailing else "")).encode("utf-8-sig" if bom else "utf-8"))
    elif fmt == "jsonl":
        end = "\r\n" if crlf else "\n"
        lines = [json.dumps(dict(zip(header, r)), ensure_ascii=ascii_json) for r in rows]
        path.write_text(end.join(lines) + (end if trailing else ""), encoding="utf-8", newline="")
    elif fmt == "json":
        path.write_text(json.dumps([dict(zip(header, r)) for r in rows], ensure_ascii=ascii_json,
                                   indent=1 if crlf else None), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = list(zip(*rows)) if rows else [[] for _ in header]
        pq.write_table(pa.table([pa.array(list(c)) for c in cols], names=header), path)
    return path


def _load_or_error(path: Path, **options):
    try:
        return load_feedback(path, **options)
    except VocError as e:
        assert str(e).strip(), "a VocError must carry a message"
        return None


def _assert_no_live_formulas(path: Path) -> None:
    """No CSV cell may start like a formula unless it is a plain number."""
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            for cell in row:
                if cell.startswith(FORMULA_START):
                    try:
                        float(cell)
                    except ValueError:
                        pytest.fail(f"{path.name}: live formula cell {cell!r}")


# ----------------------------------------------------------------------------- loaders

@FUZZ
@given(texts=st.lists(TEXT, min_size=1, max_size=6), notes=st.lists(TEXT, min_size=6, max_size=6),
       fmt=st.sampled_from(FORMATS), bom=st.booleans(), crlf=st.booleans(), trailing=st.booleans(),
       ascii_json=st.booleans())
def test_any_unicode_text_round_trips_through_every_format(texts, notes, fmt, bom, crlf, trailing,
                                                           ascii_json):
    rows = [[f"r{i}", t, notes[i]] for i, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d) / f"in.{fmt}", fmt, ["id", "text", "note"], rows, bom=bom, crlf=crlf,
                      trailing=trailing, ascii_json=ascii_json)
        df = load_feedback(path, id_col="id", text_col="text")
    assert df[C.TEXT].tolist() == texts  # full text, byte for byte: NUL, \r, \u2028, tags, formulas
    assert df[C.VOC_ID].tolist() == [f"r{i}" for i in range(len(texts))]
    assert df["note"].astype(str).tolist() == notes[: len(texts)]


CELL = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(), TEXT)


@FUZZ
@given(header=st.lists(st.one_of(st.sampled_from(["text", "id", "nps", "date", "Text", " text ", ""]),
                                 st.text(st.characters(codec="utf-8"), max_size=6)), min_size=1, max_size=5),
       cells=st.lists(st.lists(CELL, min_size=0, max_size=6), min_size=0, max_size=6),
       fmt=st.sampled_from(FORMATS), on_error=st.sampled_from(["fail", "skip"]))
def test_arbitrary_frames_load_or_fail_clearly(header, cells, fmt, on_error):
    width = len(header)
    rows = [(r + [None] * width)[:width] if fmt != "csv" or i % 3 else r for i, r in enumerate(cells)]
    with tempfile.TemporaryDirectory() as d:
        try:
            path = _write(Path(d) / f"in.{fmt}", fmt, header, rows)
        except Exception:  # the writer (pyarrow) refuses mixed types: nothing to test
            return
        df = _load_or_error(path, on_error=on_error)
    if df is not None:
        assert len(df) <= max(len(rows), 1)
        assert df[C.VOC_ID].is_unique
        assert df[C.TEXT].map(type).eq(str).all()


@FUZZ
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"text\n", b"\xef\xbb\xbftext,id\r\n",
                                                               b'{"text": "', b'[{"text": 1}, ', b"[" * 3000]),
       fmt=st.sampled_from(FORMATS), gz=st.booleans())
def test_random_bytes_never_crash_the_loader(data, prefix, fmt, gz):
    blob = prefix + data
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in.{fmt}{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(blob) if gz and data[:1] != b"x" else blob)
        _load_or_error(path)


SURROGATE = re.compile("[\ud800-\udfff]")


@FUZZ
@given(texts=st.lists(st.lists(st.one_of(PIECE, st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)),
                               max_size=4).map("".join), min_size=1, max_size=5),
       fmt=st.sampled_from(["jsonl", "json"]))
def test_json_escaped_lone_surrogates_load_as_replacement_chars(texts, fmt):
    # json.dumps writes a lone surrogate as a "\udxxx" escape; no UTF-8 output can hold it
    rows = [[f"r{i}", t] for i, t in enumerate(texts)]
    expected = [SURROGATE.sub("\ufffd", json.loads(json.dumps(t))) for t in texts]  # pairs -> one char
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d) / f"in.{fmt}", fmt, ["id", "text"], rows, ascii_json=True)
        df = load_feedback(path, id_col="id")
        out = df[[C.VOC_ID, C.TEXT]].copy()
        out.attrs = {}  # see test_a_loaded_frame_can_be_written_to_parquet
        out.to_parquet(Path(d) / "out.parquet")  # encodable now
    assert df[C.TEXT].tolist() == expected


def test_a_loaded_frame_can_be_written_to_parquet(tmp_path):
    path = _write(tmp_path / "in.csv", "csv", ["text"], [["hello"], ["world"]])
    load_feedback(path).to_parquet(tmp_path / "out.parquet")


def test_deeply_nested_json_fails_clearly(tmp_path):
    # json.loads raises RecursionError (not a JSONDecodeError) from ~1,000 levels: a 10 kB file
    deep = "[" * 5000 + "]" * 5000
    path = tmp_path / "deep.json"
    path.write_text(f'[{{"text": "ok", "x": {deep}}}]', encoding="utf-8")
    with pytest.raises(InputError, match="nests JSON arrays or objects too deeply to read"):
        load_feedback(path)
    lines = tmp_path / "deep.jsonl"
    lines.write_text(f'{{"text": "ok"}}\n{{"text": {deep}}}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: invalid JSON \(arrays or objects nested too deeply\)"):
        load_feedback(lines)
    assert load_feedback(lines, on_error="skip")[C.TEXT].tolist() == ["ok"]


def test_truncated_parquet_and_gzip_fail_clearly(tmp_path):
    good = _write(tmp_path / "good.parquet", "parquet", ["text"], [["hello"], ["world"]])
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(InputError, match="is not a readable Parquet file"):
        load_feedback(cut)
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(gzip.compress(b"text\nhello\n")[:-6])
    with pytest.raises(InputError, match="is not a valid gzip file"):
        load_feedback(gz)


def test_excel_csv_bom_crlf_quotes_and_trailing_line(tmp_path):
    raw = ('\ufefftext,touchpoint\r\n'
           '"She said ""late"", then left",delivery\r\n'
           '"two\r\nlines, one record",app\r\n'
           'plain,app\r\n'
           '\r\n').encode("utf-8")
    path = tmp_path / "excel.csv"
    path.write_bytes(raw)
    df = load_feedback(path)
    assert df[C.TEXT].tolist() == ['She said "late", then left', "two\r\nlines, one record", "plain"]
    assert df[C.SOURCE_LINE].tolist() == [2, 3, 5]
    assert df.attrs["voc_mapping"][C.TEXT] == "text"  # BOM not part of the header name


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_mixed_line_endings_between_records(tmp_path, fmt):
    sep = "," if fmt == "csv" else "\t"
    lines = (["text" + sep + "nps", "one\u2028still one" + sep + "1", "two" + sep + "2", "three" + sep + "3", ""]
             if fmt != "jsonl" else
             ['{"text": "one\u2028still one", "nps": 1}', '{"text": "two", "nps": 2}', '{"text": "three", "nps": 3}', ""])
    ends = ["\n", "\r\n", "\r", "\n"] if fmt != "jsonl" else ["\r\n", "\n", "\r\n"]
    path = tmp_path / f"mixed.{fmt}"
    path.write_bytes("".join(a + b for a, b in zip(lines, ends)).encode("utf-8"))
    df = _load_or_error(path)
    assert df is not None and df[C.TEXT].tolist() == ["one\u2028still one", "two", "three"]
    assert df[C.NPS].tolist() == [1, 2, 3]


def test_excel_unicode_text_utf16_says_which_encoding(tmp_path):
    path = tmp_path / "excel.tsv"
    path.write_bytes("text\tnps\r\nアプリが落ちる\t3\r\n".encode("utf-16"))
    with pytest.raises(InputError, match="it looks like utf-16. Pass encoding='utf-16'"):
        load_feedback(path)
    assert load_feedback(path, encoding="utf-16")[C.TEXT].tolist() == ["アプリが落ちる"]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_duplicate_header_names_the_duplicate(tmp_path, fmt):
    path = _write(tmp_path / f"dup.{fmt}", fmt, ["text", "nps", "text "], [["a", "1", "b"]])
    with pytest.raises(InputError, match=r"has duplicate column names: text\. Rename them"):
        load_feedback(path)


def test_duplicate_parquet_columns_name_the_duplicate(tmp_path):
    path = _write(tmp_path / "dup.parquet", "parquet", ["text", "text"], [["a", "b"]])
    with pytest.raises(InputError, match=r"has duplicate column names: text\. Rename them"):
        load_feedback(path)


def test_missing_columns_fail_clearly(tmp_path):
    path = _write(tmp_path / "no_text.csv", "csv", ["foo", "bar"], [["1", "2"]])
    with pytest.raises(InputError, match=r"No text column found\. Available: foo, bar\. Use text_col="):
        load_feedback(path)
    with pytest.raises(InputError, match=r"Column 'body' not found\. Available: foo, bar\. Use text_col="):
        load_feedback(path, text_col="body")
    short = tmp_path / "short.csv"
    short.write_text("text,nps\nfine,3\nmissing a field\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"Malformed CSV lines .*line 3: 1 fields, header has 2"):
        load_feedback(short)
    assert load_feedback(short, on_error="skip")[C.TEXT].tolist() == ["fine"]


def test_lone_surrogates_from_json_escapes_become_replacement_chars(tmp_path):
    # JSON may escape a lone UTF-16 surrogate ("\ud800"); no UTF-8 output can hold it.
    for fmt, content in (("jsonl", '{"text": "bad \\ud800 one", "k\\udfff": 1}\n{"text": "ok \\ud83d\\ude00"}\n'),
                         ("json", '[{"text": "bad \\ud800 one", "k\\udfff": 1}, {"text": "ok \\ud83d\\ude00"}]')):
        path = tmp_path / f"s.{fmt}"
        path.write_text(content, encoding="utf-8")
        df = load_feedback(path)
        assert df[C.TEXT].tolist() == ["bad \ufffd one", "ok 😀"]  # a valid pair stays an emoji
        assert "k\ufffd" in df.columns
        df[[C.TEXT]].to_csv(tmp_path / "again.csv")  # encodable now


# ----------------------------------------------------------------------------- huge inputs

def test_a_million_empty_rows_end_in_a_clear_error(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    path = tmp_path / "empty.csv"
    path.write_text("text,a,b,c\n" + ",,,\n" * 1_000_000, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    _assert_clean_exit(result, 2)  # its speed: benchmarks/hardening.py
    assert "No record has any text to analyse (1000000 records, all empty)" in result.output
    blank = tmp_path / "blank.csv"
    blank.write_text("text\n" + "\n" * 1_000_000, encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no records"):
        load_feedback(blank)


def test_a_20000_column_file_loads(tmp_path):
    # pass-through columns used to be added one by one: quadratic, 20,000 columns took > 9 minutes
    n = 20_000
    path = _write(tmp_path / "wide.csv", "csv", ["text", *(f"q{i}" for i in range(n))],
                  [[s, *(["x"] * n)] for s in SENTENCES[:3]])
    df = load_feedback(path)  # its speed: benchmarks/hardening.py
    assert df.shape == (3, n + 4) and df["q19999"].tolist() == ["x"] * 3


def test_embedding_input_is_truncated_with_a_warning(caplog):
    emb = RecordingEmbedder()
    long = "word " * 200_000  # 1 MB
    with caplog.at_level(logging.WARNING, logger="voc.embed"):
        vecs = embed_texts(["short", long, long[:MAX_CHARS] + "different tail"], emb)
    assert max(map(len, emb.seen)) <= MAX_CHARS
    assert "Embedding only the first 2000 characters of 2 text(s)" in caplog.text
    np.testing.assert_array_equal(vecs[1], vecs[2])  # same model input, same vector
    emb.seen.clear()
    embed_texts([long], emb, max_chars=None)
    assert len(emb.seen[0]) == len(long)
    with pytest.raises(VocError, match="'max_chars' must be a positive integer or None. Got 0"):
        embed_texts(["x"], emb, max_chars=0)


def test_a_1mb_text_in_sentences_is_kept_whole_and_embedded_cut(caplog):
    long = ("The parcel was late and the box was crushed " * 23_000).strip()  # ~1 MB, one line
    df = load_feedback(pd.DataFrame({"text": [long, "bad app crash", "great support team", "slow refund"]}))
    emb = RecordingEmbedder()
    with caplog.at_level(logging.WARNING, logger="voc.embed"):
        result = analyze(df, config=Config(cache_dir="", max_units_per_record=None),  # no unit bound
                         embedder=emb, scorer=FakeScorer())
    assert result.records[C.TEXT].iloc[0] == long  # full text kept in records
    assert max(map(len, emb.seen)) <= MAX_CHARS
    pieces = result.mentions.loc[result.mentions[C.VOC_ID] == df[C.VOC_ID][0], C.TEXT]
    assert pieces.str.len().max() <= 4000 and pieces.str.len().sum() >= len(long) - len(pieces)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_voc_run_keeps_a_1mb_field_whole_and_embeds_it_cut(tmp_path, monkeypatch, caplog, fmt):
    # a CSV field over 128 KiB used to fail as "field larger than field limit"
    long = "\r\n".join(["The parcel was late, \"crushed\"\tand wet. " * 2_000] * 12)  # ~1 MB, quoted
    path = _write(tmp_path / f"big.{fmt}", fmt, ["text", "nps"],
                  [[long, 2], ["bad app crash", 1], ["great support team", 9], ["slow refund", 5]])
    emb = RecordingEmbedder()
    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: emb)
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())
    with caplog.at_level(logging.WARNING, logger="voc.embed"):
        result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                                           "--unit", "record"])
    _assert_clean_exit(result, 0)
    records = pd.read_parquet(tmp_path / "out" / "records.parquet")
    mentions = pd.read_parquet(tmp_path / "out" / "mentions.parquet")
    assert records[C.TEXT].iloc[0] == long and long.strip() in mentions[C.TEXT].tolist()
    assert max(map(len, emb.seen)) <= MAX_CHARS
    assert "Embedding only the first 2000 characters of 1 text(s)" in caplog.text  # speed: benchmarks/hardening.py


# ----------------------------------------------------------------------------- whole pipeline

ROW = st.tuples(FEEDBACK, st.sampled_from(["delivery", "app", "=cmd|' /C calc'!A0", "<b>x</b>", "@home", ""]),
                st.one_of(st.none(), st.integers(0, 10)))


@FUZZ
@given(rows=st.lists(ROW, min_size=1, max_size=10), unit=st.sampled_from(["sentence", "record"]))
def test_analyze_ends_in_a_result_or_a_clear_error(rows, unit):
    texts, touchpoints, nps = zip(*rows)
    raw = pd.DataFrame({"text": list(texts), "touchpoint": list(touchpoints),
                        "nps": pd.array(list(nps), dtype="Int64")})
    df = load_feedback(raw)
    try:
        result = analyze(df, config=CONFIG.replace(unit=unit), embedder=FakeEmbedder(), scorer=FakeScorer())
    except InputError as e:  # all empty, or too few mentions to fit themes
        assert re.search(r"No record has any text|needs at least \d+ mentions", str(e)), str(e)
        return
    assert result.records[C.TEXT].tolist() == list(texts)
    assert set(result.mentions[C.VOC_ID]) <= set(result.records[C.VOC_ID])
    assert result.mentions[C.TEXT].str.strip().ne("").all()
    with tempfile.TemporaryDirectory() as d:
        result.save(Path(d) / "out")
        for name in ("themes.csv", "touchpoints.csv", "pain_points.csv"):
            _assert_no_live_formulas(Path(d) / "out" / name)
        again = Analysis.load(Path(d) / "out")
    assert again.records[C.TEXT].tolist() == list(texts)


# ----------------------------------------------------------------------------- CLI

def _fake_models(monkeypatch):
    monkeypatch.setattr(voc.embed, "get_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())


def _assert_clean_exit(result, code):
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if code == 2:  # one error line, after any warnings the run printed on its way
        lines = [line for line in result.output.splitlines() if not line.startswith("Warning: ")]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output


CLI_ROW = st.tuples(FEEDBACK, st.sampled_from(["delivery", "=1+1", "<i>app</i>", "", " "]),
                    st.sampled_from(["", "9", "0", "10", " 7 ", "3", "11", "-1", "=1+1", "3.5"]),
                    st.sampled_from(["", "2026-11-16", "2026-11-17T10:00:00Z", "2026-11-18", "2026-11-19"] * 3
                                    + ["=NOW()", "0"]))


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(CLI_ROW, min_size=3, max_size=10), fmt=st.sampled_from(FORMATS),
       on_error=st.sampled_from(["skip", "skip", "fail"]), unit=st.sampled_from(["sentence", "record"]))
def test_voc_run_on_any_small_dump_exits_0_or_2(monkeypatch, rows, fmt, on_error, unit):
    _fake_models(monkeypatch)
    with tempfile.TemporaryDirectory() as d:
        path = _write(Path(d) / f"in.{fmt}", fmt, ["comment", "stage", "ltr", "created_at"], [list(r) for r in rows])
        out = Path(d) / "out"
        result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--quiet",
                                           "--on-error", on_error, "--unit", unit])
        _assert_clean_exit(result, 0 if result.exit_code == 0 else 2)
        if result.exit_code == 0:
            for name in ("themes.csv", "touchpoints.csv", "pain_points.csv"):
                _assert_no_live_formulas(out / name)
        else:
            assert not out.exists()


HOSTILE_DUMP = [
    ("=HYPERLINK(\"http://evil.example\",\"click\") the app crashed", "=cmd|' /C calc'!A0", 2),
    ("+SUM(1,1) the app crashed again", "=cmd|' /C calc'!A0", 1),
    ("-2+3 late delivery, box was crushed", "@delivery", 3),
    ("@SUM(A1) late delivery again", "@delivery", 0),
    ("<script>alert('x')</script> the app crashed on login", "<b>app</b>", 4),
    ("<img src=x onerror=alert(1)> the app crashed", "<b>app</b>", 2),
    ("\tlate delivery\r\nbox crushed", "-delivery", 5),
    ("Great support\x00, solved quickly", "+support", 9),
    ("great support team, solved quickly", "+support", 10),
    ("配送が遅かった。箱が潰れていた。", "@delivery", 3),
    ("アプリがすぐに落ちる<script>x</script>", "<b>app</b>", 1),
    ("great support, very kind", "+support", 9),
]


def _hostile_csv(path: Path, repeat: int = 3) -> Path:
    rows = [[t, tp, n] for _ in range(repeat) for t, tp, n in HOSTILE_DUMP]
    return _write(path, "csv", ["text", "touchpoint", "nps"], rows, bom=True, crlf=True, trailing=True)


@FUZZ
@given(cells=st.lists(TEXT, min_size=1, max_size=8))
def test_csv_safe_neutralises_every_formula_start(cells):
    from voc.pipeline import csv_safe

    frame = pd.DataFrame({"text": cells, "n": range(len(cells))})
    out = csv_safe(frame)
    for before, after in zip(cells, out["text"]):
        assert after == ("'" + before if before.startswith(FORMULA_START) else before)
    assert out["n"].tolist() == list(range(len(cells)))  # numbers untouched


def test_csv_safe_neutralises_a_leading_nul():
    from voc.pipeline import csv_safe

    assert csv_safe(pd.DataFrame({"text": ["\x00=1+1"]}))["text"].tolist() == ["'\x00=1+1"]


def test_voc_run_neutralises_formulas_in_every_csv(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    path = _hostile_csv(tmp_path / "dump.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--quiet"])
    _assert_clean_exit(result, 0)
    for name in ("themes.csv", "touchpoints.csv", "pain_points.csv"):
        _assert_no_live_formulas(out / name)
    touchpoints = pd.read_csv(out / "touchpoints.csv", keep_default_na=False)
    assert "'=cmd|' /C calc'!A0" in touchpoints[C.TOUCHPOINT].tolist()  # shown as text, not dropped
    records = pd.read_parquet(out / "records.parquet")
    assert records[C.TEXT].str.startswith("=HYPERLINK").any()  # the data itself is kept verbatim


def test_report_from_a_hostile_dump_shows_nothing_live(tmp_path, monkeypatch):
    from voc.report import write_report

    _fake_models(monkeypatch)
    df = load_feedback(_hostile_csv(tmp_path / "dump.csv"))
    df[C.DATE] = pd.Timestamp("2026-11-16")
    result = analyze(df, config=CONFIG, embedder=FakeEmbedder(), scorer=FakeScorer())
    paths = write_report(result, tmp_path / "report")
    page = paths["html"].read_text(encoding="utf-8")
    for live in ("<script", "<img", "<b>app"):
        assert live not in page.lower()
    assert "&lt;b&gt;app&lt;/b&gt;" in page  # hostile touchpoint rendered as text
    md = paths["md"].read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", md), "unescaped tag in the Markdown report"
    assert "\\<script\\>" in md  # shown, as text


def test_weekly_report_with_redact_shows_no_personal_data_and_nothing_live(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    pii = " mail taro.yamada@example.com or call 090-1234-5678"
    rows = [[t + (pii if i % 2 else ""), tp, n, "2026-11-16"] for i, (t, tp, n) in enumerate(HOSTILE_DUMP * 3)]
    path = _write(tmp_path / "dump.csv", "csv", ["text", "touchpoint", "nps", "date"], rows)
    result = CliRunner().invoke(main, ["run", str(path), "--store", str(tmp_path / "voc.duckdb"),
                                       "--report", str(tmp_path / "rep"), "--redact", "--quiet"])
    _assert_clean_exit(result, 0)
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    for text in (page, md):
        assert "taro.yamada" not in text and "090-1234-5678" not in text
    assert "[EMAIL]" in page
    assert "<script" not in page.lower() and not re.search(r"(?<!\\)<[A-Za-z/!?]", md)


def test_redact_also_covers_the_rejects_file(tmp_path, monkeypatch):
    _fake_models(monkeypatch)
    path = tmp_path / "pii.csv"
    path.write_text("text,nps\nmail me at taro@example.com please,11\nThe parcel was late,3\n"
                    "The app crashed,2\nGreat support,9\nslow refund,5\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--redact",
                                       "--on-error", "skip", "--rejects", str(rejects)])
    _assert_clean_exit(result, 0)
    assert not pd.read_parquet(tmp_path / "out" / "records.parquet")[C.TEXT].str.contains("taro@").any()
    assert "taro@example.com" not in rejects.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("dup.csv", b"text,nps,text\na,1,b\n", "duplicate column names: text"),
        ("nocol.csv", b"foo,bar\n1,2\n", "No text column found"),
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"text,nps\r\n\r\n", "has a header but no records"),
        ("quote.csv", b'text\n"never closed\n', "Malformed CSV"),
        ("utf16.csv", "text\n遅い\n".encode("utf-16"), "Pass --encoding utf-16"),
        ("latin.csv", "text\ncaf\u00e9 cr\u00e8me\n".encode("cp1252"), "Pass --encoding cp1252"),
        ("bad.csv.gz", b"\x1f\x8b\x08\x00garbage", "is not a valid gzip file"),
        ("bad.parquet", b"PAR1 not really", "is not a readable Parquet file"),
        ("obj.json", b'{"text": "one object"}', "must hold a JSON array"),
        ("bad.jsonl", b"{not json\n[1, 2]\n", "no record could be read"),
        ("allempty.csv", b"text,nps\n,1\n ,2\n\x00\x00,3\n", "No record has any text"),
        ("few.csv", b"text\nonly one\n", "needs at least"),
        ("file.xlsx", b"PK\x03\x04", "Cannot tell the format"),
    ],
)
def test_voc_run_on_broken_input_exits_2_with_one_line(tmp_path, monkeypatch, name, content, message):
    _fake_models(monkeypatch)
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    _assert_clean_exit(result, 2)
    assert message in result.output
    assert not (tmp_path / "out").exists()  # nothing half-written
    check = CliRunner().invoke(main, ["validate", str(path)])
    loads = message in ("No record has any text", "needs at least")  # fails in analysis, not loading
    _assert_clean_exit(check, 0 if loads else 2)
    assert loads or message in check.output


# ----------------------------------------------------------------------------- no unpickling

VOC_DIR = Path(voc.__file__).resolve().parent
UNSAFE_LOADS = {
    "pickle.load": re.compile(r"\b(?:c?pickle|dill|cloudpickle|joblib)\.loads?\s*\("),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "torch.load(": re.compile(r"\btorch\.load\s*\("),
    "read_pickle": re.compile(r"\bread_pickle\s*\("),
    "marshal/shelve": re.compile(r"\b(?:marshal\.loads?|shelve\.open)\s*\("),
    "yaml.load": re.compile(r"\byaml\.(?:load|unsafe_load|full_load|load_all)\s*\("),
}
ALLOWED_UNSAFE_LOADS: dict[tuple[str, str], str] = {
    # (path relative to voc/, pattern name): reason why that file is trusted
}


def _unsafe_loads(root: Path) -> list[str]:
    hits = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for what, pattern in UNSAFE_LOADS.items():
                if pattern.search(code) and (rel, what) not in ALLOWED_UNSAFE_LOADS:
                    hits.append(f"{rel}:{lineno}: {what}: {line.strip()}")
    return hits


def test_no_module_unpickles_anything(tmp_path):
    assert _unsafe_loads(VOC_DIR) == []
    # the scanner itself finds each pattern
    (tmp_path / "bad.py").write_text(
        "import pickle, numpy as np, torch, yaml\n"
        "a = pickle.load(open(p, 'rb'))\nb = np.load(p, allow_pickle=True)\n"
        "c = torch.load(p)\nd = pd.read_pickle(p)\ne = yaml.load(s)\nf = joblib.load(p)\n", encoding="utf-8")
    found = _unsafe_loads(tmp_path)
    assert len(found) == 6 and not any("import" in f for f in found), found
