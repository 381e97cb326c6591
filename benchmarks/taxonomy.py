"""Benchmark the analysts' code frame (``voc.themes.taxonomy``, issue 17).

Data (not in the repo; ``$VOC_DATA`` or ``../shared/data``; a missing set
prints ``SKIP``):

- **Banking77 test** (3,080 queries, 77 intents). 20 intents (every 4th in
  alphabetical order) are seeded themes: their names plus 3 seed phrases
  each, written from the intent *names* (``BANKING_SEEDS``, not taken from
  the data). Per seeded theme: precision (share of the mentions it gets
  whose gold intent is its intent) and recall (share of its intent's
  queries it gets), and the NMI of the *rest* (the queries of the 57
  unseeded intents, every label counted, -1 as one more cluster) against
  the same rows of a run without the taxonomy.
- **Airline tweets** with a negative reason (9,178 tweets; the same set as
  ``benchmarks/themes.py``): the 10 reason names as seeded themes with 3
  phrases each that we wrote (``AIRLINE_SEEDS``); precision and recall
  against the gold reason. "Can't Tell" is seeded too (its name is one of
  the 10), and the means are also shown without it.
- **The rule** is measured on both sets before choosing (by the worse
  set's F0.5, precision weighted, among the embedder-relative rules): the best seed
  similarity at least a quantile ``q`` of the seed-to-seed similarities
  across themes, with an optional margin over the second-best theme, and
  absolute thresholds for comparison. The precision/recall of a rule do not
  depend on the clustering, so every rule is scored on the same embeddings.
- **Time**: ``ThemeModel.fit`` with and without the taxonomy (seed embedding
  included) on both sets, and with ``--overhead N`` two ``voc.analyze`` runs
  (N airline tweets, warm embedding cache, without then with the taxonomy).

Embeddings: the packaged MiniLM through ``voc.embed`` with the on-disk cache.
Keyword tokens for the fits are lower-cased words (labels are not scored).

Run: ``OMP_NUM_THREADS=1 VOC_DATA=/work/shared/data python benchmarks/taxonomy.py [--overhead 600]``
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = Path(os.environ.get("VOC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

# written from the intent names only (not from the queries)
BANKING_SEEDS = {
    "Refund_not_showing_up": ["my refund is not showing up", "I still have not received my refund",
                              "where is the refund I was promised"],
    "atm_support": ["which ATMs can I use", "can I use my card at an ATM", "ATM support for my card"],
    "beneficiary_not_allowed": ["I am not allowed to add this beneficiary", "the beneficiary was not allowed",
                                "why can't I add a payee"],
    "card_arrival": ["when will my card arrive", "my new card has not arrived yet", "card delivery time"],
    "card_payment_fee_charged": ["I was charged a fee for a card payment", "why is there a fee on my card payment",
                                 "extra charge when paying by card"],
    "cash_withdrawal_charge": ["I was charged for withdrawing cash", "fee for cash withdrawal",
                               "why did the ATM withdrawal cost me money"],
    "contactless_not_working": ["contactless payment is not working", "tap to pay does not work",
                                "my card's contactless stopped working"],
    "declined_transfer": ["my transfer was declined", "why was my bank transfer rejected",
                          "transfer declined by the bank"],
    "exchange_charge": ["how much do you charge for currency exchange", "fee for exchanging currency",
                        "I was charged for a currency exchange"],
    "failed_transfer": ["my transfer failed", "the money transfer did not go through",
                        "transfer failed and money not sent"],
    "getting_spare_card": ["can I get a spare card", "I want a second card", "how to get an additional card"],
    "order_physical_card": ["how do I order a physical card", "I want a plastic card", "order a real card"],
    "pending_top_up": ["my top up is still pending", "top-up pending for a long time",
                       "why is my top up not completed"],
    "request_refund": ["I want to request a refund", "how do I get my money back for a purchase",
                       "please refund this payment"],
    "top_up_by_bank_transfer_charge": ["is there a fee to top up by bank transfer",
                                       "charged for topping up with a transfer",
                                       "bank transfer top-up charge"],
    "top_up_limits": ["what is the top up limit", "maximum amount I can top up",
                      "how much can I top up at once"],
    "transfer_fee_charged": ["I was charged a fee for my transfer", "why was there a transfer fee",
                             "extra fee on a money transfer"],
    "unable_to_verify_identity": ["I can't verify my identity", "identity verification failed",
                                  "unable to prove who I am"],
    "virtual_card_not_working": ["my virtual card is not working", "the virtual card was declined",
                                 "virtual card doesn't work online"],
    "wrong_exchange_rate_for_cash_withdrawal": ["wrong exchange rate when I withdrew cash abroad",
                                                "the ATM gave me a bad exchange rate",
                                                "exchange rate on my cash withdrawal was wrong"],
}

AIRLINE_SEEDS = {
    "Bad Flight": ["the flight was terrible", "uncomfortable seats and no wifi on the plane",
                   "worst flight experience ever"],
    "Can't Tell": ["not happy with this airline", "this is ridiculous", "so disappointed"],
    "Cancelled Flight": ["my flight was cancelled", "you cancelled my flight again",
                         "flight cancelled flightled and no rebooking"],
    "Customer Service Issue": ["terrible customer service", "on hold for hours and nobody answers the phone",
                               "your agents were no help"],
    "Damaged Luggage": ["my suitcase arrived damaged", "you broke my luggage", "the bag was torn and broken"],
    "Flight Attendant Complaints": ["the flight attendant was rude", "rude cabin crew",
                                    "the stewardess was unfriendly"],
    "Flight Booking Problems": ["I can't book a flight on your website", "problem with my reservation",
                                "booking error when changing my ticket"],
    "Late Flight": ["my flight is delayed", "the plane was late and I missed my connection",
                    "hours of delay at the gate"],
    "Lost Luggage": ["you lost my bag", "my luggage never arrived", "still waiting for my lost baggage"],
    "longlines": ["the line at the check-in counter is so long", "waited in a long queue at the airport",
                  "long lines at security"],
}

QUANTILES = (0.5, 0.75, 0.9, 0.95, 1.0)
MARGINS = (0.0, 0.02, 0.05)
ABSOLUTE = (0.4, 0.5, 0.6)


def load():
    sets = {}
    path = DATA / "banking77" / "test.csv"
    if path.exists():
        b = pd.read_csv(path)
        sets["banking77 test"] = (b["text"].tolist(), b["category"].to_numpy(), BANKING_SEEDS)
    else:
        print(f"SKIP banking77: {path} not found")
    path = DATA / "airline_tweets" / "tweets.csv"
    if path.exists():
        a = pd.read_csv(path)
        a = a[a["negativereason"].notna()]
        sets["airline neg. reasons"] = (a["text"].tolist(), a["negativereason"].to_numpy(), AIRLINE_SEEDS)
    else:
        print(f"SKIP airline tweets: {path} not found")
    return sets


def taxonomy_of(seeds: dict) -> dict:
    return {"themes": {name: {"seeds": phrases} for name, phrases in seeds.items()}}


def prf(gold: np.ndarray, assigned: np.ndarray, names: list[str]) -> pd.DataFrame:
    rows = []
    for j, name in enumerate(names):
        got = assigned == j
        true = gold == name
        rows.append({"theme": name, "assigned": int(got.sum()), "gold": int(true.sum()),
                     "precision": float((got & true).sum() / got.sum()) if got.any() else float("nan"),
                     "recall": float((got & true).sum() / true.sum()) if true.any() else float("nan")})
    return pd.DataFrame(rows)


def rule_table(sets, X_of, index_of) -> pd.DataFrame:
    from voc.themes.taxonomy import SeedIndex

    rules = [("quantile", q, m) for q in QUANTILES for m in MARGINS] + [("absolute", a, 0.0) for a in ABSOLUTE]
    rows = []
    for kind, value, margin in rules:
        row = {"rule": f"{kind} {value}" + (f" margin {margin}" if margin else "")}
        for name in sets:
            base = index_of[name]
            idx = SeedIndex(base.names, base.seed_embeddings, base.seed_owner, quantile=value if kind == "quantile"
                            else 0.9, margin=margin, threshold=value if kind == "absolute" else None)
            ids, _ = idx.match(X_of[name])
            t = prf(sets[name][1], ids, base.names)
            row[f"{name} P"] = round(t["precision"].mean(), 3)
            row[f"{name} R"] = round(t["recall"].mean(), 3)
            row[f"{name} thr"] = round(idx.threshold, 3)
            p, r = row[f"{name} P"], row[f"{name} R"]
            row[f"{name} F0.5"] = round(1.25 * p * r / (0.25 * p + r), 3) if p + r > 0 and p == p else 0.0
        row["worst F0.5"] = min(row[f"{name} F0.5"] for name in sets)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--overhead", type=int, default=0, help="also time voc.analyze on N airline tweets")
    args = parser.parse_args(argv)
    from sklearn.metrics import normalized_mutual_info_score as nmi
    from themes import embeddings
    from voc.embed import default_cache, get_embedder
    from voc.themes import ThemeModel
    from voc.themes.taxonomy import MARGIN, SEED_QUANTILE, embed_taxonomy

    sets = load()
    if not sets:
        return 0
    emb = get_embedder("minilm")
    X_of, index_of = {}, {}
    for name, (texts, gold, seeds) in sets.items():
        X_of[name] = np.asarray(embeddings(texts), dtype=np.float32)
        index_of[name] = embed_taxonomy(taxonomy_of(seeds), emb, cache=default_cache())
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print("Rules (mean precision P / recall R of the seeded themes, the threshold each rule gives):")
    table = rule_table(sets, X_of, index_of)
    print(table.to_string(index=False))
    relative = table[table["rule"].str.startswith("quantile")]
    best = relative.loc[relative["worst F0.5"].idxmax(), "rule"]
    print(f"\nBest embedder-relative rule by the worse set's F0.5 (precision weighted): {best}")
    print(f"Default in voc.themes.taxonomy: quantile {SEED_QUANTILE} margin {MARGIN}\n")

    for name, (texts, gold, seeds) in sets.items():
        X = X_of[name]
        tokens = [re.findall(r"[a-z']{3,}", t.lower()) for t in texts]
        t0 = time.perf_counter()
        plain = ThemeModel(random_state=0).fit(X, texts, tokens)
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = embed_taxonomy(taxonomy_of(seeds), emb)  # no cache: the seed embedding counts
        seeded = ThemeModel(random_state=0).fit(X, texts, tokens, taxonomy=index)
        t_seeded = time.perf_counter() - t0
        labels = seeded.labels_
        s = len(index.names)
        table = prf(gold, np.where(labels < s, labels, -1), index.names)
        print(f"== {name}: {len(texts)} mentions, {s} seeded themes, threshold {index.threshold:.3f}")
        print(table.round(3).to_string(index=False))
        correct = float((table["assigned"] * table["precision"].fillna(0)).sum())
        print(f"mean precision {table['precision'].mean():.3f}, mean recall {table['recall'].mean():.3f}; "
              f"pooled precision {correct / max(int(table['assigned'].sum()), 1):.3f} "
              f"({int(table['assigned'].sum())} mentions in the code frame)")
        if "Can't Tell" in index.names:
            t2 = table[table["theme"] != "Can't Tell"]
            print(f"without Can't Tell: mean precision {t2['precision'].mean():.3f}, "
                  f"mean recall {t2['recall'].mean():.3f}")
        rest = ~np.isin(gold, index.names)
        if rest.any():
            a, b = nmi(gold[rest], plain.labels_[rest]), nmi(gold[rest], labels[rest])
            print(f"rest ({int(rest.sum())} rows of unseeded classes): NMI without taxonomy {a:.3f}, "
                  f"with {b:.3f} (difference {b - a:+.3f})")
        print(f"NMI all rows: without {nmi(gold, plain.labels_):.3f}, with {nmi(gold, labels):.3f}")
        print(f"coverage: {float(((labels >= 0) & (labels < s)).mean()):.3f} of mentions in the code frame; "
              f"{seeded.n_themes_ - s} discovered themes (without taxonomy: {plain.n_themes_})")
        print(f"fit seconds: without {t_plain:.1f}, with taxonomy {t_seeded:.1f} "
              f"({100 * (t_seeded / t_plain - 1):+.0f}%)\n")

    if args.overhead:
        overhead(args.overhead)
    return 0


def overhead(n: int) -> None:
    """``voc.analyze`` on ``n`` airline tweets: warm-up, then without and with the taxonomy."""
    import voc
    from rank import airline_tweets, load_airline

    raw = airline_tweets(limit=n, seed=0)
    if raw is None:
        return
    df = load_airline(raw)
    voc.analyze(df)  # warm-up: fills the embedding cache, loads the models
    t0 = time.perf_counter()
    a = voc.analyze(df)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = voc.analyze(df, taxonomy=taxonomy_of(AIRLINE_SEEDS))
    t_tax = time.perf_counter() - t0
    print(f"== voc.analyze on {len(df)} airline tweets ({len(a.mentions)} mentions), warm cache")
    print(f"total seconds: without {t_plain:.1f}, with taxonomy {t_tax:.1f} ({100 * (t_tax / t_plain - 1):+.1f}%)")
    print(f"themes stage: without {a.run['seconds']['themes']:.1f}, with {b.run['seconds']['themes']:.1f}")
    cov = b.run["taxonomy"]["coverage"]["overall"]
    print(f"coverage: {cov['code_frame_share']:.3f} in the code frame, {cov['discovered_share']:.3f} discovered")


if __name__ == "__main__":
    raise SystemExit(main())
