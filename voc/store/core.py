"""The :class:`Store` class: one DuckDB file, its writer lock and its connections."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from ..errors import StoreError
from .read import StoreReader
from .schema import create_schema
from .trend import StoreTrends
from .views import StoreViews
from .write import StoreWriter

DEFAULT_PATH = "voc.duckdb"
"""The store file by convention."""

MEMORY_LIMIT = "1GB"
"""DuckDB's ``memory_limit`` of a store's connections unless told otherwise (``Store(memory_limit=...)``)."""

LOCK_SUFFIX = ".lock"
"""The writer lock of store ``PATH`` is the file ``PATH.lock`` (see :meth:`Store.writer_lock`)."""


class Store(StoreWriter, StoreReader, StoreTrends, StoreViews):
    """A run store in one DuckDB file.

    Parameters
    ----------
    path : str or Path
        The store file (created on the first write). ``voc.duckdb`` by
        convention.
    timeout : float
        Seconds to wait for another process that holds the store (its
        writer lock ``PATH.lock``, or DuckDB's own file lock) before raising
        :class:`~voc.errors.StoreError`.
    memory_limit : str or None
        DuckDB's ``memory_limit`` for every connection (default
        :data:`MEMORY_LIMIT`, ``"1GB"``): DuckDB then spills big joins and
        aggregates to a ``PATH.tmp`` folder instead of holding them, so a
        dashboard read or a backfill's write stays within about this much
        memory at any store size (docs/scale.md). None leaves DuckDB's own
        default, 80% of the machine's memory.

    Notes
    -----
    The methods live in the modules of :mod:`voc.store` by job: writing
    (:mod:`voc.store.write`), the per-run tables and lineage
    (:mod:`voc.store.read`), trends in SQL (:mod:`voc.store.trend`) and the
    dashboard reads (filter-aware KPIs, pain points, heatmap, trends,
    quotes, alerts, :meth:`snapshot`, :mod:`voc.store.views`).

    Read methods that take ``run=None`` use the latest run for per-run
    snapshots (themes, touchpoints, pain points) and *all* runs for
    ``records``/``mentions`` (each record is stored once, by the first run
    that saw its ``voc_id``).
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, timeout: float = 10.0,
                 memory_limit: str | None = MEMORY_LIMIT) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def duckdb_config(self) -> dict[str, str]:
        """The DuckDB settings every connection of this store opens with."""
        return {"memory_limit": self.memory_limit} if self.memory_limit else {}

    @property
    def lock_path(self) -> Path:
        """The writer lock file, ``PATH.lock``."""
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's writer lock: one writer at a time, across processes.

        An exclusive OS lock (``flock``) on :attr:`lock_path`, waited for up
        to ``timeout`` seconds; then :class:`~voc.errors.StoreError`.
        Re-entrant within a thread (``run_incremental`` holds it around
        ``write_run``, which takes it too). The OS releases it when the
        process ends, however it ends; the empty lock file may stay.
        """
        key = (str(self.lock_path.resolve()), threading.get_ident())
        if key in _HELD_LOCKS:
            _HELD_LOCKS[key] += 1
            try:
                yield
            finally:
                _HELD_LOCKS[key] -= 1
            return
        try:
            handle = open(self.lock_path, "a+b")
        except OSError as e:
            raise StoreError(
                f"Cannot create the store's lock file '{self.lock_path}': {e.strerror or e}. "
                "Make the store's folder writable."
            ) from None
        try:
            deadline = time.monotonic() + self.timeout
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"Store '{self.path}' is being written by another voc run: its lock file "
                        f"'{self.lock_path}' is held (waited {self.timeout:g}s). Nothing was written; "
                        "run again when that run has finished (the lock is freed when its process ends), "
                        "or wait longer with Store(path, timeout=SECONDS)."
                    )
                time.sleep(0.1)
            _HELD_LOCKS[key] = 1
            try:
                yield
            finally:
                del _HELD_LOCKS[key]
        finally:
            handle.close()  # closing the file releases the lock

    # ------------------------------------------------------------ connection
    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Any]:
        import duckdb

        if not write and not self.path.exists():
            raise StoreError(
                f"No store at '{self.path}'. Write a run first (voc run DUMP --store {self.path})."
            )
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=not write, config=self.duckdb_config)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise StoreError(f"Cannot open store '{self.path}': {e}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"Store '{self.path}' is in use by another voc process; retry later "
                        f"(waited {self.timeout:g}s)."
                    ) from None
                time.sleep(0.1)
            except duckdb.Error as e:
                raise StoreError(f"Cannot open store '{self.path}': {e}") from None
        try:
            if write:
                create_schema(con)
            yield con
        finally:
            con.close()

    def _query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        import duckdb

        with self._connect() as con:
            try:
                return con.execute(sql, params or []).df()
            except duckdb.CatalogException as e:
                raise StoreError(f"Store '{self.path}' is incomplete or not a voc store: {e}") from None


_HELD_LOCKS: dict[tuple[str, int], int] = {}
"""Writer locks this process holds: (lock file, thread) -> depth."""


def _try_lock(handle: Any) -> bool:
    """Take an exclusive lock on an open file without waiting; False if another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as e:
        raise StoreError(f"Cannot lock '{handle.name}': {e.strerror or e}. Put the store on a local disk.") from None
