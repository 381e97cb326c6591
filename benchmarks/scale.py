"""Scale benchmark: streaming (local) and Dask engines on generated dumps.

For every size (default 100,000 records; pass ``--sizes 100000 1000000``
for the full run) it generates a dump with :func:`voc.sample.make_feedback`,
runs :func:`voc.engine.run_streaming` with each engine in a fresh child
process with a cold embedding cache, and prints one table: wall time,
mentions per second, unique texts embedded per second, the raw embedder's
throughput on a sample of the same unique texts, peak RSS (the run's main
process, and the whole process tree including Dask workers, sampled with
psutil), and whether the Dask outputs equal the local ones.

Generated texts repeat a lot (a template generator), so the embedding
cache and de-duplication make them much cheaper than real data: compare
"unique/s" (texts actually embedded) with the raw embedder, not mentions/s.

Usage::

    python benchmarks/scale.py [--sizes 100000 1000000] [--engines local dask]
                               [--chunk-size 50000] [--workdir DIR] [--store]
    python benchmarks/scale.py --real 60000 --chunk-size 10000    # real distinct text, after a one-off fit

``--store`` makes every run a backfill into a new run store plus the meeting report
(``voc run DUMP --store PATH --engine E --report DIR``), timed from the dump to the report.

Generated data only (no files from the shared data folder), so it never
prints SKIP, except ``--real``, which reads the airline tweets and skips clearly without them. The machine is shared: numbers are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RAW_SAMPLE = 4000
"""Unique texts embedded to measure the raw embedder throughput."""


def _child(engine: str, src: str, out: str, cache: str, chunk_size: int, model: str = "",
           store: str = "") -> None:
    """One run in this (fresh) process; prints a JSON line with the measurements.

    With ``store``: the run is a backfill from the dump into a new run store plus the meeting
    report over it (``voc run DUMP --store PATH --engine E --report DIR``), timed as a whole."""
    import psutil

    from voc.config import Config
    from voc.embed import CACHE_FILE, EmbeddingCache
    from voc.engine import run_streaming
    from voc.stream_store import run_store_streaming
    from voc.themes import ThemeModel

    peak = {"tree": 0}
    stop = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not stop.is_set():
            total = 0
            for p in [me] + me.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak["tree"] = max(peak["tree"], total)
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    if store:
        res = run_store_streaming(src, store, config=Config(cache_dir=cache), chunk_size=chunk_size,
                                  engine=engine, out_dir=out, report_dir=Path(out).parent / f"{Path(out).name}-report")
    else:
        res = run_streaming(src, out, config=Config(cache_dir=cache), chunk_size=chunk_size, engine=engine,
                            model=ThemeModel.load(model) if model else None)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    unique = EmbeddingCache(Path(cache) / CACHE_FILE).count(res.run["embedder"])
    print("RESULT " + json.dumps({
        "engine": engine, "wall": wall, "seconds": res.run["seconds"], "counts": res.run["counts"],
        "embedder": res.run["embedder"], "unique_texts": unique,
        "peak_rss_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_rss_tree": peak["tree"],
        "store_mb": Path(store).stat().st_size / 1e6 if store else None,
    }))


def _run_child(engine: str, src: Path, out: Path, cache: Path, chunk_size: int, model: str = "",
               store: str = "") -> dict:
    cmd = [sys.executable, __file__, "--child", engine, str(src), str(out), str(cache), str(chunk_size),
           model, store]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{engine} run failed:\n{proc.stderr[-3000:]}")


def _raw_throughput(out: Path, embedder_name: str) -> float:
    """Texts per second of the bare embedder on a sample of the run's unique mention texts."""
    import numpy as np
    import pandas as pd

    from voc.embed import get_embedder

    texts = pd.read_parquet(out / "mentions.parquet", columns=["text"])["text"].drop_duplicates()
    rng = np.random.default_rng(0)
    sample = texts.iloc[rng.permutation(len(texts))[:RAW_SAMPLE]].tolist()
    emb = get_embedder(embedder_name)
    emb.embed(sample[:16])  # load the model outside the timing
    start = time.perf_counter()
    for i in range(0, len(sample), 1024):
        emb.embed(sample[i : i + 1024])
    return len(sample) / (time.perf_counter() - start)


