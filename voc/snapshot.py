"""Old import path of the read-only store snapshot, now :mod:`voc.store.snapshot` (kept for existing imports)."""

from .store.snapshot import CACHE_SIZE, CACHED, SnapshotStore

__all__ = ["CACHE_SIZE", "CACHED", "SnapshotStore"]
