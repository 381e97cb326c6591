"""The run store: every weekly run in one embedded DuckDB file.

A :class:`Store` keeps each run's records, mentions, themes, topics,
touchpoints and pain points (each row tagged with ``run_id``), the theme and
topic lineage (new, merged, retired, moved) and the theme model, in a single file that needs no server.

Writing a run is one transaction: an interrupted or failing write leaves the
store exactly as it was. Writers are exclusive: :meth:`Store.writer_lock`
holds an OS file lock on ``PATH.lock`` (next to the store) for the whole
read-model / assign / write cycle of a weekly run
(:func:`voc.pipeline.run_incremental`) and for every write. A second
writer waits up to ``timeout`` seconds for it, then works on the updated
store (it sees the first run's records and themes), or raises
:class:`~voc.errors.StoreError` naming the lock file when the first is
still running. The lock is released when its process ends, even by
``kill -9``. DuckDB itself also allows one writing process at a time. The
store never holds a connection between calls, so dashboards (readers take
no lock) and the weekly job can take turns.

>>> store = Store("voc.duckdb")                     # doctest: +SKIP
>>> run_id = store.write_run(analysis)              # doctest: +SKIP
>>> store.pain_points(touchpoint="delivery").head() # doctest: +SKIP
>>> store.trend("negative_share", theme=3)          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ConfigError, StoreError
from .trends import TREND_METRICS  # metrics of Store.trend and voc.trends.metric_trend: one definition
from .store_views import StoreViews

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_PATH = "voc.duckdb"

TABLES = ("records", "mentions", "themes", "touchpoints", "pain_points", "topics")
"""Per-run tables; every row carries the ``run_id`` of the run that wrote it."""

LINEAGE_EVENTS = ("new", "merged", "retired", "moved")
LINEAGE_LEVELS = ("theme", "topic")
"""``level`` of a lineage row: the id in ``theme`` is a theme id or a topic id
(rows of stores written before topics have no level and read as "theme")."""

LOCK_SUFFIX = ".lock"
"""The writer lock of store ``PATH`` is the file ``PATH.lock`` (see :meth:`Store.writer_lock`)."""

SCORE_TRENDS = ("nps", "csat", "ces")
IMPACT_TRENDS = ("nps_impact", "csat_impact", "ces_impact")

FREQS = {"D": "day", "W": "week", "M": "month"}

# Fixed column types of the vocabulary; any other column is added on first
# sight with a type derived from its pandas dtype (see _sql_type).
_BASE_SCHEMA: dict[str, dict[str, str]] = {
    "records": {
        "run_id": "VARCHAR", C.VOC_ID: "VARCHAR", C.TEXT: "VARCHAR", C.HAS_TEXT: "BOOLEAN",
        C.SOURCE_LINE: "BIGINT", C.DATE: "TIMESTAMP", C.TOUCHPOINT: "VARCHAR",
        C.CHANNEL: "VARCHAR", C.NPS: "INTEGER", C.CES: "DOUBLE", C.CSAT: "DOUBLE",
        C.LANGUAGE: "VARCHAR", C.THEMES: "INTEGER[]", C.PRIMARY_THEME: "INTEGER",
        C.SENTIMENT: "DOUBLE", C.SENTIMENT_LABEL: "VARCHAR", "min_sentiment": "DOUBLE",
    },
    "mentions": {
        "run_id": "VARCHAR", C.VOC_ID: "VARCHAR", C.UNIT: "INTEGER", C.TEXT: "VARCHAR",
        C.LANGUAGE: "VARCHAR", C.THEME: "INTEGER", C.THEME_PROB: "DOUBLE", C.TOPIC: "INTEGER",
        C.SENTIMENT: "DOUBLE", C.SENTIMENT_LABEL: "VARCHAR",
        C.DATE: "TIMESTAMP", C.TOUCHPOINT: "VARCHAR",  # copied from the record
    },
    "themes": {
        "run_id": "VARCHAR", C.THEME: "INTEGER", "label": "VARCHAR", C.TOPIC: "INTEGER",
        "topic_label": "VARCHAR", "keywords": "VARCHAR",
        "mentions": "BIGINT", "records": "BIGINT", "share": "DOUBLE", "exemplars": "VARCHAR",
    },
    "topics": {
        "run_id": "VARCHAR", C.TOPIC: "INTEGER", "label": "VARCHAR", "keywords": "VARCHAR",
        "themes": "VARCHAR", "mentions": "BIGINT", "records": "BIGINT", "share": "DOUBLE",
        "exemplars": "VARCHAR",
    },
    "touchpoints": {"run_id": "VARCHAR", C.TOUCHPOINT: "VARCHAR"},
    "pain_points": {
        "run_id": "VARCHAR", C.TOUCHPOINT: "VARCHAR", C.THEME: "INTEGER", "label": "VARCHAR",
    },
}

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, date_min TIMESTAMP,
    date_max TIMESTAMP, n_records BIGINT, n_mentions BIGINT, config JSON, run JSON);
CREATE TABLE IF NOT EXISTS lineage (
    theme INTEGER, event VARCHAR, run_id VARCHAR, detail VARCHAR, created_at TIMESTAMP, level VARCHAR);
ALTER TABLE lineage ADD COLUMN IF NOT EXISTS level VARCHAR;
CREATE TABLE IF NOT EXISTS model_files (run_id VARCHAR, name VARCHAR, data BLOB);
"""


