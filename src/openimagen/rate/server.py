"""Serve the rating app with Werkzeug's threaded server (one thread per request; SQLite serialises the writes)."""

from __future__ import annotations

from werkzeug.serving import BaseWSGIServer, make_server


def make_rating_server(app, host: str = "127.0.0.1", port: int = 8765) -> BaseWSGIServer:
    """A server bound to host:port (port 0 = any free port; read it from `server.server_port`)."""
    return make_server(host, port, app, threaded=True)
