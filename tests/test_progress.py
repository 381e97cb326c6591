"""Progress lines (voc.progress): on stderr only when asked, one line per stage."""

from __future__ import annotations

import functools
import io
import re

import pytest
from click.testing import CliRunner

import voc
from voc.cli import main
from voc.progress import Progress

STAGES = ("read", "load", "segment", "embed", "sentiment", "themes", "rank", "write")
LINE = re.compile(r"^voc: (\w+) +(.*?) +(\d+\.\d)s$")


def _lines(text):
    return [LINE.match(line.split("\r")[-1].replace("\x1b[K", "")) for line in text.splitlines()]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """`voc run` on a small file, with the fake embedder and scorer (no models)."""
    import voc.pipeline
    from tests.conftest import FakeEmbedder
    from tests.test_engine import FakeScorer

    monkeypatch.chdir(tmp_path)
    voc.make_feedback(n=60, random_state=1, ja_share=0.0).to_csv("in.csv", index=False)
    monkeypatch.setattr(voc.pipeline, "analyze", functools.partial(
        voc.pipeline.analyze, embedder=FakeEmbedder(), scorer=FakeScorer()))

    def cli(*args, env=None):
        result = CliRunner().invoke(main, ["run", "in.csv", "--out", "out", *args], env=env or {})
        assert result.exit_code == 0, result.output
        return result

    return cli


def test_no_progress_when_stderr_is_not_a_terminal_or_quiet(cli):
    assert "voc: " not in cli().stderr
    assert cli("--quiet", env={"VOC_PROGRESS": "1"}).stderr.count("voc: ") == 0


def test_forced_progress_gives_one_line_per_stage_with_counts_and_seconds(cli):
    lines = _lines(cli(env={"VOC_PROGRESS": "1"}).stderr)
    found = [m.group(1) for m in lines if m]
    assert found == list(STAGES)
    detail = {m.group(1): m.group(2) for m in lines if m}
    assert detail["read"] == "60 records"
    assert re.fullmatch(r"60 records -> \d+ mentions", detail["segment"])
    assert re.fullmatch(r"\d+ mentions -> \d+ themes in \d+ topics", detail["themes"])


def test_library_is_silent_unless_asked(capfd, tiny_feedback, fake_embedder):
    from tests.test_engine import FakeScorer
    from voc.config import Config

    kwargs = dict(config=Config(cache_dir="", min_theme_size=2), embedder=fake_embedder, scorer=FakeScorer())
    voc.analyze(voc.load_feedback(tiny_feedback), **kwargs)
    assert capfd.readouterr().err == ""
    stream = io.StringIO()
    voc.analyze(voc.load_feedback(tiny_feedback), progress=Progress(stream), **kwargs)
    assert [m.group(1) for m in _lines(stream.getvalue()) if m] == list(STAGES[1:-1])


def test_on_a_terminal_a_stage_shows_while_it_runs():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = Progress(stream)
    progress.start("themes", "fitting 3,741 mentions")
    assert stream.getvalue() == "voc: themes     fitting 3,741 mentions ..."
    progress.done("themes", "3,741 mentions -> 84 themes", 24.81)
    assert re.search(r"\.\.\.\r\x1b\[Kvoc: themes     3,741 mentions -> 84 themes +24\.8s\n$", stream.getvalue())


def test_streaming_engine_reports_its_chunks(tmp_path):
    from tests.conftest import FakeEmbedder
    from tests.test_engine import FakeScorer
    from voc.config import Config
    from voc.engine import run_streaming

    voc.make_feedback(n=90, random_state=2, ja_share=0.0).to_csv(tmp_path / "in.csv", index=False)
    stream = io.StringIO()
    run_streaming(tmp_path / "in.csv", tmp_path / "out", config=Config(cache_dir=str(tmp_path / "c")),
                  chunk_size=30, embedder=FakeEmbedder(), scorer=FakeScorer(), progress=Progress(stream))
    text = stream.getvalue()
    for i in (1, 2, 3):
        assert f"voc: segment    chunk {i}: " in text
        assert f"voc: score      chunk {i} of 3: embedded, assigned, written" in text
    assert "voc: themes" in text and "voc: rank" in text
