"""Sentiment benchmark: accuracy and macro-F1 of voc's scorers on public data.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/sentiment.py [--n 3000] [--markdown]

Data ($VOC_DATA or ../shared/data; prints "SKIP: ..." and exits 0 if absent):

* airline tweets, 3 classes (eval only): stratified seeded sample of --n.
* JRTE pn dev rows (Japanese, label -1/0/1; eval only): all 1,112.
* SemEval ABSA sentences (eval only): conflict dropped, one row per sentence;
  sentences whose aspects disagree are dropped; stratified sample of --n.
* UCI held-out 20% (the rows notebooks/train_sentiment.py never trains on;
  2 classes, a prediction counts by the sign of its sentiment).
* The plain-complaint set (``benchmarks/plain_complaints.tsv``, in the
  repository, never trained on): 312 English and 312 Japanese sentences we
  wrote, half of them complaints stated as facts with no sentiment words
  ("My order arrived nine days after the date on the confirmation email.",
  「電話が30分つながらない。」), a quarter neutral facts and questions, a
  quarter praise, 52 per language for each of delivery, app, checkout,
  billing, support and store. ``plain_en`` / ``plain_ja``; runs without
  ``../shared``. ``neg_recall`` is the share of negative rows labelled negative.

Scorers: "default" (English texts by the fine-tuned sentiment-minilm-ft,
Japanese by the use-multilingual head, as `voc run` scores them), the
packaged heads ("head:minilm", "head:use-multilingual"; minilm is
English-only so it is not run on JRTE) and VADER on the English sets. A
scorer's row scores each whole text; "run:<scorer>" is the record label
`voc run` gives: the text cut into sentences and contrast clauses, each
scored, then the length-weighted record mean. texts/s: head = the scorer
given precomputed embeddings (what `voc run` pays on top of embedding;
for "default" that includes the encoder pass), embed+head = embedding
(use-multilingual for "default") included.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(os.environ.get("VOC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SEED = 0


def uci_heldout(text: str) -> bool:
    """Same rule as notebooks/train_sentiment.py (20% by a hash of the text)."""
    return int(hashlib.sha1(text.strip().encode("utf-8")).hexdigest(), 16) % 5 == 0


def _stratified(df: pd.DataFrame, n: int) -> pd.DataFrame:
    if len(df) <= n:
        return df.reset_index(drop=True)
    frac = n / len(df)
    return df.groupby("label").sample(frac=frac, random_state=SEED).reset_index(drop=True)


PLAIN = Path(__file__).resolve().parent / "plain_complaints.tsv"


def plain_sets() -> dict[str, pd.DataFrame]:
    """The plain-complaint set, one frame per language (``text``, ``label``, ``touchpoint``)."""
    df = pd.read_csv(PLAIN, sep="\t", quoting=3, dtype=str, keep_default_na=False)
    return {f"plain_{lang}": g[["text", "label", "touchpoint"]].reset_index(drop=True)
            for lang, g in df.groupby("lang")}


def load_sets(n: int) -> dict[str, pd.DataFrame]:
    sets = plain_sets()
    if not DATA.is_dir():
        print(f"(shared data not found at {DATA}: only the plain-complaint set; set VOC_DATA)")
        return sets
    air = pd.read_csv(DATA / "airline_tweets" / "tweets.csv")
    air = air.rename(columns={"airline_sentiment": "label"})[["text", "label"]]
    sets["airline"] = _stratified(air, n)
    jr = pd.read_csv(DATA / "jrte_pn_ja" / "pn_train_dev.tsv", sep="\t")
    jr = jr[jr["split"] == "dev"]
    jr = pd.DataFrame({"text": jr["text"], "label": jr["label"].map({-1: "negative", 0: "neutral", 1: "positive"})})
    sets["jrte_dev"] = jr.reset_index(drop=True)
    ab = pd.read_csv(DATA / "semeval_absa" / "absa_sentences.csv")
    ab = ab[ab["polarity"] != "conflict"]
    agree = ab.groupby("text")["polarity"].nunique() == 1
    ab = ab[ab["text"].isin(agree[agree].index)].drop_duplicates("text")
    sets["semeval"] = _stratified(ab.rename(columns={"polarity": "label"})[["text", "label"]], n)
    rows = []
    for f in sorted((DATA / "uci_sentiment").glob("*_labelled.txt")):
        for ln in f.read_text(encoding="utf-8").splitlines():
            parts = ln.rsplit("\t", 1)
            if len(parts) == 2 and uci_heldout(parts[0]):
                rows.append((parts[0].strip(), "positive" if parts[1].strip() == "1" else "negative"))
    sets["uci_heldout"] = pd.DataFrame(rows, columns=["text", "label"])
    return sets


def metrics(y, pred, sentiment) -> tuple[float, float, float]:
    """Accuracy, macro-F1 and negative recall."""
    from sklearn.metrics import accuracy_score, f1_score

    y = np.asarray(y)
    if set(y) <= {"negative", "positive"}:  # binary set: decide by the sign
        pred = np.where(np.asarray(sentiment) > 0, "positive", "negative")
    pred = np.asarray(pred)
    neg = y == "negative"
    return accuracy_score(y, pred), f1_score(y, pred, average="macro"), float((pred[neg] == "negative").mean())


def markdown_table(res: pd.DataFrame) -> str:
    lines = ["| set | n | scorer | accuracy | macro-F1 | neg. recall | texts/s (head) | texts/s (embed+head) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in res.itertuples():
        lines.append(f"| {r.set} | {r.n} | {r.scorer} | {r.accuracy:.3f} | {r.macro_f1:.3f} | {r.neg_recall:.3f} | "
                     f"{r.texts_per_s_head:,.0f} | {r.texts_per_s_total:,.0f} |")
    return "\n".join(lines)


def update_cards(res: pd.DataFrame, n: int) -> None:
    """Record the measured numbers in models/sentiment-<embedder>.{md,json} (weights untouched)."""
    import json
    from datetime import date

    start, end = "<!-- benchmark -->", "<!-- /benchmark -->"
    for stem, mine_name in (("minilm", "head:minilm"), ("use-multilingual", "head:use-multilingual"),
                            ("minilm-ft", "default")):
        sub = res[res["scorer"].isin([mine_name, "vader"])]
        sub = sub[sub["set"].isin(res.loc[res["scorer"] == mine_name, "set"])]
        text = (
            f"Measured by `benchmarks/sentiment.py --n {n}` on {date.today().isoformat()} "
            "(2-core CPU shared with other jobs, so texts/s are lower bounds; VADER side by side on "
            "English sets). Data: airline = Twitter US Airline "
            f"Sentiment, stratified seeded sample of {n} of 14,640 (3 classes); jrte_dev = JRTE pn "
            "dev split, 1,112 Japanese hotel-review sentences (3 classes); semeval = SemEval 2014-16 "
            f"ABSA sentences, conflict and aspect-disagreeing sentences dropped, stratified sample of {n} "
            "(3 classes); uci_heldout = the 20% of UCI never trained on (2 classes, by the sign of "
            "the sentiment). None of these evaluation rows were used for training or for choosing "
            "any setting.\n\n" + markdown_table(sub)
        )
        md = ROOT / "models" / f"sentiment-{stem}.md"
        body = md.read_text(encoding="utf-8")
        head, rest = body.split(start, 1)
        md.write_text(head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1], encoding="utf-8")
        js = ROOT / "models" / f"sentiment-{stem}.json"
        card = json.loads(js.read_text(encoding="utf-8"))
        mine = sub[sub["scorer"] == mine_name]
        card["metrics"] = {
            r.set: {"n": int(r.n), "accuracy": round(r.accuracy, 4), "macro_f1": round(r.macro_f1, 4)}
            for r in mine.itertuples()
        }
        js.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def as_run(name: str, df: pd.DataFrame, scorer_name: str, scorer, embed) -> tuple:
    """The record label a `voc run` gives: units (sentences, contrast clauses)
    scored by ``scorer``, then the length-weighted record mean (aggregate_records)."""
    from voc.segment import model_text, segment
    from voc.sentiment import aggregate_records

    recs = pd.DataFrame({"voc_id": [str(i) for i in range(len(df))], "text": df["text"].tolist()})
    t0 = time.perf_counter()
    units = segment(recs)
    texts = [model_text(t) for t in units["text"]]
    E = embed(texts)
    t1 = time.perf_counter()
    units = units.assign(sentiment=scorer.score(texts, embeddings=E)["sentiment"].to_numpy())
    agg = aggregate_records(units, neutral_band=scorer.neutral_band).reindex(recs["voc_id"])
    t2 = time.perf_counter()
    # a record whose text gives no unit (e.g. only a URL) counts as neutral
    label = agg["sentiment_label"].fillna("neutral")
    acc, f1, rec = metrics(df["label"], label, agg["sentiment"].fillna(0.0))
    return (name, len(df), f"run:{scorer_name}", acc, f1, rec, len(df) / (t2 - t1), len(df) / (t2 - t0))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="sample size of airline/semeval")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--update-cards", action="store_true",
                    help="write the table into models/sentiment-*.md and the metrics into the .json cards")
    args = ap.parse_args(argv)
    from voc.sentiment import EmbeddingHeadScorer, EncoderScorer, VaderScorer

    from voc.embed import get_embedder

    def _embedder(name):
        return get_embedder(name).embed

    from voc.segment import model_text

    sets = load_sets(args.n)
    rows = []
    runs = [("head:minilm", EmbeddingHeadScorer("minilm"), "minilm"),
            ("head:use-multilingual", EmbeddingHeadScorer("use-multilingual"), "use-multilingual"),
            ("default", EncoderScorer("use-multilingual"), "use-multilingual")]
    for label, scorer, embedder in runs:
        embed = _embedder(embedder)
        embed(["warm up"])
        scorer.score(["warm up"], embeddings=embed(["warm up"]))
        for name, df in sets.items():
            if embedder == "minilm" and name in ("jrte_dev", "plain_ja"):
                continue
            # what `voc run` does: the models see the text without @handles / URLs
            texts = [model_text(t) for t in df["text"]]
            t0 = time.perf_counter()
            E = embed(texts)
            t1 = time.perf_counter()
            out = scorer.score(texts, embeddings=E)
            t2 = time.perf_counter()
            acc, f1, rec = metrics(df["label"], out["sentiment_label"], out["sentiment"])
            rows.append((name, len(df), label, acc, f1, rec, len(df) / (t2 - t1), len(df) / (t2 - t0)))
            rows.append(as_run(name, df, label, scorer, embed))
    try:
        vader = VaderScorer()
    except Exception as e:  # noqa: BLE001 - optional dependency
        print(f"(VADER skipped: {e})")
        vader = None
    if vader is not None:
        for name, df in sets.items():
            if name in ("jrte_dev", "plain_ja"):
                continue
            t0 = time.perf_counter()
            out = vader.score(df["text"].tolist(), languages=["en"] * len(df))
            dt = time.perf_counter() - t0
            acc, f1, rec = metrics(df["label"], out["sentiment_label"], out["sentiment"])
            rows.append((name, len(df), "vader", acc, f1, rec, len(df) / dt, len(df) / dt))
    res = pd.DataFrame(rows, columns=["set", "n", "scorer", "accuracy", "macro_f1", "neg_recall",
                                      "texts_per_s_head",
                                      "texts_per_s_total"]).sort_values(["set", "scorer"])
    if args.update_cards:
        update_cards(res, args.n)
    if args.markdown:
        print(markdown_table(res))
    else:
        print(res.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
