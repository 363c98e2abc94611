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
