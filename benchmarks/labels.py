"""Phrase-label benchmark: are theme labels phrases taken from the theme's own mentions?

A label passes when every part of it (a mixed theme's label is
"english / 日本語") is a phrase of 2-6 words, or of 3-15 characters in
Japanese, that occurs in at least one of the theme's own mentions, either as
text (case-insensitive, in the text the models see: ``voc.segment.model_text``)
or as a lemma sequence (the part's lemmas are a contiguous run of the
mention's lemmas, so 「アプリが落ちる」 matches 「アプリが落ちます」). A keyword
triplet ("fast / super / 配送") fails: its parts are single words.

Data: the shipped sample (``voc.analyze(voc.load_feedback(voc.sample_path()))``)
and the airline tweets (``airline_tweets/tweets.csv``, text column ``text``,
touchpoint ``airline``; SKIP when absent). Prints the share of passing labels
and every label with its size and negative share.

Target (issue 14): at least 90% on each data set.

Run::

    OMP_NUM_THREADS=1 python benchmarks/labels.py [--limit N] [--no-sample] [--no-airline]

Data folder: env ``VOC_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import re
import time

import pandas as pd

_JA = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def _lemmas(texts: list[str], ja: bool) -> list[list[str]]:
    from voc import segment as S

    if ja:
        return [[t.lemma_ for t in doc] for doc in S.ja.nlp().pipe(texts)]
    table = S.en.lemma_table()
    return [[(table.get(t.lower_, t.lower_) if table is not None else t.lower_).lower() for t in doc]
            for doc in S.en.nlp().pipe(texts)]


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return n > 0 and any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


def part_ok(part: str, texts: list[str]) -> tuple[bool, str]:
    """Whether one label part is a phrase of the right length found in ``texts``."""
    ja = bool(_JA.search(part))
    if ja:
        if not 3 <= len(part) <= 15:
            return False, f"{len(part)} characters"
    else:
        if not 2 <= len(part.split()) <= 6:
            return False, f"{len(part.split())} words"
    low = part.lower()
    if any(low in t.lower() for t in texts):
        return True, "text"
    sub = _lemmas([part], ja)[0]
    if any(_contains(seq, sub) for seq in _lemmas(texts, ja)):
        return True, "lemmas"
    return False, "not in its mentions"


def evaluate(name: str, themes: pd.DataFrame, mentions: pd.DataFrame, *, level: str = "theme") -> float:
    """Share of ``themes`` (a themes or topics table; ``level`` names its id column) whose label is a phrase."""
    from voc.segment import model_text

    themes = themes[themes[level] >= 0]
    by_theme = mentions.groupby(level)["text"].apply(lambda s: [model_text(t) for t in s])
    ok = 0
    rows = []
    for row in themes.itertuples():
        texts = by_theme.get(getattr(row, level), [])
        results = [part_ok(p.strip(), texts) for p in str(row.label).split(" / ")]
        good = all(r[0] for r in results)
        ok += good
        rows.append((getattr(row, level), "ok " if good else "BAD", row.mentions, f"{row.negative_share:.2f}",
                     row.label, "; ".join(r[1] for r in results)))
    share = ok / max(len(themes), 1)
    print(f"\n== {name}, {level}s: {ok}/{len(themes)} labels are phrases from their own mentions ({share:.1%})")
    for r in rows:
        print(f"{r[0]:>4} {r[1]} n={r[2]:<5} neg={r[3]}  {r[4]}   [{r[5]}]")
    return share


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="airline tweets: random subset of N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-sample", action="store_true")
    ap.add_argument("--no-airline", action="store_true")
    args = ap.parse_args(argv)
    import voc

    if not args.no_sample:
        start = time.perf_counter()
        result = voc.analyze(voc.load_feedback(voc.sample_path()))
        print(f"sample: analyzed in {time.perf_counter() - start:.1f} s")
        evaluate("sample", result.themes, result.mentions)
        evaluate("sample", result.topics, result.mentions, level="topic")
    if not args.no_airline:
        from rank import airline_tweets, load_airline  # benchmarks/rank.py, beside this script

        raw = airline_tweets(args.limit, args.seed)
        if raw is None:
            return 0
        df = load_airline(raw)
        start = time.perf_counter()
        result = voc.analyze(df)
        print(f"airline tweets: analyzed in {time.perf_counter() - start:.1f} s")
        evaluate("airline tweets", result.themes, result.mentions)
        evaluate("airline tweets", result.topics, result.mentions, level="topic")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
