"""Saving and loading a theme model: a folder of ``model.json`` + ``arrays.npz``, no pickle, every field checked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_dir
from ..errors import ConfigError, ModelError
from .edits import edits_to_json, validate_edits
from .hierarchy import group_themes, topic_threshold
from .state import KeywordCounts, PhraseCounts, References, ThemeState, ThemeTable

NOISE = -1
FORMAT = "voc-theme-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"
FIX = "Re-create it with ThemeModel.save (or `voc run --save-model`)."

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION", "MODEL_JSON", "ARRAYS_NPZ"]


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted :class:`~voc.themes.ThemeModel` to folder ``path`` (atomically).

    Parameters, labels, keywords, exemplars, edits and version are JSON;
    references, centroids and counts are plain arrays (:meth:`ThemeState.to_arrays`).
    """
    path = Path(path)
    st: ThemeState = model.state_
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "params": model.get_params(),
        "n_themes": int(st.n_themes),
        "min_theme_size": int(model.min_theme_size_),
        "dim": int(st.dim),
        "embedder_name": getattr(model, "embedder_name_", None),
        "vocabulary": list(st.words.vocab),
        "exemplars": st.table.exemplars,
        "languages": st.table.languages,
        "edits": edits_to_json(model.edits_),
        "frozen_keywords": {str(t): w for t, w in sorted(st.frozen_words.items())},
        "frozen_topic_keywords": {str(t): {"themes": list(parts), "keywords": words}
                                  for t, (parts, words) in sorted(st.frozen_topic_words.items())},
        "topic_threshold": float(st.topic_threshold) if np.isfinite(st.topic_threshold) else None,
        "frozen_labels": {str(t): w for t, w in sorted(st.frozen_labels.items())},
    }
    if st.topic_names:
        meta["topic_names"] = {str(t): v for t, v in sorted(st.topic_names.items())}
    if st.seed is not None:  # the code frame travels with the model
        meta["taxonomy"] = st.seed.meta()
        meta["retired_seeds"] = dict(st.retired_seeds)
    if st.phrases is not None:
        meta["phrases"], meta["phrase_keys"] = list(st.phrases.texts), list(st.phrases.keys)
    arrays = st.to_arrays()
    with atomic_dir(path) as tmp:
        (tmp / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        with open(tmp / ARRAYS_NPZ, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path


def load_model(cls: type, path: str | Path) -> Any:
    """Read a model written by :func:`save_model` as an instance of ``cls``; :class:`ModelError` if bad.

    Models saved by older versions of voc (before polarity splits, topics,
    phrase labels or taxonomies) load with those parts empty or derived.
    """
    path = Path(path)
    try:
        meta = json.loads((path / MODEL_JSON).read_text(encoding="utf-8"))
        with np.load(path / ARRAYS_NPZ, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except FileNotFoundError as exc:
        raise ModelError(f"No theme model at {path}: missing {Path(exc.filename).name}. {FIX}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"Theme model {path} is corrupt ({exc}). {FIX}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path / MODEL_JSON} is not a voc theme model. {FIX}")
    if meta.get("version") != FORMAT_VERSION:
        raise ModelError(
            f"Theme model {path} has format version {meta.get('version')!r}; this voc "
            f"reads version {FORMAT_VERSION}. {FIX}"
        )
    _check_meta(meta, arrays, where=f"Theme model {path}")
    try:
        model = cls(**meta["params"])
        model.check_params()
        state = _state(model, meta, arrays)
        edits = validate_edits(meta["edits"], state.n_themes, source=str(path / MODEL_JSON),
                               n_topics=state.n_topics)
    except ConfigError as exc:
        raise ModelError(f"Theme model {path} is corrupt: {exc} {FIX}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelError(f"Theme model {path} is corrupt ({type(exc).__name__}: {exc}). {FIX}") from None
    model.min_theme_size_ = int(meta["min_theme_size"])
    name = meta.get("embedder_name")
    model.embedder_name_ = None if name is None else str(name)
    model.set_state(state, edits=edits)
    return model


def _state(model: Any, meta: dict, arrays: dict) -> ThemeState:
    """The :class:`ThemeState` of a model file, its shapes checked against each other."""
    k, dim = int(meta["n_themes"]), int(meta["dim"])
    vocab = [str(w) for w in meta["vocabulary"]]
    exemplars = [[str(q) for q in qs] for qs in meta["exemplars"]]
    languages = [str(s) for s in meta["languages"]]
    given_topics = "topics" in arrays
    table = ThemeTable.from_arrays(arrays if given_topics else {**arrays, "topics": np.zeros(k)},
                                   exemplars, languages)
    # models saved before topics: the topics are derived from the centroids
    if "topic_threshold" in meta:
        thr = meta["topic_threshold"]
        threshold = float("inf") if thr is None else float(thr)
    else:
        threshold = topic_threshold(table.centroids, zscore=model.topic_zscore)
    if not given_topics:
        table.topics = group_themes(table.centroids, sizes=table.sizes, threshold=threshold,
                                    negative_share=table.negative if model.topic_polarity else None)
    refs = References.from_arrays(arrays)
    words = KeywordCounts.from_arrays(arrays, vocab)
    phrases = None  # models saved before phrase labels: keyword labels
    if "phrase_counts" in arrays:
        phrases = PhraseCounts.from_arrays(arrays, [str(p) for p in meta["phrases"]],
                                           [str(p) for p in meta["phrase_keys"]])
    fit = {f: arrays[name].astype(loaded) for f, name, _, loaded in ThemeState.FILE}
    p = phrases
    checks = [
        refs.vectors.ndim == 2 and refs.vectors.shape[1] == dim,
        refs.labels.shape == (len(refs),),
        refs.probs.shape == (len(refs),),
        table.floors.shape == (k,),
        table.partner.shape == (k,) and table.neg_half.shape == (k,),
        not (table.neg_half & (table.partner < 0)).any(),
        bool(((table.partner >= -1) & (table.partner < k)).all()),
        table.centroids.shape == (k, dim),
        table.negative.shape == (k,) and not (table.negative > 1).any(),
        words.counts.shape == (k + 1, len(vocab)),
        p is None or (len(p.texts) == len(p.keys) and p.counts.shape == p.negative.shape == (k + 1, len(p.texts))),
        table.sizes.shape == (k,),
        fit["fit_labels"].shape == fit["fit_probs"].shape,
        len(exemplars) == k and len(languages) == k,
        bool(((refs.labels >= 0) & (refs.labels < k)).all()),
        bool(((fit["fit_labels"] >= NOISE) & (fit["fit_labels"] < k)).all()),
        table.topics.shape == (k,) and bool((table.topics >= 0).all()),
    ]
    if not all(checks):
        raise ValueError("array shapes do not match the model description")
    state = ThemeState(
        refs, table, words, phrases, **fit, topic_threshold=threshold,
        frozen_words={int(t): [str(w) for w in ws] for t, ws in meta.get("frozen_keywords", {}).items()},
        frozen_topic_words={int(t): (tuple(int(p) for p in v["themes"]), [str(w) for w in v["keywords"]])
                            for t, v in meta.get("frozen_topic_keywords", {}).items()},
        frozen_labels={int(t): str(w) for t, w in meta.get("frozen_labels", {}).items()},
        topic_names={int(t): str(v) for t, v in meta.get("topic_names", {}).items()},
    )
    if "taxonomy" in meta:
        from .seeds import SeedIndex

        state.seed = SeedIndex.from_saved(meta["taxonomy"], {
            key[len("taxonomy_"):]: v for key, v in arrays.items() if key.startswith("taxonomy_")})
        state.retired_seeds = {str(n): int(t) for n, t in meta.get("retired_seeds", {}).items()}
    return state


_FLOAT_ARRAYS = ("references", "reference_probabilities", "floors", "centroids", "probabilities")
_INT_ARRAYS = ("reference_labels", "partners", "negative_halves", "counts", "sizes", "labels",
               "negative_counts")
_REQUIRED_ARRAYS = ("references", "reference_labels", "reference_probabilities", "floors", "centroids",
                    "counts", "sizes", "labels", "probabilities")


def _check_meta(meta: dict, arrays: dict, *, where: str) -> None:
    """Check every field of ``model.json`` and the arrays' kinds; :class:`ModelError` naming the field.

    Shapes are checked against each other after reading (in :func:`_state`).
    """
    def bad(field: str, allowed: str, value: Any) -> ModelError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ModelError(f"{where} is corrupt: '{field}' in {MODEL_JSON} must be {allowed}; got {shown}. {FIX}")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def str_list(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    missing = [f for f in ("params", "n_themes", "min_theme_size", "dim", "vocabulary", "exemplars",
                           "languages", "edits") if f not in meta]
    if missing:
        raise ModelError(f"{where} is corrupt: {MODEL_JSON} lacks {', '.join(missing)}. {FIX}")
    if not isinstance(meta["params"], dict) or not all(isinstance(key, str) for key in meta["params"]):
        raise bad("params", "an object of ThemeModel parameters", meta["params"])
    for name, value in meta["params"].items():
        if isinstance(value, float) and not np.isfinite(value):
            raise bad(f"params.{name}", "a finite number", value)
    k = meta["n_themes"]
    for field, low in (("n_themes", 0), ("min_theme_size", 1), ("dim", 1)):
        if not (is_int(meta[field]) and low <= meta[field] <= 10**9):
            raise bad(field, f"an integer from {low} to 10^9", meta[field])
    name = meta.get("embedder_name")
    if name is not None and not (isinstance(name, str) and 0 < len(name) <= 1000):
        raise bad("embedder_name", "null or an embedder name (a string)", name)
    if not str_list(meta["vocabulary"]):
        raise bad("vocabulary", "a list of words (strings)", meta["vocabulary"])
    if not (isinstance(meta["exemplars"], list) and len(meta["exemplars"]) == k
            and all(str_list(q) for q in meta["exemplars"])):
        raise bad("exemplars", f"a list of {k} lists of quotes (n_themes)", meta["exemplars"])
    if not (str_list(meta["languages"]) and len(meta["languages"]) == k):
        raise bad("languages", f"a list of {k} strings (n_themes)", meta["languages"])
    frozen = meta.get("frozen_keywords", {})
    if not (isinstance(frozen, dict) and all(
            re.fullmatch(r"\d{1,9}", t) and int(t) < k and str_list(w) for t, w in frozen.items())):
        raise bad("frozen_keywords", "an object of theme index -> list of keywords", frozen)
    absent = [a for a in _REQUIRED_ARRAYS if a not in arrays]
    if absent:
        raise ModelError(f"{where} is corrupt: {ARRAYS_NPZ} lacks {', '.join(absent)}. {FIX}")
    for name in _FLOAT_ARRAYS + _INT_ARRAYS:
        a = arrays.get(name)
        if a is None:
            continue
        numeric = a.dtype.kind in "iub" or (name in _FLOAT_ARRAYS and a.dtype.kind == "f")
        if not numeric or (a.dtype.kind == "f" and not np.isfinite(a).all()):
            raise ModelError(f"{where} is corrupt: array '{name}' in {ARRAYS_NPZ} must hold finite "
                             f"{'numbers' if name in _FLOAT_ARRAYS else 'integers'} (got dtype {a.dtype}). {FIX}")
    for name in ("counts", "sizes"):
        if (arrays[name] < 0).any():
            raise ModelError(f"{where} is corrupt: array '{name}' in {ARRAYS_NPZ} has negative "
                             f"entries. {FIX}")
