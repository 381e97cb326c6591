"""segment(): records to a frame of units (sentences and contrast clauses, or whole records), with the max_units bound."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from voc import columns as C
from voc.config import UNITS  # one definition, in voc.config
from voc.errors import ConfigError, InputError
from voc.segment import en, ja
from voc.segment.common import clean_unit, has_content, merge_fragments
from voc.segment.language import as_text, detect_language, record_languages

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

UNIT_CHAR_BUDGET = 1000
"""With ``segment(max_units=N)`` at most ``N * UNIT_CHAR_BUDGET`` characters of a record are tokenized."""

_RULES = (("ja", ja), ("en", en))
"""Each language's rules (``pieces``, ``nlp``, ``units``); every record that is not "ja" goes through English."""


def segment(
    records: "pd.DataFrame",
    *,
    unit: str = "sentence",
    split_contrast: bool = True,
    batch_size: int = 512,
    max_units: int | None = None,
) -> "pd.DataFrame":
    """:func:`segment_counted`'s units, with the count of truncated records also in ``attrs``."""
    out, n_cut = segment_counted(records, unit=unit, split_contrast=split_contrast, batch_size=batch_size,
                                 max_units=max_units)
    out.attrs["voc_units_truncated"] = n_cut
    return out


def segment_counted(
    records: "pd.DataFrame",
    *,
    unit: str = "sentence",
    split_contrast: bool = True,
    batch_size: int = 512,
    max_units: int | None = None,
) -> "tuple[pd.DataFrame, int]":
    """Split records into units (sentences and contrast clauses, or records).

    Parameters
    ----------
    records : pandas.DataFrame
        Needs columns ``voc_id`` and ``text``; an optional ``language``
        column ("en", "ja", "und"; empty cells are detected) chooses the
        pipeline, otherwise :func:`detect_language` does.
    unit : {"sentence", "record"}, default "sentence"
        "record": one unit per record with text. "sentence": one unit per
        sentence, and one per clause where a sentence joins contrasting
        opinions ("late but great" -> "late", "but great";
        「遅いが良い」 -> 「遅いが」, 「良い」).
    split_contrast : bool, default True
        With ``unit="sentence"``, also cut sentences into contrast clauses.
    batch_size : int, default 512
        Texts per ``nlp.pipe`` batch.
    max_units : int or None, default None
        With ``unit="sentence"``, keep at most this many units of one record
        (its first ones), and tokenize at most ``max_units`` pieces (lines)
        and about ``max_units * UNIT_CHAR_BUDGET`` characters of it, so one
        outsized record costs bounded time. The number of records cut is
        returned beside the units (and, by :func:`segment`, in
        ``result.attrs["voc_units_truncated"]``). ``None``: no bound.

    Returns
    -------
    (pandas.DataFrame, int)
        One row per unit with columns ``voc_id`` (str), ``unit`` (int,
        0-based position within the record), ``text`` (str) and
        ``language`` ("en", "ja" or "und"). Records without text give no
        rows; units without a letter, digit or emoji are dropped. Then the
        number of records cut to ``max_units`` units.

    Notes
    -----
    The unit's language is detected on the unit itself, so a Japanese
    sentence inside an English record is tagged "ja"; units with no letters
    (e.g. only emoji) keep their record's language. A record is tokenized
    with the Japanese pipeline when its language is "ja", with the English
    one otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"voc_id": ["a"], "text": ["Late but great. Will buy again!"]})
    >>> segment(df)["text"].tolist()
    ['Late', 'but great.', 'Will buy again!']
    """
    import pandas as pd

    if unit not in UNITS:
        raise ConfigError(
            f"unit must be one of {', '.join(map(repr, UNITS))}; got {unit!r}. "
            "Use unit='sentence' (default) or unit='record'."
        )
    missing = [c for c in (C.VOC_ID, C.TEXT) if c not in records.columns]
    if missing:
        raise InputError(
            f"segment() needs the columns 'voc_id' and 'text'; missing: {', '.join(missing)}. "
            "Load the data with voc.io.load_feedback() or rename the columns."
        )
    ids = [as_text(v) for v in records[C.VOC_ID]]
    texts = [as_text(t) for t in records[C.TEXT]]
    langs = record_languages(records)

    if max_units is not None and not (isinstance(max_units, int) and not isinstance(max_units, bool)
                                      and max_units >= 1):
        raise ConfigError(f"max_units must be a positive integer or None. Got {max_units!r}.")
    bounded = max_units is not None and unit == "sentence"
    cut = [False] * len(texts)
    rows_id, rows_unit, rows_text, rows_lang = [], [], [], []

    def emit(i: int, units: Iterable[str]) -> None:
        kept = merge_fragments([u for u in map(clean_unit, units) if has_content(u)])
        if bounded and len(kept) > max_units:
            kept, cut[i] = kept[:max_units], True
        for pos, u in enumerate(kept):
            own = detect_language(u) if unit == "sentence" else langs[i]
            rows_id.append(ids[i])
            rows_unit.append(pos)
            rows_text.append(u)
            rows_lang.append(own if own != "und" else langs[i])

    if unit == "record":
        for i, text in enumerate(texts):
            emit(i, [text])
    else:
        per_record: list[list[str]] = [[] for _ in texts]
        for lang, rules in _RULES:
            owners, pieces = [], []
            for i, text in enumerate(texts):
                if (langs[i] == "ja") == (lang == "ja") and text.strip():
                    fed = 0
                    for n, piece in enumerate(rules.pieces(text)):
                        if bounded and (n >= max_units or fed >= max_units * UNIT_CHAR_BUDGET):
                            cut[i] = True  # the rest of an outsized record is not tokenized
                            break
                        fed += len(piece)
                        owners.append(i)
                        pieces.append(piece)
            if not pieces:
                continue
            nlp = rules.nlp()
            for i, doc in zip(owners, nlp.pipe(pieces, batch_size=batch_size)):
                per_record[i].extend(rules.units(doc, split_contrast=split_contrast))
        for i, units in enumerate(per_record):
            emit(i, units)

    out = pd.DataFrame(
        {
            C.VOC_ID: pd.Series(rows_id, dtype=object),
            C.UNIT: pd.Series(rows_unit, dtype="int64"),
            C.TEXT: pd.Series(rows_text, dtype=object),
            C.LANGUAGE: pd.Series(rows_lang, dtype=object),
        }
    )
    return out, int(sum(cut))
