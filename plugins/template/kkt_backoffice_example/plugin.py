"""The "Example Cloud" back-office plugin: a template for your own.

Each ``@hookimpl`` below answers one hook of :mod:`kkt_bridge.hookspecs`. Answer hooks get
the back-office name first and return ``None`` when it is not ours. Errors are always
:mod:`kkt_bridge.errors` classes with a Russian message and a hint, never a token.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    BackOfficeUnavailableError,
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

NAME = "example"
ENDPOINT = "https://api.example-cloud.invalid"
BATCH = 100  # the vendor's limit per request
MAX_PAGES = 10_000  # a bound on paging, so a looping server cannot hang the bridge


class ExamplePlugin:
    def __init__(self, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0) -> None:
        self._transport = transport  # tests pass the fake server's transport
        self._timeout = timeout
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    # --- hooks -----------------------------------------------------------------------

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name=NAME, title="Example Cloud", default_endpoint=ENDPOINT)

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != NAME:
            return None
        base = (endpoint or ENDPOINT).rstrip("/")
        answer = self._request(base, None, "POST", "/v1/activate", pairing=True, json={
            "code": "".join(code.split()), "device": {"serial": register.serial,
                                                      "fn": register.fn_number}})
        return Credentials(backoffice=NAME, endpoint=base, token=answer["api_key"],
                           account=answer.get("company", ""), shop=answer.get("store", ""))

    @hookimpl
    def backoffice_check(self, backoffice: str, credentials: Credentials) -> bool | None:
        if backoffice != NAME:
            return None
        self._request(credentials.endpoint, credentials.token, "GET", "/v1/whoami")
        return True

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        if backoffice != NAME:
            return None
        # This vendor has no "changed since": always the whole catalog (complete=True).
        base, token = credentials.endpoint, credentials.token
        categories = self._request(base, token, "GET", "/v1/categories")["items"]
        products: list[dict[str, Any]] = []
        page: int | None = 1
        for _ in range(MAX_PAGES):
            if page is None:
                break
            answer = self._request(base, token, "GET", "/v1/products", params={"page": page})
            products += answer["items"]
            page = answer.get("next_page")
        groups = tuple(GoodsGroup(id=c["uuid"], name=c["title"], parent_id=c.get("parent"))
                       for c in categories)
        goods = tuple(Good(id=p["uuid"], name=p["title"], price=_kopecks(p["price"]),
                           group_id=p.get("category"),
                           barcodes=(p["barcode"],) if p.get("barcode") else (),
                           measure="кг" if p.get("by_weight") else "шт",
                           weighed=bool(p.get("by_weight"))) for p in products)
        return Catalog(groups=groups, goods=goods, complete=True)

    @hookimpl
    def backoffice_fetch_employees(self, backoffice: str,
                                   credentials: Credentials) -> list[Employee] | None:
        if backoffice != NAME:
            return None
        staff = self._request(credentials.endpoint, credentials.token, "GET", "/v1/staff")
        return [Employee(id=s["uuid"], name=s["full_name"],
                         role="admin" if s.get("is_manager") else "cashier")
                for s in staff["items"]]

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != NAME:
            return None
        acks: list[Ack] = []
        for start in range(0, len(documents), BATCH):
            batch = documents[start:start + BATCH]
            # external_id = the bridge's idempotency key (ФН:ФД): the vendor deduplicates
            body = [{"external_id": d.key, "type": d.document_type, "fns": d.fns}
                    for d in batch]
            try:
                answer = self._request(credentials.endpoint, credentials.token, "POST",
                                       "/v1/receipts", json=body)
            except BackOfficeError as exc:
                if not acks:
                    raise
                acks += [Ack(d.key, False, error=exc.message) for d in documents[start:]]
                break
            by_id = {r["external_id"]: r["status"] for r in answer["results"]}
            for d in batch:
                status = by_id.get(d.key)
                acks.append(Ack(d.key, accepted=status in ("created", "exists"),
                                duplicate=status == "exists",
                                error=None if status else "бэк-офис не подтвердил документ"))
        return acks

    # --- HTTP ------------------------------------------------------------------------

    def _client(self, base: str) -> httpx.Client:
        with self._lock:
            if base not in self._clients:  # one keep-alive client per endpoint
                self._clients[base] = httpx.Client(base_url=base, timeout=self._timeout,
                                                   transport=self._transport)
            return self._clients[base]

    def _request(self, base: str, token: str | None, method: str, path: str, *,
                 pairing: bool = False, **kwargs: Any) -> Any:
        headers = {"X-Api-Key": token} if token else {}
        try:
            response = self._client(base).request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise BackOfficeUnavailableError("Example Cloud не ответил вовремя",
                                             "обмен повторится автоматически") from None
        except httpx.TransportError:
            raise BackOfficeUnavailableError("нет связи с Example Cloud",
                                             "проверьте сеть") from None
        if response.is_success:
            return response.json()
        status = response.status_code
        if pairing and status == 404:
            raise PairingError("код синхронизации не найден или устарел",
                               "получите новый код в кабинете Example Cloud")
        if status == 401:
            raise AuthenticationError("Example Cloud не принимает ключ кассы",
                                      "подключите кассу заново")
        if status == 429:
            retry = response.headers.get("Retry-After", "")
            raise RateLimitedError("Example Cloud просит подождать",
                                   "обмен повторится автоматически",
                                   retry_after=float(retry) if retry.isdigit() else None)
        if status >= 500:
            raise BackOfficeUnavailableError(f"Example Cloud: ошибка сервера {status}",
                                             "обмен повторится автоматически")
        raise BackOfficeError(f"Example Cloud отклонил запрос (HTTP {status})",
                              "сообщите разработчику модуля")

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _kopecks(roubles: str) -> int:
    """'91.50' -> 9150, exactly (Decimal, never float)."""
    try:
        value = Decimal(roubles) * 100
    except InvalidOperation:
        raise BackOfficeError(f"цена {roubles!r} не число", "сообщите в Example Cloud") from None
    if value != value.to_integral_value() or value < 0:
        raise BackOfficeError(f"цена {roubles!r} не в копейках", "сообщите в Example Cloud")
    return int(value)


#: what the entry point registers
plugin = ExamplePlugin()
