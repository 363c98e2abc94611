"""The MoySklad back-office plugin (entry point ``moysklad`` of ``kkt_bridge.backoffice``).

The entry point names this module; the plugin manager registers its ``plugin``, one
:class:`MoySkladPlugin` instance. Tests and demos register their own instance instead, with the
in-process fake as transport and a fake clock::

    fake = FakeMoySklad(); fake.seed_demo()
    pm.register(MoySkladPlugin(transport=fake, clock=clock.now, sleep=clock.sleep))
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from kkt_bridge.errors import BackOfficeError, PairingError
from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    RegisterIdentity,
)
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.i18n import _
from kkt_bridge.plugins.moysklad import mapping
from kkt_bridge.plugins.moysklad.client import DEFAULT_ENDPOINT, MoySkladClient
from kkt_bridge.plugins.moysklad.exporter import DocumentExporter, ExportCache, filter_chunks
from kkt_bridge.plugins.moysklad.pairing import NAME, pair, parse_sync_code
from kkt_bridge.plugins.moysklad.ratelimit import Clock, RateLimiter, Sleep, user_token_weight


class MoySkladPlugin:
    """Hook implementations for one process; limiters and caches are per token."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 weight: int | None = None, max_retries: int = 3,
                 today: date | None = None) -> None:
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.weight = weight
        self.max_retries = max_retries
        self.today = today
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], MoySkladClient] = {}
        self._caches: dict[tuple[str, str], ExportCache] = {}

    # --- plumbing ----------------------------------------------------------------------

    def _weight(self, kind: str) -> int:
        if self.weight is not None:
            return self.weight
        if kind == "solution":
            return 1
        return user_token_weight(self.today or datetime.now(UTC).date())

    def client(self, endpoint: str, token: str, kind: str = "user") -> MoySkladClient:
        """One keep-alive client and one limiter per account token (kept by its hash)."""
        key = (endpoint, hashlib.sha256(token.encode()).hexdigest())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                limiter = RateLimiter(weight=self._weight(kind), clock=self.clock,
                                      sleep=self.sleep)
                client = MoySkladClient(token, endpoint=endpoint, transport=self.transport,
                                        limiter=limiter, max_retries=self.max_retries)
                self._clients[key] = client
            return client

    def _client_for(self, credentials: Credentials) -> MoySkladClient:
        return self.client(credentials.endpoint or DEFAULT_ENDPOINT, credentials.token,
                           credentials.extra.get("token_kind", "user"))

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # --- hooks ----------------------------------------------------------------------------

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(
            name=NAME, title="МойСклад",
            description=_("Облачная товароучётная система МойСклад (JSON API 1.2)"),
            default_endpoint=DEFAULT_ENDPOINT,
        )

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != NAME:
            return None
        sync_code = parse_sync_code(code)
        endpoint = endpoint or DEFAULT_ENDPOINT
        key = (endpoint, hashlib.sha256(sync_code.token.encode()).hexdigest())
        client = self.client(endpoint, sync_code.token)
        try:
            return pair(client, endpoint, sync_code)
        except PairingError:
            # a rejected token must not stay cached in this process
            with self._lock:
                dropped = self._clients.pop(key, None)
            if dropped is not None:
                dropped.close()
            raise

    @hookimpl
    def backoffice_check(self, backoffice: str, credentials: Credentials) -> bool | None:
        if backoffice != NAME:
            return None
        client = self._client_for(credentials)
        client.get(f"entity/retailstore/{credentials.extra.get('retailstore_id', '')}")
        return True

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        if backoffice != NAME:
            return None
        client = self._client_for(credentials)
        as_of = datetime.now(UTC)
        params: dict[str, Any] = {"filter": "archived=false"}
        if since is not None:
            params["filter"] += f";updated>={mapping.format_filter_time(since)}"
        uom_names = {str(u["id"]): str(u.get("name", "")) for u in
                     client.iter_rows("entity/uom")}
        groups = tuple(mapping.to_group(f) for f in
                       client.iter_rows("entity/productfolder", params)
                       if not f.get("archived"))
        price_type = credentials.extra.get("price_type_id")
        goods = tuple(mapping.to_good(p, price_type_id=price_type, uom_names=uom_names)
                      for p in client.iter_rows("entity/product", params)
                      if not p.get("archived"))
        return Catalog(groups=groups, goods=goods, complete=since is None, as_of=as_of)

    @hookimpl
    def backoffice_fetch_employees(self, backoffice: str, credentials: Credentials
                                   ) -> list[Employee] | None:
        if backoffice != NAME:
            return None
        client = self._client_for(credentials)
        store_id = credentials.extra.get("retailstore_id", "")
        ids = [i for i in (mapping.ref_id(c.get("employee")) for c in
                           client.iter_rows(f"entity/retailstore/{store_id}/cashiers")) if i]
        employees: dict[str, Employee] = {}
        for chunk in filter_chunks("id", sorted(set(ids))):
            for row in client.iter_rows("entity/employee", {"filter": chunk}):
                if not row.get("archived"):
                    employees[str(row["id"])] = mapping.to_employee(row)
        return [employees[i] for i in dict.fromkeys(ids) if i in employees]

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != NAME:
            return None
        if not documents:
            return []
        client = self._client_for(credentials)
        cache_key = (credentials.endpoint, credentials.extra.get("retailstore_id", ""))
        with self._lock:
            cache = self._caches.setdefault(cache_key, ExportCache())
        try:
            acks = DocumentExporter(client, credentials, cache).export(documents)
        except BackOfficeError:
            cache.forget()
            raise
        if not all(a.accepted for a in acks):
            # a shift or product changed in MoySklad meanwhile: the retry reads afresh
            cache.forget()
        return acks


#: what the entry point registers (see kkt_bridge.pluginmanager: a module's ``plugin``
#: object), as for the reference plugin and the template: one instance per process
plugin = MoySkladPlugin()
