"""A read-only, immutable copy of a run store (see :meth:`voc.Store.snapshot`).

A :class:`SnapshotStore` is a :class:`~voc.store.Store` over a snapshot file
that nothing else writes: it keeps one read-only DuckDB connection open
(a cursor per call, so threads can share it) and remembers the answers of
its read methods (the file never changes), so a dashboard's repeated
interactions cost nothing after the first. Writing raises
:class:`~voc.errors.StoreError`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator

from ..errors import StoreError
from .core import MEMORY_LIMIT, Store

CACHED = ("runs", "latest_run", "run_info", "themes", "topics", "touchpoints", "pain_points", "theme_labels",
          "lineage", "filter_options", "kpi_summary", "pain_table", "heatmap", "pain_trend", "quotes",
          "theme_week_trends", "alerts", "_settings", "_labels")
"""Read methods whose answers a snapshot remembers."""
CACHE_SIZE = 512


def _key(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    return value


def _cached(name: str):
    @functools.wraps(getattr(Store, name))
    def wrapper(self: "SnapshotStore", *args: Any, **kwargs: Any) -> Any:
        key = (name, _key(args), _key(kwargs))
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return copy.deepcopy(self._cache[key])
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:  # the same read asked twice at once (two callbacks of one click) is computed once
            with self._cache_lock:
                if key in self._cache:
                    return copy.deepcopy(self._cache[key])
            try:
                value = getattr(Store, name)(self, *args, **kwargs)
            finally:
                with self._cache_lock:
                    self._busy.pop(key, None)
            with self._cache_lock:
                self._cache[key] = value
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return copy.deepcopy(value)

    return wrapper


class SnapshotStore(Store):
    """A :class:`Store` over an immutable snapshot file: one shared read-only
    connection, remembered answers, no writes."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0, memory_limit: str | None = MEMORY_LIMIT) -> None:
        super().__init__(path, timeout=timeout, memory_limit=memory_limit)
        self._con: Any = None
        self._con_lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()
        self._busy: dict = {}

    def __repr__(self) -> str:
        return f"SnapshotStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Any]:
        import duckdb

        if write:
            raise StoreError(f"'{self.path}' is a read-only snapshot; write to the store it was taken from.")
        with self._con_lock:
            if self._con is None:
                try:
                    self._con = duckdb.connect(str(self.path), read_only=True, config=self.duckdb_config)
                except duckdb.Error as e:
                    raise StoreError(f"Cannot open snapshot '{self.path}': {e}") from None
            cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        raise StoreError(f"'{self.path}' is a read-only snapshot; write to the store it was taken from.")
        yield  # pragma: no cover

    def close(self) -> None:
        """Close the shared connection (the next read opens it again)."""
        with self._con_lock:
            if self._con is not None:
                self._con.close()
                self._con = None


for _name in CACHED:
    setattr(SnapshotStore, _name, _cached(_name))
del _name
