"""Streaming and distributed execution of the pipeline, for dumps that do not fit in memory.

:func:`run_streaming` does what :func:`voc.pipeline.run_file` does, in two
passes over chunks of the input, so that peak memory grows with the chunk
size, the theme-fitting sample and the number of themes, not with the dump:

1. **Pass 1** reads the input with :func:`voc.io.iter_feedback`, detects
   languages and segments every chunk, stages the chunk to disk (Parquet, in
   the temporary output folder) and keeps a seeded reservoir sample of
   ``config.fit_sample`` mentions. The :class:`~voc.themes.ThemeModel` is
   fitted once on that sample.
2. **Pass 2a** embeds, chunk by chunk, the distinct texts that first occur
   in that chunk into the embedding cache (:class:`_Owners`): every text is
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
:class:`_Owners`).

With the whole input in one chunk and ``fit_sample`` at least the number of
mentions, the outputs equal those of :func:`voc.pipeline.analyze`.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import shutil
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from . import __version__
from . import columns as C
from . import progress as P
from ._atomic import atomic_dir, file_checksum
from .config import Config
from .errors import ConfigError, InputError, ModelError
from .pipeline import (MODEL_DIR, TOPICS_FILE, Analysis, FrameChecksum, attach_themes, check_model_embedder,
                       csv_safe, load_args, prepare_records, run_embedder_name, theme_table,
                       topic_table, truncation_warning, versions)

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
DEFAULT_CHUNK_SIZE = 50_000
DASK_WORKERS = 2
"""Workers of the LocalCluster started when no ``scheduler`` is given."""
_LEAD = 2
"""Chunks the local engine's embedding pass may run ahead of scoring."""
QUOTES_N, QUOTES_CANDIDATES = 2, 20
"""Quotes per pain point, and negative candidates kept per (touchpoint, theme)
(:func:`voc.rank.rank_pain_points` looks at ``10 * n`` of them)."""
_STAGE = ".stage"
_RECORD_COLS = (C.VOC_ID, C.TOUCHPOINT, C.HAS_TEXT, C.NPS, C.CES, C.CSAT, C.SENTIMENT,
                C.SENTIMENT_LABEL)
_MENTION_COLS = (C.VOC_ID, C.THEME, C.TOPIC, C.SENTIMENT, C.SENTIMENT_LABEL)


