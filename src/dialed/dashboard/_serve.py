"""Running the dashboard: uvicorn in the foreground (the command line) or in a thread."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from dialed._util import install_hint
from dialed.dashboard._security import is_loopback
from dialed.dashboard._server import check_token, create_app
from dialed.errors import ConfigError
from dialed.storage import Storage

__all__ = ["DashboardServer", "serve"]


class DashboardServer:
    """The dashboard on ``host:port`` (``port=0``: a free one), reading ``storage``.

    Anything but a loopback host needs an access token; one is generated
    (``secrets.token_urlsafe``) when none is given. :attr:`url` is the address to open, with
    the token when there is one. Use :meth:`run` to serve until Ctrl-C, or :meth:`start` and
    :meth:`stop` to serve from a background thread.
    """

    def __init__(self, storage: str | Storage, *, host: str = "127.0.0.1", port: int = 8080,
                 token: str | None = None, log_level: str = "warning", **options: Any) -> None:
        try:
            import uvicorn
        except ImportError:
            raise ConfigError(
                f"the dashboard needs its extra: {install_hint('dashboard')}"
            ) from None
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(24)
        self.token = check_token(token)
        self.host = host
        if port == 0:
            port = _free_port(host)
        self.port = port
        self.app = create_app(storage, token=self.token, **options)
        config = uvicorn.Config(self.app, host=host, port=port, log_level=log_level,
                                access_log=log_level in ("debug", "info"),
                                server_header=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = self.host
        if shown in ("0.0.0.0", "::", ""):
            shown = socket.gethostname()
        if ":" in shown:
            shown = f"[{shown}]"
        base = f"http://{shown}:{self.port}/"
        return base + (f"?token={self.token}" if self.token else "")

    def run(self, announce: Callable[[str], None] | None = None) -> None:
        """Serve until Ctrl-C; ``announce`` gets :attr:`url` once connections are accepted."""
        self.start()
        if announce is not None:
            announce(self.url)
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Serve from a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self._server.run, name="dialed-dashboard",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the dashboard did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(storage: str | Storage, *, host: str = "127.0.0.1", port: int = 8080,
          token: str | None = None, announce: Callable[[str], None] = print) -> None:
    """Serve the dashboard until Ctrl-C; ``announce`` receives the URL to open."""
    DashboardServer(storage, host=host, port=port, token=token).run(announce)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
