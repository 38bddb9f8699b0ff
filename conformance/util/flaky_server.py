"""A local HTTP server that fails on purpose: the retry check's known-bad network (no real network needed)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any


class FlakyWheelServer:
    """Serve one file on 127.0.0.1 after answering the first `failures` requests with HTTP 503.

    A context manager; `url` is the file's URL and `requests` counts what was asked. Local only: the
    retry check never touches a network.
    """

    def __init__(self, wheel: Path, failures: int = 3) -> None:
        self.wheel = wheel
        self.failures = failures
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests += 1
                if self.path != f"/{server.wheel.name}":
                    self.send_error(404)
                    return
                if server.requests <= server.failures:
                    self.send_error(503, "flaky on purpose")
                    return
                body = server.wheel.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
                return

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/{self.wheel.name}"

    def __enter__(self) -> FlakyWheelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
