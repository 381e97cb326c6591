"""Benchmark the theme model against BERTopic defaults on the same embeddings.

Data (not in the repo): ``$VOC_DATA`` or ``../shared/data`` next to the repo;
each set missing there is skipped with a ``SKIP`` line. Every English
labelled set with classes:

- Banking77 test (3,080 customer queries, 77 intents);
- SemEval ABSA sentences (gold = aspect category; the 3,650 sentences with
  exactly one distinct category);
- airline tweets with a ``negativereason`` (9,178 tweets, 10 reasons);
- seeded random subsets of 1,000 / 3,000 / 10,000 of Banking77 train + test
  together (size robustness; seed ``SUBSET_SEED``).

For each: voc (``ThemeModel`` defaults, ``labels_`` of the fit) and BERTopic
defaults (``BERTopic(embedding_model=None)`` given the embeddings: its own
UMAP and HDBSCAN), in the same run on the same packaged MiniLM embeddings
(``voc.embed`` with the on-disk cache, so re-runs do not re-embed). Columns:
NMI, ARI, share unassigned, number of themes, seconds (text to themes,
embeddings given; voc's keyword tokens not included). Unassigned mentions
(-1) count as one more cluster in NMI and ARI, for both methods.

``--designs`` fits every candidate design of ``DESIGNS`` on every set
(BERTopic once per set) and prints the whole table and the
leave-one-set-out choice (``docs/themes.md``, "Granularity defaults").

Run: ``OMP_NUM_THREADS=1 python benchmarks/themes.py [--designs]``
"""

from __future__ import annotations

import math
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


BANKING_SUBSETS = (1_000, 3_000, 10_000)
SUBSET_SEED = 0


def load_sets():
    """Every labelled English set with classes: name -> (texts, gold), or a SKIP string."""
    sets = {}
    b_test = DATA / "banking77" / "test.csv"
    b_train = DATA / "banking77" / "train.csv"
    if b_test.exists():
        b = pd.read_csv(b_test)
        sets["banking77 test"] = (b["text"].tolist(), b["category"].to_numpy())
    else:
        sets["banking77 test"] = f"SKIP banking77 test: {b_test} not found"
    path = DATA / "semeval_absa" / "absa_sentences.csv"
    if path.exists():
        s = pd.read_csv(path)
        # gold = aspect category; sentences with exactly one distinct category
        cats = s.groupby("text", sort=True)["category"].agg(lambda c: sorted(set(c)))
        single = cats[cats.map(len) == 1].map(lambda c: c[0]).reset_index()
        sets["semeval absa"] = (single["text"].tolist(), single["category"].to_numpy())
    else:
        sets["semeval absa"] = f"SKIP semeval absa: {path} not found"
    path = DATA / "airline_tweets" / "tweets.csv"
    if path.exists():
        a = pd.read_csv(path)
        a = a[a["negativereason"].notna()]  # gold = negative reason (10 classes)
        sets["airline neg. reasons"] = (a["text"].tolist(), a["negativereason"].to_numpy())
    else:
        sets["airline neg. reasons"] = f"SKIP airline tweets: {path} not found"
    if b_test.exists() and b_train.exists():
        both = pd.concat([pd.read_csv(b_train), pd.read_csv(b_test)], ignore_index=True)
        rng = np.random.default_rng(SUBSET_SEED)
        for size in BANKING_SUBSETS:
            pick = np.sort(rng.choice(len(both), size, replace=False))
            sub = both.iloc[pick]
            sets[f"banking77 {size // 1000}k"] = (sub["text"].tolist(), sub["category"].to_numpy())
    else:
        for size in BANKING_SUBSETS:
            sets[f"banking77 {size // 1000}k"] = "SKIP banking77 subsets: train.csv or test.csv not found"
    return sets


def embeddings(texts, backend="minilm"):
    """Packaged embedder through voc.embed with the on-disk cache (re-runs do not re-embed)."""
    from voc.embed import default_cache, embed_texts, get_embedder

    return embed_texts(texts, get_embedder(backend), cache=default_cache())


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


def run_voc(X, texts, toks, langs, **params):
    from voc.themes import ThemeModel

    t = time.perf_counter()
    model = ThemeModel(random_state=0, **params).fit(X, texts, toks, languages=langs)
    return model, time.perf_counter() - t


