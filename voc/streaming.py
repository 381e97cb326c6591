"""The streaming driver's bounded-memory parts: fitting sample, text owners, quote candidates, Parquet row groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import columns as C
from .errors import InputError

QUOTES_N, QUOTES_CANDIDATES = 2, 20
"""Quotes per pain point, and negative candidates kept per (touchpoint, theme)
(:func:`voc.rank.rank_pain_points` looks at ``10 * n`` of them)."""


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
        """Offer the next mentions (in input order); the sample keeps the ``size`` lowest priorities."""
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
        """The sampled ``(texts, languages)``, in input order."""
        return list(self.texts), list(self.languages)  # kept in input order


class Owners:
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


class Quotes:
    """Per (touchpoint, theme) and (touchpoint, topic): the most negative mentions, as rank_pain_points picks them."""

    LEVELS = (C.THEME, C.TOPIC)

    def __init__(self) -> None:
        self.cand: dict[str, pd.DataFrame] = {}
        self.seen = 0

    def add(self, mentions: pd.DataFrame, touchpoints: np.ndarray) -> None:
        """Keep the candidates of the next chunk's mentions (``touchpoints``: each mention's record's)."""
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
        """``pain`` (from :func:`voc.rank.rank_pain_points`) with its ``quotes`` picked from the candidates."""
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


class ParquetAppender:
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


def read_columns(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    """Only the ``wanted`` columns (those present) of a Parquet file."""
    import pyarrow.parquet as pq

    names = set(pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, columns=[c for c in wanted if c in names])
