"""The dashboard's charts, by their old path: they live in :mod:`voc.charts`, shared with the report."""

from __future__ import annotations

from ..charts import BAR, RED, heat_color, heatmap_grid, heatmap_svg, svg_data_uri, trend_svg

__all__ = ["BAR", "RED", "heat_color", "heatmap_grid", "heatmap_svg", "svg_data_uri", "trend_svg"]
