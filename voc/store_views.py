"""Old import path of the dashboard reads, now :mod:`voc.store.views` (kept for existing imports)."""

from .store.views import FILTERS, KPI_METRICS, StoreViews, filter_sql

__all__ = ["FILTERS", "KPI_METRICS", "StoreViews", "filter_sql"]
