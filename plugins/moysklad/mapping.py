"""Pure conversions between MoySklad JSON (API 1.2) and the bridge's exchange models.

Facts from moysklad/api-remap-1.2-doc: prices (``salePrices[].value``, position ``price``,
``cashSum``...) are Float kopecks; ``vat`` is a percent with ``vatEnabled`` telling "0 %"
from "без НДС"; barcodes are one-key objects (``{"ean13": "..."}``); date-times are
``YYYY-MM-DD HH:MM:SS`` in Moscow time; references are ``{"meta": {"href", "type",
"mediaType"}}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kkt_bridge.exchange import Employee, Good, GoodsGroup

JSON = dict[str, Any]

MSK = timezone(timedelta(hours=3), "MSK")
#: namespace of every syncId the bridge derives; fixed forever, or idempotency breaks
SYNC_NAMESPACE = uuid.UUID("5b0c1e42-8f0e-5d7a-9c51-6b6b74627264")

BARCODE_KINDS = ("ean13", "ean8", "upc", "gtin", "code128")

#: MoySklad VAT percent -> FFD tag 1199 (18 % was rate 1 before 2019)
_VAT_TO_1199 = {20: 1, 18: 1, 10: 2, 0: 5, 5: 7, 7: 8}
#: FFD tag 1199 -> (MoySklad vat percent, vatEnabled)
_1199_TO_VAT = {1: (20, True), 2: (10, True), 3: (20, True), 4: (10, True), 5: (0, True),
                6: (0, False), 7: (5, True), 8: (7, True), 9: (5, True), 10: (7, True)}


# --- references -----------------------------------------------------------------------------


def meta(endpoint: str, entity: str, entity_id: str) -> JSON:
    """A reference as the API writes it."""
    base = endpoint if endpoint.endswith("/") else endpoint + "/"
    return {"meta": {
        "href": f"{base}entity/{entity}/{entity_id}",
        "metadataHref": f"{base}entity/{entity}/metadata",
        "type": entity,
        "mediaType": "application/json",
    }}


def ref_id(value: Any) -> str | None:
    """The id at the end of a reference's ``meta.href`` (None when absent)."""
    if not isinstance(value, Mapping):
        return None
    href = value.get("meta", {}).get("href") if isinstance(value.get("meta"), Mapping) else None
    if not href:
        return None
    return str(href).rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


# --- time --------------------------------------------------------------------------------


def to_msk(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; MoySklad compares in Moscow time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(MSK)


def format_filter_time(moment: datetime) -> str:
    return to_msk(moment).strftime("%Y-%m-%d %H:%M:%S")


def format_local_time(moment: datetime) -> str:
    """A register's wall-clock time as MoySklad's ``moment`` (no zone conversion: FFD
    stores local wall-clock time and so does the shop's MoySklad)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def parse_fns_time(value: Any) -> datetime | None:
    """FNS JSON ``dateTime``: an ISO string or unix seconds of local wall-clock time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=None)
    return None


# --- catalog ---------------------------------------------------------------------------------


def vat_1199(entity: Mapping[str, Any]) -> int:
    """Tag 1199 from a product's effective VAT (what the shop really charges)."""
    enabled = entity.get("effectiveVatEnabled", entity.get("vatEnabled"))
    percent = entity.get("effectiveVat", entity.get("vat"))
    if not enabled or percent is None:
        return 6
    return _VAT_TO_1199.get(int(percent), 6)


def sale_price(product: Mapping[str, Any], price_type_id: str | None) -> int:
    """The retail store's price type if the product has it, else the first sale price."""
    prices = [p for p in product.get("salePrices") or [] if isinstance(p, Mapping)]
    chosen = None
    if price_type_id:
        for price in prices:
            if (price.get("priceType") or {}).get("id") == price_type_id:
                chosen = price
                break
    if chosen is None and prices:
        chosen = prices[0]
    if chosen is None:
        return 0
    return round(float(chosen.get("value") or 0))


