"""Error bodies of the local server: what happened and what to do, in the request's language.

Every error the server answers with is ``{"message", "hint", "kind"}``. The project's errors
are already translated when raised (the request's language is active while its handler
runs); anything else is an internal error whose details go to the log, never to the client.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from kkt_bridge.bridge.locks import LinkBusyError
from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    CatalogLockedError,
    ConfigError,
    ConfirmationRequiredError,
    KktBridgeError,
    LinkError,
    NotPairedError,
    PairingError,
    PluginError,
)
from kkt_bridge.i18n import _
from kkt_bridge.web.security import AccessDenied

log = logging.getLogger(__name__)

#: the most specific class first
STATUS: tuple[tuple[type[KktBridgeError], int], ...] = (
    (ConfirmationRequiredError, 409),
    (CatalogLockedError, 409),
    (LinkBusyError, 409),
    (NotPairedError, 404),
    (PairingError, 400),
    (AuthenticationError, 502),
    (BackOfficeError, 502),
    (PluginError, 400),
    (ConfigError, 400),
    (LinkError, 503),
)


class ErrorBody(BaseModel):
    message: str
    hint: str | None = None
    kind: str

    @classmethod
    def of(cls, exc: BaseException) -> ErrorBody:
        if isinstance(exc, KktBridgeError):
            return cls(message=exc.message, hint=exc.hint, kind=type(exc).__name__)
        return cls(message=_("внутренняя ошибка"), hint=_("подробности в журнале kkt-bridge"),
                   kind="InternalError")


def status_of(exc: KktBridgeError) -> int:
    if isinstance(exc, AccessDenied):
        return exc.status
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(exc: KktBridgeError) -> JSONResponse:
    return JSONResponse(status_code=status_of(exc), content=ErrorBody.of(exc).model_dump())


def body(status: int, message: str, hint: str | None, kind: str) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content=ErrorBody(message=message, hint=hint, kind=kind).model_dump())


async def on_project_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KktBridgeError)
    return error_response(exc)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        fields.append(where or "body")
    return body(422, _("неверные данные запроса: {fields}").format(
        fields=", ".join(fields) or "—"),
        _("проверьте поля запроса по описанию API (/api/openapi.json)"), "ValidationError")


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return body(404, _("нет такого адреса: {path}").format(path=request.url.path),
                    _("список адресов API: /api/openapi.json"), "NotFound")
    if exc.status_code == 405:
        return body(405, _("метод {method} здесь не поддерживается").format(
            method=request.method), _("список адресов API: /api/openapi.json"),
            "MethodNotAllowed")
    detail = exc.detail if isinstance(exc.detail, str) else _("ошибка запроса")
    return body(exc.status_code, detail, None, "HTTPError")


async def on_internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request %s %s failed", request.method, request.url.path)
    return JSONResponse(status_code=500, content=ErrorBody.of(exc).model_dump())
