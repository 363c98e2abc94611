"""Fiscal documents -> MoySklad retail shifts, sales and returns.

- shift open report (type 2) -> POST entity/retailshift (syncId from ФН + shift number);
- receipt (type 3), «приход» -> entity/retaildemand, «возврат прихода» -> retailsalesreturn,
  both inside their shift; syncId = uuid5(ФН number + ФД number);
- shift close report (type 5) -> the shift gets ``closeDate`` and the close report data.

A shift is keyed by ФН + shift number rather than by its open report, so a receipt finds
(or opens) its shift even when the bridge was paired in the middle of a shift.

Documents MoySklad has no place for (registration reports, «расход» receipts, corrections,
ФН close) are acknowledged without being sent: holding them back would stop the export
cursor forever. Receipt items are matched to products by name; an item MoySklad does not
know is sold as one service, «Товар по свободной цене (kkt-bridge)», created once, and the
item's name goes into the document's description, so no receipt is refused for a
register-side item and the back office's catalog is not filled with register items.

Only documents in order are sent: after the first failure nothing later is sent (a closed
shift would refuse the failed receipt's retry), and the bridge's cursor stops there too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from kkt_bridge.errors import BackOfficeError
from kkt_bridge.exchange import Ack, Credentials, ExportDocument
from kkt_bridge.i18n import _
from kkt_bridge.plugins.moysklad import mapping
from kkt_bridge.plugins.moysklad.client import MAX_ARRAY, MAX_BODY_BYTES, MoySkladClient

log = logging.getLogger(__name__)

JSON = dict[str, Any]

SHIFT_OPEN = 2
RECEIPT = 3
SHIFT_CLOSE = 5
SALE, SALE_RETURN = 1, 2
FREE_PRICE_CODE = "kkt-bridge-free-price"
FREE_PRICE_NAME = "Товар по свободной цене (kkt-bridge)"
#: keep filter URLs far below the API's 8 KB header limit
MAX_FILTER_CHARS = 3000
#: above this many documents, look them up by time span instead of by syncId
SYNC_ID_LOOKUP_MAX = 200


@dataclass
class ExportCache:
    """What one account's exports learned: shifts by syncId, products by name."""

    shifts: dict[str, JSON] = field(default_factory=dict)
    assortment: dict[str, JSON] = field(default_factory=dict)
    free_price: JSON | None = None

    def forget(self) -> None:
        self.shifts.clear()
        self.assortment.clear()
        self.free_price = None


def _escape(value: str) -> str:
    return value.replace(";", "\\;")


