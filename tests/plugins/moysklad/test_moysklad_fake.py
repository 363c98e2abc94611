"""The fake enforces MoySklad's documented rules, so a client that breaks one fails."""

from __future__ import annotations

import gzip
import json
import threading

import httpx
import pytest
from moysklad_helpers import FakeClock

from kkt_bridge.plugins.moysklad.fake import BASE, FakeMoySklad


def raw_client(fake: FakeMoySklad, **headers: str) -> httpx.Client:
    base_headers = {"Authorization": f"Bearer {fake.token}", "Accept-Encoding": "gzip"}
    base_headers.update(headers)
    return httpx.Client(base_url=BASE, transport=fake, headers=base_headers)


def test_without_gzip_the_answer_is_415_with_an_empty_body() -> None:
    fake = FakeMoySklad()
    with raw_client(fake, **{"Accept-Encoding": "identity"}) as http:
        answer = http.get("entity/product")
    assert answer.status_code == 415
    assert answer.content == b""


def test_answers_are_gzipped() -> None:
    fake = FakeMoySklad()
    fake.seed_demo()
    response = fake.handle_request(httpx.Request(
        "GET", BASE + "entity/product",
        headers={"Authorization": f"Bearer {fake.token}", "Accept-Encoding": "gzip"}))
    assert response.headers["Content-Encoding"] == "gzip"
    raw = b"".join(response.stream)  # type: ignore[arg-type]
    assert raw[:2] == b"\x1f\x8b"
    body = json.loads(gzip.decompress(raw))
    assert body["meta"]["size"] == 4


@pytest.mark.parametrize("auth", ["", "Bearer wrong", "Basic dXNlcjpwYXNz"])
def test_without_the_bearer_token_the_answer_is_401(auth: str) -> None:
    fake = FakeMoySklad()
    with raw_client(fake, Authorization=auth) as http:
        answer = http.get("entity/product")
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == 1056


@pytest.mark.parametrize("params", [{"limit": 1001}, {"limit": 0}, {"offset": -1},
                                    {"limit": "many"}])
def test_paging_outside_the_limits_is_refused(params: dict[str, int | str]) -> None:
    fake = FakeMoySklad()
    with raw_client(fake) as http:
        answer = http.get("entity/product", params=params)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == 1040


def test_list_answers_are_shaped_like_the_documentation() -> None:
    fake = FakeMoySklad()
    for n in range(5):
        fake.add_product(f"Товар {n}", 100)
    with raw_client(fake) as http:
        body = http.get("entity/product", params={"limit": 2, "offset": 2}).json()
    assert set(body) == {"context", "meta", "rows"}
    meta = body["meta"]
    assert {k: meta[k] for k in ("type", "mediaType", "size", "limit", "offset")} == {
        "type": "product", "mediaType": "application/json", "size": 5, "limit": 2,
        "offset": 2}
    assert meta["href"] == BASE + "entity/product"
    assert "offset=4" in meta["nextHref"] and "offset=0" in meta["previousHref"]
    row = body["rows"][0]
    assert set(row["meta"]) == {"href", "metadataHref", "type", "mediaType"}
    assert row["salePrices"][0]["priceType"]["name"] == "Цена продажи"


def test_an_array_of_more_than_1000_elements_is_refused_with_413() -> None:
    fake = FakeMoySklad()
    with raw_client(fake) as http:
        answer = http.post("entity/product", json=[{"name": f"p{n}"} for n in range(1001)])
        assert answer.status_code == 413
        assert fake.rows("product") == []
        ok = http.post("entity/product", json=[{"name": f"p{n}"} for n in range(1000)])
    assert ok.status_code == 200
    assert len(fake.rows("product")) == 1000


def test_a_burst_over_45_requests_in_3_seconds_gets_429_with_lognex_headers() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    with raw_client(fake) as http:
        statuses = [http.get("entity/uom").status_code for _ in range(46)]
        last = http.get("entity/uom")
        assert statuses[:45] == [200] * 45
        assert statuses[45] == 429
        for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining",
                       "X-Lognex-Retry-TimeInterval", "X-Lognex-Reset",
                       "X-Lognex-Retry-After"):
            assert header in last.headers
        assert last.headers["X-RateLimit-Limit"] == "45"
        assert last.headers["X-Lognex-Retry-TimeInterval"] == "3000"
        assert last.json()["errors"][0]["code"] == 1049
        clock.sleep(int(last.headers["X-Lognex-Retry-After"]) / 1000)
        assert http.get("entity/uom").status_code == 200


