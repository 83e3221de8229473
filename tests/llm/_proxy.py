"""A small HTTP proxy in front of the real llama.cpp server that injects faults on demand.

``proxy.inject("429", "500", "timeout", "malformed", ...)`` queues faults: each of the next
``POST /chat/completions`` requests takes the next fault instead of reaching the server (a
``"pass"`` lets one through). It counts requests, and the most requests in flight at once.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, upstream: str, *, hang_s: float = 3.0, retry_after: str = "0") -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.hang_s = hang_s
        self.retry_after = retry_after
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self.requests = 0  # POST /chat/completions received
        self.forwarded = 0  # of them, passed to the server
        self.in_flight = 0
        self.max_in_flight = 0
        self.times: list[float] = []  # when each POST arrived (time.monotonic)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a hanging "timeout" handler does not hold close
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def inject(self, *faults: str) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests = self.forwarded = self.max_in_flight = 0
            self.times = []

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self) -> str:
        with self._lock:
            self.requests += 1
            self.times.append(time.monotonic())
            return self._faults.popleft() if self._faults else "pass"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                      ) -> None:
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.close_connection = True

            def _forward(self, method: str, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=600)
                try:
                    conn.request(method, self.path, body=body or None,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                    self._send(resp.status, data,
                               {"Content-Type": resp.getheader("Content-Type") or
                                "application/json"})
                finally:
                    conn.close()

            def do_GET(self) -> None:
                self._forward("GET", b"")

            def do_POST(self) -> None:
                body = self._body()
                if not self.path.endswith("/chat/completions"):
                    self._forward("POST", body)
                    return
                fault = proxy._next_fault()
                with proxy._lock:
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    if fault == "429":
                        self._send(429, b'{"error": {"message": "slow down"}}',
                                   {"Retry-After": proxy.retry_after,
                                    "Content-Type": "application/json"})
                    elif fault == "500":
                        self._send(500, b"internal error")
                    elif fault == "malformed":
                        self._send(200, b'{"choices": [', {"Content-Type": "application/json"})
                    elif fault == "timeout":
                        time.sleep(proxy.hang_s)
                        self.close_connection = True
                    else:
                        with proxy._lock:
                            proxy.forwarded += 1
                        self._forward("POST", body)
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

        return Handler
