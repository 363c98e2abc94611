"""An in-process fake of the MoySklad JSON API 1.2, as an httpx transport.

It ENFORCES the rules the real API documents (moysklad/api-remap-1.2-doc), so a client
that breaks one fails a test instead of failing in a shop:

- ``Authorization: Bearer <token>`` (401, error 1056, otherwise);
- ``Accept-Encoding`` must offer gzip (415 with an empty body otherwise); answers are
  gzipped with ``Content-Encoding: gzip``;
- lists: ``limit`` 1..1000, ``offset`` >= 0 (400, error 1040, otherwise); answers carry
  ``meta.size/limit/offset`` and ``nextHref`` while more rows remain;
- POSTed arrays of at most 1000 elements and bodies up to 20 MB (413 otherwise);
- 45 requests in any 3 s (sliding window, on the injected clock) and 5 in parallel:
  429 with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-Lognex-Retry-TimeInterval``,
  ``X-Lognex-Reset``, ``X-Lognex-Retry-After`` (milliseconds), errors 1049 / 1073;
- ``syncId``: a repeated create returns the object created first;
- a retaildemand needs an open ``retailShift`` (a closed one is refused) and its payments
  must add up to the positions' sum (412, error 18000);
- more than 1000 positions in one document: 413.

Behaviour the documentation does not spell out, and this fake assumes: a POSTed array in
which some elements fail answers 400 with the created objects and ``{"errors": [...]}``
objects in the same order.

Use: ``fake = FakeMoySklad(); store = fake.seed_demo()``, then give ``fake`` as the
``transport`` of :class:`~kkt_bridge.plugins.moysklad.client.MoySkladClient` or of
:class:`~kkt_bridge.plugins.moysklad.plugin.MoySkladPlugin`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

JSON = dict[str, Any]

BASE = "https://api.moysklad.ru/api/remap/1.2/"
ACCOUNT_ID = "6270cd18-2c7f-11e6-8a84-bae500000001"
UOM_PIECE = "19f1edc0-fc42-4001-94cb-c9ec9c62ec10"  # «шт», as in the documentation
UOM_KG = "a7f8ae1a-2a9f-4b3f-9d12-3c7b5d4b0a11"
CURRENCY_RUB = "6314188d-2c7f-11e6-8a84-bae500000055"
PRICE_TYPE_SALE = "672559f1-cbf3-11e1-9eb9-889ffa6f49fd"  # «Цена продажи»
RETAIL_CUSTOMER = "8518d001-f504-11e5-8a84-bae50000016a"  # «Розничный покупатель»
MAX_BODY = 20 * 1024 * 1024
_OPS = (">=", "<=", "!=", "=", ">", "<")


class _Reject(Exception):
    def __init__(self, status: int, code: int | None = None, text: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text
        self.headers = headers or {}


def _now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class FakeMoySklad(httpx.BaseTransport):
    """One MoySklad account behind ``base``; thread-safe; counts what clients do."""

    def __init__(self, token: str = "0cbfc512618efa7d5fa306250bca064c1169b37c", *,
                 base: str = BASE, clock: Callable[[], float] = time.monotonic,
                 units: int = 45, window: float = 3.0, parallel: int = 5,
                 in_flight_hook: Callable[[], None] | None = None) -> None:
        self.token = token
        self.base = base if base.endswith("/") else base + "/"
        self.clock = clock
        self.units = units
        self.window = window
        self.parallel = parallel
        #: called while a request is in flight (tests use it to overlap requests)
        self.in_flight_hook = in_flight_hook
        self.entities: dict[str, dict[str, JSON]] = {}
        self.cashiers: dict[str, list[JSON]] = {}
        self.document_positions: dict[str, list[JSON]] = {}
        self.now_text: Callable[[], str] = _now_text
        self._lock = threading.RLock()
        self._stamps: deque[float] = deque()
        self._in_flight = 0
        #: what clients did: (method, path, query) per accepted-for-processing request
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.max_in_flight = 0
        #: element counts of POSTed arrays, in order
        self.array_sizes: list[int] = []
        self.rejected: dict[int, int] = {}
        self.force_429 = 0  # answer the next N requests with 429 regardless
        self.retry_after_ms = 1500
        self._seq = 0
        self._add_uom(UOM_PIECE, "шт", "Штука", "796")
        self._add_uom(UOM_KG, "кг", "Килограмм", "166")

    # --- references and ids ------------------------------------------------------------

    def new_id(self) -> str:
        with self._lock:
            self._seq += 1
            # shaped like the documentation's ids (version-1 UUIDs); random, so unique
            rand = uuid.uuid4().hex
            return f"{rand[:8]}-{rand[8:12]}-11e6-8a84-bae5{self._seq % 16**8:08x}"

    def meta(self, entity: str, entity_id: str) -> JSON:
        return {
            "href": f"{self.base}entity/{entity}/{entity_id}",
            "metadataHref": f"{self.base}entity/{entity}/metadata",
            "type": entity,
            "mediaType": "application/json",
        }

    def ref(self, entity: str, entity_id: str) -> JSON:
        return {"meta": self.meta(entity, entity_id)}

    def _store(self, entity: str, obj: JSON) -> JSON:
        with self._lock:
            self.entities.setdefault(entity, {})[obj["id"]] = obj
        return obj

    def _base_fields(self, entity: str, entity_id: str | None = None) -> JSON:
        entity_id = entity_id or self.new_id()
        return {
            "meta": self.meta(entity, entity_id),
            "id": entity_id,
            "accountId": ACCOUNT_ID,
            "owner": {"meta": {
                "href": f"{self.base}entity/employee/faba7f37-2e58-11e6-8a84-bae500000028",
                "metadataHref": f"{self.base}entity/employee/metadata",
                "type": "employee", "mediaType": "application/json"}},
            "shared": False,
            "group": {"meta": {
                "href": f"{self.base}entity/group/f97aa1fb-2e58-11e6-8a84-bae500000002",
                "metadataHref": f"{self.base}entity/group/metadata",
                "type": "group", "mediaType": "application/json"}},
            "updated": self.now_text(),
        }

    # --- seeding ------------------------------------------------------------------------

    def _add_uom(self, uom_id: str, name: str, description: str, code: str) -> None:
        obj = {"meta": self.meta("uom", uom_id), "id": uom_id, "updated": "2012-11-02 11:07:44",
               "name": name, "description": description, "code": code, "externalCode": code}
        self._store("uom", obj)

    def add_organization(self, name: str = "ООО «Ромашка»", inn: str = "7736570901") -> JSON:
        obj = self._base_fields("organization")
        obj.update(name=name, externalCode=uuid.uuid4().hex[:22], archived=False,
                   companyType="legal", inn=inn)
        return self._store("organization", obj)

    def add_store(self, name: str = "Основной склад") -> JSON:
        obj = self._base_fields("store")
        obj.update(name=name, externalCode=uuid.uuid4().hex[:22], archived=False)
        return self._store("store", obj)

    def add_retailstore(self, name: str, organization: JSON, store: JSON | None = None, *,
                        active: bool = True) -> JSON:
        store = store or self.add_store()
        obj = self._base_fields("retailstore")
        obj.update(
            name=name, externalCode=uuid.uuid4().hex[:22], archived=False, active=active,
            address="125009, Россия, г Москва, ул Тверская, 1",
            priceType={"meta": {
                "href": f"{self.base}context/companysettings/pricetype/{PRICE_TYPE_SALE}",
                "type": "pricetype", "mediaType": "application/json"},
                "id": PRICE_TYPE_SALE, "name": "Цена продажи",
                "externalCode": "cbcf493b-55bc-11d9-848a-00112f43529a"},
            cashiers={"meta": {"href": f"{self.base}entity/retailstore/{obj['id']}/cashiers",
                               "type": "cashier", "mediaType": "application/json",
                               "size": 0, "limit": 1000, "offset": 0}},
            organization={"meta": organization["meta"]},
            store={"meta": store["meta"]},
            controlShippingStock=False, onlyInStock=False, controlCashierChoice=False,
            discountEnable=True, discountMaxPercent=0, requiredFio=False,
            requiredPhone=False, requiredEmail=False, requiredBirthdate=False,
            requiredSex=False, requiredDiscountCardNumber=False,
            allowDeleteReceiptPositions=True, syncAgents=False, showBeerOnTap=False,
            authTokenAttached=False, bankPercent=0.0, issueOrders=False,
            sellReserves=False, lastOperationNames=[], ofdEnabled=True,
            allowCustomPrice=False, fiscalType="STANDARD", minionToMasterType="ANY",
            qrPayEnabled=False,
        )
        self.cashiers[obj["id"]] = []
        return self._store("retailstore", obj)

    def add_folder(self, name: str, parent: JSON | None = None, *,
                   archived: bool = False) -> JSON:
        obj = self._base_fields("productfolder")
        obj.update(name=name, code=f"grp{self._seq}", externalCode=uuid.uuid4().hex[:22],
                   archived=archived, pathName=self._path_of(parent),
                   vatEnabled=False, useParentVat=True)
        if parent is not None:
            obj["productFolder"] = {"meta": parent["meta"]}
        return self._store("productfolder", obj)

    def _path_of(self, folder: JSON | None) -> str:
        if folder is None:
            return ""
        return f"{folder['pathName']}/{folder['name']}" if folder["pathName"] else folder["name"]

    def add_product(self, name: str, price: float, *, folder: JSON | None = None,
                    code: str = "", barcodes: Iterable[JSON] = (), vat: int | None = 20,
                    weighed: bool = False, archived: bool = False,
                    updated: str | None = None) -> JSON:
        obj = self._base_fields("product")
        obj.update(
            name=name, code=code or f"{self._seq}", externalCode=uuid.uuid4().hex[:22],
            archived=archived, pathName=self._path_of(folder),
            useParentVat=False, discountProhibited=False, variantsCount=0,
            uom={"meta": {"href": f"{self.base}entity/uom/{UOM_KG if weighed else UOM_PIECE}",
                          "metadataHref": f"{self.base}entity/uom/metadata",
                          "type": "uom", "mediaType": "application/json"}},
            salePrices=[{
                "value": float(price),
                "currency": self._currency(),
                "priceType": {"meta": {
                    "href": f"{self.base}context/companysettings/pricetype/{PRICE_TYPE_SALE}",
                    "type": "pricetype", "mediaType": "application/json"},
                    "id": PRICE_TYPE_SALE, "name": "Цена продажи",
                    "externalCode": "cbcf493b-55bc-11d9-848a-00112f43529a"},
            }],
            barcodes=list(barcodes),
            paymentItemType="GOOD", trackingType="NOT_TRACKED",
            description="", article="", weight=0, volume=0,
            images={"meta": {"href": f"{self.base}entity/product/{obj['id']}/images",
                             "type": "image", "mediaType": "application/json",
                             "size": 0, "limit": 1000, "offset": 0}},
            minPrice={"value": 0.0, "currency": self._currency()},
            buyPrice={"value": 0.0, "currency": self._currency()},
        )
        if vat is None:
            obj.update(vatEnabled=False, effectiveVat=0, effectiveVatEnabled=False)
        else:
            obj.update(vat=vat, vatEnabled=True, effectiveVat=vat, effectiveVatEnabled=True)
        if weighed:
            obj["weighed"] = True
        if folder is not None:
            obj["productFolder"] = {"meta": folder["meta"]}
        if updated:
            obj["updated"] = updated
        return self._store("product", obj)

    def _currency(self) -> JSON:
        return {"meta": {"href": f"{self.base}entity/currency/{CURRENCY_RUB}",
                         "metadataHref": f"{self.base}entity/currency/metadata",
                         "type": "currency", "mediaType": "application/json"}}

    def add_employee(self, last: str, first: str, middle: str = "", *, inn: str = "",
                     archived: bool = False) -> JSON:
        obj = self._base_fields("employee")
        full = " ".join(p for p in (first, middle, last) if p)
        short = f"{last} {first[:1]}." + (f" {middle[:1]}." if middle else "")
        obj.update(name=short, externalCode=uuid.uuid4().hex[:22], archived=archived,
                   uid=f"{first.lower()}@shop", firstName=first, lastName=last,
                   fullName=full, shortFio=short, position="Кассир")
        if middle:
            obj["middleName"] = middle
        if inn:
            obj["inn"] = inn
        return self._store("employee", obj)

    def add_cashier(self, retailstore: JSON, employee: JSON) -> JSON:
        cashier_id = self.new_id()
        href = f"{self.base}entity/retailstore/{retailstore['id']}/cashiers/{cashier_id}"
        obj = {"meta": {"href": href, "type": "cashier", "mediaType": "application/json"},
               "id": cashier_id, "accountId": ACCOUNT_ID,
               "employee": {"meta": employee["meta"]},
               "retailStore": {"meta": retailstore["meta"]}}
        with self._lock:
            self.cashiers.setdefault(retailstore["id"], []).append(obj)
        return obj

    def seed_demo(self) -> JSON:
        """A small shop: «Ромашка», retail store «Магазин на Тверской», two folders, a few
        goods (one weighed, one archived) and two cashiers. Returns the retail store."""
        org = self.add_organization()
        shop = self.add_retailstore("Магазин на Тверской", org)
        food = self.add_folder("Продукты")
        fruit = self.add_folder("Фрукты", food)
        self.add_product("Хлеб «Бородинский»", 5490, folder=food,
                         barcodes=[{"ean13": "4600000000017"}], vat=10)
        self.add_product("Бананы", 12990, folder=fruit, weighed=True, vat=10)
        self.add_product("Пакет", 500, vat=20, barcodes=[{"ean8": "20000000"}])
        self.add_product("Старый товар", 100, archived=True)
        for last, first in (("Иванова", "Мария"), ("Петров", "Сергей")):
            self.add_cashier(shop, self.add_employee(last, first, inn="500100732259"))
        return shop

    # --- the transport -------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            in_flight = self._in_flight
        try:
            if self.in_flight_hook is not None:
                self.in_flight_hook()
            return self._handle(request, in_flight)
        except _Reject as rej:
            with self._lock:
                self.rejected[rej.status] = self.rejected.get(rej.status, 0) + 1
            if rej.status == 415:
                return httpx.Response(415, headers=rej.headers)
            body: JSON = {"errors": [{"error": rej.text, **({"code": rej.code}
                                                            if rej.code else {})}]}
            return self._json(rej.status, body, rej.headers)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None
              ) -> httpx.Response:
        raw = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), mtime=0)
        all_headers = {"Content-Type": "application/json;charset=utf-8",
                       "Content-Encoding": "gzip", **(headers or {})}
        return httpx.Response(status, content=raw, headers=all_headers)

    def _limit_headers(self, remaining: int, reset_ms: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.units),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
                "X-Lognex-Retry-TimeInterval": str(int(self.window * 1000)),
                "X-Lognex-Reset": str(reset_ms)}

    def _handle(self, request: httpx.Request, in_flight: int) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.token}":
            raise _Reject(401, 1056, "Ошибка аутентификации: Неправильный пароль или имя "
                          "пользователя или ключ авторизации",
                          {"X-Lognex-Auth": "-1", "X-Lognex-Auth-Message": "Invalid token"})
        encodings = [e.split(";")[0].strip().lower()
                     for e in request.headers.get("Accept-Encoding", "").split(",")]
        if "gzip" not in encodings:
            raise _Reject(415)
        if in_flight > self.parallel:
            raise _Reject(429, 1073, "Превышено ограничение на одновременное количество "
                          "запросов", {"X-Lognex-Retry-After": str(self.retry_after_ms)})
        with self._lock:
            now = self.clock()
            while self._stamps and self._stamps[0] <= now - self.window:
                self._stamps.popleft()
            if self.force_429 > 0 or len(self._stamps) >= self.units:
                forced = self.force_429 > 0
                self.force_429 = max(self.force_429 - 1, 0)
                reset = (int((self._stamps[0] + self.window - now) * 1000) + 1
                         if self._stamps and not forced else self.retry_after_ms)
                headers = self._limit_headers(0, reset)
                headers["X-Lognex-Retry-After"] = str(reset)
                raise _Reject(429, 1049, "Превышено ограничение на количество запросов в "
                              "единицу времени", headers)
            self._stamps.append(now)
            remaining = self.units - len(self._stamps)
        url = urlsplit(str(request.url))
        base_path = urlsplit(self.base).path
        if not url.path.startswith(base_path):
            raise _Reject(404, 1002, f"Неопознанный путь: {url.path}")
        path = url.path[len(base_path):].strip("/")
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with self._lock:
            self.log.append((request.method, path, query))
        content = request.read()
        if len(content) > MAX_BODY:
            raise _Reject(413, 1044, "Превышен максимальный размер запроса")
        status, payload = self._route(request.method, path, query, content)
        return self._json(status, payload, self._limit_headers(remaining, 0))

    # --- routing --------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], content: bytes
               ) -> tuple[int, Any]:
        parts = path.split("/")
        if parts[0] != "entity" or len(parts) < 2:
            raise _Reject(404, 1002, f"Неопознанный путь: {path}")
        entity = parts[1]
        if method == "GET" and len(parts) == 2:
            return 200, self._list(entity, query, list(self.entities.get(entity, {}).values()),
                                   f"entity/{entity}")
        if method == "GET" and len(parts) == 3:
            return 200, self._get(entity, parts[2])
        if (method == "GET" and len(parts) == 4 and entity == "retailstore"
                and parts[3] == "cashiers"):
            self._get("retailstore", parts[2])
            return 200, self._list("cashier", query, list(self.cashiers.get(parts[2], [])),
                                   path)
        if method == "POST" and len(parts) == 2:
            return self._post(entity, self._body(content))
        if method == "PUT" and len(parts) == 3:
            body = self._body(content)
            if not isinstance(body, dict):
                raise _Reject(400, 2026, "Ошибка формата: запрос не должен содержать массив")
            with self._lock:
                return 200, self._update(entity, parts[2], body)
        raise _Reject(405, 1039, f"Операция {method} не поддерживается для данного ресурса")

    def _body(self, content: bytes) -> Any:
        try:
            return json.loads(content.decode() or "null")
        except ValueError as exc:
            raise _Reject(400, 2001, "Ошибка формата: входящий запрос не соответствует "
                          "формату JSON") from exc

    def _get(self, entity: str, entity_id: str) -> JSON:
        obj = self.entities.get(entity, {}).get(entity_id)
        if obj is None:
            raise _Reject(404, 1021, f"Объект с типом '{entity}' и идентификатором "
                          f"'{entity_id}' не найден")
        return obj

    def _list(self, entity: str, query: dict[str, str], rows: list[JSON], path: str) -> JSON:
        try:
            limit = int(query.get("limit", "1000"))
            offset = int(query.get("offset", "0"))
        except ValueError as exc:
            raise _Reject(400, 1040, "Неверно заданы параметры запроса") from exc
        if not 1 <= limit <= 1000 or offset < 0:
            raise _Reject(400, 1040, "Неверно заданы параметры запроса: limit должен быть "
                          "от 1 до 1000, offset не меньше 0")
        rows = [r for r in rows if self._matches(r, query.get("filter", ""))]
        page = rows[offset:offset + limit]
        meta: JSON = {"href": f"{self.base}{path}", "type": entity,
                      "mediaType": "application/json", "size": len(rows),
                      "limit": limit, "offset": offset}
        if entity != "cashier":
            meta["metadataHref"] = f"{self.base}entity/{entity}/metadata"
        rest = {k: v for k, v in query.items() if k not in ("limit", "offset")}
        if offset + limit < len(rows):
            meta["nextHref"] = (f"{self.base}{path}?" +
                                urlencode({**rest, "limit": limit, "offset": offset + limit}))
        if offset > 0:
            meta["previousHref"] = (f"{self.base}{path}?" + urlencode(
                {**rest, "limit": limit, "offset": max(offset - limit, 0)}))
        context = {"employee": {"meta": {
            "href": f"{self.base}context/employee",
            "metadataHref": f"{self.base}entity/employee/metadata",
            "type": "employee", "mediaType": "application/json"}}}
        return {"context": context, "meta": meta, "rows": page}

    @staticmethod
    def _conditions(text: str) -> list[tuple[str, str, str]]:
        conditions: list[tuple[str, str, str]] = []
        parts: list[str] = []
        current = ""
        i = 0
        while i < len(text):  # ';' separates, '\;' is a literal semicolon
            if text[i] == "\\" and i + 1 < len(text) and text[i + 1] == ";":
                current += ";"
                i += 2
                continue
            if text[i] == ";":
                parts.append(current)
                current = ""
            else:
                current += text[i]
            i += 1
        if current:
            parts.append(current)
        for part in parts:
            for op in _OPS:
                field, sep, value = part.partition(op)
                if sep and field and not any(c in field for c in "<>=!"):
                    conditions.append((field, op, value))
                    break
            else:
                raise _Reject(400, 1034, f"Ошибка фильтрации: {part}")
        return conditions

    @staticmethod
    def _value(row: JSON, field: str) -> Any:
        actual = row.get(field)
        if isinstance(actual, dict) and isinstance(actual.get("meta"), dict):
            return actual["meta"].get("href")  # reference fields filter by href
        if field == "moment" and isinstance(actual, str):
            return actual[:19]
        return actual

    def _matches(self, row: JSON, text: str) -> bool:
        if not text:
            return True
        equal: dict[str, list[str]] = {}
        for field, op, value in self._conditions(text):
            actual = self._value(row, field)
            if field == "archived" and actual is None:
                actual = False
            shown = (str(actual).lower() if isinstance(actual, bool)
                     else "" if actual is None else str(actual))
            if op == "=":
                equal.setdefault(field, []).append(value)
            elif op == "!=" and shown == value:
                return False
            elif op in (">", ">=", "<", "<="):
                if field == "updated" and len(value) < 19:
                    value = (value + ":00")[:19]
                if not _compare(shown, op, value):
                    return False
        for field, values in equal.items():  # several '=' on one field mean OR
            actual = self._value(row, field)
            if field == "archived" and actual is None:
                actual = False
            shown = (str(actual).lower() if isinstance(actual, bool)
                     else "" if actual is None else str(actual))
            if shown not in values:
                return False
        return True

    # --- writes ------------------------------------------------------------------------------

    def _post(self, entity: str, body: Any) -> tuple[int, Any]:
        if isinstance(body, list):
            with self._lock:
                self.array_sizes.append(len(body))
            if len(body) > 1000:
                raise _Reject(413, 2007, "Ошибка формата: слишком большое число вложенных "
                              "объектов (больше 1000 элементов в массиве)")
            if not body:
                raise _Reject(400, 1027, "Запрос не содержит объектов")
            results: list[Any] = []
            failed = False
            for element in body:
                try:
                    results.append(self._write_one(entity, element))
                except _Reject as rej:
                    if rej.status == 413:
                        raise
                    failed = True
                    results.append({"errors": [{"error": rej.text, "code": rej.code}]})
            return (400 if failed else 200), results
        if isinstance(body, dict):
            return 200, self._write_one(entity, body)
        raise _Reject(400, 2005, "Ошибка формата: входящий JSON должен начинаться либо с "
                      "объекта, либо с массива")

    def _write_one(self, entity: str, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise _Reject(400, 2000, "Ошибка формата: отсутствует начало объекта")
        with self._lock:
            if "meta" in body:
                return self._update(entity, _tail(body["meta"].get("href", "")), body)
            sync = body.get("syncId")
            if sync:
                for existing in self.entities.get(entity, {}).values():
                    if existing.get("syncId") == sync:
                        return existing  # documented: a repeat returns the first object
            creator = {"retailshift": self._create_shift, "retaildemand": self._create_demand,
                       "retailsalesreturn": self._create_return,
                       "service": self._create_simple, "product": self._create_simple,
                       "productfolder": self._create_simple}.get(entity)
            if creator is None:
                raise _Reject(405, 1011, f"Создание объектов типа '{entity}' не "
                              "поддерживается")
            return creator(entity, body)

    def _ref_to(self, body: JSON, field: str, entity: str) -> JSON:
        value = body.get(field)
        if not isinstance(value, dict) or not isinstance(value.get("meta"), dict):
            raise _Reject(412, 3000, f"Ошибка сохранения объекта: поле '{field}' не может "
                          "быть пустым или отсутствовать")
        meta = value["meta"]
        if not meta.get("href") or not meta.get("type") or not meta.get("mediaType"):
            raise _Reject(400, 2010, f"Ошибка формата: отсутствует href/type/mediaType для "
                          f"meta поля '{field}'")
        if meta["type"] != entity:
            raise _Reject(400, 2024, f"Ошибка формата: href указывает на сущность "
                          f"неправильного типа '{meta['type']}', требуется '{entity}'")
        return self._get(entity, _tail(meta["href"]))

    def _create_simple(self, entity: str, body: JSON) -> JSON:
        if not body.get("name"):
            raise _Reject(412, 3000, "Ошибка сохранения объекта: поле 'name' не может быть "
                          "пустым или отсутствовать")
        obj = self._base_fields(entity)
        obj.update({k: v for k, v in body.items() if k != "meta"})
        obj.setdefault("externalCode", uuid.uuid4().hex[:22])
        obj.setdefault("archived", False)
        return self._store(entity, obj)

    def _create_shift(self, entity: str, body: JSON) -> JSON:
        org = self._ref_to(body, "organization", "organization")
        shop = self._ref_to(body, "retailStore", "retailstore")
        if not shop.get("active", True):
            raise _Reject(412, 12011, "Ошибка открытия розничной смены: Точка продаж не "
                          "активна")
        obj = self._base_fields("retailshift")
        self._seq += 1
        obj.update(name=f"{self._seq:05d}", externalCode=uuid.uuid4().hex[:22],
                   moment=body.get("moment") or self.now_text(), created=self.now_text(),
                   printed=False, published=False, proceedsNoCash=0.0, proceedsCash=0.0,
                   receivedNoCash=0.0, receivedCash=0.0, cheque=body.get("cheque", {}),
                   organization={"meta": org["meta"]}, retailStore={"meta": shop["meta"]},
                   store=shop.get("store"), bankPercent=0.0, bankComission=0.0,
                   qrBankPercent=0.0, qrBankComission=0.0,
                   files={"meta": {"href": f"{obj['meta']['href']}/files", "type": "files",
                                   "mediaType": "application/json", "size": 0,
                                   "limit": 1000, "offset": 0}})
        if body.get("syncId"):
            obj["syncId"] = body["syncId"]
        if body.get("closeDate"):
            obj["closeDate"] = body["closeDate"]
        return self._store("retailshift", obj)

    def _open_shift(self, body: JSON) -> JSON:
        shift = self._ref_to(body, "retailShift", "retailshift")
        if shift.get("closeDate"):
            raise _Reject(412, 19000, "Ошибка сохранения: розничная смена уже закрыта")
        return shift

    def _positions(self, body: JSON) -> tuple[list[JSON], float]:
        positions = body.get("positions") or []
        if not isinstance(positions, list):
            raise _Reject(400, 2016, "Ошибка формата: значение поля 'positions' не "
                          "соответствует типу массив")
        if len(positions) > 1000:
            raise _Reject(413, 2022, "Ошибка формата: слишком большое число элементов "
                          "вложенной коллекции")
        total = 0.0
        stored = []
        for pos in positions:
            meta = (pos.get("assortment") or {}).get("meta") or {}
            if meta.get("type") not in ("product", "service", "variant", "bundle"):
                raise _Reject(412, 3000, "Ошибка сохранения объекта: поле 'assortment' не "
                              "может быть пустым или отсутствовать")
            self._get(meta["type"], _tail(meta.get("href", "")))
            quantity = float(pos.get("quantity") or 0)
            if quantity <= 0:
                raise _Reject(412, 3004, "Ошибка сохранения: количество должно быть "
                              "положительным")
            price = float(pos.get("price") or 0)
            discount = float(pos.get("discount") or 0)
            total += price * quantity * (1 - discount / 100)
            stored.append({"id": self.new_id(), "accountId": ACCOUNT_ID, **pos})
        return stored, total

    def _check_payments(self, body: JSON, total: float) -> JSON:
        fields = ("cashSum", "noCashSum", "qrSum", "prepaymentCashSum",
                  "prepaymentNoCashSum", "prepaymentQrSum", "advancePaymentSum")
        given = {f: float(body[f]) for f in fields if body.get(f) is not None}
        if any(v < 0 for v in given.values()):
            raise _Reject(412, 18000, "Ошибка сохранения продажи: сумма оплат не может быть "
                          "отрицательной")
        paid = sum(given.values())
        if "cashSum" in given and "noCashSum" in given:
            if abs(paid - round(total)) >= 0.5:
                raise _Reject(412, 18000, "Ошибка сохранения продажи: сумма 'cashSum', "
                              "'noCashSum', 'qrSum', 'prepaymentCashSum', "
                              "'prepaymentNoCashSum', 'prepaymentQrSum', 'advancePaymentSum' "
                              "не соответствует сумме по документу")
        elif "cashSum" not in given:  # the rest is counted as cash (documented)
            given["cashSum"] = round(total) - paid
        else:
            given["noCashSum"] = round(total) - paid
        for f in fields:
            given.setdefault(f, 0.0)
        return given

    def _create_demand(self, entity: str, body: JSON) -> JSON:
        if "store" in body:
            self._ref_to(body, "store", "store")
        shift = self._open_shift(body)
        if str(body.get("moment") or "9999") < str(shift.get("moment", ""))[:19]:
            raise _Reject(412, 3000, "Ошибка сохранения: дата продажи раньше даты смены")
        positions, total = self._positions(body)
        sums = self._check_payments(body, total)
        obj = self._base_fields(entity)
        self._seq += 1
        obj.update({k: v for k, v in body.items() if k not in ("positions", "meta")})
        obj.update(sums)
        obj.update(name=body.get("name") or f"{self._seq:05d}", sum=float(round(total)),
                   applicable=body.get("applicable", True), created=self.now_text(),
                   moment=body.get("moment") or self.now_text(),
                   organization=shift["organization"], retailStore=shift["retailStore"],
                   store=shift.get("store"), retailShift={"meta": shift["meta"]},
                   vatEnabled=body.get("vatEnabled", True),
                   vatIncluded=body.get("vatIncluded", True), printed=False,
                   published=False, payedSum=float(round(total)),
                   rate={"currency": self._currency()},
                   agent={"meta": self.meta("counterparty", RETAIL_CUSTOMER)})
        obj.setdefault("externalCode", uuid.uuid4().hex[:22])
        obj["positions"] = {"meta": {
            "href": f"{obj['meta']['href']}/positions", "type": "demandposition",
            "mediaType": "application/json", "size": len(positions), "limit": 1000,
            "offset": 0}}
        self.document_positions[obj["id"]] = positions
        return self._store(entity, obj)

    def _create_return(self, entity: str, body: JSON) -> JSON:
        for field, ref_entity in (("organization", "organization"), ("store", "store"),
                                  ("retailStore", "retailstore")):
            self._ref_to(body, field, ref_entity)
        if not body.get("name"):
            raise _Reject(412, 3000, "Ошибка сохранения объекта: поле 'name' не может быть "
                          "пустым или отсутствовать")
        shift = self._open_shift(body)
        positions, total = self._positions(body)
        if body.get("cashSum") is None or body.get("noCashSum") is None:
            raise _Reject(412, 3000, "Ошибка сохранения объекта: поля 'cashSum' и "
                          "'noCashSum' обязательны для возврата без основания")
        sums = self._check_payments(body, total)
        obj = self._base_fields(entity)
        obj.update({k: v for k, v in body.items() if k not in ("positions", "meta")})
        obj.update(sums)
        obj.update(sum=float(round(total)), retailShift={"meta": shift["meta"]},
                   created=self.now_text())
        self.document_positions[obj["id"]] = positions
        return self._store(entity, obj)

    def _update(self, entity: str, entity_id: str, body: JSON) -> JSON:
        obj = self._get(entity, entity_id)
        if "syncId" in body and body["syncId"] != obj.get("syncId"):
            raise _Reject(400, 1047, "Вы не можете обновить поле syncId в запросе на "
                          "обновление сущности")
        if entity == "retailshift" and body.get("closeDate") and obj.get("closeDate"):
            raise _Reject(412, 12004, "Ошибка закрытия розничной смены: розничная смена "
                          "закрыта")
        for key, value in body.items():
            if key in ("meta", "id", "accountId"):
                continue
            if key == "cheque" and isinstance(value, dict):
                obj.setdefault("cheque", {}).update(value)
            else:
                obj[key] = value
        obj["updated"] = self.now_text()
        return obj

    # --- inspection for tests -----------------------------------------------------------

    def rows(self, entity: str) -> list[JSON]:
        return list(self.entities.get(entity, {}).values())

    def positions_of(self, demand: JSON) -> list[JSON]:
        return list(self.document_positions.get(demand["id"], []))


def _tail(href: str) -> str:
    return str(href).rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def _compare(actual: str, op: str, value: str) -> bool:
    try:
        a: Any = float(actual)
        b: Any = float(value)
    except ValueError:
        a, b = actual, value
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    if op == "<":
        return bool(a < b)
    return bool(a <= b)
