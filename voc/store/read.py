"""Reading the stored runs: metadata, per-run tables, records, mentions, lineage, taxonomy, model."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .. import columns as C
from ..errors import StoreError
from .schema import BASE_COLUMNS
from .views import week_bounds


class StoreReader:
    """The per-run read methods of :class:`voc.store.Store`."""

    # provided by Store (voc.store.core): path, timeout, _connect(), _query()
    path: Path
    timeout: float

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
        from ..rank import LEVELS

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

    def records(self, run: str | None = None, *, weeks: Any = None) -> pd.DataFrame:
        """Stored records of ``run``, or of all runs when None (with ``run_id``).

        ``weeks`` (``"YYYY-Www"`` or a ``(first, last)`` pair, either end
        None for open) keeps the records dated in those ISO weeks, as the
        dashboard filter does; the rest stays on disk.
        """
        where, params = _where(run, weeks, of_records=False)
        return _drop_empty(self._query(f"SELECT * FROM records {where} ORDER BY date, voc_id", params))

    def mentions(self, run: str | None = None, *, weeks: Any = None) -> pd.DataFrame:
        """Stored mentions of ``run``, or of all runs when None (with ``run_id``);
        ``weeks`` keeps the mentions of records dated in those weeks (as :meth:`records`)."""
        where, params = _where(run, weeks, of_records=True)
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
        from ..themes.taxonomy import coverage_table

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
            from ..themes import ThemeModel as cls

        with tempfile.TemporaryDirectory(prefix="voc-model-") as tmp:
            for name, data in zip(files["name"], files["data"]):
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bytes(data))
            return cls.load(tmp)


def _where(run: str | None, weeks: Any, *, of_records: bool) -> tuple[str, list]:
    """WHERE clause and parameters selecting one run and/or ISO weeks: of the row's own
    ``date``, or (``of_records``, for mentions) of its record's."""
    where, params, dated = [], [], []
    if run:
        where.append("run_id = ?")
        params.append(run)
    start, end = week_bounds(weeks)
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            dated.append(f"date {op} ?")
            params.append(bound.to_pydatetime())
    if dated:
        cond = " AND ".join(dated)
        where.append(f"voc_id IN (SELECT voc_id FROM records WHERE {cond})" if of_records else cond)
    return ("WHERE " + " AND ".join(where) if where else ""), params


def _drop_empty(df: pd.DataFrame) -> pd.DataFrame:
    """Drop columns that another run added but this selection never filled."""
    if df.empty:  # nothing selected: keep every column of the table (its schema)
        return df.reset_index(drop=True)
    keep = [c for c in df.columns if c == "run_id" or not df[c].isna().all() or c in BASE_COLUMNS]
    return df[keep].reset_index(drop=True)