def test_more_than_5_parallel_requests_get_429_error_1073() -> None:
    arrived = threading.Barrier(6, timeout=5)
    fake = FakeMoySklad(in_flight_hook=lambda: arrived.wait())
    statuses: list[int] = []
    errors: list[int] = []

    def one() -> None:
        with raw_client(fake) as http:
            answer = http.get("entity/uom")
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            errors.append(answer.json()["errors"][0]["code"])

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert fake.max_in_flight == 6
    assert sorted(statuses) == [200] * 5 + [429]
    assert errors == [1073]


def _shift(fake: FakeMoySklad, http: httpx.Client, shop: dict[str, object],
           sync: str) -> dict[str, object]:
    org = shop["organization"]
    answer = http.post("entity/retailshift", json={
        "syncId": sync, "organization": org, "retailStore": {"meta": shop["meta"]}})
    assert answer.status_code == 200
    return dict(answer.json())


def _demand(shift: dict[str, object], product: dict[str, object], **payments: float
            ) -> dict[str, object]:
    return {"retailShift": {"meta": shift["meta"]}, "positions": [
        {"quantity": 2, "price": 5000.0, "discount": 0, "vat": 20,
         "assortment": {"meta": product["meta"]}}], **payments}


def test_sync_id_makes_creation_idempotent() -> None:
    fake = FakeMoySklad()
    shop = fake.seed_demo()
    with raw_client(fake) as http:
        first = _shift(fake, http, shop, "7a3c4b2e-6c1f-4a35-9d7e-1b2c3d4e5f60")
        again = _shift(fake, http, shop, "7a3c4b2e-6c1f-4a35-9d7e-1b2c3d4e5f60")
    assert first["id"] == again["id"]
    assert len(fake.rows("retailshift")) == 1


def test_a_sale_needs_an_open_retail_shift() -> None:
    fake = FakeMoySklad()
    shop = fake.seed_demo()
    product = fake.rows("product")[0]
    with raw_client(fake) as http:
        missing = http.post("entity/retaildemand", json={"positions": []})
        assert missing.status_code == 412
        shift = _shift(fake, http, shop, "0b2b2caf-055e-41e6-9464-e4de0000007c")
        ok = http.post("entity/retaildemand", json=_demand(shift, product, cashSum=10000,
                                                            noCashSum=0))
        assert ok.status_code == 200 and ok.json()["sum"] == 10000
        http.put(f"entity/retailshift/{shift['id']}", json={"closeDate": "2026-11-24 21:00:00"})
        closed = http.post("entity/retaildemand", json=_demand(shift, product, cashSum=10000,
                                                                noCashSum=0))
    assert closed.status_code == 412
    assert len(fake.rows("retaildemand")) == 1


def test_payments_must_add_up_to_the_total() -> None:
    fake = FakeMoySklad()
    shop = fake.seed_demo()
    product = fake.rows("product")[0]
    with raw_client(fake) as http:
        shift = _shift(fake, http, shop, "3d1e5f9a-2b4c-4d6e-8f0a-1b2c3d4e5f60")
        wrong = http.post("entity/retaildemand", json=_demand(shift, product, cashSum=5000,
                                                               noCashSum=4000))
        partial = http.post("entity/retaildemand", json=_demand(shift, product,
                                                                 noCashSum=4000))
    assert wrong.status_code == 412
    assert wrong.json()["errors"][0]["code"] == 18000
    # documented: with noCashSum alone, the rest is counted as cash
    assert partial.status_code == 200
    assert partial.json()["cashSum"] == 6000


def test_a_failing_element_of_an_array_comes_back_as_errors_in_its_place() -> None:
    fake = FakeMoySklad()
    with raw_client(fake) as http:
        answer = http.post("entity/productfolder", json=[{"name": "A"}, {}, {"name": "B"}])
    assert answer.status_code == 400
    body = answer.json()
    assert body[0]["name"] == "A" and "errors" in body[1] and body[2]["name"] == "B"


def test_filters_combine_or_on_one_field_and_escape_semicolons() -> None:
    fake = FakeMoySklad()
    fake.add_product("a;b", 1)
    fake.add_product("c", 1)
    fake.add_product("d", 1)
    with raw_client(fake) as http:
        rows = http.get("entity/product", params={"filter": "name=a\\;b;name=c"}).json()
    assert sorted(r["name"] for r in rows["rows"]) == ["a;b", "c"]
