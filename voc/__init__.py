"""voc: turn the voice of the customer into decisions.

The public API is imported lazily, so ``import voc`` is fast and loads no
model, spaCy pipeline or torch.

>>> import voc
>>> df = voc.load_feedback(voc.sample_path())          # doctest: +SKIP
>>> result = voc.analyze(df)                            # doctest: +SKIP
>>> result.pain_points.head()                           # doctest: +SKIP
>>> voc.run_weekly("week47.csv", store="voc.duckdb")     # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_feedback": "voc.io",
    "read_feedback": "voc.io",
    "Loaded": "voc.io",
    "validate_feedback": "voc.io",
    "make_feedback": "voc.sample",
    "sample_path": "voc.sample",
    "analyze": "voc.pipeline",
    "Analysis": "voc.pipeline",
    "run_weekly": "voc.pipeline",
    "Config": "voc.config",
    "nps": "voc.survey",
    "csat": "voc.survey",
    "ces": "voc.survey",
    "Store": "voc.store",
    "VocError": "voc.errors",
    "InputError": "voc.errors",
    "ConfigError": "voc.errors",
    "ModelError": "voc.errors",
    "StoreError": "voc.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'voc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