class Store(StoreViews):
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

    Notes
    -----
    The dashboard reads (filter-aware KPIs, pain points, heatmap, trends,
    quotes, alerts, :meth:`snapshot`) are documented in :mod:`voc.store_views`.

    Read methods that take ``run=None`` use the latest run for per-run
    snapshots (themes, touchpoints, pain points) and *all* runs for
    ``records``/``mentions`` (each record is stored once, by the first run
    that saw its ``voc_id``).
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

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
                con = duckdb.connect(str(self.path), read_only=not write)
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
                con.execute(_DDL)
                for table, cols in _BASE_SCHEMA.items():
                    body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
                    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
                con.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
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

    # ----------------------------------------------------------------- write
    def write_run(
        self,
        analysis: Any,
        *,
        run_id: str | None = None,
        lineage: pd.DataFrame | list[dict] | None = None,
        save_model: bool = True,
    ) -> str | None:
        """Store one run in a single transaction and return its run id.

        Parameters
        ----------
        analysis : Analysis or mapping
            Anything with ``records``, ``mentions``, ``themes``,
            ``touchpoints``, ``pain_points`` (DataFrames), ``run`` (dict) and
            optionally ``model`` (a ThemeModel), as attributes or keys.
        run_id : str, optional
            Defaults to ``run-YYYYmmddTHHMMSS-xxxx`` (UTC).
        lineage : DataFrame or list of dict, optional
            Lineage events of this run (columns theme, event in
            new|merged|retired|moved, detail, and optionally level in
            theme|topic, default theme; for topic rows ``theme`` holds the
            topic id).
        save_model : bool
            Store ``analysis.model`` as the store's current theme model.

        Records whose ``voc_id`` is already stored are skipped (with their
        mentions): the store keeps the first analysis of each record. When no
        record is new, nothing is written and ``None`` is returned, so
        re-running the same dump changes nothing. On any error the
        transaction is rolled back and the store is unchanged.
        """
        get = (lambda k: analysis.get(k)) if isinstance(analysis, Mapping) else (
            lambda k: getattr(analysis, k, None))
        frames = {t: get(t) for t in TABLES}
        for t in ("records", "mentions"):
            if not isinstance(frames[t], pd.DataFrame):
                raise StoreError(f"write_run needs a '{t}' DataFrame; got {type(frames[t]).__name__}.")
        return self.write_run_chunks([(frames["records"], frames["mentions"])], analysis,
                                     run_id=run_id, lineage=lineage, save_model=save_model)

    def write_run_chunks(
        self,
        chunks: Iterable[tuple[pd.DataFrame, pd.DataFrame]],
        tables: Any,
        *,
        run_id: str | None = None,
        lineage: pd.DataFrame | list[dict] | None = None,
        save_model: bool = True,
    ) -> str | None:
        """:meth:`write_run` for a run too big for memory: records and mentions come in chunks.

        ``chunks`` yields ``(records, mentions)`` pairs, every record's
        mentions in the same pair as the record (the streaming engines give
        one pair per input chunk, :mod:`voc.stream_store`); ``tables`` has
        ``themes``, ``touchpoints``, ``pain_points``, ``topics``, ``run`` and
        ``model`` as :meth:`write_run`'s ``analysis`` (its ``records`` and
        ``mentions`` are not used). Everything is **one transaction**, as
        :meth:`write_run`: an error or a kill before the end leaves the store
        as it was. Returns the run id, or None when no record was new.
        """
        import duckdb

        get = (lambda k: tables.get(k)) if isinstance(tables, Mapping) else (
            lambda k: getattr(tables, k, None))
        frames = {t: get(t) for t in TABLES if t not in ("records", "mentions")}
        frames = {t: (f if isinstance(f, pd.DataFrame) else pd.DataFrame()) for t, f in frames.items()}
        run = dict(get("run") or {})
        model = get("model") if save_model else None
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        run_id = run_id or f"run-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        events = _lineage_frame(lineage, run_id, now)
        model_files = _model_blobs(model) if model is not None else []

        with self.writer_lock(), self._connect(write=True) as con:
            try:
                con.execute("BEGIN TRANSACTION")
                if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                    raise StoreError(f"Run '{run_id}' is already in the store; pick another run_id.")
                n_records = n_mentions = skipped = 0
                date_min = date_max = None
                for chunk_records, chunk_mentions in chunks:
                    records, mentions = _drop_known(con, chunk_records, chunk_mentions)
                    skipped += len(chunk_records) - len(records)
                    if not len(records):
                        continue
                    records = _with_themes(records, mentions)
                    if C.DATE in records:
                        dates = pd.to_datetime(records[C.DATE], utc=True)
                        if dates.notna().any():
                            date_min = dates.min() if date_min is None else min(date_min, dates.min())
                            date_max = dates.max() if date_max is None else max(date_max, dates.max())
                    _insert_frame(con, "records", records.assign(run_id=run_id))
                    _insert_frame(con, "mentions", _with_record_keys(mentions, records).assign(run_id=run_id))
                    n_records += len(records)
                    n_mentions += len(mentions)
                if skipped:
                    log.info("skipped %d records already in the store", skipped)
                if not n_records:
                    _rollback(con)
                    log.info("no new records: nothing written")
                    return None
                run.setdefault("store", {})
                run["store"] = {**run["store"], "run_id": run_id, "records_skipped": int(skipped)}
                con.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, now.to_pydatetime(), _py_ts(date_min), _py_ts(date_max),
                     n_records, n_mentions,
                     json.dumps(run.get("config", {}), default=str, ensure_ascii=False),
                     json.dumps(run, default=str, ensure_ascii=False)],
                )
                for table, frame in frames.items():
                    _insert_frame(con, table, frame.assign(run_id=run_id))
                if len(events):
                    _insert_frame(con, "lineage", events)
                for name, data in model_files:
                    con.execute("INSERT INTO model_files VALUES (?, ?, ?)", [run_id, name, data])
                con.execute("COMMIT")
            except BaseException as e:
                _rollback(con)
                if isinstance(e, StoreError) or not isinstance(e, Exception):
                    raise
                if isinstance(e, duckdb.Error):
                    raise StoreError(f"Writing run '{run_id}' failed, store unchanged: {e}") from e
                raise
        log.info("stored run %s (%d records, %d mentions)", run_id, n_records, n_mentions)
        return run_id

    def add_lineage(self, events: pd.DataFrame | list[dict], *, run_id: str) -> None:
        """Append theme lineage events (theme, event, detail) for ``run_id``."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        frame = _lineage_frame(events, run_id, now)
        with self.writer_lock(), self._connect(write=True) as con:
            if not con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                raise StoreError(f"Unknown run '{run_id}'. Known runs: {_run_list(con)}.")
            con.execute("BEGIN TRANSACTION")
            try:
                _insert_frame(con, "lineage", frame)
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise

    def delete_run(self, run_id: str) -> None:
        """Remove one run (its rows, lineage and model) in one transaction."""
        with self.writer_lock(), self._connect(write=True) as con:
            if not con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                raise StoreError(f"Unknown run '{run_id}'. Known runs: {_run_list(con)}.")
            con.execute("BEGIN TRANSACTION")
            try:
                for table in (*TABLES, "lineage", "model_files", "runs"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise

    # ------------------------------------------------------------------ read
    def known_ids(self, ids: Any = None) -> set[str]:
        """The ``voc_id`` of every stored record (empty for a new store).

        With ``ids`` (any iterable of voc_ids), only those of ``ids`` that are
        already stored: much faster on a large store when a dump is checked
        for new records.
        """
        if not self.path.exists():
            return set()
        if ids is None:
            with self._connect() as con:
                return set(con.execute("SELECT voc_id FROM records").fetchnumpy()[C.VOC_ID].tolist())
        frame = pd.DataFrame({C.VOC_ID: pd.Series(list(ids), dtype=object).astype(str).unique()})
        with self._connect() as con:
            con.register("_ids", frame)
            rows = con.execute("SELECT voc_id FROM records WHERE voc_id IN (SELECT voc_id FROM _ids)").fetchall()
        return {r[0] for r in rows}

    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first: run_id, created_at, date_min,
        date_max, n_records, n_mentions, config (JSON text), run (JSON text)."""
        return self._query("SELECT * FROM runs ORDER BY created_at, run_id")

    def latest_run(self) -> str:
        """Id of the most recent run; StoreError if the store has none."""
        runs = self._query("SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 1")
        if runs.empty:
            raise StoreError(f"Store '{self.path}' has no runs yet. Write a run first.")
        return str(runs.iloc[0, 0])

    def run_info(self, run: str | None = None) -> dict[str, Any]:
        """The stored ``run.json`` content of ``run`` (latest when None)."""
        run = run or self.latest_run()
        df = self._query("SELECT run FROM runs WHERE run_id = ?", [run])
        if df.empty:
            raise StoreError(f"Unknown run '{run}'. Known runs: {', '.join(self.runs()['run_id'])}.")
        return json.loads(df.iloc[0, 0])

    def _snapshot(self, table: str, run: str | None, where: str = "", params: list | None = None,
                  order: str = "") -> pd.DataFrame:
        run = run or self.latest_run()
        df = self._query(
            f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? {where} {order}",
            [run, *(params or [])],
        )
        return _drop_empty(df)

    def themes(self, run: str | None = None) -> pd.DataFrame:
        """The themes table of ``run`` (latest run when None)."""
        return self._snapshot("themes", run, order="ORDER BY theme")

    def topics(self, run: str | None = None) -> pd.DataFrame:
        """The topics table of ``run`` (latest run when None); empty (no
        columns) for runs or stores written before topics existed."""
        if self._query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'topics'"
                       ).iloc[0, 0] == 0:
            return pd.DataFrame()
        df = self._snapshot("topics", run, order="ORDER BY topic")
        return df if len(df) else pd.DataFrame()

    def touchpoints(self, run: str | None = None) -> pd.DataFrame:
        """The touchpoints table of ``run`` (latest run when None)."""
        return self._snapshot("touchpoints", run)

    def pain_points(self, run: str | None = None, touchpoint: str | None = None) -> pd.DataFrame:
        """Ranked pain points of ``run`` (latest when None), optionally of one
        touchpoint; sorted by touchpoint ("all" first), level (topic rows
        first, see :func:`voc.rank.rank_pain_points`), then rank. Runs stored
        before topics existed have only theme rows and no ``level`` column.

        A touchpoint the run does not have raises :class:`StoreError` listing
        the known ones; a run without pain points gives an empty frame with
        the table's columns.
        """
        from .rank import LEVELS

        run = run or self.latest_run()
        where, params = ("AND touchpoint = ?", [touchpoint]) if touchpoint is not None else ("", [])
        df = self._snapshot("pain_points", run, where, params)
        if df.empty and touchpoint is not None:
            known = self._query("SELECT DISTINCT touchpoint FROM pain_points WHERE run_id = ?", [run])
            names = sorted(known[C.TOUCHPOINT].dropna().astype(str), key=lambda s: (s != C.ALL_TOUCHPOINTS, s))
            if names:
                raise StoreError(f"Unknown touchpoint {touchpoint!r} in run '{run}'. "
                                 f"Known touchpoints: {', '.join(names)}.")
        level = df["level"].map({lv: i for i, lv in enumerate(LEVELS)}).fillna(len(LEVELS)) \
            if "level" in df.columns else 0
        keys = ["_all", C.TOUCHPOINT, "_lv"] + (["rank"] if "rank" in df.columns else [])
        df = df.assign(_all=df[C.TOUCHPOINT] != C.ALL_TOUCHPOINTS, _lv=level).sort_values(keys, kind="stable")
        return df.drop(columns=["_all", "_lv"]).reset_index(drop=True)

    def theme_labels(self) -> pd.DataFrame:
        """Latest label of every theme id ever stored: theme, label, first_run, last_run."""
        return self._query(
            """SELECT t.theme, arg_max(t.label, r.created_at) AS label,
                      arg_min(t.run_id, r.created_at) AS first_run,
                      arg_max(t.run_id, r.created_at) AS last_run
               FROM themes t JOIN runs r USING (run_id) GROUP BY t.theme ORDER BY t.theme"""
        )

    def records(self, run: str | None = None) -> pd.DataFrame:
        """Stored records of ``run``, or of all runs when None (with ``run_id``)."""
        where, params = ("WHERE run_id = ?", [run]) if run else ("", [])
        return _drop_empty(self._query(f"SELECT * FROM records {where} ORDER BY date, voc_id", params))

    def mentions(self, run: str | None = None) -> pd.DataFrame:
        """Stored mentions of ``run``, or of all runs when None (with ``run_id``)."""
        where, params = ("WHERE run_id = ?", [run]) if run else ("", [])
        return _drop_empty(
            self._query(f"SELECT * FROM mentions {where} ORDER BY voc_id, unit", params))

    def lineage(self) -> pd.DataFrame:
        """Theme and topic lineage: theme, event, run_id, detail, created_at,
        the run's date_min/date_max (the data period the event belongs to)
        and level (``theme``, or ``topic`` when ``theme`` holds a topic id)."""
        df = self._query(
            """SELECT l.*, r.date_min, r.date_max
               FROM lineage l LEFT JOIN runs r USING (run_id) ORDER BY l.created_at, l.theme"""
        )
        level = df["level"].fillna("theme") if "level" in df else "theme"
        cols = ["theme", "event", "run_id", "detail", "created_at", "date_min", "date_max"]
        return df[cols].assign(level=level)

    def coverage(self, run: str | None = None, *, freq: str = "W") -> pd.DataFrame:
        """How much of the feedback the analysts' code frame covers (``voc.themes.taxonomy``).

        Share of mentions in a seeded theme (``code_frame``) versus a
        discovered theme (``discovered``) and unassigned, overall, per
        touchpoint and per week (``freq``, a pandas period such as ``"W"`` or
        ``"M"``), over the mentions of ``run`` or of all runs (None). A
        mention counts as inside the code frame when its theme was a seeded
        theme of the run that stored it (each run keeps its taxonomy version).

        Returns
        -------
        DataFrame
            ``level`` (``overall``, ``by_touchpoint``, ``by_week``),
            ``touchpoint``, ``week`` (period start, ``YYYY-MM-DD``),
            ``mentions``, ``code_frame``, ``discovered``, ``unassigned``,
            ``code_frame_share``, ``discovered_share``. Without any
            taxonomy every theme counts as discovered.
        """
        from .themes.taxonomy import coverage_table

        mentions = self.mentions(run)
        runs = [run] if run else sorted(set(mentions["run_id"])) if "run_id" in mentions else []
        seeded = {r: list((self.run_info(r).get("taxonomy") or {}).get("themes", {}).values()) for r in runs}
        if run:
            mentions = mentions.assign(run_id=run)
        return coverage_table(mentions, seeded, freq=freq)

    def taxonomy_versions(self) -> pd.DataFrame:
        """The taxonomy version each run used: ``run_id``, ``created_at``, ``version``
        (None for runs without a taxonomy), ``source``, ``themes`` (seeded theme
        names, ``"; "``-joined, in id order)."""
        rows = []
        for r in self.runs().itertuples():
            tax = (json.loads(r.run) if isinstance(r.run, str) else (r.run or {})).get("taxonomy") or {}
            names = sorted(tax.get("themes", {}).items(), key=lambda kv: kv[1])
            rows.append({"run_id": r.run_id, "created_at": r.created_at, "version": tax.get("version"),
                         "source": tax.get("source"), "themes": "; ".join(n for n, _ in names)})
        return pd.DataFrame(rows, columns=["run_id", "created_at", "version", "source", "themes"])

    def load_model(self, run: str | None = None, *, cls: Any = None) -> Any:
        """The theme model saved by ``run``, or the latest saved model when
        None; ``None`` if the store has no model yet. ``cls`` (default
        :class:`voc.themes.ThemeModel`) is any class with ``load(folder)``."""
        if not self.path.exists():
            return None
        sql = ("SELECT m.run_id, m.name, m.data FROM model_files m JOIN runs r USING (run_id) "
               + ("WHERE m.run_id = ? " if run else "") + "ORDER BY r.created_at DESC")
        files = self._query(sql, [run] if run else [])
        if files.empty:
            return None
        files = files[files["run_id"] == files["run_id"].iloc[0]]
        if cls is None:
            from .themes import ThemeModel as cls

        with tempfile.TemporaryDirectory(prefix="voc-model-") as tmp:
            for name, data in zip(files["name"], files["data"]):
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bytes(data))
            return cls.load(tmp)

    def _csat_satisfied_from(self) -> float:
        """The CSAT threshold of the latest run's config (4 without runs)."""
        try:
            cfg = self.run_info().get("config") or {}
        except StoreError:
            return 4
        if cfg.get("csat_threshold") is not None:
            return float(cfg["csat_threshold"])
        return float((cfg.get("csat_scale") or (1, 5))[1] - 1)

    def trend(
        self,
        metric: str,
        *,
        theme: int | None = None,
        touchpoint: str | None = None,
        freq: str = "W",
        csat_satisfied_from: float | None = None,
    ) -> pd.DataFrame:
        """One metric per period over every stored record, computed in DuckDB.

        Parameters
        ----------
        metric : str
            One of :data:`TREND_METRICS` (definitions in
            :func:`voc.trends.metric_trend`, which computes the same on frames).
        theme : int, optional
            Restrict to records/mentions of this theme (required for
            ``nps_impact``, ``csat_impact``, ``ces_impact``).
        touchpoint : str, optional
            Restrict to one touchpoint.
        freq : {"W", "D", "M"}
            Period: ISO week (starting Monday), day or month.
        csat_satisfied_from : float, optional
            CSAT counts answers >= this as satisfied; by default the latest
            run's setting (``csat_threshold``, else the top two boxes of
            ``csat_scale``), 4 without runs.

        Returns
        -------
        DataFrame
            period (Timestamp of the period start), value, n (the base of
            the value), one row per period that has dated records.
        """
        if csat_satisfied_from is None:
            csat_satisfied_from = self._csat_satisfied_from() if metric.startswith("csat") else 4
        sql, params = trend_sql(metric, theme=theme, touchpoint=touchpoint, freq=freq,
                                csat_satisfied_from=csat_satisfied_from)
        df = self._query(sql, params)
        df["period"] = pd.to_datetime(df["period"])
        df["value"] = df["value"].astype(float)
        df["n"] = df["n"].astype(int)
        return df


