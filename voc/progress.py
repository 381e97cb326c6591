"""Progress on stderr: one line per stage, with counts and seconds.

The library prints nothing unless asked: its functions take ``progress``,
``False`` (the default: silent), ``True`` (lines on stderr) or a
:class:`Progress` to write elsewhere. The CLI asks when stderr is a terminal
(or ``VOC_PROGRESS=1``) and ``--quiet`` is not given (:func:`wanted`).

On a terminal a stage shows ``voc: themes ...`` while it runs, and the line
is completed (counts, seconds) when it ends; elsewhere only the finished
lines are written::

    voc: read       2,000 records                      0.1s
    voc: embed      3,741 texts (0 cached)            31.5s
    voc: themes     3,741 mentions -> 84 themes       24.8s
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator, TextIO

ENV = "VOC_PROGRESS"
"""``VOC_PROGRESS=1`` shows progress even when stderr is not a terminal; ``0`` never."""


class Progress:
    """Writes one line per finished stage to ``stream`` (default: stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    @property
    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _tty(self) -> bool:
        return bool(getattr(self._out, "isatty", lambda: False)())

    def start(self, stage: str, detail: str = "") -> None:
        """A stage begins (shown only on a terminal, completed by :meth:`done`)."""
        if self._tty():
            self._out.write(f"voc: {stage:<10} {detail} ...")
            self._out.flush()

    def done(self, stage: str, detail: str, seconds: float) -> None:
        """A stage ended: ``voc: STAGE DETAIL SECONDS`` on a line of its own."""
        line = f"voc: {stage:<10} {detail:<40} {seconds:6.1f}s"
        self._out.write(("\r\x1b[K" if self._tty() else "") + line + "\n")
        self._out.flush()


def get(progress: Any) -> Progress | None:
    """The :class:`Progress` that ``progress`` (bool, None or a Progress) asks for."""
    if progress is None or progress is False:
        return None
    return Progress() if progress is True else progress


@contextmanager
def stage(progress: Any, name: str, detail: str = "") -> Iterator[dict[str, Any]]:
    """Time a stage and report it; the body may set ``info["detail"]`` to what it found."""
    reporter = get(progress)
    info: dict[str, Any] = {"detail": detail, "seconds": 0.0}
    if reporter is not None:
        reporter.start(name, detail)
    start = time.perf_counter()
    yield info
    info["seconds"] = round(time.perf_counter() - start, 3)
    if reporter is not None:
        reporter.done(name, info["detail"], info["seconds"])


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether the CLI shows progress: not ``--quiet``, and stderr is a terminal or ``VOC_PROGRESS=1``."""
    if quiet or os.environ.get(ENV) == "0":
        return False
    stream = stream if stream is not None else sys.stderr
    return os.environ.get(ENV) == "1" or bool(getattr(stream, "isatty", lambda: False)())