def barcodes(product: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for entry in product.get("barcodes") or []:
        if not isinstance(entry, Mapping):
            continue
        for kind in BARCODE_KINDS:
            code = entry.get(kind)
            if code and str(code) not in found:
                found.append(str(code))
    return tuple(found)


def to_group(folder: Mapping[str, Any]) -> GoodsGroup:
    return GoodsGroup(id=str(folder["id"]), name=str(folder.get("name", "")),
                      parent_id=ref_id(folder.get("productFolder")))


def to_good(product: Mapping[str, Any], *, price_type_id: str | None,
            uom_names: Mapping[str, str]) -> Good:
    uom_id = ref_id(product.get("uom"))
    return Good(
        id=str(product["id"]),
        name=str(product.get("name", "")),
        price=sale_price(product, price_type_id),
        group_id=ref_id(product.get("productFolder")),
        code=str(product.get("code") or ""),
        barcodes=barcodes(product),
        measure=uom_names.get(uom_id or "", "шт"),
        vat=vat_1199(product),
        weighed=bool(product.get("weighed", False)),
    )


def to_employee(employee: Mapping[str, Any]) -> Employee:
    # surname first, as cashiers are printed on receipts (tag 1021)
    parts = [employee.get(k) for k in ("lastName", "firstName", "middleName")]
    name = " ".join(str(p) for p in parts if p) or employee.get("name") or ""
    return Employee(id=str(employee["id"]), name=str(name), role="cashier",
                    inn=str(employee.get("inn") or ""))


# --- documents ----------------------------------------------------------------------------


def sync_id(*parts: object) -> str:
    """A deterministic UUID: the same document always gets the same syncId."""
    return str(uuid.uuid5(SYNC_NAMESPACE, ":".join(str(p) for p in parts)))


def receipt_sync_id(fn_number: str, fd_number: int) -> str:
    return sync_id("fd", fn_number.strip(), int(fd_number))


def shift_sync_id(fn_number: str, shift_number: int) -> str:
    """A shift is known by its ФН and number, so a receipt finds its shift without having
    seen the shift-open report (pairing in the middle of a shift)."""
    return sync_id("shift", fn_number.strip(), int(shift_number))


def position_vat(item: Mapping[str, Any]) -> tuple[int, bool]:
    rate = item.get("nds", item.get("vatRate"))
    try:
        return _1199_TO_VAT.get(int(rate), (0, False))
    except (TypeError, ValueError):
        return (0, False)


def position(item: Mapping[str, Any], assortment: JSON) -> JSON:
    """One receipt item as a retaildemand position; price in kopecks.

    When the item total is not exactly price x quantity (discounts, weights whose cost
    the register rounded to kopecks), the price becomes total / quantity: MoySklad adds
    up unrounded price x quantity, and rounding per item (as the register does) would
    otherwise make its document sum differ from the payments.
    """
    quantity = float(item.get("quantity") or 0)
    price = int(item.get("price") or 0)
    total = int(item.get("sum", round(price * quantity)))
    unit_price: float = float(price)
    if quantity > 0 and abs(price * quantity - total) > 1e-9:
        unit_price = total / quantity
    vat, vat_enabled = position_vat(item)
    return {"quantity": quantity, "price": unit_price, "discount": 0, "vat": vat,
            "vatEnabled": vat_enabled, "assortment": assortment}


def payments(fns: Mapping[str, Any]) -> dict[str, int]:
    """cashSum / noCashSum / advancePaymentSum from the FNS receipt (kopecks)."""
    cash = int(fns.get("cashTotalSum") or 0)
    ecash = int(fns.get("ecashTotalSum") or 0)
    prepaid = int(fns.get("prepaidSum") or 0)
    # credit and counter-provision have no field in MoySklad; they are not cash
    other = int(fns.get("creditSum") or 0) + int(fns.get("provisionSum") or 0)
    result = {"cashSum": cash, "noCashSum": ecash + other}
    if prepaid:
        result["advancePaymentSum"] = prepaid
    return result


def cheque(fns: Mapping[str, Any], fn_number: str, fd_number: int) -> JSON:
    info: JSON = {"fnNumber": fn_number, "fiscalDocNumber": str(fd_number)}
    if fns.get("fiscalSign") is not None:
        info["fiscalDocSign"] = str(fns["fiscalSign"])
    if fns.get("kktRegId"):
        info["kktRegNumber"] = str(fns["kktRegId"]).strip()
    moment = parse_fns_time(fns.get("dateTime"))
    if moment is not None:
        info["time"] = format_local_time(moment)
    return info