def _score_sql(score: str, where: str = "", *, csat_satisfied_from: float = 4) -> str:
    """SQL aggregate of a survey metric (NPS points, CSAT %, mean CES) over ``r``."""
    f = f" FILTER (WHERE {where})" if where else ""
    if score == "nps":
        return (f"100.0 * (avg(CASE WHEN nps >= 9 THEN 1 ELSE 0 END){f} "
                f"- avg(CASE WHEN nps <= 6 THEN 1 ELSE 0 END){f})")
    if score == "csat":
        return f"100.0 * avg(CASE WHEN csat >= {float(csat_satisfied_from)!r} THEN 1.0 ELSE 0.0 END){f}"
    return f"avg(ces){f}"


def trend_sql(metric: str, *, theme: int | None, touchpoint: str | None,
              freq: str, csat_satisfied_from: float = 4) -> tuple[str, list]:
    """The SQL of :meth:`Store.trend` (shared with the benchmark)."""
    _check_trend_args(metric, theme, freq)
    unit = FREQS[freq]
    tp = "AND touchpoint = ?" if touchpoint is not None else ""
    params: list = [touchpoint] if touchpoint is not None else []
    has = f"list_contains(themes, {int(theme)})" if theme is not None else "TRUE"
    base = (f"WITH r AS (SELECT voc_id, nps, csat, ces, themes, date_trunc('{unit}', date) AS period "
            f"FROM records WHERE date IS NOT NULL {tp}), "
            "p AS (SELECT DISTINCT period FROM r)")
    score = metric.removesuffix("_impact")
    t = {"csat_satisfied_from": csat_satisfied_from}
    if metric == "volume":
        agg = f"SELECT period, count(*) FILTER (WHERE {has}) AS value, count(*) AS n FROM r GROUP BY period"
    elif metric in SCORE_TRENDS:
        agg = (f"SELECT period, {_score_sql(score, **t)} AS value, count(*) AS n FROM r "
               f"WHERE {score} IS NOT NULL AND {has} GROUP BY period")
    elif metric in IMPACT_TRENDS:
        agg = (
            "SELECT period, all_value - without_value AS value, n FROM ("
            f"SELECT period, {_score_sql(score, **t)} AS all_value, "
            f"{_score_sql(score, f'NOT {has}', **t)} AS without_value, count(*) FILTER (WHERE {has}) AS n "
            f"FROM r WHERE {score} IS NOT NULL GROUP BY period)"
        )
    else:
        theme_filter = f"AND theme = {int(theme)}" if theme is not None else ""
        value = {
            "mentions": "count(*)",
            "negative_share": "avg(CASE WHEN sentiment_label = 'negative' THEN 1.0 ELSE 0.0 END)",
            "sentiment": "avg(sentiment)",
        }[metric]
        # mentions carry their record's date and touchpoint: no join needed
        agg = (f"SELECT date_trunc('{unit}', date) AS period, {value} AS value, count(*) AS n "
               f"FROM mentions WHERE date IS NOT NULL {tp} {theme_filter} GROUP BY 1")
        params = params * 2
    fill = "0" if metric == "mentions" else "NULL"
    sql = (f"{base}, a AS ({agg}) SELECT p.period, coalesce(a.value, {fill}) AS value, "
           "coalesce(a.n, 0) AS n FROM p LEFT JOIN a USING (period) ORDER BY p.period")
    return sql, params


