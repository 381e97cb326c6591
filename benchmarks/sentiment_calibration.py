"""Reliability of the default scorer's probabilities: predicted vs observed share per bin.

Run from the repository root::

    python benchmarks/sentiment_calibration.py [--n 3000]

For English (airline and SemEval, the 3-class eval-only sets of
benchmarks/sentiment.py, pooled) the probabilities are those of
``sentiment-minilm-ft``; for Japanese (JRTE dev) those of the
``use-multilingual`` head. Rows are bins of the predicted probability of a
class (negative, positive); ``observed`` is the share of the bin's texts
whose gold label is that class. A calibrated model has observed close to
predicted in every bin. Needs ``../shared/data`` (prints SKIP and exits 0
without it). Nothing here chooses a setting: the neutral band was chosen on
the held-out own sentences (notebooks/finetune_sentiment.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sentiment import DATA, load_sets  # noqa: E402

BINS = np.linspace(0, 1, 6)


def reliability(labels, proba: np.ndarray, cls: str, index: int) -> pd.DataFrame:
    """One row per probability bin: n, mean predicted p(cls), observed share of cls."""
    p = proba[:, index]
    y = np.asarray(labels) == cls
    b = np.clip(np.digitize(p, BINS[1:-1]), 0, len(BINS) - 2)
    rows = []
    for k in range(len(BINS) - 1):
        m = b == k
        if m.any():
            rows.append((cls, f"{BINS[k]:.1f}-{BINS[k + 1]:.1f}", int(m.sum()), p[m].mean(), y[m].mean()))
    return pd.DataFrame(rows, columns=["class", "bin", "n", "predicted", "observed"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"SKIP: shared data not found at {DATA} (set VOC_DATA)")
        return 0
    from voc.embed import embed_texts, get_embedder
    from voc.segment import model_text
    from voc.sentiment import EmbeddingHeadScorer
    from voc.sentiment.encoder import packaged_classifier

    def _embed(texts, name):  # through voc.embed, as a run embeds
        return embed_texts(texts, get_embedder(name))

    sets = load_sets(args.n)
    en = pd.concat([sets["airline"], sets["semeval"]], ignore_index=True)
    ja = sets["jrte_dev"]
    parts = {
        "en (airline + semeval), sentiment-minilm-ft":
            (en["label"], packaged_classifier().proba([model_text(t) for t in en["text"]])),
        "ja (JRTE dev), use-multilingual head":
            (ja["label"], EmbeddingHeadScorer("use-multilingual").head_.proba(
                _embed([model_text(t) for t in ja["text"]], "use-multilingual"))),
    }
    lines = ["| data | class | bin of predicted p | n | mean predicted | observed share |",
             "|---|---|---|---|---|---|"]
    for name, (y, p) in parts.items():
        for cls, i in (("negative", 0), ("positive", 2)):
            for r in reliability(y, p, cls, i).itertuples():
                lines.append(f"| {name} | {r._1} | {r.bin} | {r.n} | {r.predicted:.3f} | {r.observed:.3f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
