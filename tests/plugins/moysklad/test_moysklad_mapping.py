"""Conversions between MoySklad JSON and the exchange models, with property tests."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.plugins.moysklad import mapping
from kkt_bridge.plugins.moysklad.exporter import filter_chunks
from kkt_bridge.plugins.moysklad.fake import FakeMoySklad


def documented_product() -> dict[str, Any]:
    """A product shaped like the documentation's «Получить список Товаров» row: two sale
    prices (the second of another price type), four barcode kinds, VAT 18 %."""
    fake = FakeMoySklad()
    product = fake.add_product("Тыква", 3353, code="pumpkin1", vat=18, barcodes=[
        {"ean8": "20000000"}, {"ean13": "2000000000000"}, {"code128": "code128 barcode"},
        {"gtin": "00000000000130"}])
    friends = copy.deepcopy(product["salePrices"][0])
    friends["value"] = 3253
    friends["priceType"].update(id="672559f1-cbf3-11e1-9eb9-889ffa6f2222",
                                name="Цена для друзей")
    product["salePrices"].append(friends)
    return product


def test_the_documented_product_becomes_a_good() -> None:
    product = documented_product()
    good = mapping.to_good(product, price_type_id="672559f1-cbf3-11e1-9eb9-889ffa6f2222",
                           uom_names={"19f1edc0-fc42-4001-94cb-c9ec9c62ec10": "шт"})
    assert good.id == product["id"]
    assert good.price == 3253  # the store's price type, in kopecks
    assert good.code == "pumpkin1"
    assert good.barcodes == ("20000000", "2000000000000", "code128 barcode", "00000000000130")
    assert (good.measure, good.vat, good.weighed, good.group_id) == ("шт", 1, False, None)
    assert mapping.to_good(product, price_type_id=None, uom_names={}).price == 3353


def test_vat_percent_and_vat_enabled_become_tag_1199() -> None:
    assert mapping.vat_1199({"effectiveVat": 20, "effectiveVatEnabled": True}) == 1
    assert mapping.vat_1199({"effectiveVat": 10, "effectiveVatEnabled": True}) == 2
    assert mapping.vat_1199({"effectiveVat": 0, "effectiveVatEnabled": True}) == 5
    assert mapping.vat_1199({"effectiveVat": 0, "effectiveVatEnabled": False}) == 6
    assert mapping.vat_1199({"vat": 5, "vatEnabled": True}) == 7
    assert mapping.vat_1199({}) == 6


def test_ref_id_reads_the_end_of_meta_href() -> None:
    assert mapping.ref_id({"meta": {"href": "https://x/entity/productfolder/abc?expand=1"}}) \
        == "abc"
    assert mapping.ref_id(None) is None
    assert mapping.ref_id({"meta": {}}) is None


def test_since_is_converted_to_moscow_time() -> None:
    assert mapping.format_filter_time(datetime(2026, 1, 1, 0, 0)) == "2026-01-01 03:00:00"
    plus5 = timezone(timedelta(hours=5))
    assert mapping.format_filter_time(datetime(2026, 1, 1, 8, 0, tzinfo=plus5)) == \
        "2026-01-01 06:00:00"


def test_fns_times_in_both_shapes() -> None:
    assert mapping.parse_fns_time("2015-07-09T05:11:38") == datetime(2015, 7, 9, 5, 11, 38)
    assert mapping.parse_fns_time(1436418698) == datetime(2015, 7, 9, 5, 11, 38)
    assert mapping.parse_fns_time("yesterday") is None
    assert mapping.parse_fns_time(True) is None


def test_sync_ids_are_stable_uuids() -> None:
    first = mapping.receipt_sync_id("9999078900001234", 17)
    assert first == mapping.receipt_sync_id(" 9999078900001234 ", 17)
    assert uuid.UUID(first).version == 5
    assert first != mapping.receipt_sync_id("9999078900001234", 18)
    assert first != mapping.shift_sync_id("9999078900001234", 17)


@given(st.lists(st.tuples(st.integers(1, 10_000_000),
                          st.decimals(min_value="0.001", max_value="1000", places=3),
                          st.integers(-50, 50)), min_size=1, max_size=30))
def test_positions_add_up_to_the_receipt_total(lines: list) -> None:  # type: ignore[type-arg]
    """Whatever the items (weights, discounts folded into the sum), MoySklad's document sum
    equals the receipt total, so the payments always match it."""
    items = []
    for price, quantity, discount in lines:
        total = max(round(price * float(quantity)) - discount, 1)
        items.append({"name": "x", "price": price, "quantity": str(quantity), "sum": total,
                      "nds": 6})
    assortment = {"meta": {"href": "h", "type": "product", "mediaType": "application/json"}}
    positions = [mapping.position(i, assortment) for i in items]
    document_sum = sum(p["price"] * p["quantity"] for p in positions)
    assert round(document_sum) == sum(i["sum"] for i in items)
    assert all(p["vatEnabled"] is False for p in positions)


@given(st.lists(st.dictionaries(st.sampled_from(["ean13", "ean8", "upc", "gtin", "code128",
                                                 "other"]),
                                st.text(min_size=1, max_size=14), max_size=2), max_size=6))
def test_barcodes_keep_every_known_kind_once(entries: list) -> None:  # type: ignore[type-arg]
    found = mapping.barcodes({"barcodes": entries})
    assert len(found) == len(set(found))
    expected = {v for e in entries for k, v in e.items() if k != "other"}
    assert set(found) == expected


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), min_size=1,
                        max_size=40), min_size=1, max_size=200, unique=True))
def test_name_filters_round_trip_through_the_fake_parser(names: list[str]) -> None:
    chunks = filter_chunks("name", names)
    parsed = [v for c in chunks for f, op, v in FakeMoySklad._conditions(c)]
    assert parsed == [n for n in names if not n.endswith("\\")]
    assert all(len(c) < 4000 for c in chunks)


def test_payments_split_cash_card_and_prepayment() -> None:
    fns = {"cashTotalSum": 100, "ecashTotalSum": 200, "prepaidSum": 50, "creditSum": 25}
    assert mapping.payments(fns) == {"cashSum": 100, "noCashSum": 225,
                                     "advancePaymentSum": 50}
    assert mapping.payments({}) == {"cashSum": 0, "noCashSum": 0}


def test_now_is_timezone_aware_in_tests() -> None:
    assert mapping.to_msk(datetime(2026, 1, 1, tzinfo=UTC)).hour == 3