def _check_trend_args(metric: str, theme: Any, freq: str) -> None:
    if metric not in TREND_METRICS:
        raise ConfigError(
            f"Unknown trend metric {metric!r}. Allowed: {', '.join(TREND_METRICS)}."
        )
    if freq not in FREQS:
        raise ConfigError(f"Unknown freq {freq!r}. Allowed: {', '.join(FREQS)}.")
    if metric in IMPACT_TRENDS and theme is None:
        raise ConfigError(f"Trend metric '{metric}' needs a theme: pass theme=<id>.")


# ------------------------------------------------------------------ helpers
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


def _py_ts(value: Any) -> Any:
    """A UTC timestamp as a naive datetime (NaT -> None)."""
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return (ts.tz_convert(None) if ts.tzinfo else ts).to_pydatetime()


def _rollback(con: Any) -> None:
    try:
        con.execute("ROLLBACK")
    except Exception as e:  # the connection may already be gone; the original error matters more
        log.warning("rollback failed: %s", e)


def _run_list(con: Any) -> str:
    ids = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created_at").fetchall()]
    return ", ".join(ids) or "(none)"


def _drop_empty(df: pd.DataFrame) -> pd.DataFrame:
    """Drop columns that another run added but this selection never filled."""
    if df.empty:  # nothing selected: keep every column of the table (its schema)
        return df.reset_index(drop=True)
    keep = [c for c in df.columns if c == "run_id" or not df[c].isna().all() or c in _ALWAYS]
    return df[keep].reset_index(drop=True)