def run_bertopic(X, texts):
    """BERTopic defaults (its UMAP and HDBSCAN) on the given embeddings."""
    try:
        from bertopic import BERTopic
    except ImportError:
        return None, "SKIP BERTopic: not installed (pip install bertopic)"
    t = time.perf_counter()
    topics, _ = BERTopic(embedding_model=None).fit_transform(texts, X)
    return (np.asarray(topics), time.perf_counter() - t), None


def warm_numba():
    """numba compiles UMAP/HDBSCAN code once per process; pay it before timing."""
    t = time.perf_counter()
    import umap

    for seed in (0, None):
        umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed
                  ).fit_transform(np.random.default_rng(0).normal(size=(300, 32)))
    return time.perf_counter() - t


def japanese_check():
    """800 jrte hotel-review sentences with USE embeddings: a few themes (no gold)."""
    path = DATA / "jrte_pn_ja" / "pn_train_dev.tsv"
    if not path.exists():
        print(f"SKIP Japanese check: {path} not found")
        return
    texts = pd.read_csv(path, sep="\t").head(800)["text"].tolist()
    X = embeddings(texts, "use-multilingual")
    langs = ["ja"] * len(texts)
    model, fit_s = run_voc(X, texts, tokens_for(texts, langs), langs)
    print(f"\n[jrte-ja] n={len(texts)} ThemeModel.fit {fit_s:.1f}s, {model.n_themes_} themes")
    print(model.themes_.head(8)[["theme", "label", "size"]].to_string(index=False))


def main() -> int:
    sets = load_sets()
    if all(isinstance(data, str) for data in sets.values()):
        print(f"SKIP: no benchmark data found at {DATA} (set VOC_DATA)")
        return 0
    print(f"numba warm-up (once per process, not in the timings): {warm_numba():.1f}s")
    print("NMI and ARI count the unassigned mentions (-1) as one more cluster.")
    rows = []
    for name, data in sets.items():
        if isinstance(data, str):
            print(data)
            continue
        texts, gold = data
        X = embeddings(texts)
        langs = ["en"] * len(texts)
        t = time.perf_counter()
        toks = tokens_for(texts, langs)
        tok_s = time.perf_counter() - t
        model, fit_s = run_voc(X, texts, toks, langs)
        label = f"{name} ({len(texts):,}, {len(set(gold))} classes)"
        print(f"\n[{label}] keyword_tokens {tok_s:.1f}s, ThemeModel.fit {fit_s:.1f}s", flush=True)
        rows.append({"data": label, "method": "voc defaults", **scores(gold, model.labels_, fit_s)})
        bt, skip = run_bertopic(X, texts)
        if skip:
            print(skip)
        else:
            rows.append({"data": label, "method": "BERTopic defaults", **scores(gold, bt[0], bt[1])})
        print(pd.DataFrame(rows[-2:]).to_string(index=False), flush=True)
    print("\nSummary (seconds: text to themes, embeddings given; voc keyword tokens not included)")
    print(pd.DataFrame(rows).to_string(index=False))
    if os.environ.get("VOC_BENCH_JA", "1") == "1":
        japanese_check()
    return 0


# ------------------------------------------------------- design comparison
def _rule(scale, **params):
    """Design: min_theme_size = round(scale(n)) clipped to [5, 100], plus fixed params."""
    return lambda n: {"min_theme_size": int(min(100, max(5, round(scale(n))))), **params}


