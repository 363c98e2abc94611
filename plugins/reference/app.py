"""The reference back office's HTTP API as a Starlette (ASGI) application.

The register-facing part (``/api/v1/pair``, ``/me``, ``/catalog``, ``/employees``,
``/documents``) is what :file:`openapi.json` describes and what the ``reference`` plugin
speaks; a back office written in another language implements just that. The ``/admin``
part serves the back office's own UI and CLI («Мои Кассы»).
"""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kkt_bridge.errors import ConfigError, KktBridgeError
from kkt_bridge.plugins.reference import ui
from kkt_bridge.plugins.reference.faults import FaultInjector, FaultMiddleware
from kkt_bridge.plugins.reference.storage import (
    MAX_BATCH,
    Database,
    IncomingDocument,
    PairingRefused,
    Register,
    StoredDocument,
    display_code,
    iso,
)

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
MAX_BODY = 64 * 1024 * 1024
#: failed pairing attempts allowed per client address in PAIR_WINDOW (guessing 10^8 codes)
PAIR_FAILURES = 10
PAIR_WINDOW = timedelta(minutes=1)

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


class ReferenceApi:
    """Request handlers bound to one store; ``app`` is the ASGI application to serve."""

    def __init__(self, db: Database, *, code_ttl: timedelta = timedelta(hours=24),
                 faults: FaultInjector | None = None, open_ui: bool = False) -> None:
        self.db = db
        self.code_ttl = code_ttl
        self.faults = faults or FaultInjector()
        self._openapi = OPENAPI_PATH.read_bytes()
        self._pair_failures: dict[str, collections.deque[float]] = {}
        routes = [
            Route("/openapi.json", self._wrap(self.openapi), methods=["GET"]),
            Route("/api/v1/health", self._wrap(self.health), methods=["GET"]),
            Route("/api/v1/pair", self._wrap(self.pair), methods=["POST"]),
            Route("/api/v1/me", self._wrap(self.me), methods=["GET"]),
            Route("/api/v1/catalog", self._wrap(self.catalog), methods=["GET"]),
            Route("/api/v1/employees", self._wrap(self.employees), methods=["GET"]),
            Route("/api/v1/documents", self._wrap(self.post_documents), methods=["POST"]),
            Route("/api/v1/documents", self._wrap(self.list_documents), methods=["GET"]),
            Route("/api/v1/documents/{fn_number}/{fd_number:int}",
                  self._wrap(self.get_document), methods=["GET"]),
            Route("/api/v1/admin/shops", self._wrap(self.admin_shops), methods=["GET"]),
            Route("/api/v1/admin/sync-codes", self._wrap(self.admin_issue_code),
                  methods=["POST"]),
            Route("/api/v1/admin/sync-codes", self._wrap(self.admin_sync_codes),
                  methods=["GET"]),
            Route("/api/v1/admin/registers", self._wrap(self.admin_registers), methods=["GET"]),
            Route("/api/v1/admin/registers/{register_id:int}/revoke",
                  self._wrap(self.admin_revoke), methods=["POST"]),
            Route("/api/v1/admin/documents", self._wrap(self.admin_documents),
                  methods=["GET"]),
            Route("/api/v1/admin/faults", self._wrap(self.admin_faults),
                  methods=["GET", "PUT"]),
        ]
        if open_ui:
            routes += [
                Route("/", self._wrap(self.ui_registers), methods=["GET"]),
                Route("/sync-codes", self._wrap(self.ui_issue_code), methods=["POST"]),
            ]
        self.starlette = Starlette(routes=routes)
        self.app = FaultMiddleware(self.starlette, self.faults)

    # plumbing

    def _wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.headers)
            except KktBridgeError as exc:
                return error_response(400, "invalid", str(exc))
        return endpoint

    async def _body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            raise ApiError(413, "too_large", "запрос слишком большой")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ApiError(413, "too_large", "запрос слишком большой")
        return body

    async def _json(self, request: Request) -> Any:
        body = await self._body(request)
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "тело запроса не JSON") from None

    async def _register(self, request: Request) -> Register:
        token = _bearer(request)
        register = await run_in_threadpool(self.db.register_by_token, token)
        if register is None:
            raise ApiError(401, "unauthorized", "токен не принят: подключите кассу заново",
                           {"WWW-Authenticate": 'Bearer realm="kkt-bridge"'})
        return register

    def _admin(self, request: Request) -> None:
        # bytes: compare_digest refuses non-ASCII str, and a header may carry anything
        if not hmac.compare_digest(_bearer(request).encode(), self.db.admin_token.encode()):
            raise ApiError(401, "unauthorized", "нужен токен администратора",
                           {"WWW-Authenticate": 'Bearer realm="kkt-bridge-admin"'})

    # public

    async def openapi(self, request: Request) -> Response:
        return Response(self._openapi, media_type="application/json")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # register-facing

    async def pair(self, request: Request) -> Response:
        client = request.client.host if request.client else "?"
        self._check_pair_rate(client)
        body = await self._json(request)
        code, register = _pair_request(body)
        try:
            pairing = await run_in_threadpool(self.db.pair, code, register)
        except PairingRefused as exc:
            self._pair_failures.setdefault(client, collections.deque()).append(self.db.now())
            status = {"sync_code_not_found": 404, "sync_code_used": 409,
                      "sync_code_expired": 410}[exc.reason]
            raise ApiError(status, exc.reason, str(exc)) from None
        return JSONResponse({"token": pairing.token, "account": pairing.account,
                             "shop": pairing.register.shop, "register_id": pairing.register.id})

    def _check_pair_rate(self, client: str) -> None:
        now = self.db.now()
        failures = self._pair_failures.setdefault(client, collections.deque())
        while failures and failures[0] <= now - PAIR_WINDOW.total_seconds():
            failures.popleft()
        if len(failures) >= PAIR_FAILURES:
            wait = max(1, int(failures[0] + PAIR_WINDOW.total_seconds() - now) + 1)
            raise ApiError(429, "rate_limited", "слишком много неверных кодов, подождите",
                           {"Retry-After": str(wait)})

    async def me(self, request: Request) -> Response:
        register = await self._register(request)
        account = await run_in_threadpool(self.db.account)
        return JSONResponse({"account": account, "shop": register.shop,
                             "register": _register_json(register)})

    async def catalog(self, request: Request) -> Response:
        register = await self._register(request)
        since_text = request.query_params.get("since")
        since: float | None = None
        if since_text:
            try:
                since = datetime.fromisoformat(since_text).timestamp()
            except ValueError:
                raise ApiError(400, "invalid_since", "since: нужна дата ISO 8601") from None
        return JSONResponse(await run_in_threadpool(self.db.catalog, register.shop_id, since))

    async def employees(self, request: Request) -> Response:
        register = await self._register(request)
        rows = await run_in_threadpool(self.db.employees, register.shop_id)
        return JSONResponse({"employees": rows})

    async def post_documents(self, request: Request) -> Response:
        register = await self._register(request)
        items = split_json_array(await self._body(request))
        batch = _documents_request(items)
        acks = await run_in_threadpool(self.db.receive, register, batch)
        return JSONResponse({"acks": [{"key": a.key, "accepted": a.accepted,
                                       "duplicate": a.duplicate, "error": a.error}
                                      for a in acks]})

    async def list_documents(self, request: Request) -> Response:
        register = await self._register(request)
        after, limit = _paging(request)
        docs = await run_in_threadpool(lambda: self.db.documents(register=register,
                                                                 after=after, limit=limit))
        return JSONResponse({"documents": [document_json(d) for d in docs]})

    async def get_document(self, request: Request) -> Response:
        register = await self._register(request)
        fn_number = request.path_params["fn_number"]
        fd_number = request.path_params["fd_number"]
        doc = await run_in_threadpool(self.db.document, register, fn_number, fd_number)
        if doc is None:  # another register's document looks exactly like a missing one
            raise ApiError(404, "not_found", "документ не найден")
        return JSONResponse(document_json(doc))

    # admin («Мои Кассы»)

    async def admin_shops(self, request: Request) -> Response:
        self._admin(request)
        shops = await run_in_threadpool(self.db.shops)
        return JSONResponse({"shops": [{"id": s.id, "name": s.name} for s in shops]})

    async def admin_issue_code(self, request: Request) -> Response:
        self._admin(request)
        body = await self._json(request)
        shop = body.get("shop") if isinstance(body, dict) else None
        if not isinstance(shop, str) or not shop.strip():
            raise ApiError(400, "invalid", "укажите магазин: {\"shop\": \"...\"}")
        code = await run_in_threadpool(self.db.issue_sync_code, shop, self.code_ttl)
        return JSONResponse({"code": code.display, "shop": code.shop,
                             "expires_at": iso(code.expires_at)}, status_code=201)

    async def admin_sync_codes(self, request: Request) -> Response:
        self._admin(request)
        rows = await run_in_threadpool(self.db.sync_codes)
        now = self.db.now()
        return JSONResponse({"sync_codes": [
            {"code": display_code(r["code"]), "shop": r["shop"],
             "expires_at": iso(r["expires_at"]),
             "state": "used" if r["used_at"] is not None
             else "expired" if r["expires_at"] <= now else "active",
             "register_id": r["register_id"]} for r in rows]})

    async def admin_registers(self, request: Request) -> Response:
        self._admin(request)
        registers = await run_in_threadpool(self.db.registers)
        return JSONResponse({"registers": [_register_json(r) for r in registers]})

    async def admin_revoke(self, request: Request) -> Response:
        self._admin(request)
        done = await run_in_threadpool(self.db.revoke, request.path_params["register_id"])
        if not done:
            raise ApiError(404, "not_found", "касса не найдена или уже отключена")
        return Response(status_code=204)

    async def admin_documents(self, request: Request) -> Response:
        self._admin(request)
        after, limit = _paging(request)
        docs = await run_in_threadpool(lambda: self.db.documents(after=after, limit=limit))
        return JSONResponse({"documents": [document_json(d) for d in docs]})

    async def admin_faults(self, request: Request) -> Response:
        self._admin(request)
        if request.method == "PUT":
            body = await self._json(request)
            spec = body.get("spec") if isinstance(body, dict) else None
            if not isinstance(spec, str):
                raise ApiError(400, "invalid", "укажите {\"spec\": \"...\"}")
            try:
                self.faults.set(spec)
            except ConfigError as exc:
                raise ApiError(400, "invalid_faults", str(exc)) from None
        return JSONResponse({"spec": self.faults.spec, "rules": self.faults.describe()})


    # «Мои Кассы» pages (open_ui only)

    async def ui_registers(self, request: Request) -> Response:
        def collect() -> str:
            return ui.registers_page(
                self.db.account(), self.db.shops(), self.db.registers(),
                self.db.document_counts(), self.db.recent_documents(ui.RECENT),
                self.db.count_documents())
        return HTMLResponse(await run_in_threadpool(collect))

    async def ui_issue_code(self, request: Request) -> Response:
        form = parse_qs((await self._body(request)).decode("utf-8", "replace"))
        shop = (form.get("shop") or [""])[0]
        if shop not in {s.name for s in self.db.shops()}:
            return HTMLResponse(ui.registers_page(
                self.db.account(), self.db.shops(), self.db.registers(),
                self.db.document_counts(), self.db.recent_documents(ui.RECENT),
                self.db.count_documents()), status_code=400)
        code = await run_in_threadpool(self.db.issue_sync_code, shop, self.code_ttl)
        return HTMLResponse(ui.sync_code_page(shop, code.display, code.expires_at))


