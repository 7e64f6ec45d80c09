"""A loopback HTTP server for download tests: serves a folder on 127.0.0.1 only.

It counts requests per path (to prove cache reuse) and can misbehave on purpose:
``truncate`` paths announce the full ``Content-Length`` but send half the body and
drop the connection (an interrupted download); ``fail_times[path] = n`` truncates the
first ``n`` requests of a path only (to exercise retries).

Examples
--------
>>> with FixtureServer(TEST_DATA / "geo") as server:  # doctest: +SKIP
...     url = server.url + "/series/GSE999nnn/GSE999002/suppl/GSE999002_counts.txt.gz"
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class FixtureServer:
    """Serve ``root`` over HTTP on 127.0.0.1 (an ephemeral port) in a background thread."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.requests: Counter[str] = Counter()
        self.truncate: set[str] = set()
        self.fail_times: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, suffix: str) -> int:
        """Requests so far for paths ending with ``suffix``."""
        return sum(n for path, n in self.requests.items() if path.endswith(suffix))

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                with server._lock:
                    server.requests[path] += 1
                    cut = path in server.truncate or server.fail_times[path] > 0
                    if server.fail_times[path] > 0:
                        server.fail_times[path] -= 1
                target = (server.root / path.lstrip("/")).resolve()
                if not target.is_file() or not target.is_relative_to(server.root):
                    self.send_error(404, "Not Found")
                    return
                body = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler
