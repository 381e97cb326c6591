"""Writing the store: each run in one transaction, lineage events, deleting a run.

Records whose ``voc_id`` is stored already are skipped, the theme model is
stored as files, and a column the schema does not know yet is added on
first sight."""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .. import columns as C
from ..errors import StoreError
from .schema import LINEAGE_EVENTS, LINEAGE_LEVELS, TABLES

log = logging.getLogger("voc.store")


class StoreWriter:
    """The write methods of :class:`voc.store.Store` (one transaction each, under the writer lock)."""

    # provided by Store (voc.store.core): path, timeout, writer_lock(), _connect()
    path: Path
    timeout: float

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
        frames = {t: _field(analysis, t) for t in ("records", "mentions")}
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

        frames = {t: _field(tables, t) for t in TABLES if t not in ("records", "mentions")}
        frames = {t: (f if isinstance(f, pd.DataFrame) else pd.DataFrame()) for t, f in frames.items()}
        run = dict(_field(tables, "run") or {})
        model = _field(tables, "model") if save_model else None
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        run_id = run_id or f"run-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        events = _lineage_frame(lineage, run_id, now)
        model_files = _model_blobs(model) if model is not None else []

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.writer_lock(), self._connect(write=True) as con, \
                tempfile.TemporaryDirectory(prefix=_stage_prefix(self.path), dir=self.path.parent) as tmp:
            stage = Path(tmp)
            _remove_stale_stages(self.path, keep=stage)
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
                    _insert_frame(con, "records", records.assign(run_id=run_id), stage=stage)
                    _insert_frame(con, "mentions", _with_record_keys(mentions, records).assign(run_id=run_id),
                                  stage=stage)
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


def _field(source: Any, name: str) -> Any:
    """``source[name]`` of a mapping, else the attribute ``source.name``; None when missing."""
    return source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)


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


def _stage_prefix(store: Path) -> str:
    """Name prefix of the staging folders of the store file ``store`` (beside it, one per write)."""
    return f".{store.name}.voc-stage-"


def _remove_stale_stages(store: Path, *, keep: Path) -> None:
    """Remove staging folders a killed writer of this store left beside it (called under its writer
    lock, so no other write of this store is running; other stores' folders are left alone)."""
    import shutil

    for old in store.parent.glob(glob_escape(_stage_prefix(store)) + "*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _insert_frame(con: Any, table: str, frame: pd.DataFrame, *, stage: Path | None = None) -> None:
    """Insert ``frame`` into ``table`` by column name, adding new columns.

    With ``stage`` (a folder), the frame goes in through a Parquet file
    there: DuckDB keeps rows appended from a pandas scan in memory until the
    transaction commits, but writes rows read from Parquet out to the store
    file (within its ``memory_limit``), so a backfill of many chunks in one
    transaction does not grow in memory (docs/scale.md).
    """
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
    cols = ", ".join(f'"{c}"' for c in df.columns)
    if stage is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        file = stage / f"{table}.parquet"
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), file)
        try:
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM read_parquet(?)", [str(file)])
        finally:
            file.unlink()
        return
    con.register("_voc_frame", df)
    try:
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _voc_frame")
    finally:
        con.unregister("_voc_frame")
