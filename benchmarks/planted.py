"""Planted pain points on the shipped sample: issue 5's and issue 14's target.

Data: the shipped sample (``voc.sample_path()``, ``make_feedback(2000,
random_state=0)``), whose generator knows which records carry each of the 5
planted pain points and their realised NPS impact
(``voc.sample.planted_truth``). No ``../shared`` data is needed.

The sample is analysed with ``voc.analyze`` (default options unless given)
once per seed (``--seeds 0 1 2``, the default). For every planted pain
point, the theme whose complaint records (records with a negative mention
of it) best match the records that carry it (highest F1) stands for it; the
benchmark reports that theme's rank at the pain point's touchpoint, its
complaint NPS impact over all records with the 95% interval, and whether
the generator's truth lies inside. When the run's mentions have a ``topic``
column (the theme hierarchy), the same for the best-matching topic.
``negative`` is the share of the mentions holding one of the pain point's
phrasings that the run labels negative; ``whole-theme impact`` is the
theme's impact over all its records (praise included).

Target (issue 14): every pain point in the top 3 of its touchpoint, and
every truth inside its interval, for each of seeds 0, 1, 2 (15 of 15).

Two measurements explain a miss:

- ``union``: the themes whose complaint records together match the carrying
  records best (greedy, adding the theme that most raises F1 while it rises
  by more than 0.01) and the NPS impact of those complaint records
  together. It shows roughly what a grouping of the fitted themes (merging,
  a hierarchy) could report (greedy on F1, so not a strict bound).
- ``--gold-sentiment``: the pipeline runs with a scorer that labels every
  mention holding a planted phrasing (case-insensitive; typo'd copies are
  missed) with the generator's polarity (pain negative, praise positive)
  and leaves all other mentions to the default head. It shows what a
  better sentiment model could change (themes split by polarity with
  ``--split-polarity``, the complaint records, the negative shares).

Run::

    OMP_NUM_THREADS=1 python benchmarks/planted.py [--seeds 0 1 2] [--gold-sentiment] [--split-polarity 0.25]
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time

import numpy as np
import pandas as pd


class GoldSentiment:
    """The default head, overridden by the generator's polarity on planted phrasings."""

    def __init__(self, head):
        from voc.sample import THEMES

        self.head = head
        self.name = f"gold+{head.name}"
        self.neutral_band = head.neutral_band
        self._polarity = {k: t.polarity for k, t in THEMES.items()}

    def score(self, texts, *, embeddings=None, languages=None) -> pd.DataFrame:
        out = self.head.score(texts, embeddings=embeddings, languages=languages).copy()
        for i, text in enumerate(texts):
            pol = self._polarity.get(planted_key(text))
            if pol in ("pain", "praise"):
                sign = -1.0 if pol == "pain" else 1.0
                out.iloc[i, out.columns.get_loc("sentiment")] = sign
                out.iloc[i, out.columns.get_loc("sentiment_label")] = "negative" if sign < 0 else "positive"
        return out


def planted_key(text: str) -> str | None:
    """The sample theme whose phrasing ``text`` holds (or is a 12+ character part of)."""
    t = _norm(text)
    for p, key in _phrasings():
        if p in t or (len(t) >= 12 and t in p):
            return key
    return None


@functools.cache
def _phrasings() -> list[tuple[str, str]]:
    from voc.sample import THEMES

    return [(_norm(p), k) for k, t in THEMES.items() if t.polarity != "neutral" for p in t.en + t.ja]


def _norm(text: str) -> str:
    return re.sub(r"[\s.!?。！？、,…]+", " ", str(text).lower()).strip()


def _nps_impact(nps: np.ndarray, member: np.ndarray) -> float:
    """NPS(all) - NPS(all without the member records), in points."""
    from voc.survey import nps as nps_of

    return nps_of(nps).value - nps_of(nps[~member]).value


def _best(unit_records: pd.Series, carries: set) -> tuple[object, float, list, float, set]:
    """The unit whose records match ``carries`` best (F1), and the greedy union of units."""

    def f1(found: set) -> float:
        return 2 * len(found & carries) / (len(found) + len(carries)) if found or carries else 0.0

    scores = {t: f1(s) for t, s in unit_records.items()}
    best = max(scores, key=scores.get)
    union, chosen, current = set(), [], 0.0
    while len(chosen) < len(scores):
        gains = {t: f1(union | s) for t, s in unit_records.items() if t not in chosen}
        t = max(gains, key=gains.get)
        if gains[t] <= current + 0.01:
            break
        union |= unit_records[t]
        chosen.append(t)
        current = gains[t]
    return best, scores[best], chosen, current, union


def _row_at(pain: pd.DataFrame, level: str, key: str, unit, touchpoint: str) -> tuple[pd.Series, object]:
    """The overall row of ``unit`` at ``level`` and its rank at ``touchpoint``."""
    rows = pain[pain["level"] == level] if "level" in pain else pain
    at = rows[(rows["touchpoint"] == touchpoint) & (rows[key] == unit)]
    overall = rows[(rows["touchpoint"] == "all") & (rows[key] == unit)].iloc[0]
    return overall, (int(at["rank"].iloc[0]) if len(at) else None)


def _ci(row: pd.Series, col: str) -> tuple[float, float, float]:
    return float(row[col]), float(row[f"{col}_ci_low"]), float(row[f"{col}_ci_high"])


