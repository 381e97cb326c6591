"""Run configuration: one frozen dataclass with documented defaults.

A :class:`Config` can be built in code, loaded from TOML
(:meth:`Config.from_toml`) and overridden by CLI flags
(:meth:`Config.replace`). Every run records it in ``run.json``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

UNITS = ("sentence", "record")
CES_DIRECTIONS = ("higher_is_easier", "lower_is_easier")


@dataclass(frozen=True)
class Config:
    """Options of an analysis run.

    Parameters
    ----------
    unit : {"sentence", "record"}
        What a mention is: a sentence/clause of a record, or the whole record.
    embedder : str or None
        Embedder name (see :data:`voc.embed.EMBEDDERS`) or any
        sentence-transformers model name or path. ``None`` picks the packaged
        MiniLM for English-only data and multilingual USE otherwise.
    min_theme_size : int or None
        Smallest cluster HDBSCAN may call a theme. ``None`` derives it from
        the number of mentions (see :class:`voc.themes.ThemeModel`).
    split_polarity : float or None
        Split a theme that customers both praise and criticise into its
        negative mentions and the rest when each side is at least this
        share of it (see :class:`voc.themes.ThemeModel`). ``None`` (the
        default) never splits.
    random_state : int
        Seed of every stochastic step (reduction, bootstrap).
    fit_sample : int
        At most this many mentions are used to fit the theme model; the rest
        are assigned to it.
    sentiment : str
        Sentiment scorer name (see :data:`voc.sentiment.SCORERS`).
    min_n : int
        Below this many respondents a survey metric is flagged unreliable.
    confidence : float
        Level of every confidence interval.
    n_bootstrap : int
        Bootstrap resamples for impact confidence intervals.
    csat_scale : (int, int)
        Lowest and highest CSAT answer.
    csat_threshold : int or None
        Lowest CSAT answer counted as satisfied. ``None`` means the top two
        boxes (4 on a 1-5 scale).
    ces_scale : (int, int)
        Lowest and highest CES answer.
    ces_direction : {"higher_is_easier", "lower_is_easier"}
        ``higher_is_easier`` for the 1-7 "it was easy" agreement item
        (CES 2.0); ``lower_is_easier`` for 1-5 effort scales.
    ces_configured : bool
        Whether the CES scale and direction were set explicitly; when
        ``False`` and the data has CES, runs warn and record that defaults
        were assumed.
    cache_dir : str or None
        Embedding cache folder; ``None`` uses ``$VOC_CACHE_DIR`` or
        ``~/.cache/voc``. The empty string disables the cache.
    edits : str or None
        Path of a YAML file of analyst theme edits replayed on every run.
    redact : bool
        Replace e-mails, phone numbers, card numbers and URLs with tokens by
        typed placeholders before anything is embedded, stored or reported
        (see :mod:`voc.privacy`). Off by default.
    redact_patterns : dict or None
        Extra ``{name: regex}`` patterns to redact (implies nothing unless
        ``redact`` is on).
    date_format : str or None
        How the date column is read (see :func:`voc.io.load_feedback`):
        ``None`` (or ``"auto"``) detects one format for the column, ``"dmy"``
        / ``"mdy"`` fix the order of numeric day/month dates, a ``strptime``
        format (``"%d.%m.%Y"``) must match every value.
    batch_date : str or None
        ``YYYY-MM-DD``: the date of this batch, given to every record without
        a date (no date column, or an empty cell), so that an undated dump
        still lands in a week of the run store and its report. ``None``
        leaves undated records undated.
    """

    unit: str = "sentence"
    embedder: str | None = None
    min_theme_size: int | None = None
    split_polarity: float | None = None
    random_state: int = 0
    fit_sample: int = 50_000
    sentiment: str = "default"
    min_n: int = 30
    confidence: float = 0.95
    n_bootstrap: int = 1000
    csat_scale: tuple[int, int] = (1, 5)
    csat_threshold: int | None = None
    ces_scale: tuple[int, int] = (1, 7)
    ces_direction: str = "higher_is_easier"
    ces_configured: bool = False
    cache_dir: str | None = None
    edits: str | None = None
    redact: bool = False
    redact_patterns: dict[str, str] | None = None
    batch_date: str | None = None
    date_format: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("unit", self.unit, UNITS)
        _choice("ces_direction", self.ces_direction, CES_DIRECTIONS)
        for name in ("min_n", "n_bootstrap", "fit_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"Config '{name}' must be a positive integer. Got {value!r}.")
        if self.min_theme_size is not None and (
            not isinstance(self.min_theme_size, int) or self.min_theme_size < 2
        ):
            raise ConfigError(
                f"Config 'min_theme_size' must be an integer >= 2 or None. Got {self.min_theme_size!r}."
            )
        v = self.split_polarity
        if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 0.5):
            raise ConfigError(f"Config 'split_polarity' must be a share in (0, 0.5] or None. Got {v!r}.")
        if not 0.5 <= self.confidence < 1:
            raise ConfigError(f"Config 'confidence' must be in [0.5, 1). Got {self.confidence!r}.")
        if self.date_format is not None and not (
            isinstance(self.date_format, str) and (self.date_format in ("auto", "dmy", "mdy") or "%" in self.date_format)
        ):
            raise ConfigError(
                f"Config 'date_format' must be auto, dmy, mdy or a strptime format such as '%d.%m.%Y'. "
                f"Got {self.date_format!r}."
            )
        for name in ("csat_scale", "ces_scale"):
            lo_hi = tuple(getattr(self, name))
            if len(lo_hi) != 2 or not all(isinstance(v, int) for v in lo_hi) or lo_hi[0] >= lo_hi[1]:
                raise ConfigError(
                    f"Config '{name}' must be two integers (low, high) with low < high. Got {lo_hi!r}."
                )
            object.__setattr__(self, name, lo_hi)
        if self.batch_date is not None:
            import datetime as _dt

            try:
                _dt.date.fromisoformat(str(self.batch_date))
                if len(str(self.batch_date)) != 10:
                    raise ValueError
            except ValueError:
                raise ConfigError(f"Config 'batch_date' must be a date YYYY-MM-DD, e.g. 2026-11-16. "
                                  f"Got {self.batch_date!r}.") from None
            object.__setattr__(self, "batch_date", str(self.batch_date))
        if self.csat_threshold is not None and not (
            self.csat_scale[0] < self.csat_threshold <= self.csat_scale[1]
        ):
            raise ConfigError(
                f"Config 'csat_threshold' must lie in ({self.csat_scale[0]}, {self.csat_scale[1]}]. "
                f"Got {self.csat_threshold!r}."
            )

    @property
    def csat_satisfied_from(self) -> int:
        """Lowest CSAT answer counted as satisfied (top two boxes by default)."""
        return self.csat_threshold if self.csat_threshold is not None else self.csat_scale[1] - 1

    def replace(self, **changes: Any) -> "Config":
        """Return a copy with ``changes`` applied; ``None`` values are ignored.

        Setting ``ces_scale`` or ``ces_direction`` marks CES as configured.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(
                f"Unknown config option(s): {', '.join(unknown)}. Allowed: {', '.join(self.names())}."
            )
        if "ces_scale" in changes or "ces_direction" in changes:
            changes.setdefault("ces_configured", True)
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        """Load a config from a TOML file (a flat table, or a ``[voc]`` table)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Config file '{path}' not found.") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"Config file '{path}' is not valid TOML: {e}.") from None
        data = data.get("voc", data)
        return cls().replace(**data)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["csat_scale"] = list(self.csat_scale)
        d["ces_scale"] = list(self.ces_scale)
        return d


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"Config '{name}' must be one of {', '.join(allowed)}. Got {value!r}.")
