"""Who may use the local server, and from where.

- The API wants the installation's secret (``Authorization: Bearer …``): a random value kept
  0600 in the store directory, so only the user the daemon runs as (and root) can read it.
  The CLI reads it there to talk to a running daemon.
- The page gets a session cookie (HttpOnly, SameSite=Strict) by opening
  ``/login?token=…`` with a one-time login token: ``kkt-bridge run`` prints one at start,
  ``kkt-bridge ui`` asks the daemon for a fresh one. A token works once and for a few
  minutes; sessions live in the daemon's memory only.
- Every request must name the server itself in ``Host`` (127.0.0.1:PORT or
  localhost:PORT): a DNS-rebinding page gets 421. An ``Origin`` that is not the server's
  own gets 403, and a state-changing request carried by the cookie must show its origin
  (``Origin`` or ``Referer``) at all: a form on another site cannot post here.
- No token or secret is ever logged: the server's access log is off, and the login token
  leaves the address bar by a redirect.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import _

SECRET_FILE = "api-secret"
SESSION_COOKIE = "kkt_session"
LOGIN_TOKEN_TTL = 600.0
SESSION_TTL = 7 * 24 * 3600.0
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_or_create_secret(directory: Path) -> str:
    """The installation's API secret in ``directory`` (created 0600 on first use)."""
    path = directory / SECRET_FILE
    try:
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        value = ""
    if value:
        return value
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return value


def read_secret(directory: Path) -> str | None:
    try:
        return (directory / SECRET_FILE).read_text(encoding="ascii").strip() or None
    except OSError:
        return None


@dataclass
class Security:
    """The secret, the one-time login tokens and the sessions of one server."""

    secret: str
    #: host:port forms the server answers to; set once the port is bound
    hosts: set[str] = field(default_factory=set)
    now: Callable[[], float] = time.monotonic
    _tokens: dict[str, float] = field(default_factory=dict)
    _sessions: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _clock(self) -> float:
        return self.now()

    def bind(self, port: int) -> None:
        """Answer to 127.0.0.1:PORT and localhost:PORT (and [::1]:PORT)."""
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}

    # --- the API's secret -------------------------------------------------------------

    def bearer_ok(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _sep, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.secret.encode())

    # --- login tokens and sessions ----------------------------------------------------

    def login_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._tokens[token] = self._clock() + LOGIN_TOKEN_TTL
        return token

    def redeem(self, token: str) -> str | None:
        """A new session for a valid login token (which is used up); None otherwise."""
        with self._lock:
            self._expire()
            if self._tokens.pop(token, None) is None:
                return None
            session = secrets.token_urlsafe(32)
            self._sessions[session] = self._clock() + SESSION_TTL
            return session

    def session_ok(self, session: str | None) -> bool:
        if not session:
            return False
        with self._lock:
            expires = self._sessions.get(session)
            return expires is not None and expires > self._clock()

    def logout(self, session: str | None) -> None:
        with self._lock:
            self._sessions.pop(session or "", None)

    def _expire(self) -> None:
        now = self._clock()
        for table in (self._tokens, self._sessions):
            for key in [k for k, expires in table.items() if expires <= now]:
                del table[key]

    # --- where a request comes from ---------------------------------------------------

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.lower() in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """True for no Origin (not a browser's cross-site request) or the server's own."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc.lower() in self.hosts

    def same_origin(self, origin: str | None, referer: str | None) -> bool:
        """A browser request that shows it comes from one of this server's pages."""
        if origin is not None:
            return self.origin_ok(origin)
        if referer:
            parts = urlsplit(referer)
            return parts.scheme == "http" and parts.netloc.lower() in self.hosts
        return False


# --- FastAPI dependencies --------------------------------------------------------------------


def _security(request: Request) -> Security:
    security: Security = request.app.state.context.security
    return security


def has_session(request: Request) -> bool:
    """True when the request carries a live page session (the page's own check)."""
    return _security(request).session_ok(request.cookies.get(SESSION_COOKIE))


def require_api(request: Request) -> None:
    """The secret, or the page's session (then a state-changing request must show that it
    comes from one of this server's pages)."""
    security = _security(request)
    if security.bearer_ok(request.headers.get("authorization")):
        return
    if has_session(request):
        if request.method in UNSAFE_METHODS and not security.same_origin(
                request.headers.get("origin"), request.headers.get("referer")):
            raise AccessDenied(403, _("запрос пришёл не со страницы kkt-bridge"),
                               _("откройте страницу kkt-bridge и повторите там"))
        return
    raise AccessDenied(401, _("нужен ключ доступа к kkt-bridge"),
                       _("передайте заголовок «Authorization: Bearer <ключ>» (ключ: файл "
                         "{name} в каталоге хранилища) или откройте страницу по ссылке "
                         "из «kkt-bridge ui»").format(name=SECRET_FILE))


def require_secret(request: Request) -> None:
    """The secret itself: a page session cannot mint login tokens."""
    if not _security(request).bearer_ok(request.headers.get("authorization")):
        raise AccessDenied(401, _("нужен ключ доступа к kkt-bridge"),
                           _("это действие доступно только с ключом (kkt-bridge ui)"))


class AccessDenied(KktBridgeError):
    """The request may not be served: no secret or session (401), not from here (403)."""

    def __init__(self, status: int, message: str, hint: str) -> None:
        super().__init__(message, hint)
        self.status = status
