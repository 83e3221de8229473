"""The dashboard's guard: read-only methods, an access token, host checks, security headers.

One ASGI middleware in front of every route (static files included):

- **Read-only**: any method but GET and HEAD is answered 405 before it reaches a route.
- **Token**: when the server has one (always, when it listens on anything but loopback), every
  request must carry it: ``Authorization: Bearer <token>``, or the ``dialed_token`` cookie.
  ``?token=<token>`` in a page's URL sets that cookie (HttpOnly, SameSite=Strict) and
  redirects to the same URL without the token, so it does not stay in the address bar or the
  history. Tokens are compared in constant time. Anything else is answered 401.
- **Host**: without a token the server answers only requests addressed to a loopback name
  (``127.0.0.1``, ``localhost``, ``[::1]``), so a web page cannot reach it through a DNS name
  rebound to 127.0.0.1.
- **Headers**: a Content-Security-Policy that allows scripts from the server only (no inline
  script, no ``eval``; plotly is the strict build), ``nosniff``, no framing, no referrer, and
  ``no-store`` on everything but the static files.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

__all__ = ["COOKIE", "CSP", "Guard", "is_loopback"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "dialed_token"
#: Plotly sets inline styles on the elements it draws, so styles may be inline; scripts may not.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SAFE_METHODS = ("GET", "HEAD")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    h = host.strip().strip("[]").lower()
    if h in _LOOPBACK_NAMES or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


class Guard:
    """The middleware described at the top; ``token=None`` means loopback only, no token."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets
        headers = _headers(scope)
        static = str(scope.get("path", "")).startswith("/static/")
        send = _with_security_headers(send, static=static)
        if scope["method"] not in _SAFE_METHODS:
            await _plain(send, 405, "the dashboard is read-only: only GET and HEAD are allowed",
                         [(b"allow", b"GET, HEAD")])
            return
        if self.token is None:
            if not is_loopback(_host_name(headers.get("host", ""))):
                await _plain(send, 403, "this dashboard answers requests to 127.0.0.1 or "
                                        "localhost only (start it with --token to serve others)")
                return
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        if "token" in query and self._matches(query["token"]):
            await self._redirect_with_cookie(scope, send, query)
            return
        if self._matches(_bearer(headers.get("authorization", ""))) or self._matches(
            _cookie(headers.get("cookie", ""))
        ):
            await self.app(scope, receive, send)
            return
        await _plain(send, 401, "this dashboard needs its access token: open the URL that "
                                "'dialed dashboard' printed (it ends in ?token=...), or send "
                                "'Authorization: Bearer <token>'",
                     [(b"www-authenticate", b'Bearer realm="dialed"')])

    def _matches(self, given: str | None) -> bool:
        if not given or self.token is None:
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    async def _redirect_with_cookie(self, scope: Scope, send: Send,
                                    query: dict[str, str]) -> None:
        rest = {k: v for k, v in query.items() if k != "token"}
        # a path of this server only: "//host/x" would send the browser elsewhere
        location = "/" + quote(str(scope["path"]), safe="/:@!$&'()*+,;=-._~").lstrip("/")
        if rest:
            location += "?" + urlencode(rest)
        cookie = (f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict")
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", location.encode("latin-1")),
            (b"set-cookie", cookie.encode("latin-1")),
            (b"content-type", b"text/plain; charset=utf-8"),
        ]})
        await send({"type": "http.response.body", "body": b"signed in\n"})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _host_name(host: str) -> str:
    """``127.0.0.1:8080`` -> ``127.0.0.1``; ``[::1]:8080`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _bearer(value: str) -> str | None:
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _cookie(value: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(value)
    except Exception:  # a malformed Cookie header is no token
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value


def _with_security_headers(send: Send, *, static: bool) -> Send:
    extra = [
        (b"content-security-policy", CSP.encode("latin-1")),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if not static:
        extra.append((b"cache-control", b"no-store"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = [*message.get("headers", []),
                                  *((k, v) for k, v in extra if k not in names)]
        await send(message)

    return wrapped


async def _plain(send: Send, status: int, text: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
        *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})
