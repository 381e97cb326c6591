"""ThemeModel's parameters (each one's rule, worded for the error message) and its input checks."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, InputError

__all__ = ["PARAMETER_RULES", "check_params", "param_names", "as_embeddings"]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int_rule(low: int, none: bool = False) -> tuple[Callable[[Any], bool], str]:
    test = (lambda v: v is None or (_is_int(v) and v >= low)) if none else (lambda v: _is_int(v) and v >= low)
    return test, f"None or an int >= {low}" if none else f"an int >= {low}"


_ZSCORE = (lambda v: v is None or (_is_real(v) and 0 <= v < np.inf), "None or a float >= 0")
_SHARE = (lambda v: isinstance(v, (int, float)) and 0.0 <= v <= 1.0, "a float in the range [0, 1]")
PARAMETER_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "min_theme_size": _int_rule(2, none=True),
    "min_samples": _int_rule(1, none=True),
    "n_components": _int_rule(2, none=True),
    "n_neighbors": _int_rule(2),
    "n_assign_neighbors": _int_rule(1),
    "max_references": _int_rule(1),
    "n_keywords": _int_rule(1),
    "n_label_words": _int_rule(1),
    "n_exemplars": _int_rule(0),
    "random_state": (_is_int, "an int"),
    "cluster_selection_method": (lambda v: v in ("eom", "leaf"), "one of 'eom', 'leaf'"),
    "merge_zscore": _ZSCORE,
    "topic_zscore": _ZSCORE,
    "topic_polarity": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "split_polarity": (lambda v: v is None or (_is_real(v) and 0 < v <= 0.5),
                       "None or a float in the range (0, 0.5]"),
    "outlier_threshold": _SHARE,
    "noise_quantile": _SHARE,
}
"""Every ThemeModel parameter: (test, allowed values as the error message words them), checked in this order."""


def param_names(cls: type) -> list[str]:
    """The keyword arguments of ``cls.__init__`` in signature order (scikit-learn's ``get_params`` rule)."""
    return [p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind == p.KEYWORD_ONLY]


def check_params(params: dict[str, Any], owner: str) -> None:
    """Raise :class:`~voc.errors.ConfigError` for the first parameter in ``params`` that breaks its rule.

    The message names the parameter, the allowed values and the value given:
    ``The 'outlier_threshold' parameter of ThemeModel must be a float in the
    range [0, 1]. Got 2 instead.``
    """
    for name, (test, allowed) in PARAMETER_RULES.items():
        if name in params and not test(params[name]):
            raise ConfigError(f"The '{name}' parameter of {owner} must be {allowed}. "
                              f"Got {params[name]!r} instead.")


def as_embeddings(embeddings: Any) -> np.ndarray:
    """Embeddings as a float32 (n, d) array of unit rows (zero rows stay zero); :class:`InputError` if not 2-D or not finite."""
    X = np.asarray(embeddings, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"Embeddings must be a 2-D array (n, d); got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise InputError("Embeddings contain NaN or infinite values; re-embed the texts.")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
