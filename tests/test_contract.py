"""The output files' column contract: names, order and types, as the README documents them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import voc
from voc.config import Config
from voc.pipeline import analyze

README = Path(__file__).resolve().parents[1] / "README.md"

STR, INT, FLOAT, BOOL = "string", "int64", "float64", "bool"

# (column, arrow type family) in file order; the sample maps every vocabulary column.
RECORDS = [("voc_id", STR), ("text", STR), ("has_text", BOOL), ("source_line", INT), ("date", "timestamp"),
           ("touchpoint", STR), ("channel", STR), ("nps", INT), ("ces", FLOAT), ("csat", FLOAT),
           ("region", STR),  # an unmapped input column passes through, after the mapped ones
           ("language", STR), ("sentiment", FLOAT), ("sentiment_label", STR), ("min_sentiment", FLOAT),
           ("themes", "list<int64>"), ("primary_theme", INT)]
MENTIONS = [("voc_id", STR), ("unit", INT), ("text", STR), ("language", STR), ("theme", INT),
            ("theme_prob", FLOAT), ("topic", INT), ("sentiment", FLOAT), ("sentiment_label", STR)]

METRIC_CI = ["{m}", "{m}_ci_low", "{m}_ci_high", "{m}_n", "{m}_reliable"]
IMPACT = ["{p}{m}_with", "{p}{m}_without", "{p}{m}_with_n", "{p}{m}_without_n", "{p}{m}_impact",
          "{p}{m}_impact_ci_low", "{p}{m}_impact_ci_high", "{p}{m}_impact_p", "{p}{m}_impact_q", "{p}{m}_reliable"]
COMPLAINT = ["{p}{m}_with", "{p}{m}_without", "{p}{m}_with_n", "{p}{m}_impact", "{p}{m}_impact_ci_low",
             "{p}{m}_impact_ci_high", "{p}{m}_impact_p", "{p}{m}_impact_q"]
METRICS = ("nps", "csat", "ces")


def expand(patterns: list[str], **kw) -> list[str]:
    return [p.format(**kw) for p in patterns]


CSV = {
    "themes.csv": ["theme", "label", "topic", "topic_label", "keywords", "mentions", "records", "share",
                   "mean_sentiment", "negative_share", "exemplars"],
    "topics.csv": ["topic", "label", "keywords", "themes", "mentions", "records", "share", "mean_sentiment",
                   "negative_share", "exemplars"],
    "touchpoints.csv": ["touchpoint", "records", "records_with_text"]
    + [c for m in METRICS for c in expand(METRIC_CI, m=m)] + ["ces_easy_share", "mean_sentiment", "negative_share"],
    "pain_points.csv": ["touchpoint", "level", "topic", "theme", "label", "rank", "rank_metric", "pain_score",
                        "mentions", "records", "complaint_records", "share", "negative_share", "mean_sentiment"]
    + [c for m in METRICS for c in expand(IMPACT, p="", m=m)]
    + [c for m in METRICS for c in expand(COMPLAINT, p="complaint_", m=m)] + ["quotes"],
}
NUMERIC = {"themes.csv": ["theme", "topic", "mentions", "records", "share", "mean_sentiment", "negative_share"],
           "touchpoints.csv": ["records", "records_with_text", "nps", "nps_ci_low", "nps_n", "csat", "ces"],
           "pain_points.csv": ["topic", "rank", "pain_score", "mentions", "records", "nps_impact",
                               "complaint_nps_impact"]}


def family(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return STR
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{t.value_type}>"
    return str(t).replace("double", "float64")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    from tests.conftest import FakeEmbedder

    raw = voc.make_feedback(n=300, random_state=5)
    raw["region"] = ["north", "south", "east"] * 100
    res = analyze(voc.load_feedback(raw), config=Config(sentiment="head", cache_dir="", ces_scale=(1, 7),
                                                         ces_direction="higher_is_easier"),
                  embedder=FakeEmbedder())
    return res.save(tmp_path_factory.mktemp("contract") / "out")


@pytest.mark.parametrize("name, contract", [("records.parquet", RECORDS), ("mentions.parquet", MENTIONS)])
def test_parquet_columns_types_and_order(out, name, contract):
    schema = pq.read_schema(out / name)
    assert [(f.name, family(f.type)) for f in schema] == contract


@pytest.mark.parametrize("name", sorted(CSV))
def test_csv_header_order_and_numeric_columns(out, name):
    table = pd.read_csv(out / name)
    assert list(table.columns) == CSV[name]
    for col in NUMERIC.get(name, []):
        assert pd.api.types.is_numeric_dtype(table[col]), (name, col, table[col].dtype)


def readme_columns(file: str) -> list[str]:
    """The backticked column names of one row of the README's "Outputs" table, in order."""
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith(f"| `{file}`"))
    cells = row.split(" | ")
    return re.findall(r"`([a-z_]+\*?)`", " | ".join(cells[2:]))


def documented(col: str, names: list[str]) -> bool:
    return col in names or any(n.endswith("*") and col.startswith(n[:-1]) for n in names)


@pytest.mark.parametrize("name, columns", [("records.parquet", [c for c, _ in RECORDS if c != "region"]),
                                           ("mentions.parquet", [c for c, _ in MENTIONS])]
                         + [(k, v) for k, v in CSV.items()])
def test_readme_documents_every_column(name, columns):
    names = readme_columns(name)
    missing = [c for c in columns if not documented(c, names)]
    assert missing == [], f"README's Outputs row for {name} does not name {missing}"


@pytest.mark.parametrize("name, columns", [("records.parquet", [c for c, _ in RECORDS if c != "region"]),
                                           ("mentions.parquet", [c for c, _ in MENTIONS])])
def test_readme_lists_parquet_columns_in_file_order(name, columns):
    names = [n for n in readme_columns(name) if n in columns]
    assert names == columns
