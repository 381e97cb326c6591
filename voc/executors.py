"""Where the streaming driver's per-chunk work runs: in this process (with one thread ahead) or on Dask.

An executor has ``map(fn, items, **kwargs)`` (ordered results),
``lead(...)`` (``map`` allowed to run ahead of the consumer), ``share(obj)``
(send a large object to the workers once) and ``close()``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Iterator

from .errors import ConfigError, ModelError

ENGINES = ("local", "dask")
DASK_WORKERS = 2
"""Workers of the LocalCluster started when no ``scheduler`` is given."""
LEAD = 2
"""Chunks the local engine's embedding pass may run ahead of scoring."""


class LocalEngine:
    """Runs the chunk functions in this process, in order (``lead`` in one background thread)."""

    name = "local"

    def map(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        for item in items:
            yield fn(item, **kwargs)

    def lead(self, fn: Callable, items: Iterable, **kwargs: Any) -> Iterator[Any]:
        """``map`` run in a background thread, at most ``LEAD`` items ahead of the consumer.

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
                    if len(pending) > LEAD:
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


class DaskEngine:
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


def make_engine(engine: str, scheduler: str | None) -> Any:
    """The executor of ``engine`` ("local" or "dask"); :class:`ConfigError` for a bad combination."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}. Got {engine!r}.")
    if engine == "local":
        if scheduler:
            raise ConfigError("--scheduler needs --engine dask.")
        return LocalEngine()
    return DaskEngine(scheduler)
