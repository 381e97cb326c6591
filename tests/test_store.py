"""Tests of voc.store: transactions, incremental ids, read API, trends in SQL, lineage, model."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from voc import trends as T
from voc.errors import ConfigError, StoreError
from voc.store import TREND_METRICS, Store
from .weekly_fixtures import XSS, TinyModel, weekly_analyses


@pytest.fixture(scope="module")
def weeks():
    return weekly_analyses()


@pytest.fixture(scope="module")
def full_store(tmp_path_factory, weeks):
    store = Store(tmp_path_factory.mktemp("store") / "voc.duckdb")
    for i, a in enumerate(weeks):
        store.write_run(a, run_id=f"w{i}",
                        lineage=[{"theme": 5, "event": "new", "detail": "first seen"}] if i == 5 else None)
    return store


def test_runs_and_snapshots(full_store, weeks):
    runs = full_store.runs()
    assert runs["run_id"].tolist() == [f"w{i}" for i in range(6)]
    assert runs["n_records"].tolist() == [len(a.records) for a in weeks]
    assert runs["date_min"].iloc[0] == pd.Timestamp("2024-01-01 03:00")
    assert full_store.latest_run() == "w5"
    themes = full_store.themes()
    assert themes["theme"].tolist() == [0, 1, 2, 3, 5]
    assert themes["mentions"].tolist() == weeks[5].themes["mentions"].tolist()
    assert full_store.themes("w0")["mentions"].tolist() == weeks[0].themes["mentions"].tolist()
    app = full_store.pain_points(touchpoint="app")
    assert set(app["touchpoint"]) == {"app"} and app["rank"].tolist() == sorted(app["rank"])
    assert full_store.touchpoints()["touchpoint"].iloc[0] == "all"
    assert full_store.run_info("w2")["store"]["run_id"] == "w2"


def test_records_roundtrip_text_lists_and_extra_columns(full_store, weeks):
    recs = full_store.records()
    src = pd.concat([a.records for a in weeks], ignore_index=True)
    assert len(recs) == len(src) and full_store.known_ids() == set(src["voc_id"])
    got = recs.set_index("voc_id").loc[src["voc_id"]]
    assert got["text"].tolist() == src["text"].tolist()          # Japanese and <script> unchanged
    assert any(XSS in t for t in got["text"]) and any("配送" in t for t in got["text"])
    assert [list(x) for x in got["themes"]] == src["themes"].tolist()
    assert np.allclose(got["order_value"], src["order_value"])   # pass-through column kept
    assert got["nps"].isna().sum() == src["nps"].isna().sum()
    assert len(full_store.mentions()) == sum(len(a.mentions) for a in weeks)
    assert set(full_store.records("w3")["run_id"]) == {"w3"}


def test_rewriting_known_records_adds_nothing(tmp_path, weeks):
    store = Store(tmp_path / "s.duckdb")
    store.write_run(weeks[0], run_id="a")
    before = (store.runs(), store.records(), store.mentions())
    assert store.write_run(weeks[0], run_id="b") is None           # same dump again
    for a, b in zip(before, (store.runs(), store.records(), store.mentions())):
        pd.testing.assert_frame_equal(a, b)
    both = {k: pd.concat([getattr(weeks[0], k), getattr(weeks[1], k)], ignore_index=True)
            for k in ("records", "mentions")}                      # an overlapping dump
    store.write_run({**vars(weeks[1]), **both}, run_id="c")
    assert store.run_info("c")["store"]["records_skipped"] == len(weeks[0].records)
    assert store.runs()["n_records"].tolist() == [len(weeks[0].records), len(weeks[1].records)]
    assert len(store.mentions()) == len(weeks[0].mentions) + len(weeks[1].mentions)
    assert set(store.records("c")["voc_id"]) == set(weeks[1].records["voc_id"])


def test_interrupted_write_leaves_store_unchanged(tmp_path, weeks, monkeypatch):
    import voc.store.write as S

    store = Store(tmp_path / "s.duckdb")
    store.write_run(weeks[0], run_id="w0")
    snap = (store.runs(), store.records(), store.mentions(), store.themes(), store.pain_points())
    real = S._insert_frame

    def failing(con, table, frame, **kw):
        if table == "pain_points":                  # after records, mentions, themes, touchpoints
            raise RuntimeError("disk full (injected)")
        return real(con, table, frame, **kw)

    monkeypatch.setattr(S, "_insert_frame", failing)
    with pytest.raises(RuntimeError, match=r"disk full \(injected\)"):
        store.write_run(weeks[1], run_id="w1")
    monkeypatch.setattr(S, "_insert_frame", real)
    after = (store.runs(), store.records(), store.mentions(), store.themes(), store.pain_points())
    for a, b in zip(snap, after):
        pd.testing.assert_frame_equal(a, b)
    assert "w1" not in set(store.runs()["run_id"])
    store.write_run(weeks[1], run_id="w1")        # and the store still works
    assert store.runs()["run_id"].tolist() == ["w0", "w1"]


def test_killed_writer_leaves_store_unchanged(tmp_path, weeks):
    """A writer process killed (SIGKILL) in the middle of write_run commits nothing."""
    path = tmp_path / "s.duckdb"
    store = Store(path)
    store.write_run(weeks[0], run_id="w0")
    before = (store.runs(), store.records(), store.mentions())
    weeks[1].records.to_parquet(tmp_path / "r.parquet")   # hand-over to the child process
    weeks[1].mentions.to_parquet(tmp_path / "m.parquet")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, pandas as pd
        import voc.store.write as S
        from voc.store import Store
        real = S._insert_frame
        def slow(con, table, frame, **kw):
            real(con, table, frame, **kw)
            if table == "mentions":
                print("mid-write", flush=True)
                time.sleep(60)
        S._insert_frame = slow
        Store({str(path)!r}).write_run({{"records": pd.read_parquet({str(tmp_path / "r.parquet")!r}),
                                         "mentions": pd.read_parquet({str(tmp_path / "m.parquet")!r})}},
                                        run_id="w1")
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "mid-write"
    finally:
        child.kill()
        child.wait(timeout=30)
    for a, b in zip(before, (store.runs(), store.records(), store.mentions())):
        pd.testing.assert_frame_equal(a, b)
    store.write_run(weeks[1], run_id="w1")
    assert store.runs()["run_id"].tolist() == ["w0", "w1"]


def test_duplicate_run_id_is_refused(tmp_path, weeks):
    store = Store(tmp_path / "s.duckdb")
    store.write_run(weeks[0], run_id="x")
    with pytest.raises(StoreError, match=r"Run 'x' is already in the store; pick another run_id\."):
        store.write_run(weeks[1], run_id="x")
    assert store.runs()["run_id"].tolist() == ["x"]


def test_second_writer_gets_a_clear_error(tmp_path, weeks):
    path = tmp_path / "s.duckdb"
    Store(path).write_run(weeks[0], run_id="w0")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        busy = Store(path, timeout=0.3)
        with pytest.raises(StoreError, match=r"is in use by another voc process; retry later \(waited 0\.3s\)"):
            busy.write_run(weeks[1], run_id="w1")
        with pytest.raises(StoreError, match="in use by another voc process"):
            busy.runs()
    finally:
        holder.communicate("", timeout=30)
    assert Store(path).runs()["run_id"].tolist() == ["w0"]


def test_missing_store():
    with pytest.raises(StoreError, match=r"No store at 'nowhere\.duckdb'\. Write a run first"):
        Store("nowhere.duckdb").runs()
    assert Store("nowhere.duckdb").known_ids() == set()
    assert Store("nowhere.duckdb").load_model() is None


@pytest.fixture(scope="module")
def stored_frames(full_store):
    return full_store.records(), full_store.mentions()


@pytest.mark.parametrize("metric", TREND_METRICS)
@pytest.mark.parametrize("theme,touchpoint", [(None, None), (1, None), (0, "delivery"), (5, None)])
def test_sql_trend_equals_frame_trend(full_store, stored_frames, metric, theme, touchpoint):
    if metric.endswith("_impact") and theme is None:
        return
    got = full_store.trend(metric, theme=theme, touchpoint=touchpoint)
    want = T.metric_trend(*stored_frames, metric, theme=theme, touchpoint=touchpoint)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-9)
    assert len(got) == 6


def test_trend_volume_by_hand(full_store, weeks):
    got = full_store.trend("volume", theme=5)
    assert got["value"].tolist() == [0, 0, 0, 0, 0, sum(5 in t for t in weeks[5].records["themes"])]
    assert got["n"].tolist() == [len(a.records) for a in weeks]
    assert full_store.trend("volume", freq="M")["value"].tolist() == [
        sum(len(a.records) for a in weeks[:5]) - 0 - int((weeks[4].records["date"] >= "2024-02-01").sum()),
        len(weeks[5].records) + int((weeks[4].records["date"] >= "2024-02-01").sum())]


def test_trend_csat_and_ces_by_hand(full_store, weeks):
    for i, a in enumerate(weeks):
        r = a.records
        has = r["themes"].apply(lambda t: 1 in t)
        csat, ces = r["csat"].astype(float), r["ces"].astype(float)
        assert full_store.trend("csat")["value"][i] == pytest.approx(100 * (csat >= 4).mean())
        assert full_store.trend("csat", csat_satisfied_from=5)["value"][i] == pytest.approx(100 * (csat >= 5).mean())
        assert full_store.trend("ces", theme=1)["value"][i] == pytest.approx(ces[has].mean())
        assert full_store.trend("ces", theme=1)["n"][i] == int(has.sum())
        impact = 100 * (csat >= 4).mean() - 100 * (csat[~has] >= 4).mean()
        assert full_store.trend("csat_impact", theme=1)["value"][i] == pytest.approx(impact)
        assert full_store.trend("ces_impact", theme=1)["value"][i] == pytest.approx(ces.mean() - ces[~has].mean())


def test_pain_points_of_unknown_touchpoint_and_of_a_run_without_any(full_store, tmp_path, weeks):
    with pytest.raises(StoreError, match=r"Unknown touchpoint 'nope' in run 'w5'\. Known touchpoints: all, app, "
                                         r"checkout, delivery, support\."):
        full_store.pain_points(touchpoint="nope")
    store = Store(tmp_path / "empty-pains.duckdb")
    store.write_run(weeks[0], run_id="a")
    store.write_run({**vars(weeks[1]), "pain_points": weeks[1].pain_points.iloc[:0]}, run_id="b")
    empty = store.pain_points()                                   # run b has none: the schema stays
    assert empty.empty and list(empty.columns) == list(store.pain_points("a").columns)
    assert len(empty.columns) == len(weeks[0].pain_points.columns)
    assert list(store.pain_points(touchpoint="app").columns) == list(empty.columns)


def test_trend_errors(full_store):
    with pytest.raises(ConfigError, match=r"Unknown trend metric 'nsp'\. Allowed: volume, mentions, "
                                          r"negative_share, sentiment, nps, nps_impact, csat, csat_impact, "
                                          r"ces, ces_impact\."):
        full_store.trend("nsp")
    for metric in ("nps_impact", "csat_impact", "ces_impact"):
        with pytest.raises(ConfigError, match=rf"Trend metric '{metric}' needs a theme: pass theme=<id>\."):
            full_store.trend(metric)
    with pytest.raises(ConfigError, match=r"Unknown freq 'Q'\. Allowed: D, W, M\."):
        full_store.trend("volume", freq="Q")


def test_model_blobs_roundtrip_and_follow_runs(tmp_path, weeks):
    store = Store(tmp_path / "s.duckdb")
    store.write_run(weeks[0], run_id="a")
    assert store.load_model(cls=TinyModel) is None
    m1 = TinyModel(np.arange(6).reshape(2, 3), ["配送", XSS])
    store.write_run({**vars(weeks[1]), "model": m1}, run_id="b")
    store.write_run({**vars(weeks[2]), "model": TinyModel(labels=["later"])}, run_id="c")
    assert store.load_model(cls=TinyModel).labels_ == ["later"]
    got = store.load_model("b", cls=TinyModel)
    assert got.labels_ == ["配送", XSS] and np.array_equal(got.centroids_, m1.centroids_)
    store.delete_run("c")
    assert store.load_model(cls=TinyModel).labels_ == ["配送", XSS]


def test_lineage_and_delete_run(tmp_path, weeks):
    store = Store(tmp_path / "s.duckdb")
    store.write_run(weeks[0], run_id="a")
    store.write_run(weeks[5], run_id="b", lineage=pd.DataFrame({"theme": [5], "event": ["new"]}))
    store.add_lineage([{"theme": 2, "event": "merged", "detail": "into 1"}], run_id="b")
    lin = store.lineage()
    assert lin[["theme", "event", "run_id", "detail"]].values.tolist() == [
        [5, "new", "b", ""], [2, "merged", "b", "into 1"]]
    assert lin["date_max"].iloc[0] == weeks[5].records["date"].max()
    with pytest.raises(StoreError, match=r"Unknown lineage event\(s\) \['split'\]\. Allowed: new, merged, retired, moved\."):
        store.add_lineage([{"theme": 1, "event": "split"}], run_id="b")
    with pytest.raises(StoreError, match=r"Unknown run 'zz'\. Known runs: a, b\."):
        store.add_lineage([{"theme": 1, "event": "new"}], run_id="zz")
    store.delete_run("b")
    assert store.runs()["run_id"].tolist() == ["a"]
    assert store.lineage().empty and len(store.records()) == len(weeks[0].records)
    assert store.known_ids() == set(weeks[0].records["voc_id"])
    with pytest.raises(StoreError, match=r"Unknown run 'b'\. Known runs: a\."):
        store.delete_run("b")


def test_write_run_needs_frames(tmp_path):
    with pytest.raises(StoreError, match="write_run needs a 'records' DataFrame; got NoneType"):
        Store(tmp_path / "s.duckdb").write_run({"mentions": pd.DataFrame()})


@pytest.mark.slow
def test_weekly_runs_end_to_end_on_the_sample(tmp_path, fake_embedder):
    """The sample as weekly dumps through voc.analyze and the store (FakeEmbedder)."""
    import voc
    from voc.config import Config
    from voc.pipeline import analyze
    from voc.report import write_report

    df = voc.load_feedback(voc.sample_path())
    week = T.periods(df["date"])
    weeks = sorted(week.unique())[:4]
    store = Store(tmp_path / "voc.duckdb")
    config = Config(n_bootstrap=50, cache_dir="", ces_scale=(1, 7), ces_direction="higher_is_easier")
    # fit week 0 without UMAP (n_components=None) to keep the test fast; later weeks assign
    from voc.segment import detect_languages, keyword_tokens, segment
    from voc.themes import ThemeModel

    first = df[week == weeks[0]].assign(language=lambda d: detect_languages(d["text"].fillna("").tolist()))
    units = segment(first[["voc_id", "text", "language"]])
    texts, langs = units["text"].tolist(), units["language"].tolist()
    fitted = ThemeModel(n_components=None, random_state=0).fit(
        fake_embedder.embed(texts), texts, keyword_tokens(texts, langs), languages=langs)
    first_themes = None
    for i, w in enumerate(weeks):
        dump = df[(week >= weeks[max(i - 1, 0)]) & (week <= w)]          # overlapping dumps
        new = dump[~dump["voc_id"].isin(store.known_ids(dump["voc_id"]))]
        assert len(new) == (week == w).sum()
        model = store.load_model() if i else fitted
        result = analyze(new, config=config, model=model, embedder=fake_embedder)
        store.write_run(result, run_id=f"w{i}")
        themes = store.load_model().themes_[["theme", "label"]]
        if first_themes is None:
            first_themes = themes
            assert len(themes) >= 3
        pd.testing.assert_frame_equal(themes, first_themes)            # ids and labels stay put
    assert len(store.records()) == int(week.isin(weeks).sum())
    before = (store.records(), store.mentions())
    assert store.write_run(result, run_id="again") is None             # same dump again: nothing new
    assert "again" not in set(store.runs()["run_id"])
    pd.testing.assert_frame_equal(store.records(), before[0])
    pd.testing.assert_frame_equal(store.mentions(), before[1])
    trend = store.trend("volume")
    assert trend["value"].tolist() == [int((week == w).sum()) for w in weeks]
    paths = write_report(store, tmp_path / "report")
    assert "Top pain points" in paths["md"].read_text(encoding="utf-8")


def test_timezone_aware_dates_are_stored_as_utc(tmp_path, weeks):
    a = weeks[0]
    jst = a.records.assign(date=a.records["date"].dt.tz_localize("Asia/Tokyo"))
    store = Store(tmp_path / "s.duckdb")
    store.write_run({**vars(a), "records": jst}, run_id="jst")
    got = store.records().set_index("voc_id").loc[a.records["voc_id"], "date"]
    want = (a.records["date"] - pd.Timedelta(hours=9)).tolist()
    assert got.tolist() == want
    assert store.runs()["date_min"].iloc[0] == min(want)
    assert store.mentions().groupby("voc_id")["date"].first().loc[a.records["voc_id"]].tolist() == want


def test_store_from_before_topics_accepts_levels_and_complaint_columns(tmp_path, weeks):
    """A store whose pain_points table predates level/topic/complaint columns takes a new run."""
    import types

    from voc.config import Config
    from voc.rank import rank_pain_points, theme_rows

    store = Store(tmp_path / "voc.duckdb")
    store.write_run(weeks[0], run_id="old")  # the old table: no level, topic, complaint_* columns
    new = weeks[1]
    mentions = new.mentions.assign(topic=new.mentions["theme"].map(lambda t: t // 2 if t >= 0 else -1))
    pain = rank_pain_points(new.records, mentions, new.themes, config=Config(n_bootstrap=50))
    assert pain["theme"].isna().any() and "complaint_nps_impact" in pain
    store.write_run(types.SimpleNamespace(**{**vars(new), "mentions": mentions, "pain_points": pain}),
                    run_id="new")

    got = store.pain_points("new")
    assert len(got) == len(pain) and {"level", "topic", "complaint_records", "rank_metric"} <= set(got.columns)
    assert got.loc[got["level"] == "topic", "theme"].isna().all()
    assert got.loc[got["level"] == "theme", "theme"].notna().all()
    np.testing.assert_allclose(got["complaint_nps_impact"].sort_values(), pain["complaint_nps_impact"].sort_values())
    for _, g in got.groupby("touchpoint", sort=False):  # topic rows first, each level ranked 1..n
        assert g["level"].tolist() == sorted(g["level"], key=["topic", "theme"].index)
        for _, lv in g.groupby("level"):
            assert lv["rank"].tolist() == list(range(1, len(lv) + 1))
    old = store.pain_points("old")
    assert "level" not in old.columns and len(theme_rows(old)) == len(weeks[0].pain_points)


# ------------------------------------------------------------- concurrent writers
_TOPICS = {
    "delivery": "parcel delivery arrived late courier box",
    "app": "mobile app crashed login screen freeze",
    "support": "support agent helpful friendly answered",
    "refund": "refund money returned waiting bank weeks",
    "password": "password reset email link expired token",
}


def _topic_dump(topics, n, start, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic = topics[i % len(topics)]
        words = rng.permutation(_TOPICS[topic].split())[:4]
        rows.append({"id": f"{topic}-{start + i}", "text": " ".join(words) + ".", "nps": int(rng.integers(11))})
    return pd.DataFrame(rows)


# A weekly run in its own process (fake embedder and scorer). It marks when it
# has read the stored model and, before writing, waits a little for the other
# writer to have read it too: without a writer lock both then assign new
# themes to the same stored model (the race of issue 19, item 1).
_WRITER = """
import pathlib, sys, time
sys.path.insert(0, {root!r})
import voc.embed, voc.sentiment
from voc.config import Config
from voc.pipeline import run_store
from voc.store import Store
from tests.conftest import FakeEmbedder
from tests.test_hardening import FakeScorer

