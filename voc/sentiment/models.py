"""Where the packaged sentiment models live (``voc.models``), and the weights checksum their cards record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

SOURCE_MODELS = Path(__file__).resolve().parents[2] / "models"
"""``models/`` of a source checkout: voc/sentiment/models.py -> voc/sentiment -> voc -> the repository."""


def models_dir():
    """The packaged ``voc.models`` folder (or ``models/`` of a source checkout, :data:`SOURCE_MODELS`)."""
    from importlib.resources import files

    try:
        return files("voc.models")
    except ModuleNotFoundError:  # running from a source tree that is not installed
        return SOURCE_MODELS


def weights_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of a head's weights: the arrays as little-endian float32, in order.

    The order is ``hidden_coef, hidden_intercept`` (if the head has a hidden
    layer), then ``coef, intercept``.
    """
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return h.hexdigest()
