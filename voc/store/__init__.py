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

The package, by job:

============  ==============================================================
``core``      :class:`Store`: the file, its writer lock and connections
``schema``    tables, column types, creating and migrating a store file
``write``     writing a run (one transaction), lineage events, deleting runs
``read``      runs, per-run tables, records, mentions, lineage, taxonomy, model
``trend``     :meth:`Store.trend` in SQL
``views``     filter-aware dashboard reads (:class:`StoreViews`)
``snapshot``  :class:`SnapshotStore`, a read-only cached copy for dashboards
============  ==============================================================
"""

from __future__ import annotations

from ..trends import TREND_METRICS  # metrics of Store.trend and voc.trends.metric_trend: one definition
from .core import DEFAULT_PATH, LOCK_SUFFIX, Store
from .schema import LINEAGE_EVENTS, LINEAGE_LEVELS, SCHEMA_VERSION, TABLES
from .snapshot import SnapshotStore
from .trend import FREQS, IMPACT_TRENDS, SCORE_TRENDS, trend_sql
from .views import FILTERS, KPI_METRICS, StoreViews, filter_sql

__all__ = [
    "DEFAULT_PATH", "FILTERS", "FREQS", "IMPACT_TRENDS", "KPI_METRICS", "LINEAGE_EVENTS", "LINEAGE_LEVELS",
    "LOCK_SUFFIX", "SCHEMA_VERSION", "SCORE_TRENDS", "TABLES", "TREND_METRICS", "SnapshotStore", "Store",
    "StoreViews", "filter_sql", "trend_sql",
]