@dataclass
class StreamResult:
    """What :func:`run_streaming` returns: the small tables and the run record.

    The large tables stay on disk: :meth:`load` reads the whole output folder
    as an :class:`~voc.pipeline.Analysis` (only sensible when it fits in
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


# ----------------------------------------------------------------------------- embedders by name


def resolve_embedder(spec: Any) -> Any:
    """An embedder from a name, a ``"module:Class"`` spec or an object.

    ``"module:Class"`` imports ``module`` and calls ``Class()`` (an
    embedder the package does not know, e.g. a test double or an in-house
    model; on a cluster the module must be importable on every worker).
    Anything else goes to :func:`voc.embed.get_embedder`.
    """
    from . import embed as E

    if isinstance(spec, str) and re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", spec.strip()):
        module, _, attr = spec.strip().partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"Cannot import embedder '{spec}' ({e}). Give an importable "
                              f"'module:Class' or one of: {', '.join(E.EMBEDDERS)}.") from None
        return factory()
    return E.get_embedder(spec)


_WORKER_STATE: dict[Any, Any] = {}
"""Embedders and scorers built in this process, by spec (one per worker process)."""


def cached_embedder(spec: Any) -> Any:
    """The embedder for ``spec``, built once per process (an embedder object is returned as is)."""
    if not isinstance(spec, str):
        return spec
    if ("embedder", spec) not in _WORKER_STATE:
        _WORKER_STATE["embedder", spec] = resolve_embedder(spec)
    return _WORKER_STATE["embedder", spec]


def _scorer(spec: Any, embedder_name: str) -> Any:
    from . import sentiment as SN

    if not isinstance(spec, str):
        return spec
    key = ("scorer", spec, embedder_name)
    if key not in _WORKER_STATE:
        _WORKER_STATE[key] = SN.get_scorer(spec, embedder_name=embedder_name)
    return _WORKER_STATE[key]


# ----------------------------------------------------------------------------- per-chunk work


def segment_chunk(records: pd.DataFrame, *, unit: str = "sentence",
                  max_units: int | None = None) -> tuple[list[str], pd.DataFrame]:
    """Pass-1 work of one chunk: record languages and the mentions (voc_id, unit, text, language).

    ``mentions.attrs["voc_units_truncated"]`` counts the records cut to ``max_units`` units.
    """
    from . import segment as S

    languages = list(S.detect_languages(records[C.TEXT].fillna("").astype(str).tolist()))
    frame = pd.DataFrame({C.VOC_ID: records[C.VOC_ID].to_numpy(), C.TEXT: records[C.TEXT].to_numpy(),
                          C.LANGUAGE: languages})
    mentions = S.segment(frame, unit=unit, max_units=max_units)
    cut = mentions.attrs.get("voc_units_truncated", 0)
    mentions = mentions.reset_index(drop=True)
    mentions.attrs["voc_units_truncated"] = cut
    return languages, mentions


def embed_chunk(texts: list[str], *, embedder: Any, cache_dir: str | None = None) -> int:
    """Pass-2a work of one chunk: embed the texts it owns into the cache (see :class:`_Owners`)."""
    from . import embed as E

    with E.opened_cache(cache_dir) as cache:
        if cache is None:
            return 0
        E.embed_texts(texts, cached_embedder(embedder), cache=cache)
    return len(texts)


def score_chunk(mentions: pd.DataFrame, model: Any, *, embedder: Any, scorer: Any,
                cache_dir: str | None = None) -> pd.DataFrame:
    """Pass-2 work of one chunk: embed (through the cache), assign themes, score sentiment.

    ``embedder`` and ``scorer`` are objects, or specs built once per process
    (:func:`resolve_embedder`, :func:`voc.sentiment.get_scorer`). Returns
    ``theme``, ``theme_prob``, ``topic``, ``sentiment``, ``sentiment_label``
    aligned with ``mentions``.
    """
    from . import embed as E
    from .segment import model_text

    emb = cached_embedder(embedder)
    texts = [model_text(t) for t in mentions[C.TEXT].tolist()]  # no @handles / URLs, as analyze
    with E.opened_cache(cache_dir) as cache:
        vectors = E.embed_texts(texts, emb, cache=cache)
    scores = _scorer(scorer, emb.name).score(texts, embeddings=vectors,
                                             languages=mentions[C.LANGUAGE].tolist())
    ids, probs = model.assign(vectors, sentiment=scores[C.SENTIMENT_LABEL].tolist())
    return pd.DataFrame({
        C.THEME: np.asarray(ids, dtype=int),
        C.THEME_PROB: np.asarray(probs, dtype=float),
        C.TOPIC: model.topic_ids(ids),
        C.SENTIMENT: scores[C.SENTIMENT].to_numpy(dtype=float),
        C.SENTIMENT_LABEL: scores[C.SENTIMENT_LABEL].to_numpy(),
    })


# ----------------------------------------------------------------------------- executors


class _LocalEngine:
    name = "local"

    def map(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        for item in items:
            yield fn(item, **kwargs)

    def lead(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        """``map`` run in a background thread, at most ``_LEAD`` items ahead of the consumer.

        Pass 2a (embedding) then runs on the second core while this thread
        assigns and scores chunks whose texts are already embedded: the
        embedders and numpy release the GIL for their heavy work. Results
        come in order; an error in ``fn`` is raised here.
        """
        from concurrent.futures import ThreadPoolExecutor

        pending: deque = deque()
        with ThreadPoolExecutor(1, thread_name_prefix="voc-lead") as pool:
            try:
                for item in items:
                    pending.append(pool.submit(fn, item, **kwargs))
                    if len(pending) > _LEAD:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for f in pending:
                    f.cancel()

    def share(self, obj: Any) -> Any:
        return obj

    def close(self) -> None:
        pass


class _DaskEngine:
    """Ordered map over a Dask client with a bounded number of chunks in flight."""

    name = "dask"

    def __init__(self, scheduler: str | None, n_workers: int = DASK_WORKERS) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ModelError('The Dask engine needs dask.distributed, which is not installed. '
                             'Install it with: pip install "voc[dask]"') from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as e:
                raise ConfigError(f"Cannot connect to the Dask scheduler '{scheduler}' ({e}). Check "
                                  "the address (tcp://host:8786) or leave --scheduler out to "
                                  "start a local cluster.") from None
        else:
            self.cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        n = len(self.client.scheduler_info().get("workers", {})) or n_workers
        self.in_flight = 2 * n

    def map(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        pending: deque = deque()
        for item in items:
            pending.append(self.client.submit(fn, item, pure=False, **kwargs))
            if len(pending) >= self.in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def lead(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        """Run ``map`` to the end first (the workers run it in parallel), then yield its results."""
        yield from list(self.map(fn, items, **kwargs))

    def share(self, obj: Any) -> Any:
        """Send ``obj`` to every worker once; tasks then receive it by reference."""
        return self.client.scatter(obj, broadcast=True)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _engine(engine: str, scheduler: str | None) -> Any:
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}. Got {engine!r}.")
    if engine == "local":
        if scheduler:
            raise ConfigError("--scheduler needs --engine dask.")
        return _LocalEngine()
    return _DaskEngine(scheduler)


# ----------------------------------------------------------------------------- helpers


class Reservoir:
    """Seeded uniform sample of ``size`` mentions without replacement, in input order.

    Bottom-k sampling: every mention gets a pseudo-random priority from a
    hash (splitmix64) of its position in the input and the seed, and the
    ``size`` lowest priorities are kept. Unlike a sequential reservoir, the
    sample does not depend on the chunk size or the engine. When there are
    at most ``size`` mentions, all are kept.
    """

    def __init__(self, size: int, random_state: int) -> None:
        self.size, self.seed, self.seen = size, int(random_state), 0
        self.keys = np.zeros(0, dtype=np.uint64)
        self.index = np.zeros(0, dtype=np.int64)
        self.texts: list[str] = []
        self.languages: list[str] = []

    def priority(self, index: np.ndarray) -> np.ndarray:
        """Seeded splitmix64 priorities of input positions ``index``; the lowest ``size`` are kept."""
        with np.errstate(over="ignore"):
            z = index.astype(np.uint64) + np.uint64((self.seed + 1) * 0x9E3779B97F4A7C15 % 2**64)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def add(self, texts: list[str], languages: list[str]) -> None:
        index = np.arange(self.seen, self.seen + len(texts), dtype=np.int64)
        self.seen += len(texts)
        keys = np.concatenate([self.keys, self.priority(index)])
        index = np.concatenate([self.index, index])
        texts, languages = self.texts + list(texts), self.languages + list(languages)
        keep = np.arange(len(keys))
        if len(keys) > self.size:
            keep = np.sort(np.argpartition(keys, self.size - 1)[: self.size])
        self.keys, self.index = keys[keep], index[keep]
        self.texts = [texts[i] for i in keep]
        self.languages = [languages[i] for i in keep]

    def sample(self) -> tuple[list[str], list[str]]:
        return list(self.texts), list(self.languages)  # kept in input order


class _Owners:
    """Which chunk embeds each distinct text: the first chunk it occurs in.

    Embedders give a text vectors that differ in the last bits with the
    batch it is embedded in (padding, BLAS blocking). The local engine runs
    the chunks in order, so a text seen in an earlier chunk comes from the
    cache; on Dask, chunks run at the same time and would embed it again in
    another batch. So every engine first embeds, chunk by chunk, only the
    texts that chunk owns (pass 2a, into the shared cache), and then reads
    every vector from the cache (pass 2b): each text gets the same vector
    from the same batch whatever ran where. Texts are tracked by a 64-bit
    hash of what is embedded (the cache key), so memory stays at 8 bytes per
    distinct text.
    """

    def __init__(self) -> None:
        self.seen = np.zeros(0, dtype=np.uint64)

    def take(self, texts: list[str]) -> list[str]:
        """The texts of this chunk that no earlier chunk had, in first-occurrence order."""
        if not texts:
            return []
        h = pd.util.hash_array(np.asarray(texts, dtype=object))
        _, first = np.unique(h, return_index=True)
        first = np.sort(first)
        first = first[~np.isin(h[first], self.seen)]
        self.seen = np.union1d(self.seen, h[first])
        return [texts[i] for i in first]


class _Quotes:
    """Per (touchpoint, theme) and (touchpoint, topic): the most negative mentions, as rank_pain_points picks them."""

    LEVELS = (C.THEME, C.TOPIC)

    def __init__(self) -> None:
        self.cand: dict[str, pd.DataFrame] = {}
        self.seen = 0

    def add(self, mentions: pd.DataFrame, touchpoints: np.ndarray) -> None:
        keep = ((mentions[C.THEME] != C.NOISE) & (mentions[C.SENTIMENT_LABEL] == "negative")).to_numpy()
        pos = np.flatnonzero(keep)
        m = mentions[keep]
        for key in self.LEVELS:
            if key not in m:
                continue
            part = pd.DataFrame({"_id": m[key].to_numpy(), C.TEXT: m[C.TEXT].to_numpy(),
                                 C.SENTIMENT: m[C.SENTIMENT].to_numpy(dtype=float),
                                 C.SENTIMENT_LABEL: "negative", "_order": pos + self.seen})
            tps = touchpoints[pos]
            on = part["_id"].to_numpy() != C.NOISE
            part, tps = part[on], tps[on]
            parts = [part.assign(_tp=C.ALL_TOUCHPOINTS)]
            own = tps != C.ALL_TOUCHPOINTS  # a touchpoint named "all" is the overall group
            if own.any():
                parts.append(part[own].assign(_tp=tps[own]))
            if key in self.cand:
                parts.insert(0, self.cand[key])
            cand = pd.concat(parts, ignore_index=True).sort_values(
                [C.SENTIMENT, "_order"], kind="stable", na_position="last")
            self.cand[key] = cand.groupby(["_tp", "_id"], sort=False).head(QUOTES_CANDIDATES)
        self.seen += len(mentions)

    def fill(self, pain: pd.DataFrame) -> pd.DataFrame:
        from .rank import select_quotes

        if not self.cand or pain.empty:
            return pain
        groups = {key: {k: g.sort_values("_order") for k, g in cand.groupby(["_tp", "_id"])}
                  for key, cand in self.cand.items()}
        topics = pain[C.TOPIC] if C.TOPIC in pain else pd.Series(C.NOISE, index=pain.index)
        quotes = []
        for tp, t, topic, q in zip(pain[C.TOUCHPOINT], pain[C.THEME], topics, pain["quotes"]):
            key, i = (C.THEME, t) if not pd.isna(t) else (C.TOPIC, topic)
            if key not in groups:  # no candidates of this level: keep what rank_pain_points gave
                quotes.append(q)
                continue
            g = groups[key].get((tp, int(i)))
            quotes.append(select_quotes(g, n=QUOTES_N) if g is not None else "")
        return pain.assign(quotes=quotes)


class _ParquetAppender:
    """Append DataFrames as row groups of one Parquet file, schema fixed by the first."""

    def __init__(self, path: Path) -> None:
        self.path, self.writer, self.schema = path, None, None

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            fields = []
            for f in table.schema:  # an all-empty first chunk must not fix a null type
                if f.name == C.THEMES and pa.types.is_list(f.type) and pa.types.is_null(f.type.value_type):
                    f = f.with_type(pa.list_(pa.int64()))
                elif pa.types.is_null(f.type):
                    f = f.with_type(pa.string())
                fields.append(f)
            self.schema = pa.schema(fields, metadata=table.schema.metadata)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        try:
            table = pa.Table.from_pandas(df, schema=self.schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"A chunk of the input has column types that differ from the first "
                             f"chunk ({e}). Give the column consistent values, or a larger "
                             f"--chunk-size.") from None
        self.writer.write_table(table, row_group_size=max(len(table), 1))  # one row group per chunk

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _prepare(chunk: pd.DataFrame, config: Config, redacted: Counter) -> pd.DataFrame:
    """The load stage of :func:`voc.pipeline.analyze` on one chunk."""
    records, counts = prepare_records(chunk, config=config)
    records.attrs = {}  # mapping and rejects go to run.json, not into every row group
    redacted.update(counts)
    return records


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
        Passed to :func:`voc.io.iter_feedback` (column names, ``format``,
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
    from . import segment as S
    from . import sentiment as SN
    from .io import iter_feedback
    from .themes import ThemeModel, load_edits

    config = config or Config()
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer. Got {chunk_size!r}.")
    edits = load_edits(config.edits) if config.edits else None  # before any work
    from .themes import taxonomy as TX

    code_frame = TX.load_taxonomy(config.taxonomy)  # before any work too
    if model_path is not None:
        model = ThemeModel.load(model_path)
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    warnings_: list[str] = []
    redacted: Counter = Counter()
    reporter = P.get(progress)
    runner = _engine(engine, scheduler)
    out_dir = Path(out_dir)
    try:
        with atomic_dir(out_dir) as tmp:
            stage = tmp / _STAGE
            stage.mkdir()

            # ---- pass 1: read, segment, stage, sample
            t0 = time.perf_counter()
            reservoir = Reservoir(config.fit_sample, config.random_state) if model is None else None
            checksum, languages, mention_langs = FrameChecksum(), Counter(), set()
            owners = _Owners()
            n_chunks = n_records = n_with_text = n_mentions = n_rejected = 0
            first: pd.DataFrame | None = None
            dates: list[Any] = []
            n_cut = 0  # records cut to max_units_per_record

            def chunks() -> Iterator[pd.DataFrame]:
                nonlocal first, n_rejected
                for chunk in iter_feedback(source, chunk_size=chunk_size, **load_args(config), **load_options):
                    first = chunk if first is None else first
                    n_rejected += len(chunk.attrs.get("voc_rejects", ()))
                    for w in chunk.attrs.get("voc_warnings", []):  # once per kind (iter_feedback logged it)
                        if not any(w.split(":")[0] == seen.split(":")[0] for seen in warnings_):
                            warnings_.append(w)
                    if select is not None:
                        chunk = select(chunk)
                        if chunk.empty:
                            continue
                    checksum.add(chunk)
                    records = _prepare(chunk, config, redacted)
                    pending.append(records)
                    yield records[[C.VOC_ID, C.TEXT]]

            pending: deque = deque()
            for langs, ments in runner.map(segment_chunk, chunks(), unit=config.unit,
                                           max_units=config.max_units_per_record):
                n_cut += ments.attrs.get("voc_units_truncated", 0)
                records = pending.popleft()
                records[C.LANGUAGE] = langs
                records.to_parquet(stage / f"records-{n_chunks:06d}.parquet", index=False)
                ments.to_parquet(stage / f"mentions-{n_chunks:06d}.parquet", index=False)
                keys = [S.model_text(t)[:E.MAX_CHARS] for t in ments[C.TEXT].tolist()]
                pd.DataFrame({C.TEXT: owners.take(keys)}, dtype=object).to_parquet(
                    stage / f"owned-{n_chunks:06d}.parquet", index=False)
                if reservoir is not None:
                    reservoir.add(ments[C.TEXT].tolist(), ments[C.LANGUAGE].tolist())
                mention_langs.update(ments[C.LANGUAGE].unique().tolist())
                languages.update(records[C.LANGUAGE].value_counts().to_dict())
                n_chunks += 1
                n_records += len(records)
                n_with_text += int(records[C.HAS_TEXT].sum())
                n_mentions += len(ments)
                if C.DATE in records.columns and records[C.DATE].notna().any():
                    dates += [records[C.DATE].min(), records[C.DATE].max()]
                if (C.CES in records.columns and records[C.CES].notna().any()
                        and not config.ces_configured
                        and not any(w.startswith("CES scale and direction") for w in warnings_)):
                    warnings_.append(
                        f"CES scale and direction not configured; assumed {config.ces_scale[0]}-"
                        f"{config.ces_scale[1]}, {config.ces_direction.replace('_', ' ')}. "
                        "Set ces_scale/ces_direction (--ces-scale, --ces-direction) to make it explicit."
                    )
                    log.warning(warnings_[-1])
                if n_chunks == 1:  # the first chunk shows whether a column fits its scale
                    from .survey import scale_warnings

                    mapping = first.attrs.get("voc_mapping") if first is not None else None
                    for message in scale_warnings(records, config=config, mapping=mapping):
                        warnings_.append(message)
                        log.warning(message)
                if reporter is not None:
                    reporter.done("segment", f"chunk {n_chunks}: {n_records:,} records, {n_mentions:,} mentions "
                                  "so far", time.perf_counter() - t0)
            seconds["read_segment"] = round(time.perf_counter() - t0, 3)
            if n_cut:
                warnings_.append(truncation_warning(n_cut, config.max_units_per_record))
                log.warning(warnings_[-1])
            if n_mentions == 0:
                raise InputError(
                    "No record has any text to analyse "
                    f"({n_records} records, all empty). Check --text-col."
                )

            # ---- fit the theme model once, on the sample
            t0 = time.perf_counter()
            if reporter is not None:
                reporter.start("themes", "fitting on the sample" if model is None else "loading the model")
            if embedder is None:
                embedder = run_embedder_name(config, model, sorted(mention_langs))
            emb = cached_embedder(embedder)
            check_model_embedder(model, emb.name)
            scorer = scorer if scorer is not None else config.sentiment
            scorer_obj = _scorer(scorer, emb.name)
            seed_index = None
            if code_frame is not None:  # the seeds, with the run's embedder; assign() applies them per chunk
                with E.opened_cache(config.cache_dir) as cache:
                    seed_index = TX.embed_taxonomy(code_frame, emb, cache=cache)
                if model is not None:
                    TX.attach(model, seed_index)
            if model is None:
                texts, langs = reservoir.sample()
                model_texts = [S.model_text(t) for t in texts]
                with E.opened_cache(config.cache_dir) as cache:
                    vectors = E.embed_texts(model_texts, emb, cache=cache, progress=reporter is not None)
                tokens, phrases = S.keyword_tokens_and_phrases(model_texts, langs)
                # sentiment of the sample: for a polarity split, and for phrase labels
                # (a complaint theme is labelled from its negative mentions), as in analyze
                polarity = scorer_obj.score(model_texts, embeddings=vectors,
                                            languages=langs)[C.SENTIMENT_LABEL].tolist()
                model = ThemeModel(min_theme_size=config.min_theme_size,
                                   split_polarity=config.split_polarity,
                                   random_state=config.random_state).fit(
                    vectors, texts, tokens, languages=langs, sentiment=polarity, phrases=phrases,
                    taxonomy=seed_index, embedder_name=emb.name)
                del vectors, tokens, phrases, texts, model_texts, langs, polarity, reservoir
            if edits is not None:
                model.apply_edits(edits)
            seconds["fit"] = round(time.perf_counter() - t0, 3)
            if reporter is not None:
                reporter.done("themes", f"{len(model.themes_):,} themes", seconds["fit"])

            # ---- pass 2: embed, assign, score, write row groups
            t0 = time.perf_counter()
            scorer_name = getattr(scorer_obj, "name", type(scorer_obj).__name__)
            band = getattr(scorer_obj, "neutral_band", SN.NEUTRAL_BAND)
            shared = runner.share(model)
            records_out = _ParquetAppender(tmp / "records.parquet")
            mentions_out = _ParquetAppender(tmp / "mentions.parquet")
            quotes = _Quotes()
            ship = embedder if (engine == "local" or isinstance(embedder, str)) else emb
            # pass 2a (cache on): each distinct text embedded once, by its first chunk;
            # chunk i is scored (2b) once chunks 0..i are embedded
            embedded: Iterable[Any] = range(n_chunks)  # cache off: nothing to wait for
            if E.cache_path(config.cache_dir) is not None:
                owned = (pd.read_parquet(stage / f"owned-{i:06d}.parquet")[C.TEXT].tolist()
                         for i in range(n_chunks))
                embedded = runner.lead(embed_chunk, owned, embedder=ship, cache_dir=config.cache_dir)
            del owners
            staged = (pd.read_parquet(stage / f"mentions-{i:06d}.parquet") for i, _ in enumerate(embedded))
            try:
                for i, scored in enumerate(runner.map(score_chunk, staged, model=shared, embedder=ship,
                                                      scorer=scorer, cache_dir=config.cache_dir)):
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
            seconds["embed_assign_score"] = round(time.perf_counter() - t0, 3)

            # ---- small tables from the written Parquet (no text)
            t0 = time.perf_counter()
            rec = _read_columns(tmp / "records.parquet", _RECORD_COLS)
            men = _read_columns(tmp / "mentions.parquet", _MENTION_COLS)
            themes = theme_table(model, men, n_records=len(rec))
            topics = topic_table(model, men, n_records=len(rec))
            touchpoints = R.touchpoint_summary(rec, config=config)
            pain_points = quotes.fill(R.rank_pain_points(rec, men, themes, topics=topics, config=config))
            counts = {
                "records": n_records,
                "records_with_text": n_with_text,
                "mentions": n_mentions,
                "themes": int((themes[C.THEME] != C.NOISE).sum()),
                "topics": int((topics[C.TOPIC] != C.NOISE).sum()),
                "unassigned_mentions": int((men[C.THEME] == C.NOISE).sum()),
                "rejected_rows": n_rejected,
            }
            code_frame_run = TX.run_record(model, men, rec)  # coverage and suggestions (None: no taxonomy)
            del rec, men
            for name, table in (("themes", themes), ("touchpoints", touchpoints),
                                ("pain_points", pain_points)):
                csv_safe(table).to_csv(tmp / f"{name}.csv", index=False)
            csv_safe(topics).to_csv(tmp / TOPICS_FILE, index=False)
            model.save(tmp / MODEL_DIR)
            seconds["rank"] = round(time.perf_counter() - t0, 3)
            seconds["total"] = round(time.perf_counter() - start, 3)
            if reporter is not None:
                reporter.done("rank", f"{len(pain_points):,} touchpoint x theme rows", seconds["rank"])

            run = {
                "voc_version": __version__,
                "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
                "config": config.to_dict(),
                "engine": {"name": runner.name, "chunk_size": chunk_size, "chunks": n_chunks,
                           "scheduler": scheduler},
                "embedder": emb.name,
                "sentiment_scorer": scorer_name,
                "mapping": first.attrs.get("voc_mapping", {}) if first is not None else {},
                "mapping_guesses": first.attrs.get("voc_mapping_notes", {}) if first is not None else {},
                "input_sha256": checksum.hexdigest(),
                "counts": counts,
                "languages": dict(languages.most_common()),
                "date_range": [str(min(dates)), str(max(dates))] if dates else None,
                "seconds": seconds,
                "versions": versions(),
                "warnings": warnings_,
                "rank_metric": R.rank_metric_used(pain_points),
            }
            if config.redact:
                run["redaction"] = {k: int(v) for k, v in redacted.items()}
            if code_frame_run is not None:
                run["taxonomy"] = code_frame_run
            if not isinstance(source, pd.DataFrame):
                run["input"] = {"path": str(source), "sha256": file_checksum(source)}
            (tmp / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str),
                                          encoding="utf-8")
    finally:
        runner.close()
    if save_model is not None:
        with atomic_dir(Path(save_model)) as tmp:
            model.save(tmp)
    return StreamResult(out_dir, themes, touchpoints, pain_points, run, model, topics)


def _read_columns(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    """Only the ``wanted`` columns (those present) of a Parquet file."""
    import pyarrow.parquet as pq

    names = set(pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, columns=[c for c in wanted if c in names])
