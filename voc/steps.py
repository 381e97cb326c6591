"""The stage steps both drivers run (in memory and streaming), one helper each, so the two cannot drift apart.

:func:`voc.pipeline.analyze` (in memory) and :func:`voc.engine.run_streaming`
(in chunks) call the same helpers for the same work.

Load (:func:`prepare_records` and the warnings), choose the embedder
(:func:`choose_embedder`), fit or reuse the theme model with the analysts'
edits (:func:`fit_themes`, :func:`reuse_model`), find emerging themes
(:func:`extend_themes`), and the lineage of a store run
(:func:`lineage_events`).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import columns as C
from .config import Config
from .errors import InputError, ModelError, StoreError

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- load


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


def truncation_warning(n_records: int, max_units: int) -> str:
    """The ``run.json`` warning about records cut by ``max_units_per_record``."""
    return (f"{n_records} record(s) had more than {max_units} units (sentences/clauses); only the first "
            f"{max_units} of each were analysed (their full text is kept in records). "
            "Raise max_units_per_record in the config to analyse more.")


def warn(warnings: list[str], message: str | None) -> None:
    """Record ``message`` for ``run.json`` and log it (None: nothing to warn about)."""
    if message:
        warnings.append(message)
        log.warning(message)


def ces_warning(records: pd.DataFrame, config: Config) -> str | None:
    """The warning of a run with CES answers but no configured CES scale and direction, else None."""
    if C.CES in records.columns and records[C.CES].notna().any() and not config.ces_configured:
        return (f"CES scale and direction not configured; assumed {config.ces_scale[0]}-"
                f"{config.ces_scale[1]}, {config.ces_direction.replace('_', ' ')}. "
                "Set ces_scale/ces_direction (--ces-scale, --ces-direction) to make it explicit.")
    return None


def no_records_error(n_rejected: int) -> InputError:
    """The error of a run whose every row was rejected."""
    return InputError(
        f"No records left to analyse: all {n_rejected} rows were rejected. "
        "See the rejects file (--rejects) for the reasons and fix the input."
    )


def no_text_error(n_records: int) -> InputError:
    """The error of a run without a single text to analyse."""
    return InputError(
        "No record has any text to analyse "
        f"({n_records} records, all empty). Check --text-col."
    )


def load_args(config: Config) -> dict[str, Any]:
    """The :func:`voc.load_feedback` options a run's config sets (every engine uses these)."""
    return {"ces_scale": config.ces_scale, "csat_scale": config.csat_scale,
            "date_format": config.date_format, "redact_rejects": config.redact,
            "redact_patterns": config.redact_patterns}


# ----------------------------------------------------------------------------- embed


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


def choose_embedder(config: Config, model: Any, languages: Any, given: Any = None, *,
                    build: Any = None) -> tuple[Any, Any]:
    """The run's embedder as ``(spec, embedder)``.

    ``given`` (an embedder object, or a name / ``"module:Class"`` spec) when
    not None, else :func:`run_embedder_name`; a spec is built with ``build``
    (default :func:`voc.embed.get_embedder`; the streaming engine builds once
    per process). :class:`~voc.errors.ModelError` when ``model`` was fitted
    with another embedder.
    """
    spec = given if given is not None else run_embedder_name(config, model, languages)
    if isinstance(spec, str):
        if build is None:
            from . import embed as E

            build = E.get_embedder
        embedder = build(spec)
    else:
        embedder = spec
    check_model_embedder(model, embedder.name)
    return spec, embedder


# ----------------------------------------------------------------------------- themes


def fit_sample_index(n: int, limit: int, random_state: int) -> np.ndarray:
    """Positions of the mentions the in-memory run fits on: all ``n``, or a seeded sample of ``limit``."""
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=limit, replace=False))


def fit_themes(vectors: np.ndarray, texts: Sequence[str], model_texts: Sequence[str], languages: Sequence[str],
               sentiment: Sequence[str], *, config: Config, embedder_name: str, taxonomy: Any = None,
               edits: Any = None, index: np.ndarray | None = None) -> Any:
    """A new theme model fitted on these mentions (those at ``index``), with the analysts' edits.

    ``texts`` are the mention texts (exemplars), ``model_texts`` what the
    models see (:func:`voc.segment.model_text`, keywords are taken from
    them), ``sentiment`` the labels for a polarity split and phrase labels;
    ``taxonomy`` a seed index (:func:`voc.themes.taxonomy.embed_taxonomy`);
    the model records ``embedder_name``.
    """
    from . import segment as S
    from .themes import ThemeModel

    tokens, phrases = S.keyword_tokens_and_phrases(list(model_texts), list(languages))
    if index is None:
        index = np.arange(len(texts))
    model = ThemeModel(
        min_theme_size=config.min_theme_size, split_polarity=config.split_polarity,
        random_state=config.random_state,
    ).fit(
        vectors[index],
        [texts[i] for i in index],
        [tokens[i] for i in index],
        languages=[languages[i] for i in index],
        sentiment=[sentiment[i] for i in index],
        phrases=[phrases[i] for i in index],
        taxonomy=taxonomy,
        embedder_name=embedder_name,
    )
    return apply_edits(model, edits)


def reuse_model(model: Any, *, taxonomy: Any = None, edits: Any = None) -> Any:
    """A given fitted model for this run: the current taxonomy's seeds attached, the edits applied."""
    from .themes import taxonomy as TX

    TX.attach(model, taxonomy)
    return apply_edits(model, edits)


def apply_edits(model: Any, edits: Any) -> Any:
    """``model`` with the analysts' edits (:func:`voc.themes.load_edits`) applied; None: unchanged."""
    if edits is not None:
        model.apply_edits(edits)
    return model


def extend_themes(model: Any, vectors: np.ndarray, texts: Sequence[str], model_texts: Sequence[str],
                  languages: Sequence[str], sentiment: Sequence[str], *, config: Config) -> list[int]:
    """Emerging themes: cluster mentions that fit no theme and add the clusters to ``model``.

    Returns the new theme ids (``ThemeModel.extend``); arguments as :func:`fit_themes`.
    """
    from . import segment as S

    tokens, phrases = S.keyword_tokens_and_phrases(list(model_texts), list(languages))
    return list(model.extend(vectors, list(texts), tokens, languages=list(languages),
                             sentiment=list(sentiment), min_theme_size=config.min_theme_size,
                             phrases=phrases))


# ----------------------------------------------------------------------------- store runs


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