# --- request parsing -----------------------------------------------------------------------


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "нужен заголовок Authorization: Bearer",
                       {"WWW-Authenticate": 'Bearer realm="kkt-bridge"'})
    return token.strip()


def _text(obj: dict[str, Any], key: str, *, required: bool = True,
          limit: int = 64) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ApiError(400, "invalid", f"поле {key}: нужна непустая строка до {limit} символов")
    return value.strip()


def _pair_request(body: Any) -> tuple[str, dict[str, str | None]]:
    if not isinstance(body, dict) or not isinstance(body.get("register"), dict):
        raise ApiError(400, "invalid", "ожидалось {\"code\": ..., \"register\": {...}}")
    code = _text(body, "code", limit=32)
    reg = body["register"]
    register = {
        "serial": _text(reg, "serial"),
        "fn_number": _text(reg, "fn_number"),
        "model": _text(reg, "model", limit=128),
        "inn": _text(reg, "inn", required=False),
        "rnm": _text(reg, "rnm", required=False),
        "installation_id": _text(reg, "installation_id", required=False),
    }
    assert code is not None
    return code, register


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def split_json_array(body: bytes) -> list[tuple[Any, str]]:
    """Parse a JSON array into (element, the element's own text) pairs.

    The text of each document is stored verbatim, so it need not be encoded again: decoding
    once is the whole cost. Anything that is not one JSON array is a 400.
    """
    try:
        text = body.decode("utf-8")
        pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
        if text[pos:pos + 1] != "[":
            raise ApiError(400, "invalid", "ожидался массив документов")
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        items: list[tuple[Any, str]] = []
        if text[pos:pos + 1] == "]":
            pos += 1
        else:
            for _ in range(len(text)):  # each round consumes at least one character
                item, end = _DECODER.raw_decode(text, pos)
                items.append((item, text[pos:end]))
                pos = _WS.match(text, end).end()  # type: ignore[union-attr]
                if text[pos:pos + 1] == "]":
                    pos += 1
                    break
                if text[pos:pos + 1] != ",":
                    raise ValueError("expected , or ]")
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if _WS.match(text, pos).end() != len(text):  # type: ignore[union-attr]
            raise ValueError("trailing data")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "тело запроса не JSON-массив") from None
    return items


