"""The ``reference`` back-office plugin: speaks the reference back office's open HTTP API
(:file:`openapi.json`) to any server that implements it.

One keep-alive :class:`httpx.Client` per endpoint, timeouts on every request, TLS verified.
HTTP answers map onto :mod:`kkt_bridge.errors`: 401/403 -> AuthenticationError, a refused
sync code -> PairingError, 429 -> RateLimitedError and 5xx/timeouts/dropped connections ->
BackOfficeUnavailableError (both retryable, with the server's ``Retry-After``), any other
4xx -> BackOfficeError. Documents go out in batches of up to :data:`BATCH_SIZE`.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from kkt_bridge.acks import acks_from_json
from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    BackOfficeUnavailableError,
    ConfigError,
    PairingError,
    RateLimitedError,
)
from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    Good,
    GoodsGroup,
    RegisterIdentity,
)
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.httpjson import fetch, loads
from kkt_bridge.i18n import _, language
from kkt_bridge.redaction import redact_url

NAME = "reference"
BATCH_SIZE = 500
ENDPOINT_ENV = "KKT_BRIDGE_REFERENCE_URL"
API = "/api/v1"

#: the API's own refusals of a sync code, by its error code (translated when raised)
_REFUSAL_TEXT = {
    "sync_code_not_found": "код синхронизации не найден или устарел",
    "sync_code_expired": "срок действия кода синхронизации истёк",
    "sync_code_used": "код синхронизации уже использован",
    "register_paired": "эта касса уже подключена к бэк-офису",
}
_REFUSAL_HINT = {
    "sync_code_not_found": "проверьте код или получите новый в бэк-офисе: «Мои Кассы» -> "
                           "«Добавить ККТ»",
    "sync_code_expired": "получите новый код в бэк-офисе: «Мои Кассы» -> «Добавить ККТ»",
    "sync_code_used": "получите новый код в бэк-офисе: «Мои Кассы» -> «Добавить ККТ»",
    "register_paired": "попросите администратора нажать «Разрешить переподключение» в "
                       "«Мои Кассы» и введите новый код",
}
#: HTTP statuses the API answers a refused sync code with
_REFUSAL_STATUS = {404: "sync_code_not_found", 409: "sync_code_used", 410: "sync_code_expired"}


class ReferencePlugin:
    """Hook implementations for the ``reference`` back office.

    ``transport`` replaces the network (tests pass an :class:`httpx.MockTransport`);
    ``keepalive=False`` opens a new connection per request (the benchmark's slow path);
    ``in_flight`` batches of one export are on their way at once (order of acks is kept).
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, batch_size: int = BATCH_SIZE,
                 keepalive: bool = True, verify: ssl.SSLContext | str | bool = True,
                 default_endpoint: str | None = None, in_flight: int = 2) -> None:
        if not 1 <= batch_size <= 1000:
            raise ConfigError(_("размер пачки документов должен быть от 1 до 1000"))
        if not 1 <= in_flight <= 8:
            raise ConfigError(_("число одновременных запросов должно быть от 1 до 8"))
        self.in_flight = in_flight
        self.transport = transport
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.batch_size = batch_size
        self.keepalive = keepalive
        self.verify = verify
        self.default_endpoint = default_endpoint
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        #: HTTP requests sent so far (for metrics and the benchmark)
        self.requests = 0

    # --- hooks ---------------------------------------------------------------------------

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(
            name=NAME,
            title="Эталонный бэк-офис",
            description="Открытый HTTP API kkt-bridge (OpenAPI: /openapi.json)",
            default_endpoint=self.default_endpoint or os.environ.get(ENDPOINT_ENV) or None,
        )

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity,
                        current: Credentials | None = None) -> Credentials | None:
        if backoffice != NAME:
            return None
        base = self._endpoint(endpoint)
        body = {"code": code.strip(), "register": {
            "serial": register.serial, "fn_number": register.fn_number,
            "model": register.model, "inn": register.inn, "rnm": register.rnm,
            "installation_id": register.installation_id}}
        if current is not None and current.endpoint == base:
            # the bridge's stored token: proof that it is the same register re-pairing, not
            # someone who read its serial and ФН off a receipt
            body["current_token"] = current.token
        answer = self._call("POST", base, "/pair", body=body, pairing=True)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise BackOfficeError(_("бэк-офис не выдал токен при подключении"),
                                  _("проверьте адрес бэк-офиса"))
        return Credentials(backoffice=NAME, endpoint=base, token=token,
                           account=str(answer.get("account", "")),
                           shop=str(answer.get("shop", "")),
                           extra={"register_id": str(answer.get("register_id", ""))})

    @hookimpl
    def backoffice_check(self, backoffice: str, credentials: Credentials) -> bool | None:
        if backoffice != NAME:
            return None
        self._call("GET", credentials.endpoint, "/me", token=credentials.token)
        return True

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        if backoffice != NAME:
            return None
        params = {}
        if since is not None:
            params["since"] = (since if since.tzinfo else since.replace(tzinfo=UTC)).isoformat()
        answer = self._call("GET", credentials.endpoint, "/catalog", token=credentials.token,
                            params=params)
        try:
            return _catalog(answer)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackOfficeError(_("бэк-офис прислал неверный каталог ({error})").format(
                error=exc), _("сообщите в поддержку бэк-офиса")) from None

    @hookimpl
    def backoffice_fetch_employees(self, backoffice: str,
                                   credentials: Credentials) -> list[Employee] | None:
        if backoffice != NAME:
            return None
        answer = self._call("GET", credentials.endpoint, "/employees", token=credentials.token)
        try:
            return [Employee(id=str(e["id"]), name=str(e["name"]),
                             role=str(e.get("role", "cashier")), inn=str(e.get("inn") or ""))
                    for e in answer["employees"]]
        except (KeyError, TypeError) as exc:
            raise BackOfficeError(
                _("бэк-офис прислал неверный список сотрудников ({error})").format(error=exc),
                _("сообщите в поддержку бэк-офиса")) from None

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != NAME:
            return None
        batches = [documents[i:i + self.batch_size]
                   for i in range(0, len(documents), self.batch_size)]
        outcomes = self._send_batches(credentials, batches)
        errors = [o for o in outcomes if isinstance(o, BackOfficeError)]
        if not any(isinstance(o, list) for o in outcomes) and errors:
            raise errors[0]
        acks: list[Ack] = []
        for batch, outcome in zip(batches, outcomes, strict=True):
            if isinstance(outcome, list):
                acks += outcome
            else:
                # not stored (or never sent after a failure): the bridge keeps its cursor
                # before these and sends them again
                message = (outcome or errors[0]).message
                acks += [Ack(d.key, False, error=message) for d in batch]
        return acks

    def _send_batches(self, credentials: Credentials,
                      batches: list[Sequence[ExportDocument]]
                      ) -> list[list[Ack] | BackOfficeError | None]:
        """Send batches in order, up to ``in_flight`` at once (the server stores one while
        the next is encoded and on the wire); after a failure no new batch is started."""
        outcomes: list[list[Ack] | BackOfficeError | None] = [None] * len(batches)
        if self.in_flight == 1 or len(batches) <= 1:
            for index, batch in enumerate(batches):
                try:
                    outcomes[index] = self._export_batch(credentials, batch)
                except BackOfficeError as exc:
                    outcomes[index] = exc
                    break
            return outcomes
        with ThreadPoolExecutor(max_workers=self.in_flight,
                                thread_name_prefix="reference-export") as pool:
            pending: dict[int, Future[list[Ack]]] = {}
            next_index, failed = 0, False
            while pending or (next_index < len(batches) and not failed):
                while not failed and next_index < len(batches) and \
                        len(pending) < self.in_flight:
                    pending[next_index] = pool.submit(self._export_batch, credentials,
                                                      batches[next_index])
                    next_index += 1
                oldest = min(pending)
                try:
                    outcomes[oldest] = pending.pop(oldest).result()
                except BackOfficeError as exc:
                    outcomes[oldest] = exc
                    failed = True
        return outcomes

    # --- HTTP ----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _endpoint(self, endpoint: str | None) -> str:
        base = endpoint or self.default_endpoint or os.environ.get(ENDPOINT_ENV)
        if not base:
            raise ConfigError(_("не указан адрес эталонного бэк-офиса"),
                              _("укажите --backoffice URL или переменную {env}").format(
                                  env=ENDPOINT_ENV))
        base = base.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(_("адрес бэк-офиса {url} должен начинаться с http:// или "
                                "https://").format(url=repr(redact_url(base))),
                              _("например: --backoffice http://127.0.0.1:8080"))
        return base

    def _client(self, base: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(base)
            if client is None:
                limits = httpx.Limits(max_keepalive_connections=10 if self.keepalive else 0,
                                      max_connections=20)
                headers = {"User-Agent": "kkt-bridge-reference/1"}
                if not self.keepalive:
                    headers["Connection"] = "close"
                client = httpx.Client(base_url=base + API, timeout=self.timeout,
                                      limits=limits, headers=headers, verify=self.verify,
                                      transport=self.transport, follow_redirects=False)
                self._clients[base] = client
            return client

    def _call(self, method: str, base: str, path: str, *, token: str | None = None,
              body: Any = None, params: Mapping[str, str] | None = None,
              pairing: bool = False) -> Any:
        # the server answers in the user's language (its own messages, its refusals)
        headers = {"Accept": "application/json", "Accept-Language": language()}
        content: bytes | None = None
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                 default=_json_default).encode()
            headers["Content-Type"] = "application/json"
        where = redact_url(f"{base}{API}{path}")
        with self._lock:
            self.requests += 1
        try:
            response, answer = fetch(self._client(base), method, path, where=where,
                                     content=content, params=params, headers=headers)
        except httpx.TimeoutException:
            raise BackOfficeUnavailableError(
                _("бэк-офис {where} не ответил вовремя").format(where=where),
                _("обмен повторится автоматически")) from None
        except httpx.TransportError as exc:
            raise BackOfficeUnavailableError(
                _("нет связи с бэк-офисом {where} ({error})").format(
                    where=where, error=type(exc).__name__),
                _("проверьте сеть и адрес бэк-офиса; обмен повторится автоматически")) from None
        if response.is_success:
            return loads(answer, where=where)
        raise _http_error(response, answer, where, pairing=pairing)

    def _export_batch(self, credentials: Credentials,
                      batch: Sequence[ExportDocument]) -> list[Ack]:
        body = [{"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
                 "document_type": d.document_type, "fns": d.fns,
                 "raw_b64": base64.b64encode(d.raw).decode()} for d in batch]
        answer = self._call("POST", credentials.endpoint, "/documents",
                            token=credentials.token, body=body)
        # typed, one per document, in order: "accepted": "false" is not an acceptance
        return acks_from_json(batch, answer)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(_("{type} не сериализуется в JSON").format(type=type(value).__name__))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _server_error(body: bytes) -> tuple[str, str] | None:
    """(code, message) of the API's own error answer ``{"error": {"code", "message"}}``;
    None when the body is something else (a proxy's page, another server's 404)."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(error, dict):
        return None
    return str(error.get("code") or ""), str(error.get("message") or "")[:200]


def _http_error(response: httpx.Response, body: bytes, where: str, *,
                pairing: bool) -> BackOfficeError:
    status = response.status_code
    own = _server_error(body)
    code, message = own or ("", "")
    detail = f"HTTP {status}" + (f": {message}" if message else "")
    retry_after = _retry_after(response)
    if pairing and status in _REFUSAL_STATUS and own is not None:
        reason = code if code in _REFUSAL_TEXT else _REFUSAL_STATUS[status]
        return PairingError(_(_REFUSAL_TEXT[reason]), _(_REFUSAL_HINT[reason]))
    if status == 404 and own is None:
        # not the API saying "no such code": nothing of the API lives at this address
        return BackOfficeError(
            _("по адресу {where} нет API эталонного бэк-офиса (HTTP 404)").format(where=where),
            _("проверьте адрес бэк-офиса: нужен его корень, например "
              "--backoffice http://127.0.0.1:8080, без /api/v1"))
    if status in (401, 403):
        return AuthenticationError(
            _("бэк-офис не принимает учётные данные кассы ({detail})").format(detail=detail),
            _("подключите кассу заново: «Настроить подключение»"))
    if status == 429:
        return RateLimitedError(_("бэк-офис просит подождать ({detail})").format(detail=detail),
                                _("обмен повторится автоматически"), retry_after=retry_after)
    if status >= 500 or status == 408:
        return BackOfficeUnavailableError(
            _("бэк-офис {where} временно недоступен ({detail})").format(where=where,
                                                                       detail=detail),
            _("обмен повторится автоматически"), retry_after=retry_after)
    return BackOfficeError(
        _("бэк-офис отклонил запрос {where} ({detail})").format(where=where, detail=detail),
        _("проверьте версию kkt-bridge и бэк-офиса"))


def _catalog(answer: Any) -> Catalog:
    groups = tuple(GoodsGroup(id=str(g["id"]), name=str(g["name"]),
                              parent_id=None if g.get("parent_id") is None
                              else str(g["parent_id"])) for g in answer["groups"])
    goods = []
    for g in answer["goods"]:
        price = g["price"]
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise ValueError(_("цена {price} не целые копейки").format(price=repr(price)))
        goods.append(Good(id=str(g["id"]), name=str(g["name"]), price=price,
                          group_id=None if g.get("group_id") is None else str(g["group_id"]),
                          code=str(g.get("code", "")),
                          barcodes=tuple(str(b) for b in g.get("barcodes", ())),
                          measure=str(g.get("measure", "шт")), vat=int(g.get("vat", 6)),
                          weighed=bool(g.get("weighed", False))))
    as_of = answer.get("as_of")
    return Catalog(groups=groups, goods=tuple(goods), complete=bool(answer["complete"]),
                   as_of=datetime.fromisoformat(as_of) if as_of else None)


#: what the entry point registers (see kkt_bridge.pluginmanager): one shared instance
plugin = ReferencePlugin()
