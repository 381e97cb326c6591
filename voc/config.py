"""Run configuration: one frozen dataclass with documented defaults.

A :class:`Config` can be built in code, loaded from TOML
(:meth:`Config.from_toml`) and overridden by CLI flags
(:meth:`Config.replace`). Every run records it in ``run.json``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

UNITS = ("sentence", "record")
"""What a mention is (``Config.unit``, ``segment(unit=...)``); the one definition."""
CES_DIRECTIONS = ("higher_is_easier", "lower_is_easier")
"""How a CES scale reads (``Config.ces_direction``, :func:`voc.survey.ces`); the one definition."""


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
    taxonomy : str, mapping or None
        The analysts' code frame: path of a taxonomy YAML file, or its parsed
        mapping (named, seeded themes; ``docs/taxonomy.md``).
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
    max_units_per_record : int or None
        With ``unit="sentence"``, at most this many units (sentences and
        clauses) of one record are analysed, so one outsized record (a pasted
        log, a 1 MB text) cannot swamp the themes; the record's full text is
        kept in ``records``, and ``run.json`` warns how many records were cut.
        ``None`` means no bound. At most :data:`MAX_UNITS_PER_RECORD`.

    Every value is checked when the Config is made (types, ranges, allowed
    values): a bad one is a :class:`~voc.errors.ConfigError` naming the
    option, what is allowed and the fix, before any work starts. Integers
    are never booleans, numbers never strings (``redact = "false"`` is an
    error, not true).
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
    taxonomy: Any = None
    redact: bool = False
    redact_patterns: dict[str, str] | None = None
    batch_date: str | None = None
    date_format: str | None = None
    max_units_per_record: int | None = 50
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_types(self)
        _choice("unit", self.unit, UNITS)
        _choice("ces_direction", self.ces_direction, CES_DIRECTIONS)
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
            close = difflib.get_close_matches(unknown[0], self.names(), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else " Remove it or fix its spelling."
            raise ConfigError(
                f"Unknown config option(s): {', '.join(map(str, unknown))}. "
                f"Allowed: {', '.join(self.names())}.{hint}"
            )
        if "ces_scale" in changes or "ces_direction" in changes:
            changes.setdefault("ces_configured", True)
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        """Load a config from a TOML file (a flat table, or a ``[voc]`` table).

        The whole file is checked before anything runs: UTF-8, TOML syntax,
        known keys only, and every value (see :class:`Config`).
        """
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"Config file '{path}' not found.") from None
        except OSError as e:
            raise ConfigError(f"Cannot read config file '{path}': {e.strerror or e}.") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"Config file '{path}' is not UTF-8 text (byte 0x{raw[e.start]:02x} at position {e.start}). "
                "Save it as UTF-8."
            ) from None
        try:
            data = tomllib.loads(text.removeprefix("\ufeff"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"Config file '{path}' is not valid TOML: {e}.") from None
        if "voc" in data:
            others = sorted(k for k in data if k != "voc")
            if not isinstance(data["voc"], dict):
                raise ConfigError(
                    f"Config file '{path}': 'voc' must be a table ([voc] followed by options). "
                    f"Got {data['voc']!r}."
                )
            if others:
                raise ConfigError(
                    f"Config file '{path}': unknown top-level key(s) {', '.join(others)} next to the [voc] "
                    "table. Put every option inside [voc] (or use a flat file without [voc])."
                )
            data = data["voc"]
        try:
            return cls().replace(**data)
        except ConfigError as e:
            raise ConfigError(f"Config file '{path}': {e}") from None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["csat_scale"] = list(self.csat_scale)
        d["ces_scale"] = list(self.ces_scale)
        return d


MAX_SEED = 2**32 - 1
"""Largest ``random_state`` (NumPy and scikit-learn seeds are 32-bit)."""
MAX_BOOTSTRAP = 100_000
"""Largest ``n_bootstrap``: more resamples only add run time."""
MAX_UNITS_PER_RECORD = 100_000
"""Largest ``max_units_per_record``."""
MAX_SCALE = 1000
"""Survey scale ends lie in [-MAX_SCALE, MAX_SCALE]."""


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"Config '{name}' must be one of {', '.join(allowed)}. Got {value!r}. "
            f"Use e.g. {name} = {allowed[0]!r}."
        )


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


_FLAGS = {"unit": "--unit", "embedder": "--embedder", "sentiment": "--sentiment",
          "min_theme_size": "--min-theme-size", "split_polarity": "--split-polarity",
          "random_state": "--random-state", "edits": "--edits", "taxonomy": "--taxonomy", "ces_direction": "--ces-direction",
          "csat_threshold": "--csat-threshold", "min_n": "--min-n", "redact": "--redact",
          "ces_scale": "--ces-scale", "csat_scale": "--csat-scale", "batch_date": "--batch-date",
          "date_format": "--date-format"}
"""The ``voc run`` flag of each option that has one."""


def _int_in(low: int, high: int | None) -> Any:
    return lambda v: _is_int(v) and v >= low and (high is None or v <= high)


# option -> (check, what is allowed, example); None passes where "or None" is said
_RULES: dict[str, tuple[Any, str, str]] = {
    "unit": (lambda v: isinstance(v, str), "one of sentence, record", 'unit = "sentence"'),
    "embedder": (lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
                 "an embedder name (a string) or None", 'embedder = "minilm"'),
    "min_theme_size": (lambda v: v is None or _int_in(2, 10**9)(v), "an integer >= 2 or None",
                       "min_theme_size = 10"),
    "split_polarity": (lambda v: v is None or (_is_number(v) and 0 < v <= 0.5),
                       "a share in (0, 0.5] or None", "split_polarity = 0.25"),
    "random_state": (_int_in(0, MAX_SEED), f"an integer from 0 to {MAX_SEED}", "random_state = 0"),
    "fit_sample": (_int_in(1, None), "a positive integer", "fit_sample = 50000"),
    "sentiment": (lambda v: isinstance(v, str) and v.strip() != "", "a scorer name (a string)",
                  'sentiment = "default"'),
    "min_n": (_int_in(1, None), "a positive integer", "min_n = 30"),
    "confidence": (lambda v: _is_number(v) and 0.5 <= v < 1, "a number in [0.5, 1)", "confidence = 0.95"),
    "n_bootstrap": (_int_in(1, MAX_BOOTSTRAP), f"an integer from 1 to {MAX_BOOTSTRAP}", "n_bootstrap = 1000"),
    "csat_scale": (lambda v: _scale(v) is not None,
                   f"two integers [low, high] with low < high, within +-{MAX_SCALE}", "csat_scale = [1, 5]"),
    "csat_threshold": (lambda v: v is None or _is_int(v), "an integer on the CSAT scale or None",
                       "csat_threshold = 4"),
    "ces_scale": (lambda v: _scale(v) is not None,
                  f"two integers [low, high] with low < high, within +-{MAX_SCALE}", "ces_scale = [1, 7]"),
    "ces_direction": (lambda v: isinstance(v, str), "one of " + ", ".join(CES_DIRECTIONS),
                      'ces_direction = "higher_is_easier"'),
    "ces_configured": (lambda v: isinstance(v, bool), "true or false", "ces_configured = true"),
    "cache_dir": (lambda v: v is None or isinstance(v, (str, os.PathLike)), "a folder path (a string), "
                  "or \"\" for no cache", 'cache_dir = "~/.cache/voc"'),
    "edits": (lambda v: v is None or (isinstance(v, (str, os.PathLike)) and str(v).strip() != ""),
              "the path of a YAML edits file (a string)", 'edits = "edits.yaml"'),
    "taxonomy": (lambda v: v is None or isinstance(v, dict) or (isinstance(v, (str, os.PathLike))
                                                              and str(v).strip() != ""),
                 "the path of a taxonomy YAML file (a string) or a table of topics/themes",
                 'taxonomy = "taxonomy.yaml"'),
    "redact": (lambda v: isinstance(v, bool), "true or false (not a string)", "redact = true"),
    "redact_patterns": (lambda v: v is None or isinstance(v, dict), "a table of name = regex",
                        'redact_patterns = { order_id = "ORD-[0-9]+" }'),
    "max_units_per_record": (lambda v: v is None or _int_in(1, MAX_UNITS_PER_RECORD)(v),
                             f"an integer from 1 to {MAX_UNITS_PER_RECORD} or None",
                             "max_units_per_record = 50"),
    "batch_date": (lambda v: v is None or _is_iso_date(v), "a date YYYY-MM-DD or None",
                   'batch_date = "2026-11-16"'),
    "date_format": (lambda v: v is None or (isinstance(v, str) and (v in ("auto", "dmy", "mdy") or "%" in v)),
                    "auto, dmy, mdy or a strptime format such as '%d.%m.%Y'", 'date_format = "dmy"'),
    "extra": (lambda v: isinstance(v, dict), "a table", "[voc.extra]"),
}


def _is_iso_date(v: Any) -> bool:
    import datetime as _dt

    if not isinstance(v, (str, _dt.date)) or len(str(v)) != 10:
        return False
    try:
        _dt.date.fromisoformat(str(v))
    except ValueError:
        return False
    return True


def _scale(v: Any) -> tuple[int, int] | None:
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__len__"):
        return None
    v = tuple(v)
    ok = (len(v) == 2 and all(_is_int(x) and abs(x) <= MAX_SCALE for x in v) and v[0] < v[1])
    return v if ok else None


def _check_types(config: "Config") -> None:
    """Check every field against :data:`_RULES`; normalise scales to tuples and paths to str."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        check, allowed, example = _RULES[f.name]
        if not check(value):
            kind = type(value).__name__
            flag = f" or {_FLAGS[f.name]}" if f.name in _FLAGS else ""
            raise ConfigError(
                f"Config '{f.name}' must be {allowed}. Got {value!r} ({kind}). "
                f"Fix it in the config file (e.g. {example}){flag}."
            )
    for f in dataclasses.fields(config):  # NumPy scalars become plain numbers (run.json is JSON)
        value = getattr(config, f.name)
        if _is_int(value) and type(value) is not int:
            object.__setattr__(config, f.name, int(value))
        elif _is_number(value) and not _is_int(value) and type(value) is not float:
            object.__setattr__(config, f.name, float(value))
    for name in ("csat_scale", "ces_scale"):
        object.__setattr__(config, name, tuple(int(v) for v in _scale(getattr(config, name))))
    if config.batch_date is not None:
        object.__setattr__(config, "batch_date", str(config.batch_date))
    for name in ("cache_dir", "edits", "taxonomy"):
        value = getattr(config, name)
        if isinstance(value, os.PathLike):
            object.__setattr__(config, name, os.fspath(value))
    if config.redact_patterns:
        from .privacy import compile_patterns

        compile_patterns(config.redact_patterns)
