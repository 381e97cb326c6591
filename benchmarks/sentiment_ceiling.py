"""How far can a head over frozen sentence embeddings go on each eval set? (diagnostic)

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/sentiment_ceiling.py

For the airline tweets (minilm and use-multilingual) and JRTE (use-multilingual)
it fits logistic-regression heads (C=4, classes balanced) *on the evaluation
set itself* and reports macro-F1 on its other rows:

* a learning curve: n in-domain training rows (100, 300, 1,000, 3,000; seeded,
  mean of 3 draws), measured on the rest;
* the ceiling: 5-fold cross-validation over the whole set (JRTE: its 3,888
  train rows fitted, its 1,112 dev rows measured, as the shipped head is).

This only measures: the data are "eval only" (they may be used to measure,
not to train a shipped model), and every head fitted here is thrown away.
It answers how much of the gap between the shipped heads (trained on our own
sentences, UCI and Banking77) and a target is the embedder and how much is
domain shift. Prints "SKIP: ..." and exits 0 when the data are absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(os.environ.get("VOC_DATA", ROOT.parent / "shared" / "data"))
SIZES = (100, 300, 1000, 3000)


def _head():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=4, max_iter=3000, class_weight="balanced")


def _f1(y, pred) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(y, pred, average="macro")), 3)


def main() -> int:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from voc.embed import embed_texts, get_embedder
    from voc.segment import model_text

    def _embed(texts, name):  # through voc.embed, as a run embeds
        return embed_texts(texts, get_embedder(name))

    air_path, jrte_path = DATA / "airline_tweets" / "tweets.csv", DATA / "jrte_pn_ja" / "pn_train_dev.tsv"
    if not (air_path.exists() and jrte_path.exists()):
        print(f"SKIP: airline tweets or JRTE not found under {DATA} (set VOC_DATA)")
        return 0
    air = pd.read_csv(air_path)
    jrte = pd.read_csv(jrte_path, sep="\t")
    rows = []
    for emb in ("minilm", "use-multilingual"):
        X = _embed([model_text(t) for t in air["text"]], emb)
        y = air["airline_sentiment"].to_numpy()
        rng = np.random.default_rng(0)
        for n in SIZES:
            f1s = []
            for _ in range(3):
                idx = rng.permutation(len(y))
                f1s.append(_f1(y[idx[n:]], _head().fit(X[idx[:n]], y[idx[:n]]).predict(X[idx[n:]])))
            rows.append(("airline", emb, f"{n} in-domain rows", round(float(np.mean(f1s)), 3)))
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        rows.append(("airline", emb, "5-fold, all 14,640", _f1(y, cross_val_predict(_head(), X, y, cv=cv))))
    X = _embed([model_text(t) for t in jrte["text"]], "use-multilingual")
    y, train = jrte["label"].to_numpy(), (jrte["split"] == "train").to_numpy()
    rows.append(("jrte", "use-multilingual", "train rows -> dev",
                 _f1(y[~train], _head().fit(X[train], y[train]).predict(X[~train]))))
    out = pd.DataFrame(rows, columns=["set", "embedder", "head fitted on", "macro-F1"])
    print(out.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
