"""Hand-made weekly tables in voc's column vocabulary (for store/trends/report tests).

Six ISO weeks (2024-W01 .. 2024-W06) of records and mentions, English and
Japanese, with a quote and a theme label containing ``<script>``, a theme
(5, returns) that appears only in the last week, and theme 1 (app crash)
spiking in the last week.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

XSS = "<script>alert(1)</script>"
START = pd.Timestamp("2024-01-01")  # Monday of 2024-W01

THEMES = {
    # theme: (label, touchpoint, negative?, nps range, texts)
    0: ("late delivery", "delivery", True, (0, 7), [
        "Delivery was late again.", "配送が遅かったです。", "The parcel arrived a week late."]),
    1: ("app crash", "app", True, (0, 6), [
        "The app keeps crashing.", "アプリがすぐに落ちます。", f"App crashed {XSS} twice."]),
    2: (f"checkout {XSS} | payment", "checkout", True, (2, 8), [
        "Checkout failed twice.", "支払いができませんでした。", "Card payment | error 500."]),
    3: ("friendly support", "support", False, (8, 11), [
        "Support answered quickly.", "サポートの対応がとても丁寧でした。", "Great help from the agent."]),
    5: ("返品 returns", "delivery", True, (0, 5), [
        "Return label never arrived.", "返品の手続きが面倒です。", "Refund for my return is missing."]),
}


def make_frames(n_weeks: int = 6, per_week: int = 60, *, random_state: int = 0):
    """Records and mentions for ``n_weeks`` weeks (the vocabulary columns)."""
    rng = np.random.default_rng(random_state)
    recs, ments = [], []
    i = 0
    for week in range(n_weeks):
        last = week == n_weeks - 1
        weights = {0: 3, 1: 2 if not last else 8, 2: 2, 3: 3}
        if last:
            weights[5] = 4
        ids = list(weights)
        p = np.array([weights[t] for t in ids], float)
        p /= p.sum()
        for _ in range(per_week + (30 if last else 0)):
            theme = int(rng.choice(ids, p=p))
            label, tp, negative, (lo, hi), texts = THEMES[theme]
            text = texts[int(rng.integers(len(texts)))]
            units = [(theme, text)]
            if rng.random() < 0.3 and theme != 3:
                units.append((3, THEMES[3][4][int(rng.integers(3))]))
            if rng.random() < 0.1:
                units.append((-1, "Thanks."))
            date = START + pd.Timedelta(days=7 * week + int(rng.integers(7)), hours=int(rng.integers(24)))
            vid = f"v{i:05d}"
            i += 1
            sents = []
            for u, (t, txt) in enumerate(units):
                neg = THEMES[t][2] if t in THEMES else False
                s = float(-0.6 - 0.3 * rng.random()) if neg else float(0.5 + 0.4 * rng.random())
                if t == -1:
                    s = 0.0
                lab = "negative" if s < -0.2 else "positive" if s > 0.2 else "neutral"
                ments.append({"voc_id": vid, "unit": u, "text": txt,
                              "language": "ja" if any(ord(c) > 0x3000 for c in txt) else "en",
                              "theme": t, "theme_prob": 0.9 if t >= 0 else 0.0,
                              "sentiment": s, "sentiment_label": lab})
                sents.append(s)
            themed = sorted({t for t, _ in units if t >= 0})
            full = " ".join(txt for _, txt in units)
            recs.append({
                "voc_id": vid, "text": full, "has_text": True, "source_line": i + 1,
                "date": date, "touchpoint": tp, "channel": "survey",
                "nps": int(rng.integers(lo, hi)) if rng.random() < 0.9 else None,
                "ces": float(rng.integers(1, 8)), "csat": float(rng.integers(1, 6)),
                "language": "ja" if any(ord(c) > 0x3000 for c in full) else "en",
                "themes": themed, "primary_theme": theme,
                "sentiment": float(np.mean(sents)),
                "sentiment_label": "negative" if np.mean(sents) < -0.2 else "positive" if np.mean(sents) > 0.2 else "neutral",
                "min_sentiment": float(min(sents)),
                "order_value": float(rng.integers(10, 200)),  # an unmapped pass-through column
            })
    records = pd.DataFrame(recs)
    records["nps"] = records["nps"].astype("Int64")
    records["ces"] = records["ces"].astype("Float64")
    records["csat"] = records["csat"].astype("Float64")
    return records, pd.DataFrame(ments)


def themes_table(mentions: pd.DataFrame, n_records: int) -> pd.DataFrame:
    rows = []
    for t, (label, *_rest, texts) in THEMES.items():
        m = mentions[mentions["theme"] == t]
        rows.append({"theme": t, "label": label, "keywords": "; ".join(label.split()[:2]),
                     "mentions": len(m), "records": m["voc_id"].nunique(),
                     "share": m["voc_id"].nunique() / max(n_records, 1),
                     "mean_sentiment": float(m["sentiment"].mean()) if len(m) else np.nan,
                     "negative_share": float((m["sentiment_label"] == "negative").mean()) if len(m) else np.nan,
                     "exemplars": " | ".join(texts[:2])})
    return pd.DataFrame(rows)


def _nps(s):
    s = pd.to_numeric(s, errors="coerce").dropna()
    return 100.0 * ((s >= 9).mean() - (s <= 6).mean()) if len(s) else np.nan


def touchpoints_table(records: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for tp, g in [("all", records), *records.groupby("touchpoint")]:
        n = int(g["nps"].notna().sum())
        v = _nps(g["nps"])
        rows.append({"touchpoint": tp, "records": len(g), "nps": v, "nps_ci_low": v - 15,
                     "nps_ci_high": v + 15, "nps_n": n,
                     "csat": 100 * float((g["csat"] >= 4).mean()), "ces": float(g["ces"].mean()),
                     "mean_sentiment": float(g["sentiment"].mean())})
    return pd.DataFrame(rows)


def pain_points_table(records: pd.DataFrame, mentions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    m = mentions.merge(records[["voc_id", "touchpoint"]], on="voc_id")
    m = pd.concat([m.assign(touchpoint="all"), m])
    records = pd.concat([records.assign(touchpoint="all"), records], ignore_index=True)
    for (tp, t), g in m[m["theme"] >= 0].groupby(["touchpoint", "theme"]):
        ids = set(g["voc_id"])
        has = records["voc_id"].isin(ids) & (records["touchpoint"] == tp)
        tpr = records[records["touchpoint"] == tp]
        with_, without = _nps(tpr.loc[has[tpr.index], "nps"]), _nps(tpr.loc[~has[tpr.index], "nps"])
        impact = (_nps(tpr["nps"]) - without) if pd.notna(without) else np.nan
        neg = float((g["sentiment_label"] == "negative").mean())
        rows.append({"touchpoint": tp, "theme": int(t), "label": THEMES[int(t)][0],
                     "mentions": len(g), "records": len(ids), "share": len(ids) / max(len(tpr), 1),
                     "negative_share": neg, "mean_sentiment": float(g["sentiment"].mean()),
                     "nps_with": with_, "nps_without": without, "nps_impact": impact,
                     "nps_impact_ci_low": impact - 8 if pd.notna(impact) else np.nan,
                     "nps_impact_ci_high": impact + 8 if pd.notna(impact) else np.nan,
                     "nps_impact_q": 0.01,
                     "pain_score": neg * len(ids) * max(-(impact if pd.notna(impact) else 0), 0.1),
                     "quotes": " | ".join(g["text"].drop_duplicates().head(3))})
    out = pd.DataFrame(rows).sort_values(["touchpoint", "pain_score"], ascending=[True, False])
    out["rank"] = out.groupby("touchpoint").cumcount() + 1
    return out.reset_index(drop=True)


def analysis_like(records: pd.DataFrame, mentions: pd.DataFrame, **run):
    """An Analysis-shaped object (attributes) for Store.write_run."""
    return types.SimpleNamespace(
        records=records, mentions=mentions, themes=themes_table(mentions, len(records)),
        touchpoints=touchpoints_table(records), pain_points=pain_points_table(records, mentions),
        run={"config": {"unit": "sentence", "min_n": 30}, "counts": {"records": len(records)}, **run},
        model=None,
    )


def weekly_analyses(n_weeks: int = 6, per_week: int = 60):
    """One Analysis-like object per week (as incremental weekly runs store them)."""
    records, mentions = make_frames(n_weeks, per_week)
    week = ((records["date"] - START).dt.days // 7).to_numpy()
    out = []
    for w in range(n_weeks):
        r = records[week == w].reset_index(drop=True)
        out.append(analysis_like(r, mentions[mentions["voc_id"].isin(r["voc_id"])].reset_index(drop=True)))
    return out


class TinyModel:
    """Stand-in for ThemeModel.save/load: JSON + .npz in a folder, no pickle."""

    def __init__(self, centroids=None, labels=None):
        self.centroids_ = np.asarray(centroids if centroids is not None else np.eye(3), dtype=np.float32)
        self.labels_ = list(labels or ["a", "b", "c"])

    def save(self, path):
        import json
        from pathlib import Path

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "model.json").write_text(json.dumps({"labels": self.labels_}, ensure_ascii=False),
                                         encoding="utf-8")
        np.savez(path / "arrays.npz", centroids=self.centroids_)

    @classmethod
    def load(cls, path):
        import json
        from pathlib import Path

        path = Path(path)
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        return cls(np.load(path / "arrays.npz")["centroids"], meta["labels"])
