"""Fiscal documents become retail shifts, sales and returns in MoySklad, exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moysklad_helpers import FN, make_shop, receipt, shift_close, shift_open

from kkt_bridge.errors import AuthenticationError
from kkt_bridge.exchange import Ack, Credentials, ExportDocument
from kkt_bridge.plugins.moysklad import mapping
from kkt_bridge.plugins.moysklad.exporter import FREE_PRICE_NAME, fns_of
from kkt_bridge.plugins.moysklad.plugin import MoySkladPlugin

BREAD = ("Хлеб «Бородинский»", 5490, 2)
BAG = ("Пакет", 500, 1)
BANANAS = ("Бананы", 12990, 1.234)


def export(plugin: MoySkladPlugin, credentials: Credentials, docs: list[ExportDocument]
           ) -> list[Ack]:
    acks = plugin.backoffice_export_documents(backoffice="moysklad", credentials=credentials,
                                              documents=docs)
    assert acks is not None
    assert [a.key for a in acks] == [d.key for d in docs]
    return acks


def test_a_shift_with_receipts_is_opened_filled_and_closed() -> None:
    shop = make_shop()
    fake = shop.fake
    docs = [shift_open(1, 1), receipt(2, 1, [BREAD, BAG], cash=5000),
            receipt(3, 1, [BANANAS]), shift_close(4, 1, receipts=2)]
    acks = export(shop.plugin, shop.credentials, docs)
    assert all(a.accepted and not a.duplicate for a in acks)
    [shift] = fake.rows("retailshift")
    assert shift["syncId"] == mapping.shift_sync_id(FN, 1)
    assert shift["moment"] == "2026-11-24 09:00:00"
    assert shift["closeDate"] == "2026-11-24 21:00:00"
    assert shift["cheque"]["start"]["fiscalDocNumber"] == "1"
    assert shift["cheque"]["start"]["kktRegNumber"] == "0000000001002031"
    assert shift["cheque"]["end"]["chequesTotal"] == 2
    assert shift["retailStore"]["meta"]["href"].endswith(shop.retailstore["id"])
    sales = fake.rows("retaildemand")
    assert [s["syncId"] for s in sales] == [mapping.receipt_sync_id(FN, 2),
                                            mapping.receipt_sync_id(FN, 3)]
    first, second = sales
    assert first["retailShift"]["meta"]["href"] == shift["meta"]["href"]
    assert (first["sum"], first["cashSum"], first["noCashSum"]) == (11480, 5000, 6480)
    assert first["moment"] == "2026-11-24 10:15:00"
    assert first["cheque"]["fiscalDocNumber"] == "2"
    positions = fake.positions_of(first)
    assert [(p["quantity"], p["price"], p["vat"]) for p in positions] == [
        (2.0, 5490.0, 20), (1.0, 500.0, 20)]
    products = {p["name"]: p for p in fake.rows("product")}
    assert positions[0]["assortment"]["meta"]["href"] == products[BREAD[0]]["meta"]["href"]
    # a weighed item: 12990 x 1.234 = 16029.66 -> the receipt says 16030
    assert second["sum"] == 16030 == second["noCashSum"]


def test_a_repeat_is_acknowledged_as_duplicate_and_not_stored_twice() -> None:
    shop = make_shop()
    docs = [shift_open(1, 1), receipt(2, 1, [BREAD]), shift_close(3, 1, receipts=1)]
    export(shop.plugin, shop.credentials, docs)
    before = len(shop.fake.log)
    # a fresh process: nothing cached, MoySklad is asked by syncId
    again_plugin = MoySkladPlugin(transport=shop.fake, clock=shop.clock.now,
                                  sleep=shop.clock.sleep, weight=1)
    again = export(again_plugin, shop.credentials, docs)
    assert [(a.accepted, a.duplicate) for a in again] == [(True, True)] * 3
    assert len(shop.fake.rows("retaildemand")) == 1
    assert len(shop.fake.rows("retailshift")) == 1
    assert {m for m, p, q in shop.fake.log[before:]} == {"GET"}


def test_a_repeat_inside_an_open_shift_mixes_with_new_receipts() -> None:
    shop = make_shop()
    export(shop.plugin, shop.credentials, [shift_open(1, 1), receipt(2, 1, [BREAD])])
    acks = export(shop.plugin, shop.credentials, [receipt(2, 1, [BREAD]),
                                                  receipt(3, 1, [BAG])])
    assert [(a.accepted, a.duplicate) for a in acks] == [(True, True), (True, False)]
    assert len(shop.fake.rows("retaildemand")) == 2


def test_receipts_without_their_shift_open_report_open_the_shift() -> None:
    shop = make_shop()  # paired in the middle of shift 7
    acks = export(shop.plugin, shop.credentials, [receipt(40, 7, [BAG]),
                                                  shift_close(41, 7, receipts=1)])
    assert all(a.accepted for a in acks)
    [shift] = shop.fake.rows("retailshift")
    assert shift["syncId"] == mapping.shift_sync_id(FN, 7)
    assert shift["closeDate"]


def test_a_refund_becomes_a_retail_sales_return() -> None:
    shop = make_shop()
    acks = export(shop.plugin, shop.credentials, [
        shift_open(1, 1), receipt(2, 1, [BREAD]), receipt(3, 1, [BREAD], operation=2)])
    assert all(a.accepted for a in acks)
    [refund] = shop.fake.rows("retailsalesreturn")
    assert refund["sum"] == 10980 and refund["name"] == "3"
    assert refund["store"]["meta"]["href"].endswith(shop.credentials.extra["store_id"])


def test_items_unknown_to_moysklad_are_sold_as_one_free_price_service() -> None:
    shop = make_shop()
    acks = export(shop.plugin, shop.credentials, [
        shift_open(1, 1), receipt(2, 1, [("Кофе с собой", 15000, 1), BAG]),
        receipt(3, 1, [("Кофе с собой", 15000, 2)])])
    assert all(a.accepted for a in acks)
    [service] = shop.fake.rows("service")
    assert service["name"] == FREE_PRICE_NAME
    sales = shop.fake.rows("retaildemand")
    assert "Кофе с собой" in sales[0]["description"]
    assert shop.fake.positions_of(sales[1])[0]["assortment"]["meta"]["type"] == "service"
    assert len(shop.fake.rows("product")) == 4  # the catalog got nothing new


def test_registration_and_other_documents_are_acknowledged_without_sending() -> None:
    shop = make_shop()
    before = len(shop.fake.log)
    acks = export(shop.plugin, shop.credentials, [
        ExportDocument(FN, 1, 1, {"code": 1}), ExportDocument(FN, 9, 6, {"code": 6})])
    assert all(a.accepted and not a.duplicate for a in acks)
    assert not any(m in ("POST", "PUT") for m, p, q in shop.fake.log[before:])


def test_1500_receipts_go_in_arrays_of_at_most_1000() -> None:
    shop = make_shop()
    docs = [shift_open(1, 1)] + [receipt(fd, 1, [BAG]) for fd in range(2, 1502)]
    acks = export(shop.plugin, shop.credentials, docs)
    assert all(a.accepted for a in acks)
    assert len(shop.fake.rows("retaildemand")) == 1500
    assert shop.fake.array_sizes == [1000, 500]
    assert shop.fake.rejected == {}


def test_a_refused_receipt_stops_the_batch_before_the_shift_closes() -> None:
    shop = make_shop()
    bad = receipt(3, 1, [BREAD])
    broken = dict(fns_of(bad))
    broken["cashTotalSum"] = 1  # payments no longer add up: MoySklad answers 412
    docs = [shift_open(1, 1), receipt(2, 1, [BAG]),
            ExportDocument(FN, 3, 3, broken), receipt(4, 1, [BAG]),
            shift_close(5, 1, receipts=3)]
    acks = export(shop.plugin, shop.credentials, docs)
    assert [a.accepted for a in acks] == [True, True, False, True, False]
    assert acks[2].error and "не соответствует сумме" in acks[2].error
    assert acks[4].error and "не отправлен" in acks[4].error
    [shift] = shop.fake.rows("retailshift")
    assert "closeDate" not in shift  # the fixed receipt can still go into the open shift
    fixed = export(shop.plugin, shop.credentials, [receipt(3, 1, [BREAD]), docs[3], docs[4]])
    assert [(a.accepted, a.duplicate) for a in fixed] == [
        (True, False), (True, True), (True, False)]


def test_rate_limits_hold_during_a_big_export() -> None:
    shop = make_shop()
    shop.fake.force_429 = 1
    docs = [shift_open(1, 1)] + [receipt(fd, 1, [BAG]) for fd in range(2, 202)]
    acks = export(shop.plugin, shop.credentials, docs)
    assert all(a.accepted for a in acks)
    assert shop.fake.rejected == {429: 1}
    assert shop.clock.slept  # the 429 was waited out on the fake clock


def test_revoked_credentials_fail_the_whole_batch() -> None:
    shop = make_shop()
    revoked = Credentials(backoffice="moysklad", endpoint=shop.credentials.endpoint,
                          token="b" * 40, extra=shop.credentials.extra)
    with pytest.raises(AuthenticationError):
        export(shop.plugin, revoked, [shift_open(1, 1)])
    assert shop.fake.rows("retailshift") == []
    with pytest.raises(AuthenticationError):
        shop.plugin.backoffice_check(backoffice="moysklad", credentials=revoked)


def test_an_empty_batch_sends_nothing() -> None:
    shop = make_shop()
    before = len(shop.fake.log)
    assert export(shop.plugin, shop.credentials, []) == []
    assert len(shop.fake.log) == before


def test_wrapped_fns_json_is_understood() -> None:
    shop = make_shop()
    inner = receipt(2, 1, [BAG])
    wrapped = ExportDocument(FN, 2, 3, {"document": {"receipt": dict(inner.fns)}})
    assert all(a.accepted for a in export(shop.plugin, shop.credentials, [wrapped]))
    assert shop.fake.rows("retaildemand")[0]["sum"] == 500


def test_a_shift_deleted_in_moysklad_is_looked_up_again_after_a_failure() -> None:
    shop = make_shop()
    export(shop.plugin, shop.credentials, [shift_open(1, 1), receipt(2, 1, [BAG])])
    shop.fake.entities["retailshift"].clear()  # someone deleted the shift in MoySklad
    first = export(shop.plugin, shop.credentials, [receipt(3, 1, [BAG])])
    assert not first[0].accepted
    again = export(shop.plugin, shop.credentials, [receipt(3, 1, [BAG])])
    assert again[0].accepted
    assert len(shop.fake.rows("retailshift")) == 1


def test_a_big_repeat_is_found_by_time_span_in_few_requests() -> None:
    shop = make_shop()
    docs = [shift_open(1, 1)] + [
        receipt(fd, 1, [BAG], when=f"2026-11-24T{10 + fd // 60:02d}:{fd % 60:02d}:30")
        for fd in range(2, 302)]
    export(shop.plugin, shop.credentials, docs)
    other = shop.fake.add_retailstore("Соседняя точка", shop.fake.rows("organization")[0])
    assert other["id"] != shop.retailstore["id"]
    before = len(shop.fake.log)
    fresh = MoySkladPlugin(transport=shop.fake, clock=shop.clock.now, sleep=shop.clock.sleep,
                           weight=1)
    again = export(fresh, shop.credentials, docs)
    assert all(a.accepted and a.duplicate for a in again)
    lookups = [q["filter"] for m, p, q in shop.fake.log[before:] if p == "entity/retaildemand"]
    assert len(lookups) == 1
    assert lookups[0].startswith("retailStore=https://") and "moment>=" in lookups[0]
    assert len(shop.fake.rows("retaildemand")) == 300


@settings(max_examples=30)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["Пакет", "Бананы", "Кофе с собой"]),
                                   st.integers(1, 500_000),
                                   st.decimals(min_value="0.001", max_value="50", places=3)),
                         min_size=1, max_size=8),
                min_size=1, max_size=6),
       st.data())
def test_any_receipts_are_accepted_with_sums_equal_to_the_fiscal_data(
        baskets: list[list[tuple[str, int, Decimal]]], data: st.DataObject) -> None:
    shop = make_shop()
    docs = [shift_open(1, 1)]
    for fd, basket in enumerate(baskets, start=2):
        doc = receipt(fd, 1, [(n, p, float(q)) for n, p, q in basket])
        fns = dict(fns_of(doc))
        fns["items"] = [dict(i, quantity=str(q)) for i, (_n, _p, q) in zip(fns["items"], basket,
                                                                          strict=True)]
        fns["cashTotalSum"] = data.draw(st.integers(0, fns["totalSum"]))
        fns["ecashTotalSum"] = fns["totalSum"] - fns["cashTotalSum"]
        docs.append(ExportDocument(FN, fd, 3, fns))
    acks = export(shop.plugin, shop.credentials, docs)
    assert all(a.accepted for a in acks), acks
    sales = shop.fake.rows("retaildemand")
    assert [s["sum"] for s in sales] == [fns_of(d)["totalSum"] for d in docs[1:]]
    assert [s["cashSum"] for s in sales] == [fns_of(d)["cashTotalSum"] for d in docs[1:]]
