"""The reference back office's HTTP API: FastAPI on Starlette, typed by :mod:`.models`.

The register-facing part (``/api/v1/pair``, ``/me``, ``/catalog``, ``/employees``,
``/documents``) is what :file:`openapi.json` describes (generated from this module, see
:func:`openapi_document`) and what the ``reference`` plugin speaks; a back office written in
another language implements just that. ``/api/v1/admin`` serves «Мои Кассы» and the CLI.

Held to its description at the edges: every error is the documented JSON error body; a
body is capped while it streams (:data:`MAX_BODY`), must be ``application/json`` (415), and
must be JSON as RFC 8259 means it (no NaN/Infinity, no lone surrogates, bounded nesting:
400); a value the schema does not allow is a 422; unknown paths and methods are JSON
404/405 with ``Allow``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from pydantic_core import from_json
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kkt_bridge.errors import ConfigError, KktBridgeError
from kkt_bridge.plugins.reference import messages, models
from kkt_bridge.plugins.reference.batch import decode_batch, encode_acks
from kkt_bridge.plugins.reference.faults import FaultInjector, FaultMiddleware
from kkt_bridge.plugins.reference.messages import _
from kkt_bridge.plugins.reference.service import BackOffice, PairingRefused, encode_fns
from kkt_bridge.plugins.reference.storage import (
    IncomingDocument,
    Register,
    StorageUnavailable,
    StoredDocument,
    display_code,
    iso,
)

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
API_VERSION = "1.1.0"
#: the largest request body read; larger ones are refused while they stream
MAX_BODY = 64 * 1024 * 1024
#: seconds a request body may pause between two pieces
BODY_CHUNK_TIMEOUT = 15.0
#: nesting a request body may have (a document's FNS JSON is 4 levels deep): the limit
#: pydantic-core's JSON parser enforces
MAX_DEPTH = 200
#: failed pairing attempts allowed per client address in PAIR_WINDOW (guessing 10^8 codes)
PAIR_FAILURES = 10
PAIR_WINDOW = timedelta(minutes=1)
MAX_BATCH = models.MAX_BATCH
WRITER_THREADS = 8


class ApiError(HTTPException):
    """An answer other than success: the status, the error code and a message."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


# --- strict JSON -------------------------------------------------------------------------

def parse_json(body: bytes) -> Any:
    """The body as JSON, or ApiError(400): not UTF-8 JSON, NaN/Infinity, a lone surrogate,
    or nested deeper than MAX_DEPTH. The parser (pydantic-core's) stops at MAX_DEPTH by
    itself, so a 100,000-deep body costs microseconds and no stack; it is also three times
    faster than the standard library's on a batch of receipts."""
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        why = str(exc)
        if why.startswith("recursion limit"):
            raise ApiError(400, "too_deep", _("тело запроса вложено слишком глубоко")) from None
        if "surrogate" in why or "hex escape" in why:
            raise ApiError(400, "invalid_json", _("тело запроса не JSON: строка с "
                                                  "одиночным суррогатом")) from None
        if body.lstrip()[:1] in (b"N", b"I", b"-") or b"NaN" in body or b"Infinity" in body:
            raise ApiError(400, "invalid_json", _("тело запроса не JSON: NaN и Infinity не "
                                                  "допускаются")) from None
        raise ApiError(400, "invalid_json", _("тело запроса не JSON")) from None


class StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


#: a route's shortcut: its answer, or None to let the typed route judge the request
FastPath = Callable[[Request], Coroutine[Any, Any, Response | None]]


class StrictRoute(APIRoute):
    """Routes whose requests parse JSON strictly and must say they send JSON. A route may
    have a ``fast`` path, tried first, that answers the common request without FastAPI's
    parsing and validation (see :mod:`.batch`)."""

    fast: FastPath | None = None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None
        known = {param.alias for param in self.dependant.query_params}

        async def strict(request: Request) -> Response:
            unknown = set(request.query_params) - known
            if unknown:
                raise ApiError(422, "invalid", _("неизвестный параметр запроса: {name}").format(
                    name=sorted(unknown)[0][:64]))
            if takes_body and not _is_json(request.headers.get("content-type")):
                raise ApiError(415, "unsupported_media_type",
                               _("тело запроса должно быть application/json"))
            strict_request = StrictRequest(request.scope, request.receive)
            if self.fast is not None:  # the body it reads stays with strict_request
                answer = await self.fast(strict_request)
                if answer is not None:
                    return answer
            return await handler(strict_request)

        return strict


