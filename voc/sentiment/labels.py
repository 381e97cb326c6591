"""Scores to labels: the neutral band, band rescaling, the emoji lexicon and the frame every scorer returns."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from voc.columns import SENTIMENT, SENTIMENT_LABEL
from voc.errors import ConfigError

NEUTRAL_BAND = 0.2
"""Default half-width of the neutral band around 0 (see :func:`label_from_score`)."""


def label_from_score(scores, *, band: float = NEUTRAL_BAND) -> np.ndarray:
    """Label sentiment scores with a symmetric neutral band.

    Parameters
    ----------
    scores : array-like of float
        Sentiment in [-1, 1].
    band : float
        ``> band`` is positive, ``< -band`` negative, anything else neutral.

    Returns
    -------
    numpy.ndarray of str

    Examples
    --------
    >>> label_from_score([-0.5, 0.0, 0.2, 0.21], band=0.2).tolist()
    ['negative', 'neutral', 'neutral', 'positive']
    """
    if not 0 <= band < 1:
        raise ConfigError(f"The neutral band must be in [0, 1). Got {band!r}.")
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, "neutral", dtype=object)
    out[s > band] = "positive"
    out[s < -band] = "negative"
    return out


def score_frame(scores, band: float, index=None) -> pd.DataFrame:
    """The frame a scorer returns: ``sentiment`` (clipped to [-1, 1]) and its ``sentiment_label`` at ``band``.

    >>> score_frame([-2.0, 0.1], 0.2).to_dict("list")
    {'sentiment': [-1.0, 0.1], 'sentiment_label': ['negative', 'neutral']}
    """
    scores = np.clip(np.asarray(scores, dtype=float), -1.0, 1.0)
    return pd.DataFrame(
        {SENTIMENT: scores, SENTIMENT_LABEL: label_from_score(scores, band=band)}, index=index
    )


def text_index(texts) -> pd.Index | None:
    """The index a scorer's frame gets: that of ``texts`` when it is a Series, else ``None`` (0..n-1).

    >>> text_index(pd.Series(["a"], index=[7])).tolist(), text_index(["a"])
    ([7], None)
    """
    return texts.index if isinstance(texts, pd.Series) else None


def rescale_band(scores, *, band: float, to: float) -> np.ndarray:
    """Map scores labelled with ``band`` onto a scale labelled with ``to``, keeping every label.

    Piecewise linear and monotone: ``|s|`` in ``[0, band]`` goes to
    ``[0, to]`` and ``[band, 1]`` to ``[to, 1]``; the sign is kept. Two
    models with different neutral bands can then share one band (and one
    record label rule) without changing any unit's label.

    Examples
    --------
    >>> rescale_band([-1.0, -0.15, 0.0, 0.1, 0.575], band=0.15, to=0.3).round(3).tolist()
    [-1.0, -0.3, 0.0, 0.2, 0.65]
    """
    for name, value in (("band", band), ("to", to)):
        if not 0 < value < 1:
            raise ConfigError(f"rescale_band: {name} must be in (0, 1). Got {value!r}.")
    s = np.clip(np.asarray(scores, dtype=float), -1.0, 1.0)
    a = np.abs(s)
    inside = a <= band
    mapped = np.where(inside, a * (to / band), to + (a - band) * ((1 - to) / (1 - band)))
    # keep each side of the band under float rounding
    mapped = np.where(inside, np.minimum(mapped, to), np.maximum(mapped, np.nextafter(to, 2.0)))
    return np.sign(s) * np.minimum(mapped, 1.0)


# --------------------------------------------------------------------------
# emoji
# --------------------------------------------------------------------------

NEGATIVE_EMOJI = "😡😠🤬😤😞😟😢😭😩😫😒😣😖😓😔🙁☹😕👎💔🤮🤢💢😰😱😨🙄😑💩🖕"
POSITIVE_EMOJI = "😀😃😄😁😆😊🙂😍🥰😘😻🤩😎🥳👍👏🙌💯🎉✨❤💕💖💗💙💚💛🧡💜✅🙏😂🤣"
"""The emoji lexicon of :func:`emoji_scores`: clearly negative and clearly
positive emoji (skin tones and variation selectors are ignored)."""
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def emoji_scores(texts: Sequence[str]) -> np.ndarray:
    """Sentiment of emoji-only texts from :data:`NEGATIVE_EMOJI` / :data:`POSITIVE_EMOJI`; NaN for others.

    The packaged heads read emoji as unknown tokens and score them (``😡😡😡``
    came out positive), so a text with at least one emoji and no letter or
    digit in any script is scored by its emoji instead: ``(positive -
    negative) / (positive + negative)`` over the emoji of the lexicon, 0
    (neutral) when it has none of them. Texts with words keep the model's
    score (``😡 最悪`` is left to the head).

    >>> emoji_scores(["😡😡😡", "👍", "😡👍", "📦", "late 😡"]).tolist()
    [-1.0, 1.0, 0.0, 0.0, nan]
    """
    out = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        if not _EMOJI.search(text) or _LETTER_OR_DIGIT.search(text):
            continue
        neg = sum(c in NEGATIVE_EMOJI for c in text)
        pos = sum(c in POSITIVE_EMOJI for c in text)
        out[i] = (pos - neg) / (pos + neg) if pos + neg else 0.0
    return out


def emoji_override(out: pd.DataFrame, texts: list[str], *, band: float) -> pd.DataFrame:
    """Give emoji-only texts the lexicon's score and label (see :func:`emoji_scores`), in place."""
    emoji = emoji_scores(texts)
    hit = ~np.isnan(emoji)
    if hit.any():
        out.loc[hit, SENTIMENT] = emoji[hit]
        out.loc[hit, SENTIMENT_LABEL] = label_from_score(emoji[hit], band=band)
    return out
