"""The on-disk embedding cache: one SQLite file keyed by (embedder name, text), and where it lives."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import VocError

CACHE_FILE = "embeddings.sqlite"
_SCHEMA_VERSION = 3  # 2: rowid table (WITHOUT ROWID was 8x slower for 1.5 kB rows);
# 3: vectors independent of the batch they were embedded in (older files are rebuilt)
_SQL_CHUNK = 900  # bound parameters per SELECT ... IN (...), below every SQLite limit


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
