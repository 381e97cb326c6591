"""Embedding throughput (texts/s) of each backend, cold and with a warm cache.

Reads 1,000 Banking77 test queries (English) and 1,000 JRTE hotel-review
sentences (Japanese) from ../shared/data (or $VOC_DATA) and prints one table:
seconds and texts/s for a cold run (empty cache, model already loaded) and
a warm run (everything cached), per backend, plus a 100k-text cache check.

Usage: python benchmarks/embed.py [--n 1000] [--sweep]
(--sweep also times MiniLM threads x batch size and USE batch sizes).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voc.embed import EmbeddingCache, SentenceTransformerEmbedder, USEEmbedder, embed_texts  # noqa: E402


def data_dir() -> Path:
    return Path(os.environ.get("VOC_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def load_texts(n: int) -> tuple[list[str], list[str]]:
    root = data_dir()
    b77, jrte = root / "banking77" / "test.csv", root / "jrte_pn_ja" / "pn_train_dev.tsv"
    if not (b77.exists() and jrte.exists()):
        print(f"SKIP: benchmark data not found under {root} (set VOC_DATA)")
        sys.exit(0)
    with b77.open(encoding="utf-8") as f:
        en = [row["text"] for row in csv.DictReader(f)][:n]
    with jrte.open(encoding="utf-8") as f:
        ja = [row["text"] for row in csv.DictReader(f, delimiter="\t")][:n]
    return en, ja


def timed(texts, embedder, cache) -> float:
    t = time.perf_counter()
    embed_texts(texts, embedder, cache=cache)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000, help="texts per language (default 1000)")
    ap.add_argument("--sweep", action="store_true", help="also time MiniLM threads/batch sizes and USE batch sizes")
    args = ap.parse_args()
    en, ja = load_texts(args.n)
    mixed = en + ja
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, embedder in [("minilm", SentenceTransformerEmbedder()),
                                ("use-multilingual (threads=1)", USEEmbedder(threads=1))]:
            embedder.embed(["warm up the model"])  # load time is not throughput
            for subset, texts in [("en", en), ("ja", ja), ("en+ja", mixed)]:
                cache = EmbeddingCache(Path(tmp) / f"{embedder.name}-{subset}.sqlite")
                cold = timed(texts, embedder, cache)
                warm = timed(texts, embedder, cache)
                rows.append((label, subset, len(texts), cold, len(texts) / cold, warm, len(texts) / warm))
                cache.close()
        if args.sweep:
            for threads in (1, 2):
                for bs in (16, 64):
                    emb = SentenceTransformerEmbedder(threads=threads, batch_size=bs)
                    emb.embed(["warm"])
                    t = time.perf_counter()
                    emb.embed(en)
                    dt = time.perf_counter() - t
                    print(f"MiniLM threads={threads} batch_size={bs:3d}: {len(en) / dt:5.0f} texts/s (en)")
            for bs in (16, 64, 256, 1024):
                emb = USEEmbedder(threads=1, batch_size=bs)
                emb.embed(["warm"])
                t = time.perf_counter()
                emb.embed(mixed)
                dt = time.perf_counter() - t
                print(f"USE batch_size={bs:5d}: {len(mixed) / dt:7.0f} texts/s")
        # cache at scale: 100k texts, trivial embedder, so only the cache is timed
        big = [f"synthetic feedback text number {i}" for i in range(100_000)]

        class Const:
            name = "const"

            def embed(self, texts):
                return np.ones((len(texts), 384), np.float32)

        cache = EmbeddingCache(Path(tmp) / "big.sqlite")
        write = timed(big, Const(), cache)
        read = timed(big, Const(), cache)
        cache.close()

    print(f"\n{'backend':30s} {'texts':>6s} {'n':>5s} {'cold s':>7s} {'cold/s':>8s} {'warm s':>7s} {'warm/s':>9s}")
    for label, subset, n, cold, cold_rate, warm, warm_rate in rows:
        print(f"{label:30s} {subset:>6s} {n:5d} {cold:7.2f} {cold_rate:8.0f} {warm:7.3f} {warm_rate:9.0f}")
    print(f"\ncache, 100,000 texts x 384-d: first run (write) {write:.2f} s, "
          f"re-run (all hits) {read:.2f} s = {len(big) / read:,.0f} texts/s")
    print(f"cpus usable: {len(os.sched_getaffinity(0))}")


if __name__ == "__main__":
    main()
