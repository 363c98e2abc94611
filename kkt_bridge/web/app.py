"""The local server's application: the JSON API, the page, ``/login``, ``/metrics``.

:func:`create_app` builds it over a :class:`~kkt_bridge.web.context.WebContext`; the page's
routes come from :mod:`kkt_bridge.web.pages` (``pages.router``, an ``APIRouter``) when that
module is there. Routes find their world in ``request.app.state``: ``context`` (the
WebContext) and ``actions`` (its :class:`~kkt_bridge.bridge.actions.Actions`).

Before any route, :class:`Guard` checks where the request comes from (``Host``: DNS
rebinding, 421; ``Origin``: another site, 403) and makes the request's language active:
``?lang=``, else the page's ``kkt_lang`` cookie, else Accept-Language, else Russian. Inside
a route ``_()``, the actions' results and their errors are in that language; work handed to
a register's worker or to a thread keeps it when started with the request's context
(:meth:`kkt_bridge.bridge.daemon.Daemon.submit` does; a thread of a route should run in
``contextvars.copy_context()``).

What the page's routes rely on: ``kkt_bridge.web.security.has_session(request)`` (the
session cookie, HttpOnly, SameSite=Strict, set by ``/login``), ``security.same_origin`` for
their forms, and the events of ``/api/events`` (:mod:`kkt_bridge.web.events`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import SUPPORTED, _, negotiate, using_language
from kkt_bridge.web import api
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.errors import (
    body,
    on_http_error,
    on_internal_error,
    on_project_error,
    on_validation_error,
)
from kkt_bridge.web.security import SESSION_COOKIE, SESSION_TTL

log = logging.getLogger(__name__)

LANG_COOKIE = "kkt_lang"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_language(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    wanted = (query.get("lang") or [None])[0]
    if wanted in SUPPORTED:
        return wanted
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers", ())}
    for cookie in headers.get("cookie", "").split(";"):
        name, _eq, value = cookie.strip().partition("=")
        if name == LANG_COOKIE and value in SUPPORTED:
            return value
    return negotiate(headers.get("accept-language"))


class Guard:
    """Host and Origin checks and the request's language, for every HTTP request."""

    def __init__(self, app: ASGIApp, context: WebContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with using_language(request_language(scope)):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", ())}
            security = self.context.security
            if not security.host_ok(headers.get("host")):
                response: Response = body(
                    421, _("kkt-bridge отвечает только по адресу 127.0.0.1 или localhost"),
                    _("откройте страницу по ссылке, которую напечатал kkt-bridge"),
                    "WrongHost")
            elif not security.origin_ok(headers.get("origin")):
                response = body(403, _("запрос с чужой страницы отклонён"),
                                _("откройте страницу kkt-bridge и повторите там"),
                                "ForeignOrigin")
            else:
                await self.app(scope, receive, send)
                return
            await response(scope, receive, send)


#: the modules of the page's routes (``router`` each): the register page, and the demo's
#: emulator page (which answers only when the context has an emulator)
PAGE_MODULES = ("kkt_bridge.web.pages", "kkt_bridge.web.emulatorpage")


def _include_pages(app: FastAPI) -> None:
    for name in PAGE_MODULES:
        try:
            pages = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(pages.router)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kkt-bridge")
    except PackageNotFoundError:
        return "0"


def create_app(context: WebContext) -> FastAPI:
    app = FastAPI(title="kkt-bridge", version=_version(),
                  description="The register side of kkt-bridge: pairing, settings, «Обновить "
                              "сейчас», status, prompts and the catalog.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.context = context
    app.state.actions = context.actions
    app.add_exception_handler(KktBridgeError, on_project_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_internal_error)
    app.include_router(api.router)

    @app.get("/login", include_in_schema=False)
    def login(request: Request, token: str = "") -> Response:
        """Trade a one-time login token for a session cookie, then leave the token's
        address (a redirect), so it stays in no history and no later Referer."""
        session = context.security.redeem(token)
        if session is None:
            return body(403, _("ссылка для входа недействительна или уже использована"),
                        _("получите новую: kkt-bridge ui"), "LoginTokenInvalid")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, max_age=int(SESSION_TTL), httponly=True,
                            samesite="strict", path="/")
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if context.registry is None:
            return body(404, _("метрики не включены"), None, "NotFound")
        return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)

    _include_pages(app)
    app.add_middleware(Guard, context=context)
    return app