voc.embed.get_embedder = lambda *a, **k: FakeEmbedder()
voc.sentiment.get_scorer = lambda *a, **k: FakeScorer()
me, other, dump, store, flags = sys.argv[1:6]
flags = pathlib.Path(flags)
real_load, real_write = Store.load_model, Store.write_run

def load_model(self, *a, **k):
    model = real_load(self, *a, **k)
    (flags / f"loaded-{{me}}").touch()
    return model

def write_run(self, *a, **k):
    deadline = time.monotonic() + 4
    while not (flags / f"loaded-{{other}}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return real_write(self, *a, **k)

Store.load_model, Store.write_run = load_model, write_run
(flags / f"started-{{me}}").touch()
while not (flags / f"started-{{other}}").exists():
    time.sleep(0.05)
result = run_store(dump, Store(store, timeout=300),
                   config=Config(embedder="fake", cache_dir="", n_bootstrap=20))
print(" ".join(map(str, result.run["emerging_themes"])), flush=True)
"""


@pytest.mark.slow  # two processes that segment with spaCy: ~30 s
def test_two_concurrent_weekly_runs_never_give_a_theme_id_two_meanings(tmp_path, fake_embedder):
    """Two real processes write one store at once: the second waits for the
    first's writer lock, then assigns to the model the first extended, so
    each new theme gets its own id and no lineage event is lost."""
    from pathlib import Path

    from tests.test_hardening import FakeScorer
    from voc.config import Config
    from voc.io import load_feedback
    from voc.pipeline import analyze
    from voc.segment import keyword_tokens, segment
    from voc.themes import ThemeModel

    path = tmp_path / "s.duckdb"
    base = load_feedback(_topic_dump(["delivery", "app", "support"], 90, 0, 0))
    units = segment(base[["voc_id", "text"]])
    texts = units["text"].tolist()
    fitted = ThemeModel(n_components=None, random_state=0).fit(   # no UMAP: fast in every process
        fake_embedder.embed(texts), texts, keyword_tokens(texts, units["language"].tolist()))
    fitted.embedder_name_ = fake_embedder.name
    first = analyze(base, config=Config(cache_dir="", n_bootstrap=20), model=fitted,
                    embedder=fake_embedder, scorer=FakeScorer())
    store = Store(path)
    store.write_run(first, run_id="base", lineage=[{"theme": t, "event": "new", "detail": "initial fit"}
                                                   for t in range(fitted.n_themes_)])
    k = fitted.n_themes_
    _topic_dump(["refund"], 30, 1000, 1).to_csv(tmp_path / "c.csv", index=False)
    _topic_dump(["password"], 30, 2000, 2).to_csv(tmp_path / "d.csv", index=False)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=str(Path(__file__).resolve().parents[1])), encoding="utf-8")
    children = [subprocess.Popen([sys.executable, str(script), me, other, str(tmp_path / f"{me}.csv"),
                                  str(path), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
                for me, other in (("c", "d"), ("d", "c"))]
    outputs = [child.communicate(timeout=600) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err[-3000:]
    emerging = [[int(t) for t in out.split()] for out, _ in outputs]
    assert all(emerging) and not set(emerging[0]) & set(emerging[1]), emerging   # own new ids each
    runs = store.runs()["run_id"].tolist()
    assert len(runs) == 3
    model = store.load_model()
    assert sorted(sum(emerging, [])) == list(range(k, model.n_themes_))   # the last model has all of them
    labels = {}                                              # theme id -> every label it was given
    for run in runs:
        for row in store.themes(run).itertuples():
            if row.theme >= 0:
                labels.setdefault(row.theme, set()).add(row.label)
    for row in model.themes_.itertuples():
        labels.setdefault(row.theme, set()).add(row.label)
    assert all(len(v) == 1 for v in labels.values()), labels   # no id with two meanings
    lineage = store.lineage()
    new = lineage[(lineage["event"] == "new") & (lineage["level"] == "theme")]  # topic rows hold topic ids
    assert sorted(new["theme"]) == list(range(model.n_themes_))   # no lost or doubled "new" event
    mentions = store.mentions()
    for (out, _), topic in zip(outputs, ("refund", "password")):  # each run's mentions under its own themes
        got = mentions[mentions["voc_id"].str.startswith(topic)]["theme"]
        own = {int(t) for t in out.split()}
        new_theme = got[got >= k]
        assert len(new_theme) and new_theme.isin(own).all(), (topic, got.value_counts())


def test_schema_creation_is_idempotent_and_migrates_an_old_store(tmp_path, weeks):
    """voc.store.schema.create_schema only adds: an older store file (lineage without its
    ``level`` column, written before topics) keeps its rows and takes new runs."""
    import duckdb

    from voc.store.schema import BASE_COLUMNS, BASE_SCHEMA, SCHEMA_VERSION, TABLES, create_schema

    assert set(BASE_SCHEMA) == set(TABLES) and {"run_id", "voc_id", "nps", "themes"} <= BASE_COLUMNS
    path = tmp_path / "old.duckdb"
    store = Store(path)
    store.write_run(weeks[0], run_id="w0", lineage=[{"theme": 1, "event": "new"}])
    con = duckdb.connect(str(path))
    try:
        con.execute("ALTER TABLE lineage DROP COLUMN level")      # as a store written before topics
        create_schema(con)
        create_schema(con)                                        # twice: nothing changes
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION),)]
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == len(weeks[0].records)
        con.execute("ALTER TABLE lineage DROP COLUMN level")
    finally:
        con.close()
    assert store.lineage()["level"].tolist() == ["theme"]           # read before any migration
    store.write_run(weeks[1], run_id="w1", lineage=[{"theme": 3, "event": "moved", "level": "topic"}])
    lineage = store.lineage()
    assert lineage["run_id"].tolist() == ["w0", "w1"] and lineage["level"].tolist() == ["theme", "topic"]
    assert store.runs()["run_id"].tolist() == ["w0", "w1"]


def test_write_run_reads_a_mapping_and_an_object_alike(tmp_path, weeks):
    """write_run and write_run_chunks share one accessor: keys of a mapping, attributes of an object."""
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    a.write_run(weeks[0], run_id="w0")
    b.write_run(dict(vars(weeks[0])), run_id="w0")
    for read in ("records", "mentions", "themes", "touchpoints", "pain_points"):
        pd.testing.assert_frame_equal(getattr(a, read)(), getattr(b, read)())
    assert a.run_info("w0") == b.run_info("w0")


def test_memory_limit_reaches_every_connection_and_snapshots(tmp_path, weeks):
    store = Store(tmp_path / "s.duckdb", memory_limit="300MB")
    store.write_run(weeks[0], run_id="w0")

    def limit(s):
        return s._query("SELECT current_setting('memory_limit') AS v")["v"].iloc[0]

    assert limit(store) == "286.1 MiB"  # DuckDB shows 300 MB (10^6 bytes) in MiB
    assert limit(store.snapshot(tmp_path / "snap")) == "286.1 MiB"
    default, unlimited = Store(store.path), Store(store.path, memory_limit=None)
    assert limit(default) == "953.6 MiB"  # MEMORY_LIMIT, 1GB
    assert limit(unlimited) not in ("953.6 MiB", "286.1 MiB")  # DuckDB's own default
