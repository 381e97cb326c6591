"""The in-memory drivers: wire the stages, and nothing else.

``io -> segment -> embed -> sentiment -> themes -> rank``. :func:`analyze`
calls the stages in order on data in memory, times them and records what
ran; the steps it shares with the streaming driver (:mod:`voc.engine`) are
in :mod:`voc.steps`, the run record in :mod:`voc.provenance`, the result
and its files in :mod:`voc.outputs`. :func:`run_file` is ``voc run``;
:func:`run_incremental`, :func:`run_store`, :func:`run_weekly` and
:func:`run_demo` are the weekly runs into a run store.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

from . import __version__
from . import columns as C
from . import progress as P
from ._atomic import atomic_dir, file_checksum
from .config import Config
from .outputs import (MODEL_DIR, OUTPUT_FILES, TOPICS_FILE, Analysis, attach_themes,  # noqa: F401
                      csv_safe, csv_unsafe, theme_table, topic_table)
from .provenance import FrameChecksum, date_range, frame_checksum, run_counts, run_record, versions  # noqa: F401
from .steps import (apply_batch_date, ces_warning, check_model_embedder, check_report_dates,  # noqa: F401
                    choose_embedder, extend_themes, fit_sample_index, fit_themes, has_dates, lineage_events,
                    load_args, model_embedder, new_events, no_records_error, no_text_error, prepare_records,
                    reuse_model, run_embedder_name, truncation_warning, warn)

if TYPE_CHECKING:
    from .io import Loaded

log = logging.getLogger(__name__)


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
    df: "pd.DataFrame | Loaded",
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
    df : DataFrame or voc.io.Loaded
        Feedback: a :class:`~voc.io.Loaded` from :func:`voc.io.read_feedback`,
        a frame from :func:`voc.load_feedback`, or any frame that
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
    from .io import as_loaded
    from .survey import scale_warnings
    from .themes import load_edits
    from .themes import taxonomy as TX

    config = config or Config()
    edits = load_edits(config.edits) if config.edits else None  # a bad edits file fails before any work
    code_frame = TX.load_taxonomy(taxonomy if taxonomy is not None else config.taxonomy)  # fails before work
    timer = _Timer(progress)
    warnings_: list[str] = []

    with timer.stage("load") as info:
        loaded = as_loaded(df)
        records, redacted = prepare_records(loaded.frame, config=config)
        warn(warnings_, ces_warning(records, config))
        warnings_ += loaded.warnings  # the loader's (dates, mojibake); it logged them
        for message in scale_warnings(records, config=config, mapping=loaded.mapping):
            warn(warnings_, message)
        info["detail"] = f"{len(records):,} records"

    with timer.stage("segment", f"{len(records):,} records") as info:
        records[C.LANGUAGE] = S.detect_languages(records[C.TEXT].fillna("").astype(str).tolist())
        mentions, n_cut = S.segment_counted(records[[C.VOC_ID, C.TEXT, C.LANGUAGE]], unit=config.unit,
                                            max_units=config.max_units_per_record)
        mentions = mentions.reset_index(drop=True)
        info["detail"] = f"{len(records):,} records -> {len(mentions):,} mentions"
        if n_cut:
            warn(warnings_, truncation_warning(n_cut, config.max_units_per_record))
    if records.empty:
        raise no_records_error(len(loaded.rejects))
    if mentions.empty:
        raise no_text_error(len(records))
    texts = mentions[C.TEXT].tolist()
    languages = mentions[C.LANGUAGE].tolist()
    model_texts = [S.model_text(t) for t in texts]  # no @handles / URLs for the models

    with timer.stage("embed", f"{len(model_texts):,} texts") as info:
        _, embedder = choose_embedder(config, model, languages, embedder)
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
        fitted_here = model is None
        if fitted_here:
            model = fit_themes(embeddings, texts, model_texts, languages, polarity, config=config,
                               embedder_name=embedder.name, taxonomy=seed_index, edits=edits,
                               index=fit_sample_index(len(texts), config.fit_sample, config.random_state))
        else:
            model = reuse_model(model, taxonomy=seed_index, edits=edits)
        theme_ids, theme_probs = model.assign(embeddings, sentiment=polarity)
        emerging: list[int] = []
        topics_before = set(model.topics_[C.TOPIC].tolist())
        if discover and not fitted_here:  # a fresh fit's noise is not emerging
            noise = np.flatnonzero(np.asarray(theme_ids) == C.NOISE)
            emerging = extend_themes(model, embeddings[noise], [texts[i] for i in noise],
                                     [model_texts[i] for i in noise], [languages[i] for i in noise],
                                     [polarity[i] for i in noise], config=config)
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

    extra = {}
    if discover:
        extra = {"emerging_themes": [int(t) for t in emerging],
                 "emerging_topics": sorted(set(model.topics_[C.TOPIC].tolist()) - topics_before)}
    run = run_record(
        config=config, embedder=embedder.name, scorer=scorer, mapping=loaded.mapping,
        mapping_guesses=loaded.notes, input_sha256=frame_checksum(loaded.frame),
        counts=run_counts(records=len(records), records_with_text=records[C.HAS_TEXT].sum(),
                          mentions=len(mentions), themes=themes, topics=topics,
                          mention_themes=mentions[C.THEME], rejected_rows=len(loaded.rejects)),
        languages={k: int(v) for k, v in records[C.LANGUAGE].value_counts().items()},
        dates=date_range(records), seconds=timer.seconds, warnings=warnings_,
        rank_metric=R.rank_metric_used(pain_points), extra=extra, redacted=redacted,
        taxonomy=TX.run_record(model, mentions, records))
    return Analysis(records, mentions, themes, touchpoints, pain_points, run, model, topics)


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
        loaded = load_for_run(source, config=config, **load_options)
        info["detail"] = f"{len(loaded.frame):,} records"
    model = None
    if model_path is not None:
        from .themes import ThemeModel

        model = ThemeModel.load(model_path)
    analysis = analyze(loaded, config=config, model=model, progress=progress)
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


def load_for_run(source: Any, *, config: Config, **load_options: Any) -> "Loaded":
    """:func:`voc.io.read_feedback` with the run's scales, date format and redaction.

    With ``config.redact`` the rejected rows (:attr:`~voc.io.Loaded.rejects`
    and the rejects file, which is written also when the load fails) are
    redacted too, so the rejects never hold what the run redacts.
    """
    from .io import read_feedback

    if config.edits:  # check the edits file before reading the data
        from .themes import load_edits

        load_edits(config.edits)
    if config.taxonomy is not None:  # and the taxonomy file
        from .themes.taxonomy import load_taxonomy

        load_taxonomy(config.taxonomy)
    return read_feedback(source, **load_args(config), **load_options)


def run_incremental(
    df: "pd.DataFrame | Loaded",
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

    from .io import as_loaded

    config = config or Config()
    store = store if isinstance(store, Store) else Store(store)
    loaded = as_loaded(df)
    df = loaded.frame
    with store.writer_lock():  # no other writer between reading the model and committing
        known = store.known_ids(df[C.VOC_ID])
        new = df[~df[C.VOC_ID].isin(known)]
        if new.empty:
            log.info("no new records: the store already holds all %d", len(df))
            return None
        model = store.load_model()
        analysis = analyze(loaded.with_frame(new.copy()), config=config, model=model, progress=progress,
                           discover=model is not None)
        events = lineage_events(analysis.run, analysis.themes, analysis.model, fitted=model is None)
        analysis.run["store"] = {"path": str(store.path), "records_known": int(len(df) - len(new))}
        with P.stage(progress, "store", f"{len(new):,} new records -> {store.path}"):
            run_id = store.write_run(analysis, lineage=new_events(store, events))
        analysis.run["store"]["run_id"] = run_id
    return analysis


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
        loaded = load_for_run(source, config=config, **load_options)
        info["detail"] = f"{len(loaded.frame):,} records"
    if report_dir is not None and config.batch_date is None and not has_dates(loaded.frame):
        check_report_dates(store, source)
    analysis = run_incremental(loaded, store, config=config, progress=progress)
    if analysis is not None and out_dir is not None:
        with P.stage(progress, "write", str(out_dir)):
            analysis.save(out_dir)
    if report_dir is not None:
        from .report import write_report

        with P.stage(progress, "report", str(report_dir)):
            write_report(store, report_dir)
    return analysis


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
    run = {  # over the whole store: no input, no timings
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
        "date_range": date_range(records),
        "seconds": {},
        "versions": versions(),
    }
    pain_points = R.rank_pain_points(records, mentions, themes, topics=topics, config=config)
    run["rank_metric"] = R.rank_metric_used(pain_points)
    return Analysis(records, mentions, themes, R.touchpoint_summary(records, config=config),
                    pain_points, run, model, topics)


def run_demo(out_dir: str | Path = "voc-demo", *, backfill_weeks: int = 6,
             progress: bool = False) -> tuple[Analysis, list[dict[str, Any]]]:
    """The demo (``voc demo``): see :func:`voc.demo.run_demo`."""
    from .demo import run_demo as demo

    return demo(out_dir, backfill_weeks=backfill_weeks, progress=progress)


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