# the candidate designs of docs/themes.md, "Granularity defaults"
DESIGNS = {
    "n//200 (old default)": _rule(lambda n: n // 200),
    "10 (BERTopic's size)": _rule(lambda n: 10),
    "sqrt(n)/4": _rule(lambda n: math.sqrt(n) / 4),
    "sqrt(n)/5 (default)": _rule(lambda n: math.sqrt(n) / 5),
    "sqrt(n)/6": _rule(lambda n: math.sqrt(n) / 6),
    "log2(n)": _rule(math.log2),
    "sqrt(n)/5 leaf": _rule(lambda n: math.sqrt(n) / 5, cluster_selection_method="leaf"),
    "sqrt(n)/5 min_samples 3": _rule(lambda n: math.sqrt(n) / 5, min_samples=3),
    "sqrt(n)/5 min_samples = size": lambda n: {**_rule(lambda n: math.sqrt(n) / 5)(n),
                                               "min_samples": _rule(lambda n: math.sqrt(n) / 5)(n)["min_theme_size"]},
    "sqrt(n)/5 merge_zscore 3": _rule(lambda n: math.sqrt(n) / 5, merge_zscore=3.0),
    "sqrt(n)/5 merge_zscore 2.5": _rule(lambda n: math.sqrt(n) / 5, merge_zscore=2.5),
}


def _memo_umap():
    """Reuse one UMAP layout per (data, UMAP options) across designs (speed only)."""
    import hashlib

    import umap

    if getattr(umap.UMAP, "_voc_memo", None) is not None:
        return
    memo, original = {}, umap.UMAP.fit_transform

    def fit_transform(self, X, *args, **kwargs):
        key = (hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest(), self.n_neighbors,
               self.n_components, self.random_state, self.init)
        if key not in memo:
            memo[key] = original(self, X, *args, **kwargs)
        return memo[key].copy()

    umap.UMAP.fit_transform = fit_transform
    umap.UMAP._voc_memo = memo


def designs(grid):
    """Every design on every set, then leave-one-set-out.

    ``grid``: name -> function n -> ThemeModel params. Returns the rows
    (design, set, NMI, ARI, unassigned, themes) and the BERTopic rows.
    """
    _memo_umap()
    sets = load_sets()
    for skip in (v for v in sets.values() if isinstance(v, str)):
        print(skip)
    sets = {k: v for k, v in sets.items() if not isinstance(v, str)}
    rows, bt_rows = [], []
    for name, (texts, gold) in sets.items():
        X = embeddings(texts)
        toks = [t.lower().split() for t in texts]  # labels do not enter the scores
        bt, skip = run_bertopic(X, texts)
        if not skip:
            bt_rows.append({"set": name, **scores(gold, bt[0], bt[1])})
        for design, params in grid.items():
            model, fit_s = run_voc(X, texts, toks, None, **params(len(texts)))
            rows.append({"design": design, "set": name, **scores(gold, model.labels_, fit_s)})
            print(rows[-1], flush=True)
    return pd.DataFrame(rows), pd.DataFrame(bt_rows)


def margin(table, bt):
    """Per design and set: the smaller of (NMI - BERTopic's NMI) and (ARI - BERTopic's ARI)."""
    m = table.merge(bt[["set", "NMI", "ARI"]], on="set", suffixes=("", "_bt"))
    m["margin"] = np.minimum(m["NMI"] - m["NMI_bt"], m["ARI"] - m["ARI_bt"])
    return m


def leave_one_set_out(m):
    """For each set: the design with the best mean margin on the *other* sets, and its score there."""
    out = []
    for held in m["set"].unique():
        rest = m[m["set"] != held].groupby("design")["margin"].mean()
        pick = rest.idxmax()
        row = m[(m["set"] == held) & (m["design"] == pick)].iloc[0]
        out.append({"left out": held, "picked": pick, "mean margin (others)": round(rest.max(), 3),
                    "NMI": row.NMI, "ARI": row.ARI, "BERTopic NMI": row.NMI_bt,
                    "BERTopic ARI": row.ARI_bt, "margin": round(row.margin, 3),
                    "unassigned": row.unassigned, "themes": row.themes})
    return pd.DataFrame(out)


if __name__ == "__main__":
    if "--designs" in sys.argv[1:]:
        if all(isinstance(data, str) for data in load_sets().values()):
            print(f"SKIP: no benchmark data found at {DATA} (set VOC_DATA)")
            raise SystemExit(0)
        table, bt = designs(DESIGNS)
        m = margin(table, bt)
        print("\nEvery design on every set (NMI, ARI: unassigned counts as one more cluster)")
        print(m.drop(columns=["seconds"]).to_string(index=False))
        print("\nBERTopic defaults")
        print(bt.to_string(index=False))
        print(m.pivot_table(index="design", columns="set", values=["NMI", "ARI"]).round(3).to_string())
        print(leave_one_set_out(m).to_string(index=False))
        raise SystemExit(0)
    raise SystemExit(main())
