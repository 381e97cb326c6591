"""The weekly meeting report: one self-contained HTML page and a Markdown twin.

Functions over the tables, no report object, in three steps:

- :func:`report_content` (:mod:`voc.report.content`) gathers what the report
  says (KPIs, pain points, heatmap, trends, emerging themes, spikes, quotes,
  n) into a dict of plain values and DataFrames, from the tables of a run;
  :func:`store_report_content` does the same from a store, reading only
  the reported week (the trends and alerts are counted in DuckDB);
- :func:`html_from_content` / :func:`markdown_from_content`
  (:mod:`voc.report.render`) fill the Jinja2 templates of
  ``voc/report/templates`` with it, escaping every value for its format;
  :func:`render_html` / :func:`render_markdown` do both steps;
- :func:`write_report` (:mod:`voc.report.write`) reads a
  :class:`~voc.store.Store` (or an Analysis) and writes ``report.html`` and
  ``report.md`` atomically.

The HTML opens offline: no script, no web font, no external resource; the
charts are inline SVG from :mod:`voc.charts` (shared with the dashboard).
"""

from __future__ import annotations

from ..rank import QUOTE_SEP
from .content import (HEATMAP_BY, KPI_NAMES, LEAVES_PER_TOPIC, MAX_QUOTE, WeekSlices, content_from_slices,
                      report_content, store_report_content, store_week_slices, tables_from_store, week_slices)
from .render import CSP, html_from_content, markdown_from_content, render_html, render_markdown
from .write import write_report

__all__ = ["CSP", "HEATMAP_BY", "KPI_NAMES", "LEAVES_PER_TOPIC", "MAX_QUOTE", "QUOTE_SEP", "WeekSlices",
           "content_from_slices", "html_from_content", "markdown_from_content", "render_html", "render_markdown",
           "report_content", "store_report_content", "store_week_slices", "tables_from_store", "week_slices",
           "write_report"]