def evaluate(result, gold: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per planted pain point (``gold``: the generator's ``id`` and ``planted`` per record).

    A theme (topic) stands for a pain point when its complaint records (records
    with a negative mention of it) match the records carrying the pain point
    best (F1); its rank, complaint NPS impact and interval come from the
    pain-point table.
    """
    from voc.rank import complaint_mentions

    records, pain, ments = result.records, result.pain_points, result.mentions
    ids = records["voc_id"].to_numpy()
    themed = ments[ments["theme"] >= 0]
    complaints = themed[complaint_mentions(themed)]  # the pain-point table's complaint rule
    theme_complaints = complaints.groupby("theme")["voc_id"].apply(set)
    has_topics = "topic" in ments and "level" in pain and (pain["level"] == "topic").any()
    topic_complaints = (complaints[complaints["topic"] >= 0].groupby("topic")["voc_id"].apply(set)
                        if has_topics else None)
    nps = pd.to_numeric(records["nps"], errors="coerce").to_numpy(dtype=float)
    keys = ments["text"].map(planted_key)
    negative = ments["sentiment_label"] == "negative"
    rows = []
    for _, tr in truth.iterrows():
        carries = set(gold.loc[gold["planted"].map(lambda ks, k=tr.key: k in ks), "id"])
        best, f1, chosen, union_f1, union = _best(theme_complaints, carries)
        overall, rank = _row_at(pain, "theme", "theme", best, tr.touchpoint)
        imp, low, high = _ci(overall, "complaint_nps_impact")
        row = {
            "pain point": tr.key,
            "touchpoint": tr.touchpoint,
            "negative": round(float(negative[keys == tr.key].mean()), 2),
            "theme": f"{best}: {str(overall['label'])[:26]}",
            "f1": round(f1, 2),
            "rank": rank,
            "complaint impact [95% CI]": f"{imp:.2f} [{low:.2f}, {high:.2f}]",
            "truth": tr.nps_impact,
            "in CI": bool(low <= tr.nps_impact <= high),
            "top3": bool(rank is not None and rank <= 3),
            "whole-theme impact [95% CI]": "{:.2f} [{:.2f}, {:.2f}]".format(*_ci(overall, "nps_impact")),
            "whole in CI": bool(overall["nps_impact_ci_low"] <= tr.nps_impact <= overall["nps_impact_ci_high"]),
        }
        if has_topics:
            t_best, t_f1, *_ = _best(topic_complaints, carries)
            t_row, t_rank = _row_at(pain, "topic", "topic", t_best, tr.touchpoint)
            t_imp, t_low, t_high = _ci(t_row, "complaint_nps_impact")
            row.update({
                "topic": f"{t_best}: {str(t_row['label'])[:26]}",
                "topic f1": round(t_f1, 2),
                "topic rank": t_rank,
                "topic complaint impact [95% CI]": f"{t_imp:.2f} [{t_low:.2f}, {t_high:.2f}]",
                "topic in CI": bool(t_low <= tr.nps_impact <= t_high),
                "topic top3": bool(t_rank is not None and t_rank <= 3),
            })
        row.update({
            "union": ",".join(map(str, chosen)),
            "union f1": round(union_f1, 2),
            "union complaint impact": round(_nps_impact(nps, np.isin(ids, list(union))), 2),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def _summary(table: pd.DataFrame, prefix: str = "") -> str:
    top3, in_ci = f"{prefix}top3", f"{prefix}in CI"
    return f"top 3: {int(table[top3].sum())}/{len(table)}, truth in CI: {int(table[in_ci].sum())}/{len(table)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold-sentiment", action="store_true",
                    help="label planted phrasings with the generator's polarity (a ceiling, not a method)")
    ap.add_argument("--split-polarity", type=float, default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="analysis random_state values, one run each (the sample is fixed)")
    ap.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds N)")
    args = ap.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else args.seeds

    import voc
    from voc.config import Config
    from voc.sample import make_feedback, planted_truth, sample_path
    from voc.sentiment import get_scorer

    df = voc.load_feedback(sample_path())
    _, gold = make_feedback(2000, random_state=0, return_truth=True)
    truth = planted_truth()
    tables = []
    for seed in seeds:
        config = Config(random_state=seed, split_polarity=args.split_polarity,
                        ces_scale=(1, 7), ces_direction="higher_is_easier", ces_configured=True)
        scorer = None
        if args.gold_sentiment:
            # the sample is bilingual, so the run embeds with USE and uses its head
            scorer = GoldSentiment(get_scorer(config.sentiment, embedder_name="use-multilingual"))
        start = time.perf_counter()
        result = voc.analyze(df, config=config, scorer=scorer)
        seconds = time.perf_counter() - start
        table = evaluate(result, gold, truth)
        tables.append(table)
        print(f"\n== seed {seed}")
        with pd.option_context("display.width", 250, "display.max_colwidth", 60, "display.max_columns", 40):
            print(table.to_string(index=False))
        n_themes = int((result.themes["theme"] >= 0).sum())
        topics = f", topics: {_summary(table, 'topic ')}" if "topic top3" in table else ""
        whole = f"whole-theme impact: truth in CI {int(table['whole in CI'].sum())}/{len(table)}"
        print(f"seed {seed}: themes {_summary(table)}{topics}; {whole} "
              f"(sentiment={'gold on planted phrasings' if args.gold_sentiment else config.sentiment}, "
              f"split_polarity={args.split_polarity}, themes={n_themes}, seconds={seconds:.0f})")
    every = pd.concat(tables, ignore_index=True)
    topics = f"; topics: {_summary(every, 'topic ')}" if "topic top3" in every else ""
    print(f"\noverall ({len(seeds)} seeds): themes {_summary(every)}{topics}; "
          f"whole-theme impact: truth in CI {int(every['whole in CI'].sum())}/{len(every)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