_ALWAYS = {c for cols in _BASE_SCHEMA.values() for c in cols}


def _lineage_frame(events: Any, run_id: str, now: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame(events if events is not None else [], columns=None)
    if frame.empty:
        return pd.DataFrame(columns=["theme", "event", "run_id", "detail", "created_at", "level"])
    missing = {"theme", "event"} - set(frame.columns)
    if missing:
        raise StoreError(f"Lineage events need columns theme and event; missing {', '.join(sorted(missing))}.")
    bad = sorted(set(frame["event"]) - set(LINEAGE_EVENTS))
    if bad:
        raise StoreError(f"Unknown lineage event(s) {bad}. Allowed: {', '.join(LINEAGE_EVENTS)}.")
    level = frame["level"].fillna("theme").astype(str) if "level" in frame else "theme"
    bad = sorted(set(pd.Series(level, index=frame.index)) - set(LINEAGE_LEVELS))
    if bad:
        raise StoreError(f"Unknown lineage level(s) {bad}. Allowed: {', '.join(LINEAGE_LEVELS)}.")
    out = pd.DataFrame({
        "theme": frame["theme"].astype(int),
        "event": frame["event"].astype(str),
        "run_id": run_id,
        "detail": frame["detail"].astype(str) if "detail" in frame else "",
        "created_at": now,
        "level": level,
    })
    return out


def _model_blobs(model: Any) -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="voc-model-") as tmp:
        model.save(Path(tmp) / "model")
        root = Path(tmp) / "model"
        return [(str(p.relative_to(root)), p.read_bytes())
                for p in sorted(root.rglob("*")) if p.is_file()]


