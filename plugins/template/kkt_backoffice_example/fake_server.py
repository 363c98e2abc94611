"""An in-process fake of the "Example Cloud" API the template plugin talks to.

Replace it with a fake of your vendor's API. Make it strict: it should refuse what the real
API refuses (missing token, too many items, a repeated receipt), so that a plugin breaking a
rule fails a test instead of failing in a shop. Plug it in with ``transport=fake.transport``.

The API it fakes:

- ``POST /v1/activate`` ``{code, device: {serial, fn}}`` -> ``{api_key, company, store}``;
  404 for an unknown or used code.
- ``GET /v1/whoami`` -> ``{store}``; 401 without a valid ``X-Api-Key``.
- ``GET /v1/categories`` and ``GET /v1/products?page=N`` (``{items, next_page}``, prices
  in roubles as strings, as many APIs do: the plugin converts to kopecks).
- ``GET /v1/staff`` -> ``{items}``.
- ``POST /v1/receipts`` with up to :data:`MAX_RECEIPTS` receipts, each with an
  ``external_id`` -> ``{results: [{external_id, status: created|exists}]}``.
- 429 with ``Retry-After`` when ``rate_limit_every`` says so.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_RECEIPTS = 100
PAGE_SIZE = 3


@dataclass
class FakeExampleCloud:
    company: str = "ООО «Пример»"
    store: str = "Пример на Мира"
    categories: list[dict[str, Any]] = field(default_factory=lambda: [
        {"uuid": "c1", "title": "Напитки", "parent": None},
        {"uuid": "c2", "title": "Соки", "parent": "c1"},
    ])
    products: list[dict[str, Any]] = field(default_factory=lambda: [
        {"uuid": f"p{n}", "title": f"Сок {n}", "price": f"{90 + n}.50", "category": "c2",
         "barcode": f"46000000000{n}", "by_weight": False} for n in range(1, 8)
    ])
    staff: list[dict[str, Any]] = field(default_factory=lambda: [
        {"uuid": "s1", "full_name": "Иванова Мария", "is_manager": False},
        {"uuid": "s2", "full_name": "Петров Сергей", "is_manager": True},
    ])
    #: every N-th request answers 429 (0: never)
    rate_limit_every: int = 0
    codes: set[str] = field(default_factory=set)
    keys: dict[str, str] = field(default_factory=dict)  # api key -> device serial
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # external_id -> body
    requests: int = 0

    def new_code(self) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        self.codes.add(code)
        return code

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # --- the API -----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.rate_limit_every and self.requests % self.rate_limit_every == 0:
            return httpx.Response(429, headers={"Retry-After": "2"},
                                  json={"message": "too many requests"})
        path = request.url.path
        if path == "/v1/activate" and request.method == "POST":
            return self._activate(json.loads(request.content))
        serial = self.keys.get(request.headers.get("X-Api-Key", ""))
        if serial is None:
            return httpx.Response(401, json={"message": "invalid api key"})
        if path == "/v1/whoami":
            return httpx.Response(200, json={"store": self.store, "device": serial})
        if path == "/v1/categories":
            return httpx.Response(200, json={"items": self.categories})
        if path == "/v1/products":
            page = int(request.url.params.get("page", "1"))
            chunk = self.products[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
            more = page * PAGE_SIZE < len(self.products)
            return httpx.Response(200, json={"items": chunk,
                                             "next_page": page + 1 if more else None})
        if path == "/v1/staff":
            return httpx.Response(200, json={"items": self.staff})
        if path == "/v1/receipts" and request.method == "POST":
            return self._receipts(json.loads(request.content))
        return httpx.Response(404, json={"message": "not found"})

    def _activate(self, body: dict[str, Any]) -> httpx.Response:
        code = str(body.get("code", ""))
        if code not in self.codes:
            return httpx.Response(404, json={"message": "unknown activation code"})
        self.codes.discard(code)  # one time only
        key = secrets.token_hex(16)
        self.keys[key] = str(body["device"]["serial"])
        return httpx.Response(200, json={"api_key": key, "company": self.company,
                                         "store": self.store})

    def _receipts(self, body: list[dict[str, Any]]) -> httpx.Response:
        if len(body) > MAX_RECEIPTS:
            return httpx.Response(413, json={"message": f"at most {MAX_RECEIPTS} receipts"})
        results = []
        for receipt in body:
            external_id = receipt["external_id"]
            status = "exists" if external_id in self.receipts else "created"
            self.receipts.setdefault(external_id, receipt)
            results.append({"external_id": external_id, "status": status})
        return httpx.Response(200, json={"results": results})
