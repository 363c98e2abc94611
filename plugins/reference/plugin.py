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
from kkt_bridge.i18n import language

NAME = "reference"
BATCH_SIZE = 500
ENDPOINT_ENV = "KKT_BRIDGE_REFERENCE_URL"
API = "/api/v1"

_PAIRING_REFUSALS = {
    "sync_code_not_found": ("код синхронизации не найден или устарел",
                            "проверьте код или получите новый в бэк-офисе: «Мои Кассы» -> "
                            "«Добавить ККТ»"),
    "sync_code_expired": ("срок действия кода синхронизации истёк",
                          "получите новый код в бэк-офисе: «Мои Кассы» -> «Добавить ККТ»"),
    "sync_code_used": ("код синхронизации уже использован",
                       "получите новый код в бэк-офисе: «Мои Кассы» -> «Добавить ККТ»"),
    "register_paired": ("эта касса уже подключена к бэк-офису",
                        "попросите администратора нажать «Разрешить переподключение» в "
                        "«Мои Кассы» и введите новый код"),
}


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
            raise ConfigError("размер пачки документов должен быть от 1 до 1000")
        if not 1 <= in_flight <= 8:
            raise ConfigError("число одновременных запросов должно быть от 1 до 8")
        self.in_flight = in_flight
        self.transport = transport
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.batch_size = batch_size
        self.keepalive = keepalive
        self.verify = verify
        self.default_endpoint = default_endpoint
        self._clients: dict[str, httpx.Client] = {}
        #: the token each register got here, by (endpoint, serial, ФН): re-pairing sends it
        #: as proof that it is the same register, not someone who read its serial
        self._paired: dict[tuple[str, str, str], str] = {}
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
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != NAME:
            return None
        base = self._endpoint(endpoint)
        body = {"code": code.strip(), "register": {
            "serial": register.serial, "fn_number": register.fn_number,
            "model": register.model, "inn": register.inn, "rnm": register.rnm,
            "installation_id": register.installation_id}}
        identity = (base, register.serial, register.fn_number)
        if identity in self._paired:
            body["current_token"] = self._paired[identity]
        answer = self._call("POST", base, "/pair", body=body, pairing=True)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise BackOfficeError("бэк-офис не выдал токен при подключении",
                                  "проверьте адрес бэк-офиса")
        self._paired[identity] = token
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
            raise BackOfficeError(f"бэк-офис прислал неверный каталог ({exc})",
                                  "сообщите в поддержку бэк-офиса") from None

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
            raise BackOfficeError(f"бэк-офис прислал неверный список сотрудников ({exc})",
                                  "сообщите в поддержку бэк-офиса") from None

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
            raise ConfigError("не указан адрес эталонного бэк-офиса",
                              f"укажите --backoffice URL или переменную {ENDPOINT_ENV}")
        base = base.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"адрес бэк-офиса {base!r} должен начинаться с http:// или "
                              "https://", "например: --backoffice http://127.0.0.1:8080")
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
        headers = {"Accept": "application/json", "Accept-Language": language()}
        content: bytes | None = None
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                 default=_json_default).encode()
            headers["Content-Type"] = "application/json"
        where = f"{base}{API}{path}"
        with self._lock:
            self.requests += 1
        try:
            response = self._client(base).request(method, path, content=content,
                                                  params=params, headers=headers)
        except httpx.TimeoutException:
            raise BackOfficeUnavailableError(f"бэк-офис {where} не ответил вовремя",
                                             "обмен повторится автоматически") from None
        except httpx.TransportError as exc:
            raise BackOfficeUnavailableError(
                f"нет связи с бэк-офисом {where} ({type(exc).__name__})",
                "проверьте сеть и адрес бэк-офиса; обмен повторится автоматически") from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise BackOfficeUnavailableError(f"бэк-офис {where} ответил не JSON",
                                                 "обмен повторится автоматически") from None
        raise _http_error(response, where, pairing=pairing)

    def _export_batch(self, credentials: Credentials,
                      batch: Sequence[ExportDocument]) -> list[Ack]:
        body = [{"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
                 "document_type": d.document_type, "fns": d.fns,
                 "raw_b64": base64.b64encode(d.raw).decode()} for d in batch]
        answer = self._call("POST", credentials.endpoint, "/documents",
                            token=credentials.token, body=body)
        try:
            acks = [Ack(key=str(a["key"]), accepted=bool(a["accepted"]),
                        duplicate=bool(a.get("duplicate", False)), error=a.get("error"))
                    for a in answer["acks"]]
        except (KeyError, TypeError):
            acks = []
        if [a.key for a in acks] != [d.key for d in batch]:
            raise BackOfficeError("бэк-офис подтвердил не те документы",
                                  "сообщите в поддержку бэк-офиса", retryable=True)
        return acks


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} не сериализуется в JSON")


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


def _server_message(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error.get("code", "")), str(error.get("message", ""))[:200]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", ""


def _http_error(response: httpx.Response, where: str, *, pairing: bool) -> BackOfficeError:
    status = response.status_code
    code, message = _server_message(response)
    detail = f"HTTP {status}" + (f": {message}" if message else "")
    retry_after = _retry_after(response)
    if pairing and code in _PAIRING_REFUSALS:
        text, hint = _PAIRING_REFUSALS[code]
        return PairingError(text, hint)
    if pairing and status in (404, 409, 410):
        text, hint = _PAIRING_REFUSALS["sync_code_not_found"]
        return PairingError(text, hint)
    if status in (401, 403):
        return AuthenticationError(f"бэк-офис не принимает учётные данные кассы ({detail})",
                                   "подключите кассу заново: «Настроить подключение»")
    if status == 429:
        return RateLimitedError(f"бэк-офис просит подождать ({detail})",
                                "обмен повторится автоматически", retry_after=retry_after)
    if status >= 500 or status == 408:
        return BackOfficeUnavailableError(f"бэк-офис {where} временно недоступен ({detail})",
                                          "обмен повторится автоматически",
                                          retry_after=retry_after)
    return BackOfficeError(f"бэк-офис отклонил запрос {where} ({detail})",
                           "проверьте версию kkt-bridge и бэк-офиса")


def _catalog(answer: Any) -> Catalog:
    groups = tuple(GoodsGroup(id=str(g["id"]), name=str(g["name"]),
                              parent_id=None if g.get("parent_id") is None
                              else str(g["parent_id"])) for g in answer["groups"])
    goods = []
    for g in answer["goods"]:
        price = g["price"]
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise ValueError(f"цена {price!r} не целые копейки")
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
