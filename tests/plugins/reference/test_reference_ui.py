"""«Мои Кассы» pages: off by default, escaped, and «Добавить ККТ» issues a working code."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from kkt_bridge.plugins.reference.server import ReferenceBackOffice


def test_pages_are_off_unless_asked_for_but_the_url_answers(tmp_path: Path) -> None:
    with ReferenceBackOffice(tmp_path / "bo.sqlite3") as office:
        url = office.serve_in_thread()
        index = httpx.get(url + "/")
        assert index.status_code == 200 and index.json()["openapi"] == "/openapi.json"
        assert httpx.get(url + "/documents/1").status_code == 404
        assert httpx.post(url + "/sync-codes", data={"shop": "x"}).status_code == 404


def test_registers_documents_and_a_new_code(tmp_path: Path) -> None:
    with ReferenceBackOffice(tmp_path / "bo.sqlite3", open_ui=True) as office:
        office.seed_demo()
        office.db.ensure_shop("<script>alert(1)</script>")
        url = office.serve_in_thread()
        code = office.issue_sync_code("Магазин на Ленина")
        paired = httpx.post(url + "/api/v1/pair", json={
            "code": code, "register": {"serial": "0001", "fn_number": "9999078902012345",
                                        "model": "ШТРИХ-М-01Ф"}}).json()
        posted = httpx.post(url + "/api/v1/documents",
                            headers={"Authorization": f"Bearer {paired['token']}"},
                            json=[{"key": "9999078902012345:7",
                                   "fn_number": "9999078902012345", "fd_number": 7,
                                   "document_type": 3,
                                   "fns": {"totalSum": 12345, "cashTotalSum": 12345}}])
        assert posted.json()["acks"][0]["accepted"], posted.text

        page = httpx.get(url + "/").text
        assert "Мои Кассы" in page and "9999078902012345" in page
        assert "123,45" in page  # kopecks shown as rubles
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;" in page
        assert paired["token"] not in page

        issued = httpx.post(url + "/sync-codes", data={"shop": "Магазин на Садовой"})
        assert issued.status_code == 200
        found = re.search(r"class=\"code\">(\d{4}-\d{4})<", issued.text)
        assert found, issued.text
        second = httpx.post(url + "/api/v1/pair", json={
            "code": found.group(1), "register": {"serial": "0002", "fn_number": "1",
                                                 "model": "x"}})
        assert second.status_code == 200
        assert second.json()["shop"] == "Магазин на Садовой"

        unknown = httpx.post(url + "/sync-codes", data={"shop": "Нет такого"})
        assert unknown.status_code == 400
        assert "Нет такого" not in [s.name for s in office.db.shops()]


def _paired_office(tmp_path: Path) -> tuple[ReferenceBackOffice, str, dict[str, str]]:
    office = ReferenceBackOffice(tmp_path / "bo.sqlite3", open_ui=True)
    office.seed_demo()
    url = office.serve_in_thread()
    paired = httpx.post(url + "/api/v1/pair", json={
        "code": office.issue_sync_code("Магазин на Ленина"),
        "register": {"serial": "0001", "fn_number": "9999078902012345",
                     "model": "ШТРИХ-М-01Ф"}}).json()
    return office, url, {"Authorization": f"Bearer {paired['token']}"}


def test_one_row_per_register_revoke_and_consent_from_the_page(tmp_path: Path) -> None:
    office, url, _auth = _paired_office(tmp_path)
    with office, httpx.Client(base_url=url) as http:
        register_id = office.registers()[0].id
        assert http.get("/").text.count("9999078902012345") == 1
        allowed = http.post(f"/registers/{register_id}/allow-repair")
        assert allowed.status_code == 303
        again = http.post("/api/v1/pair", json={
            "code": office.issue_sync_code("Магазин на Ленина"),
            "register": {"serial": "0001", "fn_number": "9999078902012345", "model": "x"}})
        assert again.status_code == 200, again.text
        page = http.get("/").text
        assert page.count("9999078902012345") == 1  # re-pairing updated the row
        new = {"Authorization": f"Bearer {again.json()['token']}"}
        assert http.post(f"/registers/{register_id}/revoke").status_code == 303
        assert http.get("/api/v1/me", headers=new).status_code == 401
        assert "отключена" in http.get("/").text
        # a form posted by another site must not act for the user
        foreign = http.post(f"/registers/{register_id}/allow-repair",
                            headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert office.registers()[0].repair_until is None


def test_goods_groups_and_employees_are_editable(tmp_path: Path) -> None:
    office, url, auth = _paired_office(tmp_path)
    with office, httpx.Client(base_url=url) as http:
        shop = office.db.shop("Магазин на Ленина")
        assert shop is not None
        base = f"/shops/{shop.id}"
        assert http.post(base + "/groups", data={"id": "g-bread", "name": "Хлеб"}
                         ).status_code == 303
        assert http.post(base + "/goods", data={"id": "p-loaf", "name": "Батон",
                                                "price": "45,90", "group_id": "g-bread",
                                                "barcode": "4600000000107"}).status_code == 303
        assert http.post(base + "/goods/p-milk/archive").status_code == 303
        assert http.post(base + "/employees", data={"id": "e-9", "name": "Орлова Е. В.",
                                                    "role": "cashier"}).status_code == 303
        assert http.post(base + "/employees/e-1/delete").status_code == 303
        catalog = http.get("/api/v1/catalog", headers=auth).json()
        goods = {g["id"]: g for g in catalog["goods"]}
        assert goods["p-loaf"]["price"] == 4590 and goods["p-loaf"]["group_id"] == "g-bread"
        assert "p-milk" not in goods
        people = {e["id"] for e in http.get("/api/v1/employees", headers=auth).json()["employees"]}
        assert "e-9" in people and "e-1" not in people
        assert "Батон" in http.get(base).text
        for wrong in ("дорого", "1e3", "0,285", "nan", "-5", "12,3,4"):
            bad = http.post(base + "/goods", data={"id": "p-x", "name": "x", "price": wrong})
            assert bad.status_code == 400, wrong
        assert "p-x" not in {
            g["id"] for g in http.get("/api/v1/catalog", headers=auth).json()["goods"]}
        assert http.post(base + "/goods", data={"id": "p-y", "name": "y",
                                                "price": "1 234,56 ₽"}).status_code == 303
        goods = {g["id"]: g for g in http.get("/api/v1/catalog", headers=auth).json()["goods"]}
        assert goods["p-y"]["price"] == 123456
        assert http.get("/shops/999").status_code == 404


def test_document_page_and_one_date_format(tmp_path: Path) -> None:
    office, url, auth = _paired_office(tmp_path)
    with office, httpx.Client(base_url=url) as http:
        http.post("/api/v1/documents", headers=auth, json=[{
            "key": "9999078902012345:7", "fn_number": "9999078902012345", "fd_number": 7,
            "document_type": 3, "fns": {"totalSum": 12345, "dateTime": "2026-11-24T10:07:00"}}])
        page = http.get("/").text
        assert "24.11.2026 10:07" in page and "2026-11-24T10:07" not in page
        dates = re.findall(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", page)
        assert len(dates) >= 2  # the pairing's and the document's, in one format
        assert not re.search(r"\d{4}-\d{2}-\d{2}", page)
        document_id = office.documents()[0].id
        shown = http.get(f"/documents/{document_id}")
        assert shown.status_code == 200 and "123,45" in shown.text
        assert "24.11.2026 10:07" in shown.text
        assert http.get("/documents/999").status_code == 404


def test_pages_follow_accept_language(tmp_path: Path) -> None:
    office, url, _auth = _paired_office(tmp_path)
    with office:
        page = httpx.get(url + "/", headers={"Accept-Language": "en"}).text
        assert "My registers" in page and "Disconnect" in page and "Отключить" not in page
