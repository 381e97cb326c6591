"""Streaming and distributed execution of the pipeline, for dumps that do not fit in memory.

:func:`run_streaming` does what :func:`voc.pipeline.run_file` does, in two
passes over chunks of the input, so that peak memory grows with the chunk
size, the theme-fitting sample and the number of themes, not with the dump:

1. **Pass 1** reads the input with :func:`voc.io.iter_loaded`, detects
   languages and segments every chunk, stages the chunk to disk (Parquet, in
   the temporary output folder) and keeps a seeded reservoir sample of
   ``config.fit_sample`` mentions. The :class:`~voc.themes.ThemeModel` is
   fitted once on that sample.
2. **Pass 2a** embeds, chunk by chunk, the distinct texts that first occur
   in that chunk into the embedding cache (:class:`voc.streaming.Owners`): every text is
   embedded once, in the same batch whichever engine runs it. **Pass 2b**
   reads each staged chunk's vectors from the cache, assigns themes, scores
   sentiment, aggregates records and appends row groups to
   ``records.parquet`` and ``mentions.parquet``. The local engine runs pass
   2a in a background thread up to two chunks ahead of pass 2b, which
   scores chunk ``i`` as soon as chunks ``0..i`` are embedded (the two use
   both cores); Dask runs all of 2a on the workers first. With the cache off
   (``cache_dir=""``) pass 2a is skipped and each chunk embeds its own texts.

The small tables (``themes.csv``, ``touchpoints.csv``, ``pain_points.csv``)
are then computed from the written Parquet files, reading only the columns
they need (never the text); the pain-point quotes come from a bounded set of
candidates kept during pass 2. Everything is written into a temporary folder
that replaces ``out_dir`` at the end (:func:`voc._atomic.atomic_dir`).

The per-chunk work (segmentation in pass 1; embedding, theme assignment and
sentiment in pass 2) runs either in this process (``engine="local"``) or on
a Dask distributed cluster (``engine="dask"``): a
:class:`~dask.distributed.LocalCluster` by default, or an existing cluster
given by ``scheduler``. Both engines run the same functions on the same
chunks, so with the same seed they give identical results (bit for bit when
the workers share the embedding cache, as a LocalCluster does; see
:class:`voc.streaming.Owners`).

With the whole input in one chunk and ``fit_sample`` at least the number of
mentions, the outputs equal those of :func:`voc.pipeline.analyze`.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from . import columns as C
from . import progress as P
from ._atomic import atomic_dir, file_checksum
from .chunks import (cached_embedder, cached_scorer, embed_chunk, resolve_embedder, score_chunk,  # noqa: F401
                     segment_chunk)
from .config import Config
from .errors import ConfigError
from .executors import DASK_WORKERS, ENGINES, LEAD, DaskEngine, LocalEngine, make_engine  # noqa: F401
from .outputs import (MODEL_DIR, Analysis, attach_themes, theme_table, topic_table, write_run_record,
                      write_tables)
from .provenance import FrameChecksum, run_counts, run_record
from .steps import (ces_warning, choose_embedder, fit_themes, load_args, no_text_error, prepare_records,
                    reuse_model, truncation_warning, warn)
from .streaming import (QUOTES_CANDIDATES, QUOTES_N, Owners, ParquetAppender, Quotes, Reservoir,  # noqa: F401
                        read_columns)

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000
_STAGE = ".stage"
_RECORD_COLS = (C.VOC_ID, C.TOUCHPOINT, C.HAS_TEXT, C.NPS, C.CES, C.CSAT, C.SENTIMENT,
                C.SENTIMENT_LABEL)
_MENTION_COLS = (C.VOC_ID, C.THEME, C.TOPIC, C.SENTIMENT, C.SENTIMENT_LABEL)


@dataclass
class StreamResult:
    """What :func:`run_streaming` returns: the small tables and the run record.

    The large tables stay on disk: :meth:`load` reads the whole output folder
    as an :class:`~voc.outputs.Analysis` (only sensible when it fits in
    memory); read columns of ``records.parquet`` / ``mentions.parquet``
    with :func:`pandas.read_parquet` otherwise.
    """

    out_dir: Path
    themes: pd.DataFrame
    touchpoints: pd.DataFrame
    pain_points: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    topics: pd.DataFrame | None = None

    def load(self) -> Analysis:
        return Analysis.load(self.out_dir)


# ----------------------------------------------------------------------------- the run


def run_streaming(
    source: str | Path | pd.DataFrame,
    out_dir: str | Path,
    *,
    config: Config | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    engine: str = "local",
    scheduler: str | None = None,
    model: Any = None,
    model_path: str | Path | None = None,
    save_model: str | Path | None = None,
    embedder: Any = None,
    scorer: Any = None,
    progress: bool = False,
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    **load_options: Any,
) -> StreamResult:
    """Analyse a feedback file of any size in bounded memory and write ``out_dir``.

    Parameters
    ----------
    source : path or DataFrame
        What :func:`voc.io.load_feedback` reads. CSV/TSV (optionally
        gzipped) and Parquet are read incrementally.
    out_dir : path
        Output folder, replaced atomically at the end (same files as
        :func:`voc.pipeline.run_file`, plus ``model/``).
    config : Config, optional
        Run options; ``fit_sample`` (default 50,000) mentions are sampled
        (seeded by ``random_state``) to fit the theme model.
    chunk_size : int
        Records per chunk (default 50,000): the unit of memory, of a Parquet
        row group and of a Dask task.
    engine : {"local", "dask"}
        Where segmentation, embedding, theme assignment and sentiment run.
    scheduler : str or None
        Address of an existing Dask scheduler (``tcp://host:8786``); ``None``
        with ``engine="dask"`` starts a LocalCluster of 2 single-threaded
        worker processes for the run.
    model : ThemeModel, optional
        Assign to this fitted model (same theme ids) instead of fitting one;
        pass 1 then keeps no sample.
    model_path : path, optional
        Load ``model`` from this folder (``ThemeModel.load``), as ``voc run --model``.
    save_model : path, optional
        Also write the model to this folder (atomically), as ``voc run --save-model``.
    embedder : str or Embedder, optional
        Overrides ``config.embedder``: a name, a ``"module:Class"`` spec
        (see :func:`resolve_embedder`) or an object (shipped to Dask workers
        by pickling; prefer names for real models).
    scorer : SentimentScorer, optional
        Overrides ``config.sentiment`` (an object, shipped like ``embedder``).
    select : callable, optional
        Called with every loaded chunk; returns the rows to analyse (the
        store runs of :mod:`voc.stream_store` drop the records the store
        already holds). Default: every row.
    progress : bool or voc.progress.Progress
        ``True``: one line per chunk of each pass, per fit and rank on
        stderr, and an embedding progress bar while fitting (see
        :mod:`voc.progress`). Default: silent.
    **load_options
        Passed to :func:`voc.io.iter_loaded` (column names, ``format``,
        ``encoding``, ``on_error``, ``rejects_path``).

    Returns
    -------
    StreamResult
        ``themes``, ``touchpoints``, ``pain_points``, ``run``, ``model``.

    Examples
    --------
    >>> from voc.sample import sample_path
    >>> res = run_streaming(sample_path(), "out", chunk_size=500)   # doctest: +SKIP
    >>> res.run["counts"]["records"]                                # doctest: +SKIP
    2000
    """
    from . import embed as E
    from . import rank as R
    from . import sentiment as SN
    from .themes import ThemeModel, load_edits
    from .themes import taxonomy as TX

    config = config or Config()
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    edits = load_edits(config.edits) if config.edits else None  # before any work
    code_frame = TX.load_taxonomy(config.taxonomy)  # before any work too
    if model_path is not None:
        model = ThemeModel.load(model_path)
    start = time.perf_counter()
    reporter = P.get(progress)
    runner = make_engine(engine, scheduler)
    out_dir = Path(out_dir)
    try:
        with atomic_dir(out_dir) as tmp:
            stage = tmp / _STAGE
            stage.mkdir()
            read = _read_and_segment(source, stage, runner, config=config, chunk_size=chunk_size,
                                     sample=model is None, select=select, reporter=reporter,
                                     load_options=load_options)

            # ---- the theme model, fitted once on the sample (or given)
            t0 = time.perf_counter()
            if reporter is not None:
                reporter.start("themes", "fitting on the sample" if model is None else "loading the model")
            embedder, emb = choose_embedder(config, model, sorted(read.mention_languages), embedder,
                                            build=cached_embedder)
            scorer = scorer if scorer is not None else config.sentiment
            scorer_obj = cached_scorer(scorer, emb.name)
            seed_index = None
            if code_frame is not None:  # the seeds, with the run's embedder; assign() applies them per chunk
                with E.opened_cache(config.cache_dir) as cache:
                    seed_index = TX.embed_taxonomy(code_frame, emb, cache=cache)
            if model is None:
                model = _fit_on_sample(read.reservoir, emb, scorer_obj, config=config, taxonomy=seed_index,
                                       edits=edits, progress=reporter is not None)
                read.reservoir = None
            else:
                model = reuse_model(model, taxonomy=seed_index, edits=edits)
            read.seconds["fit"] = round(time.perf_counter() - t0, 3)
            if reporter is not None:
                reporter.done("themes", f"{len(model.themes_):,} themes", read.seconds["fit"])

            # ---- pass 2: embed, assign, score, write row groups
            t0 = time.perf_counter()
            ship = embedder if (engine == "local" or isinstance(embedder, str)) else emb
            quotes = _assign_and_write(tmp, stage, runner, read.n_chunks, model, embedder=ship, scorer=scorer,
                                       band=getattr(scorer_obj, "neutral_band", SN.NEUTRAL_BAND),
                                       cache_dir=config.cache_dir, reporter=reporter, t0=t0)
            read.seconds["embed_assign_score"] = round(time.perf_counter() - t0, 3)

            # ---- small tables from the written Parquet (no text)
            t0 = time.perf_counter()
            themes, topics, touchpoints, pain_points, counts, code_frame_run = _tables(tmp, model, quotes, read,
                                                                                      config=config)
            write_tables(tmp, themes=themes, touchpoints=touchpoints, pain_points=pain_points, topics=topics)
            model.save(tmp / MODEL_DIR)
            read.seconds["rank"] = round(time.perf_counter() - t0, 3)
            read.seconds["total"] = round(time.perf_counter() - start, 3)
            if reporter is not None:
                reporter.done("rank", f"{len(pain_points):,} touchpoint x theme rows", read.seconds["rank"])

            run = run_record(
                config=config, engine={"name": runner.name, "chunk_size": chunk_size, "chunks": read.n_chunks,
                                       "scheduler": scheduler},
                embedder=emb.name, scorer=scorer_obj, mapping=read.mapping, mapping_guesses=read.notes,
                input_sha256=read.checksum.hexdigest(), counts=counts,
                languages=dict(read.languages.most_common()),
                dates=[str(min(read.dates)), str(max(read.dates))] if read.dates else None,
                seconds=read.seconds, warnings=read.warnings, rank_metric=R.rank_metric_used(pain_points),
                redacted=read.redacted, taxonomy=code_frame_run)
            if not isinstance(source, pd.DataFrame):
                run["input"] = {"path": str(source), "sha256": file_checksum(source)}
            write_run_record(tmp, run)
    finally:
        runner.close()
    if save_model is not None:
        with atomic_dir(Path(save_model)) as tmp:
            model.save(tmp)
    return StreamResult(out_dir, themes, touchpoints, pain_points, run, model, topics)


@dataclass
class _Read:
    """What pass 1 found: counts, languages, dates, checksum, warnings, the sample and the mapping."""

    reservoir: Reservoir | None
    checksum: FrameChecksum = field(default_factory=FrameChecksum)
    languages: Counter = field(default_factory=Counter)
    mention_languages: set = field(default_factory=set)
    redacted: Counter = field(default_factory=Counter)
    dates: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    n_chunks: int = 0
    n_records: int = 0
    n_with_text: int = 0
    n_mentions: int = 0
    n_rejected: int = 0
    n_cut: int = 0  # records cut to max_units_per_record


def _read_and_segment(source: Any, stage: Path, runner: Any, *, config: Config, chunk_size: int, sample: bool,
                      select: Callable | None, reporter: Any, load_options: dict) -> _Read:
    """Pass 1: read, segment and stage every chunk to ``stage``; keep the fitting sample when ``sample``."""
    from . import embed as E
    from . import segment as S
    from .io import iter_loaded
    from .survey import scale_warnings

    t0 = time.perf_counter()
    read = _Read(Reservoir(config.fit_sample, config.random_state) if sample else None)
    owners = Owners()
    pending: deque = deque()
    first = True

    def chunks() -> Iterator[pd.DataFrame]:
        nonlocal first
        for loaded in iter_loaded(source, chunk_size=chunk_size, **load_args(config), **load_options):
            read.n_rejected += len(loaded.rejects)
            chunk = loaded.frame
            if chunk.empty:  # every row of the chunk rejected
                continue
            if first:
                read.mapping, read.notes, first = loaded.mapping, loaded.notes, False
            for w in loaded.warnings:  # once per kind (iter_loaded logged it)
                if not any(w.split(":")[0] == seen.split(":")[0] for seen in read.warnings):
                    read.warnings.append(w)
            if select is not None:
                chunk = select(chunk)
                if chunk.empty:
                    continue
            read.checksum.add(chunk)
            records, counts = prepare_records(chunk, config=config)
            read.redacted.update(counts)
            pending.append(records)
            yield records[[C.VOC_ID, C.TEXT]]

    for langs, ments, n_cut in runner.map(segment_chunk, chunks(), unit=config.unit,
                                          max_units=config.max_units_per_record):
        read.n_cut += n_cut
        records = pending.popleft()
        records[C.LANGUAGE] = langs
        i = read.n_chunks
        records.to_parquet(stage / f"records-{i:06d}.parquet", index=False)
        ments.to_parquet(stage / f"mentions-{i:06d}.parquet", index=False)
        keys = [S.model_text(t)[:E.MAX_CHARS] for t in ments[C.TEXT].tolist()]
        pd.DataFrame({C.TEXT: owners.take(keys)}, dtype=object).to_parquet(
            stage / f"owned-{i:06d}.parquet", index=False)
        if read.reservoir is not None:
            read.reservoir.add(ments[C.TEXT].tolist(), ments[C.LANGUAGE].tolist())
        read.mention_languages.update(ments[C.LANGUAGE].unique().tolist())
        read.languages.update(records[C.LANGUAGE].value_counts().to_dict())
        read.n_chunks += 1
        read.n_records += len(records)
        read.n_with_text += int(records[C.HAS_TEXT].sum())
        read.n_mentions += len(ments)
        if C.DATE in records.columns and records[C.DATE].notna().any():
            read.dates += [records[C.DATE].min(), records[C.DATE].max()]
        ces = ces_warning(records, config)
        if ces is not None and ces not in read.warnings:
            warn(read.warnings, ces)
        if read.n_chunks == 1:  # the first chunk shows whether a column fits its scale
            for message in scale_warnings(records, config=config, mapping=read.mapping):
                warn(read.warnings, message)
        if reporter is not None:
            reporter.done("segment", f"chunk {read.n_chunks}: {read.n_records:,} records, "
                          f"{read.n_mentions:,} mentions so far", time.perf_counter() - t0)
    read.seconds["read_segment"] = round(time.perf_counter() - t0, 3)
    if read.n_cut:
        warn(read.warnings, truncation_warning(read.n_cut, config.max_units_per_record))
    if read.n_mentions == 0:
        raise no_text_error(read.n_records)
    return read


def _fit_on_sample(reservoir: Reservoir, emb: Any, scorer: Any, *, config: Config, taxonomy: Any,
                   edits: Any, progress: bool) -> Any:
    """A theme model fitted on pass 1's sample (embedded through the cache), with the edits."""
    from . import embed as E
    from . import segment as S

    texts, langs = reservoir.sample()
    model_texts = [S.model_text(t) for t in texts]
    with E.opened_cache(config.cache_dir) as cache:
        vectors = E.embed_texts(model_texts, emb, cache=cache, progress=progress)
    # sentiment of the sample: for a polarity split, and for phrase labels
    # (a complaint theme is labelled from its negative mentions), as in analyze
    polarity = scorer.score(model_texts, embeddings=vectors, languages=langs)[C.SENTIMENT_LABEL].tolist()
    return fit_themes(vectors, texts, model_texts, langs, polarity, config=config, embedder_name=emb.name,
                      taxonomy=taxonomy, edits=edits)


def _tables(tmp: Path, model: Any, quotes: Quotes, read: _Read, *, config: Config) -> tuple:
    """The small tables, ``run.json`` counts and taxonomy record, from the written Parquet (never the text)."""
    from . import rank as R
    from .themes import taxonomy as TX

    rec = read_columns(tmp / "records.parquet", _RECORD_COLS)
    men = read_columns(tmp / "mentions.parquet", _MENTION_COLS)
    themes = theme_table(model, men, n_records=len(rec))
    topics = topic_table(model, men, n_records=len(rec))
    touchpoints = R.touchpoint_summary(rec, config=config)
    pain_points = quotes.fill(R.rank_pain_points(rec, men, themes, topics=topics, config=config))
    counts = run_counts(records=read.n_records, records_with_text=read.n_with_text, mentions=read.n_mentions,
                        themes=themes, topics=topics, mention_themes=men[C.THEME], rejected_rows=read.n_rejected)
    code_frame_run = TX.run_record(model, men, rec)  # coverage and suggestions (None: no taxonomy)
    return themes, topics, touchpoints, pain_points, counts, code_frame_run


def _assign_and_write(tmp: Path, stage: Path, runner: Any, n_chunks: int, model: Any, *, embedder: Any,
                      scorer: Any, band: float, cache_dir: str | None, reporter: Any, t0: float) -> Quotes:
    """Pass 2: embed (2a), assign and score (2b) every staged chunk; append the row groups to ``tmp``.

    Returns the pain-point quote candidates. ``stage`` is removed at the end.
    """
    from . import embed as E
    from . import rank as R
    from . import sentiment as SN

    shared = runner.share(model)
    records_out = ParquetAppender(tmp / "records.parquet")
    mentions_out = ParquetAppender(tmp / "mentions.parquet")
    quotes = Quotes()
    # pass 2a (cache on): each distinct text embedded once, by its first chunk;
    # chunk i is scored (2b) once chunks 0..i are embedded
    embedded: Iterable[Any] = range(n_chunks)  # cache off: nothing to wait for
    if E.cache_path(cache_dir) is not None:
        owned = (pd.read_parquet(stage / f"owned-{i:06d}.parquet")[C.TEXT].tolist() for i in range(n_chunks))
        embedded = runner.lead(embed_chunk, owned, embedder=embedder, cache_dir=cache_dir)
    staged = (pd.read_parquet(stage / f"mentions-{i:06d}.parquet") for i, _ in enumerate(embedded))
    try:
        for i, scored in enumerate(runner.map(score_chunk, staged, model=shared, embedder=embedder,
                                              scorer=scorer, cache_dir=cache_dir)):
            ments = pd.read_parquet(stage / f"mentions-{i:06d}.parquet")
            records = pd.read_parquet(stage / f"records-{i:06d}.parquet")
            for col in scored.columns:
                ments[col] = scored[col].to_numpy()
            records = records.join(SN.aggregate_records(ments, neutral_band=band), on=C.VOC_ID)
            records = attach_themes(records, ments)
            tp = records.set_index(C.VOC_ID)[C.TOUCHPOINT].astype(object)
            tp = tp.where(tp.notna(), R.UNKNOWN_TOUCHPOINT).map(str)
            quotes.add(ments, ments[C.VOC_ID].map(tp).to_numpy(dtype=object))
            records_out.write(records)
            mentions_out.write(ments)
            if reporter is not None:
                reporter.done("score", f"chunk {i + 1} of {n_chunks}: embedded, assigned, written",
                              time.perf_counter() - t0)
    finally:
        records_out.close()
        mentions_out.close()
        getattr(embedded, "close", lambda: None)()  # stop embedding ahead after an error
    shutil.rmtree(stage)
    return quotes
