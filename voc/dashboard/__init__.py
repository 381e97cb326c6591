"""The reference dashboard: a local web app over a run store (``voc dashboard``).

Built with Dash (``pip install "voc[dashboard]"``), served from this machine
only: Dash serves its scripts from the installed Python packages, the page
uses system fonts, and a Content-Security-Policy forbids any other origin.
It reads only through :class:`voc.Store` (the filter-aware reads of
:mod:`voc.store.views`), from a snapshot copy of the store taken under
DuckDB's read lock and refreshed in the background, so it never writes the
store and keeps answering (with the last complete run) while a weekly run
writes. Customer text reaches the page only as React text nodes (escaped).

>>> from voc.dashboard import serve          # doctest: +SKIP
>>> serve("voc-demo/voc.duckdb", port=8050)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ModelError

INSTALL_HINT = 'pip install "voc[dashboard]"'
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def _require_dash() -> None:
    try:
        import dash  # noqa: F401
    except ImportError as e:
        raise ModelError(
            f"The dashboard needs the optional 'dashboard' extra ({e.name} is not installed). "
            f"Install it with: {INSTALL_HINT}"
        ) from None


def create_app(store: Any, *, refresh: float = 5.0) -> Any:
    """The Dash app over ``store`` (a :class:`voc.Store` or its path).

    ``refresh``: seconds between checks for a new complete run (the
    snapshot is re-taken when the store file changed). Raises
    :class:`~voc.errors.ModelError` with the install hint when Dash is missing.
    """
    _require_dash()
    from .app import build_app

    return build_app(store, refresh=refresh)


def serve(store: Any, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, refresh: float = 5.0,
          ready: Any = None) -> None:
    """Serve the dashboard on ``http://host:port/`` until interrupted.

    Binds to 127.0.0.1 by default (this machine only). ``ready`` (a
    callable) is called with the URL once the store is open and the
    server is about to listen.
    """
    from ..store import Store

    store = store if isinstance(store, Store) else Store(Path(store))
    app = create_app(store, refresh=refresh)
    url = f"http://{host}:{port}/"
    if ready is not None:
        ready(url)
    import logging

    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    run_simple(host, int(port), app.server, threaded=True, use_reloader=False, use_debugger=False)