def _drop_known(con: Any, records: pd.DataFrame, mentions: pd.DataFrame):
    ids = pd.DataFrame({C.VOC_ID: records[C.VOC_ID].astype(str).unique()})
    con.register("_new_ids", ids)
    try:
        known = {r[0] for r in con.execute(
            "SELECT voc_id FROM records WHERE voc_id IN (SELECT voc_id FROM _new_ids)").fetchall()}
    finally:
        con.unregister("_new_ids")
    if not known:
        return records, mentions
    return (records[~records[C.VOC_ID].astype(str).isin(known)],
            mentions[~mentions[C.VOC_ID].astype(str).isin(known)])


def _with_themes(records: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    """Make sure records carry the ``themes`` list the trend queries use."""
    if C.THEMES in records.columns or not len(records):
        return records
    themed = mentions[mentions[C.THEME] != C.NOISE] if C.THEME in mentions else mentions.iloc[:0]
    lists = themed.groupby(C.VOC_ID)[C.THEME].agg(lambda s: sorted(set(int(t) for t in s)))
    return records.assign(**{C.THEMES: [lists.get(v, []) for v in records[C.VOC_ID]]})


def _with_record_keys(mentions: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Copy each record's date and touchpoint onto its mentions (trend queries
    on mentions then need no join)."""
    keys = [c for c in (C.DATE, C.TOUCHPOINT) if c in records.columns]
    if not keys or not len(mentions):
        return mentions
    lookup = records.drop_duplicates(C.VOC_ID).set_index(C.VOC_ID)[keys]
    extra = lookup.reindex(mentions[C.VOC_ID].to_numpy())
    out = mentions.drop(columns=[c for c in keys if c in mentions.columns]).copy()
    for c in keys:
        out[c] = extra[c].to_numpy()
    return out


def _sql_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(s):
        return "BIGINT"
    if pd.api.types.is_float_dtype(s):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "TIMESTAMP"
    first = s.dropna()
    first = first.iloc[0] if len(first) else None
    if isinstance(first, (list, tuple, np.ndarray)):
        flat = [v for x in s.dropna() for v in x]
        return "BIGINT[]" if flat and all(isinstance(v, (int, np.integer)) for v in flat) else "VARCHAR[]"
    return "VARCHAR"


def _prepare(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        s, t = out[col], types[col]
        if t == "TIMESTAMP" and pd.api.types.is_datetime64_any_dtype(s) and getattr(s.dt, "tz", None):
            out[col] = s.dt.tz_convert("UTC").dt.tz_localize(None)
        elif t == "TIMESTAMP" and not pd.api.types.is_datetime64_any_dtype(s):
            out[col] = pd.to_datetime(s, utc=True, errors="coerce").dt.tz_localize(None)
        elif t.endswith("[]"):
            out[col] = [None if x is None or (np.isscalar(x) and pd.isna(x)) else
                        [int(v) for v in x] if t != "VARCHAR[]" else [str(v) for v in x]
                        for x in s]
        elif t == "VARCHAR" and not pd.api.types.is_string_dtype(s):
            out[col] = s.map(lambda v: None if v is None or (np.isscalar(v) and pd.isna(v)) else str(v))
        elif t == "VARCHAR":
            out[col] = s.astype(object).where(s.notna(), None)
    return out


def _insert_frame(con: Any, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` into ``table`` by column name, adding new columns."""
    existing = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall())
    types = {}
    for col in frame.columns:
        if col not in existing:
            t = _sql_type(frame[col])
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{col}" {t}')
            existing[col] = t
        types[col] = existing[col]
    if not len(frame):
        return
    df = _prepare(frame, types)
    con.register("_voc_frame", df)
    try:
        cols = ", ".join(f'"{c}"' for c in df.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _voc_frame")
    finally:
        con.unregister("_voc_frame")