def filter_chunks(field_name: str, values: Sequence[str]) -> list[str]:
    """``field=a;field=b`` filters (several '=' on one field mean OR), URL-size bounded.

    The API escapes only ``;`` (as ``\\;``): a value ending in a backslash cannot be
    written unambiguously and is left out (such an item is then not found by name).
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for value in values:
        if value.endswith("\\"):
            continue
        term = f"{field_name}={_escape(value)}"
        term_size = len(quote(term)) + 3
        if current and size + term_size > MAX_FILTER_CHARS:
            chunks.append(";".join(current))
            current, size = [], 0
        current.append(term)
        size += term_size
    if current:
        chunks.append(";".join(current))
    return chunks


def fns_of(document: ExportDocument) -> Mapping[str, Any]:
    """The FNS JSON object itself: tools also wrap it as ``{"receipt": {...}}`` or
    ``{"document": {"receipt": {...}}}``."""
    fns: Mapping[str, Any] = document.fns
    for _level in range(2):
        if isinstance(fns.get("document"), Mapping):
            fns = fns["document"]
        elif len(fns) == 1 and isinstance(next(iter(fns.values())), Mapping):
            fns = next(iter(fns.values()))
        else:
            break
    return fns


def _items(fns: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = fns.get("items") or []
    if isinstance(items, Mapping):  # one item, not wrapped in a list
        items = [items]
    return [i for i in items if isinstance(i, Mapping)]


def _shift_number(fns: Mapping[str, Any]) -> int:
    try:
        return int(fns.get("shiftNumber") or 0)
    except (TypeError, ValueError):
        return 0


def _entity_for(document: ExportDocument) -> str | None:
    if document.document_type != RECEIPT:
        return None
    operation = int(fns_of(document).get("operationType") or SALE)
    return {SALE: "retaildemand", SALE_RETURN: "retailsalesreturn"}.get(operation)


class DocumentExporter:
    def __init__(self, client: MoySkladClient, credentials: Credentials,
                 cache: ExportCache) -> None:
        self.client = client
        self.credentials = credentials
        self.cache = cache
        extra = credentials.extra
        self.endpoint = client.endpoint
        self.retailstore_id = extra.get("retailstore_id", "")
        self.organization_id = extra.get("organization_id", "")
        self.store_id = extra.get("store_id", "")
        self._existing: dict[str, set[str]] = {}

    def ref(self, entity: str, entity_id: str) -> JSON:
        return mapping.meta(self.endpoint, entity, entity_id)

    # --- look-ups --------------------------------------------------------------------

    def _existing_by_sync_id(self, entity: str, sync_ids: Sequence[str],
                             moments: Sequence[datetime | None]) -> set[str]:
        """Which of these documents MoySklad already has.

        A small batch asks by ``syncId`` (about 50 per request); a big one (catching up after
        days offline) reads the store's documents of the batch's time span, 1000 a page.
        """
        wanted = set(sync_ids)
        queries: list[str]
        if len(wanted) > SYNC_ID_LOOKUP_MAX and moments and all(moments):
            times = [m for m in moments if m is not None]
            # ``moment`` is kept to the minute; widen the span so no edge document is missed
            start = min(times).replace(second=0, microsecond=0) - timedelta(minutes=1)
            end = max(times) + timedelta(minutes=1)
            store = self.ref("retailstore", self.retailstore_id)["meta"]["href"]
            queries = [f"retailStore={store};moment>={mapping.format_local_time(start)};"
                       f"moment<={mapping.format_local_time(end)}"]
        else:
            queries = filter_chunks("syncId", sorted(wanted))
        found: set[str] = set()
        for query in queries:
            for row in self.client.iter_rows(f"entity/{entity}", {"filter": query}):
                if row.get("syncId") in wanted:
                    found.add(str(row["syncId"]))
        return found

    def _load_shifts(self, sync_ids: Sequence[str]) -> None:
        missing = [s for s in sync_ids if s not in self.cache.shifts]
        for chunk in filter_chunks("syncId", missing):
            for row in self.client.iter_rows("entity/retailshift", {"filter": chunk}):
                if row.get("syncId"):
                    self.cache.shifts[str(row["syncId"])] = row

    def _resolve_names(self, names: Sequence[str]) -> None:
        unknown = sorted({n for n in names if n and n not in self.cache.assortment})
        for chunk in filter_chunks("name", unknown):
            for row in self.client.iter_rows("entity/product", {"filter": chunk}):
                name = str(row.get("name", ""))
                if name in self.cache.assortment and not row.get("archived"):
                    continue
                self.cache.assortment[name] = {"meta": {
                    "href": row["meta"]["href"], "type": "product",
                    "mediaType": "application/json"}}

    def _free_price_item(self) -> JSON:
        if self.cache.free_price is None:
            rows = list(self.client.iter_rows(
                "entity/service", {"filter": f"externalCode={FREE_PRICE_CODE}"}))
            service = rows[0] if rows else self.client.post("entity/service", {
                "name": FREE_PRICE_NAME, "externalCode": FREE_PRICE_CODE,
                "syncId": mapping.sync_id("service", FREE_PRICE_CODE),
                "vatEnabled": False})
            self.cache.free_price = {"meta": {"href": service["meta"]["href"],
                                              "type": "service",
                                              "mediaType": "application/json"}}
        return self.cache.free_price

    # --- shifts ------------------------------------------------------------------------

    def _shift_body(self, fn: str, shift: int, fns: Mapping[str, Any]) -> JSON:
        body: JSON = {
            "syncId": mapping.shift_sync_id(fn, shift),
            "organization": self.ref("organization", self.organization_id),
            "retailStore": self.ref("retailstore", self.retailstore_id),
        }
        moment = mapping.parse_fns_time(fns.get("dateTime"))
        if moment is not None:
            body["moment"] = mapping.format_local_time(moment)
        return body

    def _ensure_shift(self, fn: str, shift: int, fns: Mapping[str, Any],
                      start: JSON | None = None) -> tuple[JSON, bool]:
        """The shift's object and whether it already existed."""
        key = mapping.shift_sync_id(fn, shift)
        if key in self.cache.shifts:
            return self.cache.shifts[key], True
        body = self._shift_body(fn, shift, fns)
        if start is not None:
            body["cheque"] = {"start": start}
        created = self.client.post("entity/retailshift", body)
        self.cache.shifts[key] = created
        return created, False

    def _shift_info(self, document: ExportDocument, *, closing: bool) -> JSON:
        fns = fns_of(document)
        info = mapping.cheque(fns, document.fn_number, document.fd_number)
        info["shiftNumber"] = str(_shift_number(fns))
        if closing:
            for ours, theirs in (("chequesTotal", "receiptsQuantity"),
                                 ("fiscalDocsTotal", "documentsQuantity")):
                if fns.get(theirs) is not None:
                    info[ours] = int(fns[theirs])
        return info

    def _open(self, document: ExportDocument) -> Ack:
        _shift, existed = self._ensure_shift(
            document.fn_number, _shift_number(fns_of(document)), fns_of(document),
            start=self._shift_info(document, closing=False))
        return Ack(key=document.key, accepted=True, duplicate=existed)

    def _close(self, document: ExportDocument) -> Ack:
        shift, _existed = self._ensure_shift(document.fn_number,
                                             _shift_number(fns_of(document)), fns_of(document))
        if shift.get("closeDate"):
            return Ack(key=document.key, accepted=True, duplicate=True)
        moment = mapping.parse_fns_time(fns_of(document).get("dateTime"))
        body: JSON = {"cheque": {"end": self._shift_info(document, closing=True)}}
        body["closeDate"] = mapping.format_local_time(moment) if moment else None
        if body["closeDate"] is None:
            del body["closeDate"]
        updated = self.client.put(f"entity/retailshift/{shift['id']}", body)
        self.cache.shifts[mapping.shift_sync_id(document.fn_number,
                                                _shift_number(fns_of(document)))] = updated
        return Ack(key=document.key, accepted=True)

    # --- receipts ----------------------------------------------------------------------

    def _receipt_body(self, document: ExportDocument, entity: str) -> JSON:
        fns = fns_of(document)
        shift, _existed = self._ensure_shift(document.fn_number, _shift_number(fns), fns)
        free: list[str] = []
        positions = []
        for item in _items(fns):
            name = str(item.get("name", ""))
            assortment = self.cache.assortment.get(name)
            if assortment is None:
                assortment = self._free_price_item()
                free.append(name)
            positions.append(mapping.position(item, assortment))
        body: JSON = {
            "syncId": mapping.receipt_sync_id(document.fn_number, document.fd_number),
            "externalCode": f"{document.fn_number}-{document.fd_number}",
            "retailShift": {"meta": {"href": shift["meta"]["href"], "type": "retailshift",
                                     "mediaType": "application/json"}},
            "retailStore": self.ref("retailstore", self.retailstore_id),
            "applicable": True,
            "vatEnabled": True,
            "vatIncluded": True,
            "positions": positions,
            "cheque": mapping.cheque(fns, document.fn_number, document.fd_number),
            "documentNumber": document.fd_number,
            "sessionNumber": _shift_number(fns),
            "checkSum": int(fns.get("totalSum") or 0),
            **mapping.payments(fns),
        }
        if fns.get("requestNumber") is not None:
            body["checkNumber"] = int(fns["requestNumber"])
        moment = mapping.parse_fns_time(fns.get("dateTime"))
        if moment is not None:
            body["moment"] = mapping.format_local_time(moment)
        if free:
            body["description"] = "Позиции по свободной цене: " + "; ".join(free)
        if self.store_id:  # «необходимо при создании»; the retail store's warehouse
            body["store"] = self.ref("store", self.store_id)
        if entity == "retailsalesreturn":
            # a return also needs its organisation and a name (md/documents/_retail_sales_return.md)
            body["name"] = f"{document.fd_number}"
            body["organization"] = self.ref("organization", self.organization_id)
        return body

    # --- the batch -------------------------------------------------------------------

    def export(self, documents: Sequence[ExportDocument]) -> list[Ack]:
        self._prepare(documents)  # raises before anything is sent: retry the whole batch
        slots: list[Ack | None] = [None] * len(documents)
        pending: list[tuple[int, str, JSON]] = []
        state = {"bytes": 0, "failed": False}

        def flush() -> None:
            by_entity: dict[str, list[tuple[int, JSON]]] = {}
            for index, entity, body in pending:
                by_entity.setdefault(entity, []).append((index, body))
            for entity, items in by_entity.items():
                answers = self.client.post_many(f"entity/{entity}", [b for _i, b in items])
                for (index, _body), answer in zip(items, answers, strict=True):
                    key = documents[index].key
                    if isinstance(answer, dict) and answer.get("errors"):
                        text = "; ".join(str(e.get("error", "")) for e in answer["errors"])
                        slots[index] = Ack(key=key, accepted=False, error=text)
                        state["failed"] = True
                    else:
                        slots[index] = Ack(key=key, accepted=True)
            pending.clear()
            state["bytes"] = 0

        current = 0
        try:
            for current, document in enumerate(documents):
                entity = _entity_for(document)
                if document.document_type in (SHIFT_OPEN, SHIFT_CLOSE):
                    flush()  # the shift must see every receipt before it closes
                    if state["failed"]:
                        break
                    slots[current] = (self._open(document)
                                      if document.document_type == SHIFT_OPEN
                                      else self._close(document))
                elif entity is None:
                    slots[current] = Ack(key=document.key, accepted=True)
                elif mapping.receipt_sync_id(document.fn_number,
                                             document.fd_number) in self._existing[entity]:
                    slots[current] = Ack(key=document.key, accepted=True, duplicate=True)
                else:
                    body = self._receipt_body(document, entity)
                    pending.append((current, entity, body))
                    state["bytes"] += len(json.dumps(body, ensure_ascii=False).encode()) + 1
                    if len(pending) >= MAX_ARRAY or state["bytes"] > MAX_BODY_BYTES // 2:
                        flush()
                if state["failed"]:
                    break
            else:
                flush()
        except BackOfficeError as exc:
            if not any(a is not None and a.accepted for a in slots):
                raise
            log.warning("MoySklad export stopped: %s", exc)
            for index in [i for i, _e, _b in pending] + [current]:
                if slots[index] is None:
                    slots[index] = Ack(key=documents[index].key, accepted=False,
                                       error=str(exc))
        not_sent = _("не отправлен: предыдущий документ не принят")
        return [slot if slot is not None else
                Ack(key=documents[i].key, accepted=False, error=not_sent)
                for i, slot in enumerate(slots)]

    def _prepare(self, documents: Sequence[ExportDocument]) -> None:
        """Few requests up front: which documents and shifts exist, which items are known."""
        wanted: dict[str, list[str]] = {"retaildemand": [], "retailsalesreturn": []}
        moments: dict[str, list[datetime | None]] = {"retaildemand": [],
                                                     "retailsalesreturn": []}
        shifts: list[str] = []
        names: list[str] = []
        for document in documents:
            fns = fns_of(document)
            entity = _entity_for(document)
            if document.document_type in (SHIFT_OPEN, SHIFT_CLOSE) or entity:
                shifts.append(mapping.shift_sync_id(document.fn_number, _shift_number(fns)))
            if entity:
                wanted[entity].append(mapping.receipt_sync_id(document.fn_number,
                                                              document.fd_number))
                moments[entity].append(mapping.parse_fns_time(fns.get("dateTime")))
                names.extend(str(i.get("name", "")) for i in _items(fns))
        self._existing = {
            entity: self._existing_by_sync_id(entity, ids, moments[entity]) if ids else set()
            for entity, ids in wanted.items()}
        self._load_shifts(sorted(set(shifts)))
        self._resolve_names(names)
