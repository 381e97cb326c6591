"""The store's tables: their fixed columns and types, the DDL, and creating or migrating a store file."""

from __future__ import annotations

from typing import Any

from .. import columns as C

SCHEMA_VERSION = 1
"""Written once into ``meta`` (key ``schema_version``) of every new store."""

TABLES = ("records", "mentions", "themes", "touchpoints", "pain_points", "topics")
"""Per-run tables; every row carries the ``run_id`` of the run that wrote it."""

LINEAGE_EVENTS = ("new", "merged", "retired", "moved")
"""``event`` of a lineage row."""

LINEAGE_LEVELS = ("theme", "topic")
"""``level`` of a lineage row: the id in ``theme`` is a theme id or a topic id
(rows of stores written before topics have no level and read as "theme")."""

BASE_SCHEMA: dict[str, dict[str, str]] = {
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
"""Fixed column types of the vocabulary per table; any other column is added on
first sight with a type derived from its pandas dtype (:mod:`voc.store.write`)."""

BASE_COLUMNS = frozenset(c for cols in BASE_SCHEMA.values() for c in cols)
"""Every column of :data:`BASE_SCHEMA`: reads keep them even when a selection never filled them."""

DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, date_min TIMESTAMP,
    date_max TIMESTAMP, n_records BIGINT, n_mentions BIGINT, config JSON, run JSON);
CREATE TABLE IF NOT EXISTS lineage (
    theme INTEGER, event VARCHAR, run_id VARCHAR, detail VARCHAR, created_at TIMESTAMP, level VARCHAR);
ALTER TABLE lineage ADD COLUMN IF NOT EXISTS level VARCHAR;
CREATE TABLE IF NOT EXISTS model_files (run_id VARCHAR, name VARCHAR, data BLOB);
"""
"""The tables outside :data:`TABLES` (meta, runs, lineage, model_files), and the
migration of lineage's ``level`` column (stores written before topics)."""


def create_schema(con: Any) -> None:
    """Create every missing table of a store on an open writable DuckDB connection.

    Idempotent, and the only migration: tables and columns are only ever
    added (``CREATE ... IF NOT EXISTS``, ``ADD COLUMN IF NOT EXISTS``), so
    a store written by an older voc keeps working and keeps its data.
    """
    con.execute(DDL)
    for table, cols in BASE_SCHEMA.items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
