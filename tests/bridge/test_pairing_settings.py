from __future__ import annotations

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt

from kkt_bridge.bridge.catalog import Catalog
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.periods import PERIODS, parse_period, period_label
from kkt_bridge.bridge.settings import apply_settings, preview_settings
from kkt_bridge.errors import (
    CatalogLockedError,
    ConfigError,
    ConfirmationRequiredError,
    KktBridgeError,
    PairingError,
    PluginError,
)
from kkt_bridge.exchange import Good, GoodsGroup
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import ORIGIN_REGISTER, ExchangeSettings, Store


def test_periods_are_the_seed_list() -> None:
    assert [period_label(p) for p in PERIODS] == [
        "Никогда", "5 мин", "15 мин", "30 мин", "1 ч", "3 ч", "6 ч", "12 ч", "24 ч"]
    assert parse_period("15 мин") == 900
    assert parse_period("1h") == 3600 == parse_period("1 ч")
    assert parse_period("Никогда") == 0 == parse_period("never")
    for bad in ("7 мин", "2h", "sometimes", ""):
        with pytest.raises(ConfigError):
            parse_period(bad)


def test_pairing_stores_credentials_and_sends_identity(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    pairing = pair(store, pm, kkt, plugin="fake", code=" 123456 ", device_url="fake://1")
    assert pairing.credentials.shop == "shop-1"
    (sent,) = backoffice.paired
    assert (sent.serial, sent.fn_number, sent.inn) == ("0001", "9999000011112222", "7700000000")
    assert sent.installation_id == store.installation_id
    assert store.get_register(kkt.identity().key).device_url == "fake://1"  # type: ignore[union-attr]
    assert store.events()[-1].message == "Соединение установлено"
    assert backoffice.token not in repr(store.events())


@pytest.mark.parametrize("code", ["000000", "", "   "])
def test_wrong_code_stores_nothing(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt,
                                   code: str) -> None:
    with pytest.raises(PairingError):
        pair(store, pm, kkt, plugin="fake", code=code)
    assert store.pairings() == [] and store.registers() == []


def test_used_code_is_refused(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> None:
    pair(store, pm, kkt, plugin="fake", code="123456")
    with pytest.raises(PairingError):
        pair(store, pm, kkt, plugin="fake", code="123456")


def test_repairing_replaces_only_after_success(store: Store, pm: BackOfficePluginManager,
                                              kkt: FakeKkt, backoffice: FakeBackOffice) -> None:
    pair(store, pm, kkt, plugin="fake", code="123456")
    key = kkt.identity().key
    with pytest.raises(PairingError):
        pair(store, pm, kkt, plugin="fake", code="bad")
    assert store.get_pairing(key).credentials.shop == "shop-1"  # type: ignore[union-attr]
    backoffice.codes["654321"] = "shop-2"
    pair(store, pm, kkt, plugin="fake", code="654321")
    assert store.get_pairing(key).credentials.shop == "shop-2"  # type: ignore[union-attr]


def test_unknown_plugin_and_unregistered_register(store: Store,
                                                  pm: BackOfficePluginManager) -> None:
    with pytest.raises(PluginError):
        pair(store, pm, FakeKkt(), plugin="nope", code="123456")
    with pytest.raises(KktBridgeError, match="не зарегистрирована"):
        pair(store, pm, FakeKkt(registered=False), plugin="fake", code="123456")
    assert store.pairings() == []


@pytest.fixture
def paired(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> str:
    pair(store, pm, kkt, plugin="fake", code="123456")
    return kkt.identity().key


def test_employee_and_receipt_settings_need_no_confirmation(store: Store, paired: str) -> None:
    new = ExchangeSettings(employees_period=3600, receipts_interval=30)
    preview = apply_settings(store, paired, new)
    assert not preview.needs_confirmation
    assert store.get_settings(paired) == new
    for bad in (ExchangeSettings(goods_period=7), ExchangeSettings(receipts_interval=1)):
        with pytest.raises(ConfigError):
            apply_settings(store, paired, bad)
    assert store.get_settings(paired) == new


def test_turning_goods_sync_on_needs_confirmation_of_the_exact_list(store: Store,
                                                                    paired: str) -> None:
    catalog = Catalog(store, paired)
    group = catalog.add_group(GoodsGroup("", "Своя группа"))
    good = catalog.add_good(Good("", "Пирожок", 4500, group.id, code="99"))
    on = ExchangeSettings(goods_period=300)
    preview = preview_settings(store, paired, on)
    assert preview.goods_change == "on"
    assert [g.name for g in preview.goods_to_delete] == ["Пирожок"]
    assert [g.name for g in preview.groups_to_delete] == ["Своя группа"]
    with pytest.raises(ConfirmationRequiredError):
        apply_settings(store, paired, on)
    assert store.get_settings(paired).goods_period == 0
    assert catalog.find_by_code("99") == good
    # the list changed after the preview: the old confirmation no longer counts
    catalog.add_good(Good("", "Ватрушка", 3000, code="98"))
    with pytest.raises(ConfirmationRequiredError, match="устарело"):
        apply_settings(store, paired, on, confirmation=preview.token)
    assert len(store.goods(paired)) == 2
    fresh = preview_settings(store, paired, on)
    apply_settings(store, paired, on, confirmation=fresh.token)
    assert store.get_settings(paired).goods_period == 300
    assert store.goods(paired, ORIGIN_REGISTER) == [] and store.groups(paired) == []


def test_turning_goods_sync_off_needs_confirmation_too(store: Store, paired: str) -> None:
    on = ExchangeSettings(goods_period=300)
    apply_settings(store, paired, on, confirmation=preview_settings(store, paired, on).token)
    off = ExchangeSettings(goods_period=0)
    preview = preview_settings(store, paired, off)
    assert preview.goods_change == "off" and preview.token
    with pytest.raises(ConfirmationRequiredError):
        apply_settings(store, paired, off)
    assert store.get_settings(paired).goods_sync
    apply_settings(store, paired, off, confirmation=preview.token)
    assert not store.get_settings(paired).goods_sync


def test_catalog_is_locked_while_goods_sync_is_on(store: Store, paired: str) -> None:
    catalog = Catalog(store, paired)
    good = catalog.add_good(Good("", "Вода", 100, barcodes=("4601",)))
    on = ExchangeSettings(goods_period=300)
    apply_settings(store, paired, on, confirmation=preview_settings(store, paired, on).token)
    store.replace_catalog(paired, [GoodsGroup("g1", "Напитки")],
                          [Good("p1", "Сок", 200, "g1", code="12", barcodes=("4602",))])
    before = (store.goods(paired), store.groups(paired))
    for action in (lambda: catalog.add_good(Good("", "Хлеб", 1)),
                   lambda: catalog.edit_good(Good("p1", "Сок!", 1)),
                   lambda: catalog.delete_good("p1"),
                   lambda: catalog.add_group(GoodsGroup("", "Г")),
                   lambda: catalog.edit_group(GoodsGroup("g1", "Соки")),
                   lambda: catalog.delete_group("g1")):
        with pytest.raises(CatalogLockedError, match="синхронизация товаров") as info:
            action()
        assert "бэк-офисе" in (info.value.hint or "")  # what to do instead
    assert (store.goods(paired), store.groups(paired)) == before
    assert catalog.find_by_barcode("4602").name == "Сок"  # type: ignore[union-attr]
    assert catalog.find_by_code("12").id == "p1"  # type: ignore[union-attr]
    assert catalog.find_by_barcode("4601") is None and good.id.startswith("local:")


def test_catalog_api_edits_and_validates(store: Store, paired: str) -> None:
    catalog = Catalog(store, paired)
    root = catalog.add_group(GoodsGroup("", "Выпечка"))
    child = catalog.add_group(GoodsGroup("", "Пироги", root.id))
    good = catalog.add_good(Good("", "Пирог", 9000, child.id, code="5", barcodes=("46",)))
    catalog.edit_good(Good(good.id, "Пирог с капустой", 9500, child.id, code="5",
                           barcodes=("46", "47")))
    assert catalog.find_by_barcode("47").name == "Пирог с капустой"  # type: ignore[union-attr]
    with pytest.raises(ConfigError):
        catalog.add_good(Good("", "Дубль", 1, barcodes=("46",)))
    with pytest.raises(ConfigError):
        catalog.add_good(Good("", "Без группы", 1, "no-such-group"))
    with pytest.raises(ConfigError):
        catalog.add_good(Good("", "Минус", -1))
    with pytest.raises(ConfigError):
        catalog.edit_group(GoodsGroup(root.id, "Выпечка", child.id))  # a cycle
    with pytest.raises(ConfigError):
        catalog.delete_group(root.id)  # not empty
    catalog.delete_good(good.id)
    catalog.delete_group(child.id)
    catalog.delete_group(root.id)
    assert catalog.goods() == [] and catalog.groups() == []
    with pytest.raises(ConfigError):
        catalog.delete_good(good.id)
