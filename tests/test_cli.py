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
                                                   "(line 2), e.g. '6'. Set the scale with --ces-scale LOW HIGH "
                                                   "(ces_scale=), map another column with --ces-col, or pass "
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
