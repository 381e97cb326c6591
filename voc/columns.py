"""The one column vocabulary of voc.

Every stage reads and writes these names and never renames a column. Input
columns are mapped onto them once, in :func:`voc.io.load_feedback`.
"""

# --- record level (records.parquet) -------------------------------------
VOC_ID = "voc_id"            # stable id: the given id, else a content hash
TEXT = "text"                # the open-text feedback (may be empty)
DATE = "date"                # timestamp of the feedback (optional)
TOUCHPOINT = "touchpoint"    # journey touchpoint (optional; "all" if absent)
CHANNEL = "channel"          # source channel: review, ticket, social, survey...
NPS = "nps"                  # likelihood to recommend, integer 0..10 (optional)
CES = "ces"                  # customer effort score on the configured scale
CSAT = "csat"                # satisfaction on the configured scale
LANGUAGE = "language"        # "en", "ja" or "und" (undetermined, e.g. no text)
HAS_TEXT = "has_text"        # False for empty / whitespace-only text
SOURCE_LINE = "source_line"  # 1-based line (row) number in the input file
THEMES = "themes"            # list of theme ids the record mentions
PRIMARY_THEME = "primary_theme"  # most-mentioned theme, NOISE if none

# --- unit level (mentions.parquet) --------------------------------------
UNIT = "unit"                # 0-based position of the unit within its record
THEME = "theme"              # theme id; NOISE (-1) means no theme
THEME_PROB = "theme_prob"    # confidence of the theme assignment, 0..1
TOPIC = "topic"              # parent topic of the theme; NOISE (-1) means none
SENTIMENT = "sentiment"      # polarity in [-1, 1]
SENTIMENT_LABEL = "sentiment_label"  # "negative" | "neutral" | "positive"
TOPIC = "topic"              # parent topic of the mention's theme (optional); NOISE if none

NOISE = -1
"""Theme id of units that belong to no theme."""

ALL_TOUCHPOINTS = "all"
"""Touchpoint name used when the input has no touchpoint column, and for the
overall rows of per-touchpoint tables."""

MAPPABLE = (TEXT, VOC_ID, DATE, TOUCHPOINT, CHANNEL, NPS, CES, CSAT)
"""Columns that :func:`voc.io.load_feedback` maps from the input."""

SCORES = (NPS, CES, CSAT)
SENTIMENT_LABELS = ("negative", "neutral", "positive")
LANGUAGES = ("en", "ja")
