"""Goods, groups and cashiers from MoySklad through the plugin's hooks."""

from __future__ import annotations

from datetime import UTC, datetime

from moysklad_helpers import make_shop

from kkt_bridge.exchange import Catalog


def fetch(shop, since=None) -> Catalog:  # type: ignore[no-untyped-def]
    catalog = shop.plugin.backoffice_fetch_catalog(
        backoffice="moysklad", credentials=shop.credentials, since=since)
    assert catalog is not None
    return catalog


def test_the_demo_catalog_maps_prices_groups_barcodes_units_vat_and_weighed() -> None:
    shop = make_shop()
    catalog = fetch(shop)
    assert catalog.complete
    groups = {g.name: g for g in catalog.groups}
    assert groups["Фрукты"].parent_id == groups["Продукты"].id
    assert groups["Продукты"].parent_id is None
    goods = {g.name: g for g in catalog.goods}
    assert "Старый товар" not in goods  # archived
    bread = goods["Хлеб «Бородинский»"]
    assert (bread.price, bread.barcodes, bread.measure, bread.vat, bread.weighed) == (
        5490, ("4600000000017",), "шт", 2, False)
    assert bread.group_id == groups["Продукты"].id
    bananas = goods["Бананы"]
    assert (bananas.measure, bananas.weighed, bananas.group_id) == (
        "кг", True, groups["Фрукты"].id)
    assert goods["Пакет"].vat == 1 and goods["Пакет"].group_id is None


def test_a_catalog_of_2500_products_in_a_deep_hierarchy_comes_whole() -> None:
    shop = make_shop(seed=False)
    fake = shop.fake
    root = fake.add_folder("Магазин")
    levels = [root]
    for depth in range(4):
        levels.append(fake.add_folder(f"Уровень {depth + 1}", levels[-1]))
    fake.add_folder("В архиве", root, archived=True)
    for n in range(2500):
        fake.add_product(f"Товар {n:04d}", 1000 + n, folder=levels[n % 5],
                         barcodes=[{"ean13": f"46{n:011d}"}], vat=None if n % 2 else 20)
    fake.log.clear()
    catalog = fetch(shop)
    assert len(catalog.goods) == 2500
    assert len(catalog.groups) == 5
    by_id = {g.id: g for g in catalog.groups}
    deepest = next(g for g in catalog.groups if g.name == "Уровень 4")
    chain = []
    node = deepest
    while node.parent_id:  # bounded by the 5 groups
        chain.append(node.name)
        node = by_id[node.parent_id]
    assert chain == ["Уровень 4", "Уровень 3", "Уровень 2", "Уровень 1"]
    assert node.name == "Магазин"
    assert {g.vat for g in catalog.goods} == {1, 6}
    assert sorted(g.price for g in catalog.goods)[:2] == [1000, 1001]
    product_pages = [q for m, p, q in fake.log if p == "entity/product"]
    assert [q["offset"] for q in product_pages] == ["0", "1000", "2000"]
    assert all(int(q["limit"]) <= 1000 for m, p, q in fake.log)


def test_since_asks_only_for_what_changed_in_moscow_time() -> None:
    shop = make_shop(seed=False)
    fake = shop.fake
    fake.add_product("Старое", 100, updated="2026-11-20 10:00:00")
    fake.add_product("Новое", 200, updated="2026-11-24 12:30:00")
    fake.add_product("Новое, в архиве", 300, updated="2026-11-24 12:31:00", archived=True)
    fake.log.clear()
    # 09:00 UTC is 12:00 in Moscow
    catalog = fetch(shop, since=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert not catalog.complete
    assert [g.name for g in catalog.goods] == ["Новое"]
    product_query = next(q for m, p, q in fake.log if p == "entity/product")
    assert product_query["filter"] == "archived=false;updated>=2026-11-24 12:00:00"


def test_the_store_price_type_wins_over_other_prices() -> None:
    shop = make_shop(seed=False)
    product = shop.fake.add_product("Сыр", 50000)
    product["salePrices"].insert(0, {
        "value": 40000.0, "currency": product["salePrices"][0]["currency"],
        "priceType": {"meta": {"href": "x", "type": "pricetype",
                               "mediaType": "application/json"},
                      "id": "672559f1-cbf3-11e1-9eb9-889ffa6f2222",
                      "name": "Цена для друзей"}})
    assert [g.price for g in fetch(shop).goods] == [50000]


def test_employees_are_the_retail_store_cashiers() -> None:
    shop = make_shop()
    fake = shop.fake
    outsider = fake.add_employee("Сидоров", "Иван")  # not a cashier of this store
    other = fake.add_retailstore("Другая точка", fake.add_organization("ИП Сидоров"))
    fake.add_cashier(other, outsider)
    gone = fake.add_employee("Уволенный", "Пётр", archived=True)
    fake.add_cashier(shop.retailstore, gone)
    employees = shop.plugin.backoffice_fetch_employees(backoffice="moysklad",
                                                       credentials=shop.credentials)
    assert employees is not None
    assert [e.name for e in employees] == ["Иванова Мария", "Петров Сергей"]
    assert {e.role for e in employees} == {"cashier"}
    assert employees[0].inn == "500100732259"


def test_other_back_offices_are_left_alone() -> None:
    shop = make_shop()
    assert shop.plugin.backoffice_fetch_catalog(
        backoffice="reference", credentials=shop.credentials, since=None) is None
    assert shop.plugin.backoffice_fetch_employees(
        backoffice="reference", credentials=shop.credentials) is None
