"""The streaming engine's per-chunk work (segment; embed; assign and score), run in this process or on Dask workers."""

from __future__ import annotations

import importlib
import re
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ConfigError


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


def cached_scorer(spec: Any, embedder_name: str) -> Any:
    """The sentiment scorer for ``spec`` and the run's embedder, built once per process (an object as is)."""
    from . import sentiment as SN

    if not isinstance(spec, str):
        return spec
    key = ("scorer", spec, embedder_name)
    if key not in _WORKER_STATE:
        _WORKER_STATE[key] = SN.get_scorer(spec, embedder_name=embedder_name)
    return _WORKER_STATE[key]


# ----------------------------------------------------------------------------- per-chunk work


def segment_chunk(records: pd.DataFrame, *, unit: str = "sentence",
                  max_units: int | None = None) -> tuple[list[str], pd.DataFrame, int]:
    """Pass-1 work of one chunk: record languages, the mentions (voc_id, unit, text, language) and the
    number of records cut to ``max_units`` units."""
    from . import segment as S

    languages = list(S.detect_languages(records[C.TEXT].fillna("").astype(str).tolist()))
    frame = pd.DataFrame({C.VOC_ID: records[C.VOC_ID].to_numpy(), C.TEXT: records[C.TEXT].to_numpy(),
                          C.LANGUAGE: languages})
    mentions, cut = S.segment_counted(frame, unit=unit, max_units=max_units)
    return languages, mentions.reset_index(drop=True), cut


def embed_chunk(texts: list[str], *, embedder: Any, cache_dir: str | None = None) -> int:
    """Pass-2a work of one chunk: embed the texts it owns into the cache (see :class:`voc.streaming.Owners`)."""
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
    scores = cached_scorer(scorer, emb.name).score(texts, embeddings=vectors,
                                             languages=mentions[C.LANGUAGE].tolist())
    ids, probs = model.assign(vectors, sentiment=scores[C.SENTIMENT_LABEL].tolist())
    return pd.DataFrame({
        C.THEME: np.asarray(ids, dtype=int),
        C.THEME_PROB: np.asarray(probs, dtype=float),
        C.TOPIC: model.topic_ids(ids),
        C.SENTIMENT: scores[C.SENTIMENT].to_numpy(dtype=float),
        C.SENTIMENT_LABEL: scores[C.SENTIMENT_LABEL].to_numpy(),
    })
