"""Weekly runs and backfills of any size into the run store, with the streaming engines.

:func:`run_store_streaming` is what ``voc run DUMP --store PATH --engine
local|dask`` calls. It does what :func:`voc.pipeline.run_store` does (the
in-memory weekly run), with :func:`voc.engine.run_streaming` doing the
analysis, so memory grows with the chunk size and the fitting sample, not
with the dump:

1. Under the store's writer lock (:meth:`voc.store.Store.writer_lock`) for
   the whole cycle, the stored model is read (``None`` on a new store: the
   run fits one, a backfill) and every input chunk keeps only the records
   whose ``voc_id`` the store does not hold (``run_streaming(select=...)``).
2. With a stored model, emerging themes are found as
   :func:`voc.pipeline.analyze` finds them with ``discover=True``: the
   mentions that fit no theme (at most ``config.fit_sample`` of them, a
   seeded sample when there are more) extend the model
   (``ThemeModel.extend``); when new themes came, pass 2 runs again against
   the extended model, so every mention is assigned to it, as ``analyze``
   does.
3. The run is written with :meth:`voc.store.Store.write_run_chunks`, one
   Parquet row group (one input chunk) at a time, in **one transaction**: an
   interrupted or killed backfill leaves the store exactly as it was, and
   running it again starts over. The lineage events are those of the
   in-memory path (:func:`voc.steps.lineage_events`).

Re-running a dump adds nothing (every record is known: ``None`` is returned
and the store is unchanged).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from . import columns as C
from . import progress as P
from .config import Config
from .errors import InputError

log = logging.getLogger(__name__)


def run_store_streaming(
    source: str | Path | pd.DataFrame,
    store: Any,
    *,
    config: Config | None = None,
    engine: str = "local",
    chunk_size: int | None = None,
    scheduler: str | None = None,
    out_dir: str | Path | None = None,
    report_dir: str | Path | None = None,
    embedder: Any = None,
    scorer: Any = None,
    progress: bool = False,
    **load_options: Any,
) -> Any:
    """One weekly run (or a backfill of any size) into ``store`` with a streaming engine.

    Parameters
    ----------
    source : path or DataFrame
        The dump (what :func:`voc.engine.run_streaming` reads).
    store : path or Store
        The run store.
    config : Config, optional
    engine : {"local", "dask"}
        As :func:`voc.engine.run_streaming`; so are ``chunk_size``
        (default 50,000), ``scheduler``, ``embedder``, ``scorer`` and
        ``load_options``.
    out_dir : path, optional
        Also keep this run's output folder (the files of ``voc run --out``)
        there; by default it lives in a temporary folder next to the store.
    report_dir : path, optional
        Write the meeting report over the whole store there (as
        :func:`voc.pipeline.run_store`).

    Returns
    -------
    StreamResult or None
        The run's tables and ``run`` record (``run["store"]["run_id"]``),
        or None when the store already held every record (unchanged store).
    """
    from .engine import DEFAULT_CHUNK_SIZE, run_streaming
    from .steps import check_report_dates, lineage_events, new_events
    from .store import Store

    config = config or Config()
    store = store if isinstance(store, Store) else Store(store)
    options = dict(config=config, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE, engine=engine,
                   scheduler=scheduler, embedder=embedder, scorer=scorer, progress=progress,
                   **load_options)
    start = time.perf_counter()
    with store.writer_lock():  # no other writer between reading the model and committing
        model = store.load_model()
        store.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".voc-run-", dir=store.path.parent) as tmp:
            out = Path(out_dir) if out_dir is not None else Path(tmp) / "out"
            counts = {"read": 0, "new": 0}

            def select(chunk: pd.DataFrame) -> pd.DataFrame:
                known = store.known_ids(chunk[C.VOC_ID])
                new = chunk[~chunk[C.VOC_ID].astype(str).isin(known)] if known else chunk
                counts["read"] += len(chunk)
                counts["new"] += len(new)
                return new

            try:
                res = run_streaming(source, out, model=model, select=select, **options)
            except InputError:
                if counts["read"] and not counts["new"]:
                    log.info("no new records: the store already holds all %d", counts["read"])
                    return None
                raise
            if model is not None:
                topics_before = set(res.model.topics_[C.TOPIC].tolist())
                emerging = _discover(out, res.model, config, embedder=res.run["embedder"],
                                     given=embedder)
                if emerging:  # assign every mention to the extended model, as analyze does
                    counts.update(read=0, new=0)
                    res = run_streaming(source, out, model=res.model, select=select, **options)
                res.run["emerging_themes"] = [int(t) for t in emerging]
                res.run["emerging_topics"] = sorted(set(res.model.topics_[C.TOPIC].tolist()) - topics_before)
            if report_dir is not None and config.batch_date is None and not res.run.get("date_range"):
                check_report_dates(store, source)
            events = lineage_events(res.run, res.themes, res.model, fitted=model is None)
            res.run["store"] = {"path": str(store.path), "records_known": counts["read"] - counts["new"]}
            res.run["seconds"]["total"] = round(time.perf_counter() - start, 3)
            with P.stage(progress, "store", f"{counts['new']:,} new records -> {store.path}"):
                run_id = store.write_run_chunks(_chunks(out), res, lineage=new_events(store, events))
            res.run["store"]["run_id"] = run_id
    if report_dir is not None:
        from .report import write_report

        with P.stage(progress, "report", str(report_dir)):
            write_report(store, report_dir)
    return res


def _chunks(out: Path) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """The (records, mentions) of every input chunk: one row group each of the output files."""
    import pyarrow.parquet as pq

    records, mentions = pq.ParquetFile(out / "records.parquet"), pq.ParquetFile(out / "mentions.parquet")
    if records.num_row_groups != mentions.num_row_groups:  # the engine writes one group per chunk
        raise InputError(f"'{out}' has {records.num_row_groups} record and {mentions.num_row_groups} "
                         "mention row groups; run the streaming engine again.")
    for i in range(records.num_row_groups):
        yield records.read_row_group(i).to_pandas(), mentions.read_row_group(i).to_pandas()


def _discover(out: Path, model: Any, config: Config, *, embedder: str, given: Any) -> list[int]:
    """Extend ``model`` with clusters of the unassigned mentions of ``out`` (emerging themes).

    What :func:`voc.pipeline.analyze` does with ``discover=True``, on at most
    ``config.fit_sample`` unassigned mentions (a seeded bottom-k sample, as
    the fitting sample, when there are more). Returns the new theme ids.
    """
    import pyarrow.parquet as pq

    from . import embed as E
    from . import segment as S
    from .chunks import cached_embedder
    from .steps import extend_themes
    from .streaming import Reservoir

    cols = [C.TEXT, C.LANGUAGE, C.THEME, C.SENTIMENT_LABEL]
    file = pq.ParquetFile(out / "mentions.parquet")
    noise = [np.flatnonzero(file.read_row_group(i, columns=[C.THEME]).column(0).to_numpy() == C.NOISE)
             for i in range(file.num_row_groups)]
    sizes = np.cumsum([0] + [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)])
    pos = np.concatenate([n + sizes[i] for i, n in enumerate(noise)]) if noise else np.zeros(0, int)
    if not len(pos):
        return []
    if len(pos) > config.fit_sample:
        keys = Reservoir(config.fit_sample, config.random_state).priority(np.arange(len(pos)))
        pos = pos[np.sort(np.argpartition(keys, config.fit_sample - 1)[: config.fit_sample])]
    parts = []
    for i in range(file.num_row_groups):
        take = pos[(pos >= sizes[i]) & (pos < sizes[i + 1])] - sizes[i]
        if len(take):
            parts.append(file.read_row_group(i, columns=cols).to_pandas().iloc[take])
    rows = pd.concat(parts, ignore_index=True)
    texts, languages = rows[C.TEXT].tolist(), rows[C.LANGUAGE].tolist()
    model_texts = [S.model_text(t) for t in texts]
    with E.opened_cache(config.cache_dir) as cache:
        vectors = E.embed_texts(model_texts, cached_embedder(given if given is not None else embedder), cache=cache)
    return extend_themes(model, vectors, texts, model_texts, languages, rows[C.SENTIMENT_LABEL].tolist(),
                         config=config)
