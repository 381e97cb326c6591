"""Hardening, round two (issue 19): the theme model file never chooses the
embedder, outsized records are bounded, and the config is validated up front.
(Concurrent store writers: tests/test_store.py; model.json fields:
tests/test_themes.py.)"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import voc
import voc.embed
from voc.rank import theme_rows
import voc.sentiment
from voc import columns as C
from voc.cli import main
from voc.config import Config
from voc.errors import ModelError
from voc.pipeline import analyze
from voc.store import Store
from tests.conftest import FakeEmbedder
from tests.test_hardening import FakeScorer, _assert_clean_exit

TEXTS = ["The parcel was late again.", "The app crashed at login.", "Support was friendly and quick.",
         "Refund took three weeks.", "Checkout failed with my card."]


def _dump(tmp_path, n=60, name="dump.csv"):
    rows = [{"id": f"r{i}", "text": TEXTS[i % len(TEXTS)] + f" Order {i}.", "nps": i % 11} for i in range(n)]
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ item 4: the model file


@pytest.fixture
def load_attempts(monkeypatch):
    """Every sentence-transformers model load is recorded and blocked."""
    import sentence_transformers

    attempts = []

    class Spy:
        def __init__(self, *args, **kwargs):
            attempts.append(args[0] if args else kwargs.get("model_name_or_path"))
            raise RuntimeError("blocked: a sentence-transformers model load was attempted")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Spy)
    monkeypatch.setattr(voc.sentiment, "get_scorer", lambda *a, **k: FakeScorer())
    return attempts


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """An analysis with a theme model fitted on the fake embedder (no UMAP: fast)."""
    from voc.segment import keyword_tokens, segment
    from voc.themes import ThemeModel

    df = voc.load_feedback(_dump(tmp_path_factory.mktemp("fit"), name="fit.csv"))
    units = segment(df[[C.VOC_ID, C.TEXT]])
    texts = units[C.TEXT].tolist()
    model = ThemeModel(n_components=None, random_state=0).fit(
        FakeEmbedder().embed(texts), texts, keyword_tokens(texts, units[C.LANGUAGE].tolist()))
    model.embedder_name_ = FakeEmbedder.name
    return analyze(df, config=Config(cache_dir="", n_bootstrap=20), model=model, embedder=FakeEmbedder(),
                   scorer=FakeScorer())


def _evil_folder(tmp_path):
    folder = tmp_path / "evil-model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]", encoding="utf-8")  # looks like a saved sentence-transformers model
    return str(folder)


@pytest.mark.parametrize("recorded", ["st:attacker-org/evil-model", "attacker-org/evil-model", "LOCAL", "st:LOCAL"])
@pytest.mark.parametrize("where", ["model-folder", "store"])
def test_a_tampered_model_never_chooses_what_is_loaded(tmp_path, fitted, load_attempts, recorded, where):
    recorded = recorded.replace("LOCAL", _evil_folder(tmp_path))
    fitted = copy.copy(fitted)
    fitted.model = copy.deepcopy(fitted.model)
    dump = _dump(tmp_path)
    if where == "model-folder":
        path = fitted.model.save(tmp_path / "m")
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        (path / "model.json").write_text(json.dumps({**meta, "embedder_name": recorded}), encoding="utf-8")
        args = ["run", str(dump), "--out", str(tmp_path / "out"), "--model", str(path), "--quiet"]
    else:
        fitted.model.embedder_name_ = recorded
        Store(tmp_path / "s.duckdb").write_run(fitted)
        args = ["run", str(_dump(tmp_path, n=80, name="more.csv")), "--store", str(tmp_path / "s.duckdb"),
                "--quiet"]
    for extra in ([], ["--embedder", "minilm"]):
        result = CliRunner().invoke(main, args + extra)
        assert load_attempts == []                       # nothing was loaded because the model said so
        _assert_clean_exit(result, 2)
        assert f"fitted on '{recorded}' embeddings but this run uses 'minilm'" in result.output
        assert f"Pass --embedder {recorded} (only if you trust that model)" in result.output
    assert not (tmp_path / "out").exists()


def test_the_run_embedder_is_the_users_choice():
    from voc.pipeline import run_embedder_name

    class Model:
        embedder_name_ = "st:attacker-org/evil-model"

    assert run_embedder_name(Config(embedder="st:attacker-org/evil-model"), Model(), ["en"]) == \
        "st:attacker-org/evil-model"                     # the user may choose it
    with pytest.raises(ModelError, match="fitted on 'st:attacker-org/evil-model' embeddings but this run "
                                         "uses 'use-multilingual'"):
        run_embedder_name(Config(), Model(), ["ja"])
    Model.embedder_name_ = "use-multilingual"            # voc's own packaged embedders may stay
    assert run_embedder_name(Config(), Model(), ["en"]) == "use-multilingual"
    Model.embedder_name_ = None
    assert run_embedder_name(Config(), Model(), ["en"]) == "minilm"
    assert run_embedder_name(Config(), None, ["ja", "en"]) == "use-multilingual"


# ------------------------------------------------------------------ item 7: the config


@pytest.mark.parametrize("line, message", [
    ('confidence = "high"', r"'confidence' must be a number in \[0.5, 1\)\. Got 'high' \(str\)"),
    ("confidence = 1.5", r"'confidence' must be a number in \[0.5, 1\)\. Got 1.5"),
    ('csat_threshold = "4"', r"'csat_threshold' must be an integer on the CSAT scale or None\. Got '4' \(str\)"),
    ("csat_threshold = 9", r"'csat_threshold' must lie in \(1, 5\]\. Got 9"),
    ("cache_dir = 5", r"'cache_dir' must be a folder path \(a string\).*Got 5 \(int\)"),
    ("edits = 5", r"'edits' must be the path of a YAML edits file \(a string\)\. Got 5 \(int\)"),
    ("random_state = -1", r"'random_state' must be an integer from 0 to 4294967295\. Got -1 \(int\)"),
    ("random_state = 12345678901234567890", r"'random_state' must be an integer from 0 to 4294967295"),
    ("random_state = 1.5", r"'random_state' must be an integer .* Got 1.5 \(float\)"),
    ("n_bootstrap = 1000000000000", r"'n_bootstrap' must be an integer from 1 to 100000\. Got 1000000000000"),
    ('redact = "false"', r"'redact' must be true or false \(not a string\)\. Got 'false' \(str\)"),
    ("redact = 1", r"'redact' must be true or false .* Got 1 \(int\)"),
    ('unit = "word"', r"'unit' must be one of sentence, record\. Got 'word'"),
    ("unit = 5", r"'unit' must be one of sentence, record\. Got 5 \(int\)"),
    ('ces_direction = "up"', r"'ces_direction' must be one of higher_is_easier, lower_is_easier\. Got 'up'"),
    ('ces_scale = [1, "7"]', r"'ces_scale' must be two integers \[low, high\] with low < high"),
    ("ces_scale = [7, 1]", r"'ces_scale' must be two integers \[low, high\] with low < high"),
    ("csat_scale = 5", r"'csat_scale' must be two integers"),
    ("min_n = true", r"'min_n' must be a positive integer\. Got True \(bool\)"),
    ("min_n = 0", r"'min_n' must be a positive integer\. Got 0"),
    ("fit_sample = 2.5", r"'fit_sample' must be a positive integer\. Got 2.5"),
    ("min_theme_size = 1", r"'min_theme_size' must be an integer >= 2 or None\. Got 1"),
    ("split_polarity = nan", r"'split_polarity' must be a share in \(0, 0.5\] or None\. Got nan"),
    ("embedder = 3", r"'embedder' must be an embedder name"),
    ('sentiment = ""', r"'sentiment' must be a scorer name"),
    ("max_units_per_record = 0", r"'max_units_per_record' must be an integer from 1 to 100000 or None"),
    ("redact_patterns = 5", r"'redact_patterns' must be a table of name = regex"),
    ('redact_patterns = { order = "(" }', r"Redaction pattern 'order' is not a valid regular expression"),
    ("extra = 5", r"'extra' must be a table"),
    ("colour = 5", r"Unknown config option\(s\): colour\. Allowed: unit, .*Remove it or fix its spelling"),
    ("radact = true", r"Unknown config option\(s\): radact\..* Did you mean 'redact'\?"),
    ("[misc]\nx = 1", r"Unknown config option\(s\): misc"),
    ("voc = 5", r"'voc' must be a table \(\[voc\] followed by options\)\. Got 5"),
    ("colour = [1]\n[voc]\nunit = \"record\"", r"unknown top-level key\(s\) colour next to the \[voc\] table"),
    ("unit = ", r"is not valid TOML"),
])
def test_every_bad_config_value_is_a_clear_error(tmp_path, line, message):
    path = tmp_path / "voc.toml"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(voc.ConfigError, match=rf"Config file '{re.escape(str(path))}'.*{message}"):
        Config.from_toml(path)


def test_a_non_utf8_config_is_a_clear_error(tmp_path):
    path = tmp_path / "voc.toml"
    path.write_bytes('unit = "sentence"\n# 設定\n'.encode("shift_jis"))
    with pytest.raises(voc.ConfigError, match=r"is not UTF-8 text \(byte 0x90 at position 20\)\. Save it as UTF-8\."):
        Config.from_toml(path)
    path.write_bytes(b'\xef\xbb\xbfunit = "record"\n')                     # a BOM is fine
    assert Config.from_toml(path).unit == "record"


def test_good_configs_still_load(tmp_path):
    path = tmp_path / "voc.toml"
    path.write_text('[voc]\nunit = "record"\ncsat_scale = [1, 7]\ncsat_threshold = 6\nredact = true\n'
                    'random_state = 4294967295\nn_bootstrap = 100000\nmax_units_per_record = 10\n'
                    '[voc.redact_patterns]\norder_id = "ORD-[0-9]+"\n', encoding="utf-8")
    config = Config.from_toml(path)
    assert (config.unit, config.csat_scale, config.csat_threshold, config.redact) == ("record", (1, 7), 6, True)
    assert config.redact_patterns == {"order_id": "ORD-[0-9]+"} and config.max_units_per_record == 10
    assert Config(random_state=np.int64(3), confidence=np.float32(0.9)).to_dict()["random_state"] == 3
    json.dumps(Config(random_state=np.int64(3), confidence=np.float32(0.9)).to_dict())


@pytest.mark.parametrize("line, message", [
    ('edits = "missing.yaml"', "missing.yaml"),
    ("n_bootstrap = 1000000000000", "'n_bootstrap' must be an integer from 1 to 100000"),
    ('redact = "false"', "'redact' must be true or false"),
    ("random_state = -1", "'random_state' must be an integer from 0 to 4294967295"),
])
def test_voc_run_rejects_a_bad_config_before_any_work(tmp_path, monkeypatch, line, message):
    """Exit code 2, one line, no traceback, and nothing read, segmented or embedded."""
    import voc.io
    import voc.segment

    def no_work(*a, **k):
        raise AssertionError("work started before the config was checked")

    monkeypatch.setattr(voc.io, "load_feedback", no_work)
    monkeypatch.setattr(voc.segment, "segment", no_work)
    monkeypatch.setattr(voc.embed, "get_embedder", no_work)
    (tmp_path / "voc.toml").write_text(line + "\n", encoding="utf-8")
    for mode in (["--out", str(tmp_path / "out")], ["--store", str(tmp_path / "s.duckdb")]):
        result = CliRunner().invoke(main, ["run", str(_dump(tmp_path)), *mode, "--quiet",
                                           "--config", str(tmp_path / "voc.toml")])
        _assert_clean_exit(result, 2)
        assert message in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.duckdb").exists()


def test_bad_flags_are_clear_errors_too(tmp_path):
    result = CliRunner().invoke(main, ["run", str(_dump(tmp_path)), "--out", str(tmp_path / "o"),
                                       "--random-state", "12345678901234567890"])
    _assert_clean_exit(result, 2)
    assert "'random_state' must be an integer from 0 to 4294967295" in result.output
    assert "--random-state" in result.output


# ------------------------------------------------------------------ item 6: outsized records


def test_one_outsized_record_contributes_a_bounded_number_of_units(fitted):
    long = "The parcel was late and the box was crushed. " * 22_000          # ~1 MB, ~22,000 sentences
    rows = [{"text": long, "nps": 0}] + [{"text": TEXTS[i % 5] + f" Order {i}.", "nps": i % 11} for i in range(120)]
    df = voc.load_feedback(pd.DataFrame(rows))
    result = analyze(df, config=Config(cache_dir="", n_bootstrap=20), model=copy.deepcopy(fitted.model),
                     embedder=FakeEmbedder(), scorer=FakeScorer())
    big = result.mentions[result.mentions[C.VOC_ID] == df[C.VOC_ID].iloc[0]]
    assert len(big) == 50 and big[C.UNIT].tolist() == list(range(50))   # the first 50 units
    assert result.records[C.TEXT].iloc[0] == long                         # the record itself is whole
    assert ("1 record(s) had more than 50 units (sentences/clauses); only the first 50 of each were "
            "analysed") in " ".join(result.run["warnings"])
    assert result.run["config"]["max_units_per_record"] == 50
    themes = result.themes[result.themes[C.THEME] != -1]
    assert (themes["mentions"] > 0).all()
    assert set(theme_rows(result.pain_points)[C.THEME]) <= set(themes[C.THEME])

    small = voc.load_feedback(pd.DataFrame({"text": ["One. Two. Three. Four. Five.", "Six."] * 3}))
    from voc.segment import segment

    assert len(segment(small, max_units=None)) == 18
    cut = segment(small, max_units=2)
    assert len(cut) == 2 * 3 + 3 and cut.attrs["voc_units_truncated"] == 3


def test_themes_without_mentions_never_reach_the_outputs(tmp_path, fitted):
    model = copy.deepcopy(fitted.model)
    only = voc.load_feedback(pd.DataFrame({"id": [f"x{i}" for i in range(20)],
                                           "text": [f"The app crashed at login. Order {i}." for i in range(20)]}))
    result = analyze(only, config=Config(cache_dir="", n_bootstrap=20), model=model, embedder=FakeEmbedder(),
                     scorer=FakeScorer())
    used = set(result.mentions[C.THEME]) - {-1}
    assert 0 < len(used) < model.n_themes_                               # some themes got nothing
    assert set(result.themes[C.THEME]) == used | {-1}
    assert (result.themes.loc[result.themes[C.THEME] != -1, "mentions"] > 0).all()
    assert set(theme_rows(result.pain_points)[C.THEME]) <= used
    assert result.run["counts"]["themes"] == len(used)
    result.save(tmp_path / "out")
    assert set(pd.read_csv(tmp_path / "out" / "themes.csv")["theme"]) == used | {-1}
    store = Store(tmp_path / "s.duckdb")
    store.write_run(result)
    assert set(store.themes()[C.THEME]) == used | {-1}
    assert store.load_model().n_themes_ == model.n_themes_                # the model keeps every id
