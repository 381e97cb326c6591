"""The outputs of a run: the :class:`Analysis` result, its tables, and writing and reading its files.

An output folder holds ``records.parquet``, ``mentions.parquet``, the small
tables as formula-escaped CSVs (:func:`csv_safe`), ``run.json`` (the run
record, see :mod:`voc.provenance`) and the theme model under ``model/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import columns as C
from ._atomic import atomic_dir
from .errors import InputError

OUTPUT_FILES = (
    "records.parquet",
    "mentions.parquet",
    "themes.csv",
    "touchpoints.csv",
    "pain_points.csv",
    "run.json",
)
TOPICS_FILE = "topics.csv"
"""Written when the run has topics; older output folders without it still load."""
MODEL_DIR = "model"


@dataclass
class Analysis:
    """The result of a run: plain DataFrames plus the run record.

    Attributes
    ----------
    records : DataFrame
        One row per input record (``records.parquet``).
    mentions : DataFrame
        One row per unit (sentence/clause or record) with text
        (``mentions.parquet``).
    themes : DataFrame
        One row per theme (``themes.csv``), with its ``topic`` and
        ``topic_label``.
    touchpoints : DataFrame
        Survey metrics per touchpoint (``touchpoints.csv``).
    pain_points : DataFrame
        Touchpoint x theme pain-point table, ranked (``pain_points.csv``).
    run : dict
        Config, versions, input checksum, counts and seconds per stage
        (``run.json``).
    model : ThemeModel or None
        The theme model the run used (saved under ``model/``).
    topics : DataFrame or None
        One row per topic, the parents of the themes (``topics.csv``).
    """

    records: pd.DataFrame
    mentions: pd.DataFrame
    themes: pd.DataFrame
    touchpoints: pd.DataFrame
    pain_points: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    topics: pd.DataFrame | None = None

    def __repr__(self) -> str:
        """A one-line summary (counts, run id, date range), not the tables."""
        themes = self.themes
        n_themes = int((themes[C.THEME] != C.NOISE).sum()) if C.THEME in themes else len(themes)
        tps = self.touchpoints
        n_tps = int((tps[C.TOUCHPOINT] != C.ALL_TOUCHPOINTS).sum()) if C.TOUCHPOINT in tps else len(tps)
        parts = [f"records={len(self.records):,}", f"mentions={len(self.mentions):,}",
                 f"themes={n_themes}", f"touchpoints={n_tps}", f"pain_points={len(self.pain_points):,}"]
        run_id = (self.run.get("store") or {}).get("run_id") or self.run.get("run_id")
        if run_id:
            parts.append(f"run_id={run_id!r}")
        dates = self.run.get("date_range")
        if dates:
            parts.append(f"dates={str(dates[0])[:10]}..{str(dates[-1])[:10]}")
        return f"Analysis({', '.join(parts)})"

    def save(self, out_dir: str | Path) -> Path:
        """Write every output file into ``out_dir`` atomically.

        Readers see either the previous outputs or the new ones, never a mix.
        """
        out_dir = Path(out_dir)
        with atomic_dir(out_dir) as tmp:
            self.records.to_parquet(tmp / "records.parquet", index=False)
            self.mentions.to_parquet(tmp / "mentions.parquet", index=False)
            write_tables(tmp, themes=self.themes, touchpoints=self.touchpoints,
                         pain_points=self.pain_points, topics=self.topics)
            write_run_record(tmp, self.run)
            if self.model is not None:
                self.model.save(tmp / MODEL_DIR)
        return out_dir

    @classmethod
    def load(cls, out_dir: str | Path) -> "Analysis":
        """Read an output folder written by :meth:`save` (or ``voc run``)."""
        out_dir = Path(out_dir)
        missing = [f for f in OUTPUT_FILES if not (out_dir / f).exists()]
        if missing:
            raise InputError(
                f"'{out_dir}' is not a voc output folder: missing {', '.join(missing)}. "
                "Point to the --out folder of a finished `voc run`."
            )
        model = None
        if (out_dir / MODEL_DIR).exists():
            from .themes import ThemeModel

            model = ThemeModel.load(out_dir / MODEL_DIR)
        return cls(
            records=pd.read_parquet(out_dir / "records.parquet"),
            mentions=pd.read_parquet(out_dir / "mentions.parquet"),
            themes=read_safe_csv(out_dir / "themes.csv"),
            touchpoints=read_safe_csv(out_dir / "touchpoints.csv"),
            pain_points=_read_pain_points(out_dir / "pain_points.csv"),
            run=json.loads((out_dir / "run.json").read_text(encoding="utf-8")),
            model=model,
            topics=(read_safe_csv(out_dir / TOPICS_FILE)
                    if (out_dir / TOPICS_FILE).exists() else None),
        )


def _read_pain_points(path: Path) -> pd.DataFrame:
    """``pain_points.csv``; ``theme`` stays an integer (<NA> on topic rows)."""
    pp = read_safe_csv(path)
    if C.THEME in pp:
        pp[C.THEME] = pp[C.THEME].astype("Int64")
    return pp


_FORMULA = "[=+\\-@\t\r\x00]"  # characters a spreadsheet formula starts with


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Neutralise spreadsheet formulas in text cells before a CSV export.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL is
    prefixed with a single quote, as OWASP recommends, so a spreadsheet shows
    it as text instead of running it. Numbers are left alone. A cell that
    already starts with quotes before such a character gets one more, so
    :func:`csv_unsafe` can remove exactly one and give back the original.
    """
    return _map_text_cells(df, f"^'*{_FORMULA}", lambda s: "'" + s)