def _same(a: Path, b: Path) -> tuple[bool, float]:
    """Identical mentions (ids, themes, sentiment) and tables?; max |sentiment diff|; theme agreement."""
    import pandas as pd

    cols = ["voc_id", "theme", "theme_prob", "sentiment", "sentiment_label"]
    ma, mb = (pd.read_parquet(d / "mentions.parquet", columns=cols) for d in (a, b))
    same = ma.equals(mb) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in ("themes.csv", "touchpoints.csv", "pain_points.csv"))
    agree = float((ma["theme"] == mb["theme"]).mean())
    return same, float((ma["sentiment"] - mb["sentiment"]).abs().max()), agree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--store", action="store_true",
                    help="backfill each dump into a new run store and write the report (timed together)")
    ap.add_argument("--real", type=int, default=0, metavar="N",
                    help="instead: steady-state throughput on N records of real distinct text (the airline "
                         "tweets of the shared data, repeated with distinct suffixes) after a one-off fit")
    args = ap.parse_args()
    if args.real:
        return real_throughput(args.real, args.chunk_size, args.workdir)

    from voc.sample import make_feedback

    work = args.workdir or Path(tempfile.mkdtemp(prefix="voc-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        src = work / f"feedback-{n}.csv"
        if not src.exists():
            t = time.perf_counter()
            make_feedback(n, random_state=0).to_csv(src, index=False)
            print(f"generated {n:,} records in {time.perf_counter() - t:.0f}s -> {src}", file=sys.stderr)
        results = {}
        for engine in args.engines:
            out, cache = work / f"out-{n}-{engine}", work / f"cache-{n}-{engine}"
            if cache.exists():
                import shutil

                shutil.rmtree(cache)
            store = ""
            if args.store:
                store = work / f"store-{n}-{engine}.duckdb"
                for f in (store, store.with_name(store.name + ".wal"), store.with_name(store.name + ".lock")):
                    f.unlink(missing_ok=True)
            # every engine fits its own model with the same seed (the fit is bit-reproducible)
            results[engine] = _run_child(engine, src, out, cache, args.chunk_size, store=str(store))
            results[engine]["out"] = out
            print(f"{n:,} {engine}: {results[engine]['wall']:.0f}s {results[engine]['seconds']}",
                  file=sys.stderr)
        first = results[args.engines[0]]
        raw = _raw_throughput(first["out"], first["embedder"])
        for engine, r in results.items():
            same = ""
            if engine != "local" and "local" in results:
                ok, diff, agree = _same(results["local"]["out"], r["out"])
                same = f"{'yes' if ok else 'no'} (themes agree {agree:.2%}, max sentiment diff {diff:.1e})"
            unique_rate = r["unique_texts"] / r["wall"]
            rows.append({
                "records": n, "engine": engine, "mentions": r["counts"]["mentions"],
                "unique texts": r["unique_texts"], "wall s": round(r["wall"], 1),
                "fit s": r["seconds"].get("fit"), "wall excl. fit s": round(r["wall"] - r["seconds"].get("fit", 0), 1),
                "mentions/s": round(r["counts"]["mentions"] / r["wall"]),
                "unique/s": round(unique_rate), f"raw {r['embedder']}/s": round(raw),
                "unique/raw": f"{unique_rate / raw:.0%}",
                "peak RSS main GB": round(r["peak_rss_main"] / 1e9, 2),
                "peak RSS tree GB": round(r["peak_rss_tree"] / 1e9, 2),
                **({"store MB": round(r["store_mb"])} if r.get("store_mb") else {}),
                "wall vs local": (f"{r['wall'] / results['local']['wall']:.2f}x"
                                  if engine != "local" and "local" in results else ""),
                "identical to local": same,
            })
    import pandas as pd

    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(pd.DataFrame(rows).to_string(index=False))


def real_throughput(n: int, chunk_size: int, workdir: Path | None) -> None:
    """Steady state on real distinct text: pass 2 of a pre-fitted model vs the bare embedder, same run."""
    import pandas as pd

    from rank import airline_tweets  # benchmarks/rank.py, beside this script

    tweets = airline_tweets()
    if tweets is None:
        return
    work = workdir or Path(tempfile.mkdtemp(prefix="voc-real-"))
    work.mkdir(parents=True, exist_ok=True)
    texts = tweets["text"].tolist()
    dump = pd.DataFrame({"id": [f"r{i:07d}" for i in range(n)], "touchpoint": [tweets["airline"].iat[i % len(texts)]
                                                                              for i in range(n)],
                         "text": [f"{texts[i % len(texts)]} (ref {i:07d})" for i in range(n)]})
    src, fit_src = work / f"airline-{n}.csv", work / "airline-fit.csv"
    dump.to_csv(src, index=False)
    dump.head(min(n, len(texts))).to_csv(fit_src, index=False)
    fit = _run_child("local", fit_src, work / "fit-out", work / "fit-cache", chunk_size)  # the one-off fit
    print(f"one-off fit on {min(n, len(texts)):,} records: {fit['wall']:.0f}s ({fit['embedder']})", file=sys.stderr)
    import shutil

    shutil.rmtree(work / "cache", ignore_errors=True)
    r = _run_child("local", src, work / "out", work / "cache", chunk_size, model=str(work / "fit-out" / "model"))
    raw = _raw_throughput(work / "out", r["embedder"])
    pass2 = r["seconds"].get("embed_assign_score", r["wall"])
    m, u = r["counts"]["mentions"], r["unique_texts"]
    row = {"records": n, "mentions": m, "distinct texts embedded": u, "wall s": round(r["wall"], 1),
           "pass 2 s": round(pass2, 1), "mentions/s (wall)": round(m / r["wall"]),
           "distinct/s (wall)": round(u / r["wall"]), f"bare {r['embedder']} texts/s": round(raw),
           "mentions/s vs bare": f"{m / r['wall'] / raw:.0%}", "distinct/s vs bare": f"{u / r['wall'] / raw:.0%}",
           "peak RSS GB": round(r["peak_rss_main"] / 1e9, 2)}
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(pd.DataFrame([row]).to_string(index=False))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7], sys.argv[8])
    else:
        main()
