"""Pain-point ranking benchmark on the airline tweets.

Data: ``airline_tweets/tweets.csv`` (14,640 tweets to six US airlines, with
the crowd-labelled complaint ``negativereason``). The tweets are analysed
with ``voc.analyze`` (touchpoint = ``airline``, text = ``text``, no survey
scores, so pain points rank by volume x negativity). For every airline, each
of its top 3 pain themes is mapped to the gold ``negativereason`` most common
among the airline's records that mention the theme; the airline is a hit when
its most frequent gold complaint is among those three. ``lift`` is the
purity of the matching theme (share of its complaints that are the gold
complaint) over the airline's base rate of that complaint: a lift near 1
means the theme is not specific (e.g. one giant theme trivially "hits"), so
the benchmark also reports strict hits (hit with lift >= 1.5).

Target (issue 5): 6 of 6 airlines.

Run::

    OMP_NUM_THREADS=1 python benchmarks/rank.py [--unit record|sentence] [--limit N] [--level theme|topic]

``--level topic`` ranks the topic rows of the table instead of the theme rows
(it needs mentions with a ``topic`` column, i.e. the theme hierarchy).

Data folder: env ``VOC_DATA`` or ``../shared/data``; prints ``SKIP: ...`` and
exits 0 when it is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

DATA = Path(os.environ.get("VOC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TOP = 3


def airline_tweets(limit: int | None = None, seed: int = 0) -> pd.DataFrame | None:
    """The airline tweets with a ``tweet_id`` (``t00000``...), optionally a seeded subset; None if absent."""
    path = DATA / "airline_tweets" / "tweets.csv"
    if not path.exists():
        print(f"SKIP: {path} not found (set VOC_DATA to the shared data folder)")
        return None
    raw = pd.read_csv(path)
    raw.insert(0, "tweet_id", [f"t{i:05d}" for i in range(len(raw))])
    if limit and limit < len(raw):
        raw = raw.sample(limit, random_state=seed).sort_index()
    return raw


def load_airline(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` as voc records: the tweet id, the airline as the touchpoint, the tweet text."""
    import voc

    return voc.load_feedback(raw[["tweet_id", "airline", "text"]], id_col="tweet_id", text_col="text",
                             touchpoint_col="airline")


def evaluate(records: pd.DataFrame, mentions: pd.DataFrame, pain: pd.DataFrame,
             gold: pd.Series, *, level: str = "theme") -> pd.DataFrame:
    """One row per airline: its top gold complaint, top-3 themes (or topics) mapped to gold, hit.

    ``top1``: the first item's dominant gold reason is the airline's most
    frequent one; ``p@3``: the share of the top 3 items whose dominant gold
    reason is one of the airline's 3 most frequent reasons (issue 14's targets).

    ``gold`` maps ``voc_id`` to ``negativereason`` (NaN for non-complaints).
    ``level="topic"`` ranks the topic rows (mentions need a ``topic`` column).
    """
    rec = records[["voc_id", "touchpoint"]].assign(reason=records["voc_id"].map(gold))
    theme_records = mentions.loc[mentions[level] >= 0, ["voc_id", level]].drop_duplicates()
    if "level" in pain:
        pain = pain[pain["level"] == level]
    rows = []
    for airline, recs in rec.groupby("touchpoint"):
        reasons = recs["reason"].dropna()
        top_gold = reasons.mode().iloc[0] if len(reasons) else None
        top3_gold = set(reasons.value_counts().index[:TOP])  # the airline's 3 most frequent reasons
        top = pain[pain["touchpoint"] == airline].nsmallest(TOP, "rank")
        base = (reasons == top_gold).mean() if len(reasons) else float("nan")
        mapped, shown, lift = [], [], float("nan")
        for theme, label, share in zip(top[level], top["label"], top["share"]):
            ids = theme_records.loc[theme_records[level] == theme, "voc_id"]
            r = recs.loc[recs["voc_id"].isin(ids), "reason"].dropna()
            m = r.mode().iloc[0] if len(r) else None
            mapped.append(m)
            purity = (r == m).mean() if len(r) else float("nan")
            if m == top_gold and not lift >= purity / base:
                lift = purity / base
            shown.append(f"{str(label)[:24]} [{share:.0%}] -> {m} ({purity:.0%})")
        rows.append({
            "airline": airline,
            "records": len(recs),
            "top_gold (share of complaints)": f"{top_gold} ({base:.0%})",
            "top3 themes [share of records] -> gold (purity)": " ; ".join(shown),
            "hit": top_gold in mapped,
            "top1": bool(mapped) and mapped[0] == top_gold,
            "p@3": sum(m in top3_gold for m in mapped) / TOP,
            "lift": round(lift, 2),
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unit", choices=["record", "sentence"], default="sentence")
    ap.add_argument("--limit", type=int, default=None, help="analyse a seeded sample of N tweets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-bootstrap", type=int, default=200)
    ap.add_argument("--min-theme-size", type=int, default=None, help="default: derived by voc")
    ap.add_argument("--level", choices=["theme", "topic"], default="theme",
                    help="rank theme rows or topic rows (needs the theme hierarchy)")
    args = ap.parse_args(argv)

    raw = airline_tweets(args.limit, args.seed)
    if raw is None:
        return 0
    import voc
    from voc.config import Config

    gold = raw.set_index("tweet_id")["negativereason"]
    df = load_airline(raw)
    config = Config(unit=args.unit, random_state=args.seed, n_bootstrap=args.n_bootstrap,
                    min_theme_size=args.min_theme_size)
    start = time.perf_counter()
    result = voc.analyze(df, config=config)
    seconds = time.perf_counter() - start

    if args.level == "topic" and "topic" not in result.mentions:
        print("SKIP: --level topic needs mentions with a 'topic' column (the theme hierarchy)")
        return 0
    table = evaluate(result.records, result.mentions, result.pain_points, gold, level=args.level)
    with pd.option_context("display.width", 250, "display.max_colwidth", 140):
        print(table.to_string(index=False))
    n_themes = int((result.themes["theme"] >= 0).sum())
    strict = int((table["hit"] & (table["lift"] >= 1.5)).sum())
    print(f"\nhits: {int(table['hit'].sum())}/{len(table)} airlines, strict (lift >= 1.5): {strict} "
          f"(level={args.level}, unit={args.unit}, tweets={len(raw)}, themes={n_themes}, min_theme_size={args.min_theme_size}, "
          f"seconds={seconds:.0f}, "
          f"stages={ {k: round(v, 1) for k, v in result.run.get('seconds', {}).items()} })")
    print(f"top-1: {int(table['top1'].sum())}/{len(table)} airlines, precision@3: {table['p@3'].mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