def csv_unsafe(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`csv_safe`: drop the ``'`` it put before a formula start."""
    return _map_text_cells(df, f"^'+{_FORMULA}", lambda s: s.str.slice(1))


def _map_text_cells(df: pd.DataFrame, pattern: str, change) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            text = s.astype(str)
            mask = s.notna() & text.str.match(pattern)
            if mask.any():
                out[col] = s.where(~mask, change(text))
    return out


def read_safe_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written through :func:`csv_safe`, as it was before.

    An empty cell is missing in a number column and the empty string in a
    text column (a theme without keywords, the unassigned row's label), as
    the tables hold them before they are written.
    """
    df = csv_unsafe(pd.read_csv(path, keep_default_na=False, na_values=[""]))
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].where(df[col].notna(), "")
    return df


def write_tables(folder: str | Path, *, themes: pd.DataFrame, touchpoints: pd.DataFrame,
                 pain_points: pd.DataFrame, topics: pd.DataFrame | None = None) -> None:
    """Write the small tables of a run into ``folder`` (``themes.csv``, ...), formula-escaped.

    ``topics.csv`` only when there are ``topics``. Every driver writes its
    CSVs here, so they are written alike (see :func:`csv_safe`).
    """
    folder = Path(folder)
    for name, table in (("themes", themes), ("touchpoints", touchpoints), ("pain_points", pain_points)):
        csv_safe(table).to_csv(folder / f"{name}.csv", index=False)
    if topics is not None:
        csv_safe(topics).to_csv(folder / TOPICS_FILE, index=False)


def write_run_record(folder: str | Path, run: dict[str, Any]) -> None:
    """Write the run record as ``folder/run.json`` (UTF-8, indented, values that JSON lacks as text)."""
    (Path(folder) / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str),
                                          encoding="utf-8")


def theme_table(model: Any, mentions: pd.DataFrame, *, n_records: int) -> pd.DataFrame:
    """The ``themes.csv`` table: the model's labels plus this run's counts.

    ``topic`` and ``topic_label`` name each theme's parent topic (-1 and
    "(unassigned)" for the unassigned row). Themes without a mention in ``mentions`` are left out (the model keeps
    them, with their ids); the unassigned row (-1) is always there.
    """
    base = model.themes_[[C.THEME, "label", "keywords", "exemplars"]].copy()
    topic_of = getattr(model, "topic_of_", None)
    if topic_of is not None:
        base[C.TOPIC] = model.topic_ids(base[C.THEME])
        names = dict(zip(model.topics_[C.TOPIC], model.topics_["label"]))
        base["topic_label"] = [names.get(int(t), "") for t in base[C.TOPIC]]
    table = _level_table(base, mentions, C.THEME, n_records=n_records)
    if C.TOPIC in table:
        noise = table[C.THEME] == C.NOISE
        table[C.TOPIC] = table[C.TOPIC].where(~noise, C.NOISE).astype(int)
        table["topic_label"] = table["topic_label"].astype(object).where(~noise, "(unassigned)")
    cols = [C.THEME, "label", C.TOPIC, "topic_label", "keywords", "mentions", "records", "share",
            "mean_sentiment", "negative_share", "exemplars"]
    return table[[c for c in cols if c in table]]


def topic_table(model: Any, mentions: pd.DataFrame, *, n_records: int) -> pd.DataFrame:
    """The ``topics.csv`` table: one row per topic (and -1, unassigned).

    Columns as :func:`theme_table` (topic instead of theme) plus ``themes``,
    the topic's leaf theme ids (``"; "``-joined). Counts are this run's:
    ``records`` counts a record once however many of the topic's themes it
    mentions. ``mentions`` needs a ``topic`` column (else it is derived from
    ``theme`` with the model).
    """
    if C.TOPIC not in mentions:
        mentions = mentions.assign(**{C.TOPIC: model.topic_ids(mentions[C.THEME])})
    base = model.topics_[[C.TOPIC, "label", "keywords", "exemplars", "themes"]].copy()
    table = _level_table(base, mentions, C.TOPIC, n_records=n_records)
    table["themes"] = table["themes"].fillna("")
    cols = [C.TOPIC, "label", "keywords", "themes", "mentions", "records", "share", "mean_sentiment",
            "negative_share", "exemplars"]
    return table[cols]


def _level_table(base: pd.DataFrame, mentions: pd.DataFrame, key: str, *, n_records: int) -> pd.DataFrame:
    """``base`` (one row per id of ``key``) plus an unassigned row and this run's counts."""
    grouped = mentions.groupby(key)
    counts = pd.DataFrame(
        {
            "mentions": grouped.size(),
            "records": grouped[C.VOC_ID].nunique(),
            "mean_sentiment": grouped[C.SENTIMENT].mean(),
            "negative_share": grouped[C.SENTIMENT_LABEL].apply(lambda s: float((s == "negative").mean())),
        }
    )
    noise = pd.DataFrame(
        {key: [C.NOISE], "label": ["(unassigned)"], "keywords": [""], "exemplars": [""]}
    )
    table = pd.concat([base, noise], ignore_index=True).merge(
        counts, left_on=key, right_index=True, how="left"
    )
    table[["mentions", "records"]] = table[["mentions", "records"]].fillna(0).astype(int)
    table = table[(table["mentions"] > 0) | (table[key] == C.NOISE)].copy()  # no empty theme or topic
    table["share"] = table["records"] / max(n_records, 1)
    return table.sort_values(key, key=lambda s: s.where(s >= 0, 10**9)).reset_index(drop=True)


def attach_themes(records: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    """Add ``themes`` (list of ids) and ``primary_theme`` (most mentioned) per record."""
    themed = mentions[mentions[C.THEME] != C.NOISE]
    lists = themed.groupby(C.VOC_ID)[C.THEME].agg(lambda s: sorted(set(int(t) for t in s)))
    # most-mentioned theme; ties go to the theme mentioned first in the record
    primary = (
        themed.assign(_n=themed.groupby([C.VOC_ID, C.THEME])[C.THEME].transform("size"))
        .sort_values([C.VOC_ID, "_n", C.UNIT], ascending=[True, False, True])
        .drop_duplicates(C.VOC_ID)
        .set_index(C.VOC_ID)[C.THEME]
    )
    out = records.copy()
    lists = lists.to_dict()
    out[C.THEMES] = [lists.get(v, []) for v in out[C.VOC_ID]]
    out[C.PRIMARY_THEME] = out[C.VOC_ID].map(primary).fillna(C.NOISE).astype(int)
    return out
