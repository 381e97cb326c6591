"""Tests of the voc command line through click's CliRunner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voc import __version__
from voc.cli import main
from voc.sample import sample_path


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args])


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and result.output == f"voc {__version__}\n"


def test_every_command_has_help(run):
    assert "validate" in run("--help").output
    for name, command in main.commands.items():
        assert command.help, name
        assert run(name, "--help").exit_code == 0


def test_validate_sample_prints_summary(run):
    result = run("validate", sample_path())
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "Rows: 2000 (1913 with text, 87 without)"
    assert lines[2].startswith("Languages: en ") and " ja " in lines[2]
    assert lines[3] == ("Columns mapped: text <- text, voc_id <- id, date <- date, touchpoint <- touchpoint, "
                        "channel <- channel, nps <- nps, ces <- ces, csat <- csat")
    assert lines[4].startswith("Score coverage: NPS 9")
    assert lines[5] == "Date range: 2026-09-07 to 2026-11-15"
    assert lines[-1] == "Problems: none"


@pytest.mark.parametrize("content,args,message", [
    ("id,text,score\n1,a,5\n", ["--nps-col", "nps"], "Column 'nps' not found. Available: id, text, score. Use --nps-col."),
    ("text,nps\na,11\n", [], "NPS must be an integer 0..10 in column 'nps': 1 row (line 2), e.g. '11'. Fix the "
                             "values, map another column with --nps-col, or pass --on-error skip."),
    ("text,ces\na,6\n", ["--ces-scale", "1", "5"], "CES must be a number on the scale 1..5 in column 'ces': 1 row "
                                                   "(line 2), e.g. '6'. Set the scale with --ces-scale LOW HIGH, "
                                                   "map another column with --ces-col, or pass "
                                                   "--on-error skip."),
    ("id,text\n", [], "File 'in.csv' has a header but no records. Add at least one record below the header."),
    ("", [], "File 'in.csv' is empty. Give a file with a header and at least one record."),
])
def test_errors_are_one_line_exit_2_no_traceback(run, tmp_path, content, args, message):
    (tmp_path / "in.csv").write_text(content)
    result = run("validate", "in.csv", *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert isinstance(result.exception, SystemExit)


def test_non_utf8_suggests_encoding_then_works(run, tmp_path):
    (tmp_path / "in.csv").write_bytes("text\nアプリが落ちる\n".encode("cp932"))
    result = run("validate", "in.csv")
    assert result.exit_code == 2
    assert result.stderr == ("Error: File 'in.csv' is not valid UTF-8 (first bad byte 0x83 on line 2); it looks like "
                             "cp932. Pass --encoding cp932.\n")
    assert run("validate", "in.csv", "--encoding", "cp932").exit_code == 0


def test_skip_writes_rejects_and_reports(run, tmp_path):
    (tmp_path / "in.csv").write_text("text,nps,when\na,5,2026-01-01\nb,x,2026-01-02\nc,7,soon\n")
    result = run("validate", "in.csv", "--date-col", "when", "--on-error", "skip", "--rejects", "rej.csv")
    assert result.exit_code == 0, result.output
    assert "Problems: 2 row(s) skipped" in result.stdout
    assert "  - NPS not an integer 0..10 in 'nps': 1 row (line 3)" in result.stdout
    assert (tmp_path / "rej.csv").read_text().splitlines()[0] == "source_line,reason,text,nps,when"


def test_bad_choice_is_a_usage_error(run):
    result = run("validate", "x.csv", "--on-error", "ignore")
    assert result.exit_code == 2 and "Invalid value for '--on-error'" in result.stderr


def test_summary_prints_the_ranking_metric_and_theme_rows_only():
    import types

    import numpy as np
    import pandas as pd

    from voc.cli import summary_text
    from voc.config import Config
    from voc.rank import rank_pain_points

    ids = [f"r{i}" for i in range(100)]
    records = pd.DataFrame({"voc_id": ids, "csat": np.where(np.arange(100) < 15, 1.0, 5.0)})
    mentions = pd.DataFrame({"voc_id": ids[:40], "theme": [0] * 15 + [1] * 25, "topic": 7,
                             "sentiment_label": ["negative"] * 15 + ["positive"] * 25})
    pain = rank_pain_points(records, mentions, pd.DataFrame({"theme": [0, 1], "label": ["sizing", "colour"]}),
                            topics=pd.DataFrame({"topic": [7], "label": ["fit"]}), config=Config(n_bootstrap=50))
    analysis = types.SimpleNamespace(pain_points=pain, run={"counts": {
        "records": 100, "mentions": 40, "themes": 2, "unassigned_mentions": 0}})
    text = summary_text(analysis, "out", top=3)
    assert "complaint impact on CSAT, 95% CI; ranked by CSAT" in text
    sizing, colour = (next(line for line in text.splitlines() if label in line) for label in ("sizing", "colour"))
    assert "1. sizing" in sizing and "CSAT -15.0 [" in sizing and sizing.endswith("(n=15, unreliable)")
    assert "NPS" not in text and colour.endswith("CSAT n/a")  # colour: no complaints
    assert " fit " not in text  # topic rows are not printed
    unranked = summary_text(types.SimpleNamespace(pain_points=pain.assign(rank_metric=None), run=analysis.run),
                            "out", top=3)
    assert "ranked by" not in unranked and "CSAT -15.0 [" in unranked


# --------------------------------------------------------------------------- what voc run / demo print


def _analysis(pain_points, **run):
    import pandas as pd

    from voc.pipeline import Analysis

    empty = pd.DataFrame()
    counts = {"records": 40, "mentions": 60, "themes": 3, "unassigned_mentions": 5}
    return Analysis(empty, empty, empty, empty, pd.DataFrame(pain_points),
                    {"counts": counts, "config": {"min_n": 30}, **run})


def _pain_row(touchpoint, rank, label, records, **metrics):
    row = {"touchpoint": touchpoint, "theme": rank, "label": label, "rank": rank, "records": records,
           "negative_share": 0.5}
    for m, (impact, lo, hi, n) in metrics.items():
        row.update({f"{m}_impact": impact, f"{m}_impact_ci_low": lo, f"{m}_impact_ci_high": hi,
                    f"{m}_with_n": n, f"{m}_reliable": n >= 30})
    return row


@pytest.fixture
def printed(run, monkeypatch):
    """What `voc run` prints for a given Analysis (the run itself is replaced)."""
    import voc.pipeline

    def printed(analysis, *args):
        monkeypatch.setattr(voc.pipeline, "run_file", lambda *a, **k: analysis)
        result = run("run", "in.csv", "--out", "out", *args)
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines()

    return printed


def test_impact_on_few_respondents_is_flagged_unreliable(printed):
    lines = printed(_analysis([
        _pain_row("app", 1, "crash / login", 10, nps=(50.0, 0.0, 100.0, 10)),
        _pain_row("app", 2, "slow / load", 200, nps=(-4.0, -6.0, -2.0, 200)),
    ]))
    few, many = (next(l for l in lines if label in l) for label in ("crash", "slow"))
    assert few.endswith("NPS +50.0 [+0.0, +100.0] (n=10, unreliable)")
    assert many.endswith("NPS -4.0 [-6.0, -2.0]")
    assert "unreliable = fewer than 30 respondents" in lines[3]


def test_every_present_impact_metric_is_printed(printed):
    lines = printed(_analysis([_pain_row("all", 1, "size / fit", 300, csat=(-7.8, -9.0, -6.5, 300),
                                         ces=(-0.31, -0.4, -0.2, 300))]))
    row = next(l for l in lines if "size / fit" in l)
    assert row.endswith("CSAT -7.8 [-9.0, -6.5]  CES -0.31 [-0.40, -0.20]")
    assert "NPS" not in row and "on CSAT, CES" in lines[3]
    plain = printed(_analysis([_pain_row("all", 1, "size / fit", 300)]))
    assert next(l for l in plain if "size / fit" in l).endswith("50% negative")


def test_japanese_labels_keep_the_columns_aligned(printed):
    import unicodedata

    def display_width(text):  # terminal columns: CJK characters take two
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    lines = printed(_analysis([
        _pain_row("app", 1, "アプリ / 落ちる / ログイン", 12, nps=(-1.0, -2.0, 0.0, 40)),
        _pain_row("app", 2, "login / crash", 9, nps=(-1.0, -2.0, 0.0, 40)),
        _pain_row("app", 3, "配送 / 遅い / 届かない / 連絡 / 問い合わせ / 返事 / 対応 / 最悪", 8,
                  nps=(-1.0, -2.0, 0.0, 40)),
    ]))
    rows = [l for l in lines if " records " in l]
    ends = {display_width(l[: l.index(" records ")]) for l in rows}
    assert len(rows) == 3 and len(ends) == 1, rows
    assert "…" in rows[2]


def test_demo_prints_how_many_themes_emerged_and_their_ids(run, monkeypatch):
    import voc.pipeline

    steps = [{"weeks": "1-6", "dump_records": 1200, "new_records": 1200, "emerging_themes": []},
             {"weeks": "7", "dump_records": 250, "new_records": 200, "emerging_themes": [87]},
             {"weeks": "8", "dump_records": 260, "new_records": 210, "emerging_themes": [88, 90]}]
    analysis = _analysis([_pain_row("all", 1, "late", 50, nps=(-2.0, -3.0, -1.0, 50))])
    monkeypatch.setattr(voc.pipeline, "run_demo", lambda *a, **k: (analysis, steps))
    lines = run("demo", "--out", "d").stdout.splitlines()
    assert lines[0].endswith("emerging themes: none")
    assert lines[1].endswith("200 new, emerging themes: 1 (id 87)")
    assert lines[2].endswith("210 new, emerging themes: 2 (ids 88, 90)")


# --------------------------------------------------------------------------- fail before the work


def test_report_on_undated_data_fails_before_anything_is_run_or_stored(run, tmp_path, monkeypatch):
    import voc.pipeline

    def no_work(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(voc.pipeline, "run_incremental", no_work)
    (tmp_path / "in.csv").write_text("text,nps\nlate parcel,3\ngreat app,10\n")
    result = run("run", "in.csv", "--store", "s.duckdb", "--report", "rep")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: The report needs dated records, but 'in.csv' has no dates")
    assert "--batch-date YYYY-MM-DD" in result.stderr
    assert not (tmp_path / "s.duckdb").exists() and not (tmp_path / "rep").exists()


def test_batch_date_lets_an_undated_weekly_run_report(run, tmp_path, monkeypatch):
    import voc.pipeline

    seen = {}

    def fake_incremental(df, store, *, config, progress):
        seen["config"] = config
        return None

    monkeypatch.setattr(voc.pipeline, "run_incremental", fake_incremental)
    monkeypatch.setattr("voc.report.write_report", lambda *a, **k: None)
    (tmp_path / "in.csv").write_text("text,nps\nlate parcel,3\ngreat app,10\n")
    result = run("run", "in.csv", "--store", "s.duckdb", "--report", "rep", "--batch-date", "2026-11-16")
    assert result.exit_code == 0, result.output
    assert seen["config"].batch_date == "2026-11-16"
    bad = run("run", "in.csv", "--store", "s.duckdb", "--batch-date", "16/11/2026")
    assert bad.exit_code == 2
    assert "Config 'batch_date' must be a date YYYY-MM-DD or None. Got '16/11/2026' (str)." in bad.stderr
    assert "--batch-date" in bad.stderr


def test_library_warnings_reach_stderr(printed, monkeypatch, capsys):
    import logging

    import voc.pipeline

    def warn_then_analyse(*args, **kwargs):
        logging.getLogger("voc.pipeline").warning("NPS column 'Rating': all 40 answers lie within 1-5")
        return _analysis([])

    monkeypatch.setattr(voc.pipeline, "run_file", warn_then_analyse)
    result = CliRunner().invoke(main, ["run", "in.csv", "--out", "o"])
    assert result.exit_code == 0, result.output
    assert "Warning: NPS column 'Rating': all 40 answers lie within 1-5\n" in result.stderr
    assert "Rating" not in result.stdout


def test_errors_name_flags_and_run_prints_guessed_columns(run, tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from voc.cli import as_flags, summary_text

    (tmp_path / "in.csv").write_text("ReviewText,Rating\ngood,5\n")
    result = run("validate", "in.csv", "--text-col", "Body")
    assert result.exit_code == 2 and result.stderr.endswith("Use --text-col.\n") and "text_col=" not in result.stderr
    assert as_flags("Set the scale with csat_scale=(LOW, HIGH), or pass on_error='skip'. Pass encoding='cp932'.") \
        == "Set the scale with --csat-scale LOW HIGH, or pass --on-error skip. Pass --encoding cp932."
    result = run("validate", "in.csv")
    assert "text <- ReviewText (guessed from header 'ReviewText'), csat <- Rating (guessed from header " \
           "'Rating': values 5..5 fit the CSAT scale 1..5)" in result.output
    analysis = SimpleNamespace(pain_points=pd.DataFrame(), run={
        "counts": {"records": 1, "mentions": 1, "themes": 0, "unassigned_mentions": 1},
        "mapping": {"text": "ReviewText"}, "mapping_guesses": {"text": "guessed from header 'ReviewText'"}})
    assert "Mapped text <- ReviewText (guessed from header 'ReviewText')" in summary_text(analysis, "out", top=3)