def _documents_request(items: list[tuple[Any, str]]) -> list[IncomingDocument]:
    """Validate the whole batch before storing any of it: a bad batch changes nothing."""
    if len(items) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"не больше {MAX_BATCH} документов за запрос")
    batch: list[IncomingDocument] = []
    for index, (item, text) in enumerate(items):
        where = f"документ {index}"
        if not isinstance(item, dict):
            raise ApiError(400, "invalid", f"{where}: ожидался объект")
        fn_number, fd_number = item.get("fn_number"), item.get("fd_number")
        doc_type, fns, key = item.get("document_type"), item.get("fns"), item.get("key")
        if not isinstance(fn_number, str) or not fn_number or len(fn_number) > 32:
            raise ApiError(400, "invalid", f"{where}: fn_number")
        if isinstance(fd_number, bool) or not isinstance(fd_number, int) or fd_number < 1:
            raise ApiError(400, "invalid", f"{where}: fd_number")
        if isinstance(doc_type, bool) or not isinstance(doc_type, int) or doc_type < 0:
            raise ApiError(400, "invalid", f"{where}: document_type")
        if not isinstance(fns, dict):
            raise ApiError(400, "invalid", f"{where}: fns")
        if key != f"{fn_number}:{fd_number}":
            raise ApiError(400, "invalid", f"{where}: key должен быть «ФН:ФД»")
        raw_b64 = item.get("raw_b64", "")
        if not isinstance(raw_b64, str):
            raise ApiError(400, "invalid", f"{where}: raw_b64")
        try:
            raw = base64.b64decode(raw_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "invalid", f"{where}: raw_b64 не base64") from None
        batch.append(IncomingDocument(key, fn_number, fd_number, doc_type, fns, raw, text))
    return batch


def _paging(request: Request) -> tuple[int, int]:
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", "1000"))
    except ValueError:
        raise ApiError(400, "invalid", "after и limit: целые числа") from None
    return max(after, 0), min(max(limit, 1), 1000)


def _register_json(register: Register) -> dict[str, Any]:
    return {"id": register.id, "shop": register.shop, "serial": register.serial,
            "fn_number": register.fn_number, "model": register.model, "inn": register.inn,
            "rnm": register.rnm, "paired_at": iso(register.paired_at),
            "revoked": register.revoked_at is not None}


def document_json(doc: StoredDocument) -> dict[str, Any]:
    return {"id": doc.id, "key": doc.key, "fn_number": doc.fn_number,
            "fd_number": doc.fd_number, "document_type": doc.document_type,
            "serial": doc.serial, "shop": doc.shop, "received_at": iso(doc.received_at),
            "fns": doc.fns, "raw_b64": base64.b64encode(doc.raw).decode()}