class Edge:
    """Outermost ASGI layer: the request's language, and the body cap while it streams."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        messages.use(messages.choose(headers.get(b"accept-language", b"").decode("latin-1")))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            too_large = _too_large()
            await error_response(413, too_large.code, too_large.message,
                                 {"Connection": "close"})(scope, receive, send)
            return
        seen = 0
        limit = self.max_body
        complete = False

        async def capped() -> Message:
            nonlocal seen, complete
            if complete:  # the body is in: what remains is waiting for a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), BODY_CHUNK_TIMEOUT)
            except TimeoutError:
                raise ApiError(408, "timeout", _("тело запроса не пришло вовремя"),
                               {"Connection": "close"}) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large()
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, capped, send)


def _too_large() -> ApiError:
    return ApiError(413, "too_large", _("запрос слишком большой"))


# --- the application -------------------------------------------------------------------


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "Тело запроса не JSON", 401: "Нет токена или он не принят",
             404: "Не найдено", 409: "Конфликт", 410: "Срок истёк",
             413: "Запрос слишком большой", 415: "Тело не application/json",
             422: "Значение не проходит по схеме", 429: "Слишком часто",
             500: "Внутренняя ошибка", 503: "Временно недоступен"}
    return {status: {"model": models.ErrorBody, "description": words[status]}
            for status in (*statuses, 500, 503)}


_BODY = (400, 413, 415, 422)
_REGISTER = (401, 429)
_ADMIN = (401,)


def _decimal(value: Any) -> Any:
    """An integer in a path or a query is written in decimal digits: pydantic would also
    take "+0.0" or " 7" for one, which the description does not allow."""
    if isinstance(value, str) and not (value.isascii() and value.lstrip("-").isdigit()):
        raise ValueError("нужно целое число")
    return value


_Decimal = BeforeValidator(_decimal)
_ID = Annotated[int, PathParam(ge=1, le=models.INT_MAX), _Decimal]
After = Annotated[int, Query(ge=0, le=models.INT_MAX,
                             description="номер получения, после которого"), _Decimal]
Limit = Annotated[int, Query(ge=1, le=1000), _Decimal]
_register_bearer = HTTPBearer(auto_error=False, scheme_name="registerToken",
                              description="токен кассы из /api/v1/pair")
_admin_bearer = HTTPBearer(auto_error=False, scheme_name="adminToken",
                           description="kkt-bridge backoffice admin-token")
RegisterToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_register_bearer)]
AdminToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)]


class ReferenceApi:
    """Request handlers bound to one back office; ``app`` is the ASGI application to serve."""

    def __init__(self, office: BackOffice | None, *, code_ttl: timedelta = timedelta(hours=24),
                 faults: FaultInjector | None = None, open_ui: bool = False,
                 max_body: int = MAX_BODY) -> None:
        self._office = office
        self.code_ttl = code_ttl
        self.faults = faults or FaultInjector()
        #: threads for exports to a storage that is not inline (as many as its connections)
        self._writers = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="export")
        self.fastapi = self._build()
        if open_ui:
            from kkt_bridge.plugins.reference.pages import add_pages

            add_pages(self.fastapi, self)
        else:
            self.fastapi.add_api_route("/", _index, methods=["GET"], include_in_schema=False)
        self.app = Edge(FaultMiddleware(self.fastapi, self.faults), max_body)

    @property
    def office(self) -> BackOffice:
        assert self._office is not None, "an API built for its description only"
        return self._office

    # plumbing

    def _build(self) -> FastAPI:
        app = FastAPI(title="kkt-bridge: эталонный бэк-офис", version=API_VERSION,
                      description=_DESCRIPTION, openapi_url="/openapi.json", docs_url=None,
                      redoc_url=None)
        app.router.route_class = StrictRoute
        app.add_exception_handler(ApiError, self._on_api_error)  # type: ignore[arg-type]
        app.add_exception_handler(HTTPException, self._on_http_error)  # type: ignore[arg-type]
        app.add_exception_handler(RequestValidationError,
                                  self._on_invalid)  # type: ignore[arg-type]
        app.add_exception_handler(StorageUnavailable,
                                  self._on_unavailable)  # type: ignore[arg-type]
        app.add_exception_handler(KktBridgeError, self._on_refused)  # type: ignore[arg-type]
        app.add_exception_handler(Exception, self._on_crash)
        self._routes(app)
        return app

    async def _on_api_error(self, request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def _on_http_error(self, request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            return error_response(405, "method_not_allowed", _("метод не поддерживается"),
                                  {"Allow": ", ".join(allowed)})
        if exc.status_code == 404:
            return error_response(404, "not_found", _("адрес не найден"))
        return error_response(exc.status_code, "error", str(exc.detail), exc.headers)

    async def _on_invalid(self, request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        where = ""
        if errors:
            first = errors[0]
            loc = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
            where = f": {loc}: {first.get('msg', '')}" if loc else f": {first.get('msg', '')}"
        return error_response(422, "invalid", _("запрос не проходит по схеме API") + where)

    async def _on_unavailable(self, request: Request, exc: StorageUnavailable) -> Response:
        return error_response(503, "unavailable", _("база бэк-офиса временно недоступна"),
                              {"Retry-After": "1"})

    async def _on_refused(self, request: Request, exc: KktBridgeError) -> Response:
        return error_response(400, "invalid", str(exc))

    async def _on_crash(self, request: Request, exc: Exception) -> Response:
        # logged by the server with its traceback; the client gets the documented body only
        return error_response(500, "internal", _("внутренняя ошибка бэк-офиса"))

    def current_register(self, credentials: HTTPAuthorizationCredentials | None) -> Register:
        register = None
        if credentials is not None and credentials.credentials.strip():
            register = self.office.register_by_token(credentials.credentials.strip())
        if register is None:
            raise _unauthorized()
        return register

    async def fast_post_documents(self, request: Request) -> Response | None:
        """``POST /documents`` for a batch :func:`.batch.decode_batch` is sure of: the body
        parsed once, the token checked and the batch stored in one unit of work."""
        batch = decode_batch(await request.body())
        if batch is None:
            return None
        token = _bearer(request.headers.get("authorization"))
        if token is None:
            raise _unauthorized()
        if self.office.storage.inline:  # a thread hand-off costs more than the SQL
            acks = self.office.receive_from(token, batch)
        else:  # a plain executor: anyio's thread machinery costs more per call
            acks = await asyncio.get_running_loop().run_in_executor(
                self._writers, self.office.receive_from, token, batch)
        if acks is None:
            raise _unauthorized()
        return Response(encode_acks(acks), media_type="application/json")

    def require_admin(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        token = "" if credentials is None else credentials.credentials.strip()
        # bytes: compare_digest refuses non-ASCII str, and a header may carry anything
        if not token or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                                self.office.admin_token.encode()):
            raise ApiError(401, "unauthorized", _("нужен токен администратора"),
                           {"WWW-Authenticate": 'Bearer realm="kkt-bridge-admin"'})

    # routes

    def _routes(self, app: FastAPI) -> None:
        api = "/api/v1"

        @app.get(f"{api}/health", response_model=models.HealthOut, tags=["public"],
                 responses=_errors())
        def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.post(f"{api}/pair", response_model=models.PairOut, tags=["register"],
                  responses=_errors(*_BODY, 404, 409, 410, 429),
                  summary="Подключить кассу по коду синхронизации")
        def pair(request: Request, body: models.PairIn) -> dict[str, Any]:
            client = request.client.host if request.client else "?"
            self._check_pair_rate(client)
            try:
                pairing = self.office.pair(body.code, body.register_in.model_dump(),
                                           current_token=body.current_token)
            except PairingRefused as exc:
                self.office.record_pair_failure(client[:64], PAIR_WINDOW)
                status = {"sync_code_not_found": 404, "sync_code_used": 409,
                          "register_paired": 409, "sync_code_expired": 410}[exc.reason]
                raise ApiError(status, exc.reason, str(exc)) from None
            return {"token": pairing.token, "account": pairing.account,
                    "shop": pairing.register.shop, "register_id": pairing.register.id}

        @app.get(f"{api}/me", response_model=models.MeOut, tags=["register"],
                 responses=_errors(*_REGISTER))
        def me(token: RegisterToken) -> dict[str, Any]:
            register = self.current_register(token)
            return {"account": self.office.account(), "shop": register.shop,
                    "register": register_json(register)}

        @app.get(f"{api}/catalog", response_model=models.CatalogOut, tags=["register"],
                 responses=_errors(*_REGISTER, 422))
        def catalog(token: RegisterToken, since: Annotated[str | None, Query(
                max_length=64, json_schema_extra={"format": "date-time"},
                description="только изменения после этого времени (RFC 3339)")] = None,
                    ) -> Any:
            register = self.current_register(token)
            stamp = None if since is None else moment(since)
            return JSONResponse(self.office.catalog(register.shop_id, stamp))

        @app.get(f"{api}/employees", response_model=models.EmployeesOut, tags=["register"],
                 responses=_errors(*_REGISTER))
        def employees(token: RegisterToken) -> Any:
            register = self.current_register(token)
            return JSONResponse({"employees": self.office.employees(register.shop_id)})

        @app.post(f"{api}/documents", response_model=models.AcksOut, tags=["register"],
                  responses=_errors(*_BODY, *_REGISTER),
                  summary="Принять пачку документов (повтор ФН+ФД — дубликат, не копия)")
        def post_documents(token: RegisterToken, batch: Annotated[
                list[models.DocumentIn], Body(json_schema_extra={"maxItems": MAX_BATCH})]
                           ) -> Any:
            register = self.current_register(token)
            if len(batch) > MAX_BATCH:
                raise ApiError(422, "batch_too_large",
                               _("не больше 1000 документов за запрос"))
            incoming = [_incoming(index, doc) for index, doc in enumerate(batch)]
            acks = self.office.receive(register, incoming)
            return JSONResponse({"acks": [{"key": a.key, "accepted": a.accepted,
                                           "duplicate": a.duplicate, "error": a.error}
                                          for a in acks]})

        @app.get(f"{api}/documents", response_model=models.DocumentsOut, tags=["register"],
                 responses=_errors(*_REGISTER, 422))
        def list_documents(token: RegisterToken, after: After = 0, limit: Limit = 1000) -> Any:
            register = self.current_register(token)
            docs = self.office.documents(register=register, after=after, limit=limit)
            return JSONResponse({"documents": [document_json(d) for d in docs]})

        @app.get(f"{api}/documents/{{fn_number}}/{{fd_number}}",
                 response_model=models.DocumentOut, tags=["register"],
                 responses=_errors(*_REGISTER, 404, 422))
        def get_document(token: RegisterToken,
                         fn_number: Annotated[str, PathParam(max_length=64)],
                         fd_number: Annotated[int, PathParam(ge=1, le=models.FD_MAX),
                                              _Decimal]) -> Any:
            register = self.current_register(token)
            doc = self.office.document(register, fn_number, fd_number)
            if doc is None:  # another register's document looks exactly like a missing one
                raise ApiError(404, "not_found", _("документ не найден"))
            return JSONResponse(document_json(doc))

        # admin («Мои Кассы»)

        @app.get(f"{api}/admin/shops", response_model=models.ShopsOut, tags=["admin"],
                 responses=_errors(*_ADMIN))
        def admin_shops(token: AdminToken) -> dict[str, Any]:
            self.require_admin(token)
            return {"shops": [{"id": s.id, "name": s.name} for s in self.office.shops()]}

        @app.post(f"{api}/admin/sync-codes", response_model=models.SyncCodeOut,
                  status_code=201, tags=["admin"], responses=_errors(*_BODY, *_ADMIN, 404))
        def admin_issue_code(token: AdminToken, body: models.SyncCodeIn) -> dict[str, Any]:
            self.require_admin(token)
            if not body.create_shop and self.office.shop(body.shop) is None:
                raise ApiError(404, "shop_not_found",
                               _("магазин не найден; чтобы создать его, передайте "
                                 "create_shop: true"))
            code = self.office.issue_sync_code(body.shop, self.code_ttl)
            return {"code": code.display, "shop": code.shop,
                    "expires_at": iso(code.expires_at)}

        @app.get(f"{api}/admin/sync-codes", response_model=models.SyncCodesOut,
                 tags=["admin"], responses=_errors(*_ADMIN))
        def admin_sync_codes(token: AdminToken) -> dict[str, Any]:
            self.require_admin(token)
            now = self.office.now()
            return {"sync_codes": [
                {"code": display_code(r["code"]), "shop": r["shop"],
                 "expires_at": iso(r["expires_at"]),
                 "state": "used" if r["used_at"] is not None
                 else "expired" if r["expires_at"] <= now else "active",
                 "register_id": r["register_id"]} for r in self.office.sync_codes()]}

        @app.get(f"{api}/admin/registers", response_model=models.RegistersOut,
                 tags=["admin"], responses=_errors(*_ADMIN))
        def admin_registers(token: AdminToken) -> dict[str, Any]:
            self.require_admin(token)
            now = self.office.now()
            return {"registers": [register_json(r, now) for r in self.office.registers()]}

        @app.post(f"{api}/admin/registers/{{register_id}}/revoke", status_code=204,
                  tags=["admin"], responses=_errors(*_ADMIN, 404, 422),
                  summary="«Отключить»: токен кассы перестаёт действовать")
        def admin_revoke(token: AdminToken, register_id: _ID) -> Response:
            self.require_admin(token)
            if not self.office.revoke(register_id):
                raise ApiError(404, "not_found", _("касса не найдена или уже отключена"))
            return Response(status_code=204)

        @app.post(f"{api}/admin/registers/{{register_id}}/allow-repair", status_code=204,
                  tags=["admin"], responses=_errors(*_ADMIN, 404, 422),
                  summary="«Разрешить переподключение» кассы новым кодом (на сутки)")
        def admin_allow_repair(token: AdminToken, register_id: _ID) -> Response:
            self.require_admin(token)
            if not self.office.allow_repair(register_id):
                raise ApiError(404, "not_found", _("касса не найдена"))
            return Response(status_code=204)

        @app.get(f"{api}/admin/documents", response_model=models.DocumentsOut,
                 tags=["admin"], responses=_errors(*_ADMIN, 422))
        def admin_documents(token: AdminToken, after: After = 0, limit: Limit = 1000) -> Any:
            self.require_admin(token)
            docs = self.office.documents(after=after, limit=limit)
            return JSONResponse({"documents": [document_json(d) for d in docs]})

        @app.get(f"{api}/admin/faults", response_model=models.FaultsOut, tags=["admin"],
                 responses=_errors(*_ADMIN))
        def admin_faults(token: AdminToken) -> dict[str, Any]:
            self.require_admin(token)
            return {"spec": self.faults.spec, "rules": self.faults.describe()}

        @app.put(f"{api}/admin/faults", response_model=models.FaultsOut, tags=["admin"],
                 responses=_errors(*_BODY, *_ADMIN))
        def admin_set_faults(token: AdminToken, body: models.FaultsIn) -> dict[str, Any]:
            self.require_admin(token)
            try:
                self.faults.set(body.spec)
            except ConfigError as exc:
                raise ApiError(422, "invalid_faults", str(exc)) from None
            return {"spec": self.faults.spec, "rules": self.faults.describe()}

        for route in app.router.routes:
            if isinstance(route, StrictRoute) and route.path == f"{api}/documents" \
                    and "POST" in (route.methods or ()):
                route.fast = self.fast_post_documents

    def _check_pair_rate(self, client: str) -> None:
        # in the database, so every server process of `serve --workers N` counts them
        failures = self.office.pair_failures(client[:64], PAIR_WINDOW)
        if len(failures) >= PAIR_FAILURES:
            wait = failures[-PAIR_FAILURES] + PAIR_WINDOW.total_seconds() - self.office.now()
            raise ApiError(429, "rate_limited", _("слишком много неверных кодов, подождите"),
                           {"Retry-After": str(max(1, int(wait) + 1))})


_DESCRIPTION = (
    "Открытый API kkt-bridge: касса подключается по одноразовому коду синхронизации "
    "(`/pair`), получает каталог и сотрудников магазина и отправляет фискальные документы "
    "пачками (`/documents`); повтор документа (тот же ФН и ФД) подтверждается как дубликат "
    "и не сохраняется второй раз. Ошибки — тело `ErrorBody`, сообщения на языке "
    "`Accept-Language` (ru по умолчанию, en)."
)


_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def moment(text: str) -> float | None:
    """An RFC 3339 time as a Unix time; ApiError(422) for anything else. A leap second
    counts as the second before it; a time before the year 1 (after an offset) as "ever"."""
    found = _RFC3339.match(text)
    if found is None:
        raise ApiError(422, "invalid_since", _("since: нужно время RFC 3339, например "
                                               "2026-11-24T09:00:00+03:00"))
    day, minutes, seconds, fraction, zone = found.groups()
    seconds = min(int(seconds), 59)
    zone = "+00:00" if zone in "Zz" else zone
    try:
        parsed = datetime.fromisoformat(f"{day}T{minutes}:{seconds:02d}{(fraction or '')[:7]}"
                                        f"{zone}")
    except ValueError:
        raise ApiError(422, "invalid_since", _("since: такого времени нет")) from None
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None if parsed.year < 2000 else 1e300


def _unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", _("токен не принят: подключите кассу заново"),
                    {"WWW-Authenticate": 'Bearer realm="kkt-bridge"'})


def _bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, as the typed route's HTTPBearer
    and :meth:`ReferenceApi.current_register` read it."""
    scheme, _space, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _index() -> dict[str, str]:
    """What the bare URL answers without the pages: where the API is described."""
    return {"service": "kkt-bridge reference back office", "openapi": "/openapi.json",
            "health": "/api/v1/health", "pages": "kkt-bridge backoffice serve --ui"}


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first's)."""
    methods: set[str] = set()
    path = request.scope.get("path", "")
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _incoming(index: int, doc: models.DocumentIn) -> IncomingDocument:
    try:
        raw = base64.b64decode(doc.raw_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid", _("документ {index}: raw_b64 не base64").format(
            index=index)) from None
    try:
        text = encode_fns(doc.fns)
    except (ValueError, UnicodeEncodeError):
        raise ApiError(422, "invalid", _("документ {index}: fns не сохраняется как JSON"
                                         ).format(index=index)) from None
    return IncomingDocument(doc.key, doc.fn_number, doc.fd_number, doc.document_type,
                            doc.fns, raw, text)


def register_json(register: Register, now: float | None = None) -> dict[str, Any]:
    return {"id": register.id, "shop": register.shop, "serial": register.serial,
            "fn_number": register.fn_number, "model": register.model, "inn": register.inn,
            "rnm": register.rnm, "paired_at": iso(register.paired_at),
            "revoked": register.revoked_at is not None,
            "repair_allowed": bool(now is not None and register.repair_until
                                   and register.repair_until > now)}


def document_json(doc: StoredDocument) -> dict[str, Any]:
    return {"id": doc.id, "key": doc.key, "fn_number": doc.fn_number,
            "fd_number": doc.fd_number, "document_type": doc.document_type,
            "serial": doc.serial, "shop": doc.shop, "received_at": iso(doc.received_at),
            "fns": doc.fns, "raw_b64": base64.b64encode(doc.raw).decode()}


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI description, generated from the models and routes."""
    return ReferenceApi(None).fastapi.openapi()


def openapi_text() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
