"""Write the report files: read a store (or an Analysis), build the content, render both formats atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from .content import report_content, store_report_content
from .render import html_from_content, markdown_from_content


def write_report(source: Any, out_dir: str | Path, *, week: str | None = None, **options: Any) -> dict[str, Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir`` atomically.

    Parameters
    ----------
    source : Store, str, Path or Analysis
        A run store (or its path), or an Analysis-like object with records,
        mentions, themes, pain_points, touchpoints and run. A store is read
        one week at a time (:func:`~voc.report.store_report_content`).
    out_dir : str or Path
        Folder to write into (created if needed).
    week : str, optional
        ``YYYY-Www``; the latest week with data when None.
    **options
        Passed to :func:`~voc.report.report_content` (top, top_trends, n_quotes, title).

    Returns
    -------
    dict
        ``{"html": Path, "md": Path}``.
    """
    from ..store import Store

    if isinstance(source, (str, Path)):
        source = Store(source)
    if isinstance(source, Store):
        content = store_report_content(source, week=week, **options)
    else:
        tables = {k: getattr(source, k, None) for k in ("themes", "pain_points", "touchpoints", "run")}
        content = report_content(source.records, source.mentions, week=week, lineage=None, **tables, **options)
    out_dir = Path(out_dir)
    paths = {"html": out_dir / "report.html", "md": out_dir / "report.md"}
    write_text_atomic(paths["html"], html_from_content(content))
    write_text_atomic(paths["md"], markdown_from_content(content))
    return paths
