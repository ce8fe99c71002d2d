"""Who may use the dashboard: loopback by default, a token for anything else.

The benchmark endpoint runs generated code and can spend money, so:
- binding anything but loopback requires a token (`ServeConfig.check` refuses otherwise);
- when a token is set it is checked on every request: the `Authorization: Bearer` or
  `X-Codecrew-Token` header, or the `codecrew_token` cookie; a page may carry it once as
  `?token=...`, which sets the cookie (HttpOnly, SameSite=Strict);
- the Host header must name this server (a DNS-rebinding page cannot reach it), and a POST
  must come from this origin (the Origin header, when a browser sends one, must match Host).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

TOKEN_COOKIE = "codecrew_token"
TOKEN_HEADER = "x-codecrew-token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine."""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class InsecureBind(ValueError):
    """Binding a non-loopback address without a token."""


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    token: str | None = None
    extra_hosts: frozenset[str] = frozenset()  # more Host names to accept (tests, proxies)

    def check(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise InsecureBind(
                f"binding {self.host} makes the dashboard reachable from other machines, and it can start"
                " benchmarks that run code and spend money: pass --token TOKEN or set CODECREW_SERVE_TOKEN"
            )

    def host_allowed(self, host_header: str) -> bool:
        name = _hostname(host_header)
        if name is None:
            return False
        if self.host in WILDCARDS:  # any address of this machine; the token guards it
            return True
        return name in LOOPBACK_NAMES or name == self.host.strip("[]").lower() or name in self.extra_hosts


def _hostname(host_header: str) -> str | None:
    try:
        return urlsplit(f"//{host_header}").hostname
    except ValueError:
        return None


def _presented_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE)


def _refuse(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return JSONResponse({"detail": message}, status_code=status)
    return PlainTextResponse(message, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def guard(config: ServeConfig) -> Callable[[Request, Handler], Awaitable[Response]]:
    """The HTTP middleware enforcing the rules above."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        host = request.headers.get("host", "")
        if not config.host_allowed(host):
            return _refuse(request, 403, f"Host {host!r} is not this dashboard's address: use its own URL")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != host:
                return _refuse(request, 403, f"cross-origin {request.method} refused (Origin {origin})")
            if origin is None and request.headers.get("sec-fetch-site") == "cross-site":
                return _refuse(request, 403, f"cross-site {request.method} refused")
        if config.token:
            query_token = request.query_params.get("token")
            if (
                request.method == "GET"
                and query_token
                and not request.url.path.startswith("/api/")
                and secrets.compare_digest(query_token.encode(), config.token.encode())
            ):
                # the link carried the token once: keep it in a cookie, drop it from the URL
                clean = request.url.remove_query_params("token")
                redirect = RedirectResponse(str(clean.path) + (f"?{clean.query}" if clean.query else ""), 303)
                redirect.set_cookie(TOKEN_COOKIE, config.token, httponly=True, samesite="strict")
                return redirect
            presented = _presented_token(request)
            if presented is None or not secrets.compare_digest(presented.encode(), config.token.encode()):
                return _refuse(
                    request,
                    401,
                    "this dashboard needs its token: send 'Authorization: Bearer TOKEN',"
                    " or open a page once with ?token=TOKEN",
                )
        return await call_next(request)

    return middleware
