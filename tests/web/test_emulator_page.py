"""«Эмулятор ККТ»: the demo's control page for its emulated register, in the browser.

``kkt-bridge demo`` serves it beside the register page: the emulator's serial, ФН, shift and
documents, and its keyboard (open a shift, sell a receipt of two lines with a payment and a
cashier, close the shift) through the emulator's control API, in Russian and in English;
wrong input makes no document, a form from another site and a browser without a session
are refused. A real ``kkt-bridge run`` has no such page and no link to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kkt_bridge.bridge.access import DirectAccess
from kkt_bridge.bridge.actions import Actions
from kkt_bridge.bridge.events import EventBus
from kkt_bridge.demo import Demo
from kkt_bridge.fiscal import decode_document, parse_document
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.registers import open_register
from kkt_bridge.store import Store
from kkt_bridge.web.app import create_app
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.security import Security

pytestmark = pytest.mark.slow

STEP_TIMEOUT = 30_000


@pytest.fixture
def demo(demo: Demo) -> Demo:
    """The demo of ``conftest.py``, paired with its back office and its exchange set, with
    no receipts sold yet."""
    demo.connect()
    demo.configure()
    return demo


def test_the_emulator_page_of_the_demo(launch_browser: Callable[..., Any], demo: Demo,
                                       artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT)
    folder = artifacts_dir / "emulator-page"
    folder.mkdir(parents=True, exist_ok=True)
    emu = demo.emulator
    base = demo.page_url.split("/login")[0]
    page = launch_browser().new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    # without a session: the sign-in notice, nothing else
    page.goto(base + "/emulator")
    expect(page.get_by_role("button", name="Открыть смену")).to_have_count(0)

    page.goto(demo.page_url)
    page.get_by_role("link", name="Эмулятор ККТ").click()
    expect(page.get_by_role("heading", name="Эмулятор ККТ")).to_be_visible()
    state = emu.device.state
    expect(page.get_by_test_id("emu-serial")).to_have_text(state.identity.serial)
    expect(page.get_by_test_id("emu-fn")).to_have_text(state.identity.fn_number or "")
    expect(page.get_by_test_id("emu-shift")).to_contain_text("закрыта")
    page.screenshot(path=str(folder / "01-closed.png"), full_page=True)
    # the connect window is the register page's: no event stream here to open it
    assert page.locator("body").get_attribute("data-events") == ""

    page.get_by_role("button", name="Открыть смену").click()
    expect(page.get_by_role("status")).to_have_text("Смена открыта")
    expect(page.get_by_test_id("emu-shift")).to_contain_text("открыта")
    opened_fd = len(emu.archive())
    expect(page.get_by_test_id("emu-last-fd")).to_have_text(str(opened_fd))

    # a price that is not a sum: said, the lines stay filled in, no document
    page.get_by_label("Наименование").first.fill("Хлеб")
    page.get_by_label("Цена, ₽").first.fill("49,9x")
    page.get_by_role("button", name="Пробить чек").click()
    expect(page.get_by_role("alert")).to_contain_text("не похожа на сумму")
    expect(page.get_by_label("Наименование").first).to_have_value("Хлеб")
    assert len(emu.archive()) == opened_fd

    # two lines, cash with change, a cashier at the keyboard
    page.get_by_label("Цена, ₽").first.fill("49,90")
    page.get_by_label("Количество").first.fill("2")
    page.get_by_label("Наименование").nth(1).fill("Молоко")
    page.get_by_label("Цена, ₽").nth(1).fill("89")
    page.get_by_label("Оплата").select_option(label="Наличными")
    page.get_by_label("Получено, ₽").fill("200")
    page.get_by_label("Кассир").fill("Петрова А.А.")
    page.get_by_role("button", name="Пробить чек").click()
    expect(page.get_by_role("status")).to_have_text("Чек пробит")
    expect(page.get_by_test_id("emu-receipts")).to_have_text("1")
    expect(page.get_by_test_id("emu-last-fd")).to_have_text(str(opened_fd + 1))
    page.screenshot(path=str(folder / "02-sold.png"), full_page=True)
    # the receipt as the bridge's driver reads it from the register's ФН
    assert emu.tcp_url is not None
    receipt = decode_document(emu.archive()[-1])
    assert receipt.total == 18880  # type: ignore[attr-defined]
    assert [item.name for item in receipt.items] == ["Хлеб", "Молоко"]  # type: ignore[attr-defined]
    assert dict(parse_document(emu.archive()[-1])[1])[1021] == "Петрова А.А."

    page.get_by_role("button", name="Закрыть смену").click()
    expect(page.get_by_role("status")).to_have_text("Смена закрыта")
    expect(page.get_by_test_id("emu-shift")).to_contain_text("закрыта")

    # in English, through the page's language switch; the register refuses in English too
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Register emulator")).to_be_visible()
    expect(page.get_by_test_id("emu-shift")).to_contain_text("closed")
    page.get_by_role("button", name="Close shift").click()
    expect(page.get_by_role("alert")).to_contain_text("shift")
    before = len(emu.archive())
    page.get_by_label("Name", exact=True).first.fill("Bread")
    page.get_by_label("Price, RUB").first.fill("abc")
    page.get_by_role("button", name="Make a receipt").click()
    expect(page.get_by_role("alert")).to_contain_text("is not an amount")
    page.get_by_label("Price, RUB").first.fill("30")
    page.get_by_label("Payment").select_option(label="Card")
    page.get_by_role("button", name="Make a receipt").click()
    expect(page.get_by_role("status")).to_have_text("Receipt made")
    assert len(emu.archive()) == before + 2  # the sale opened the shift, as registers do
    page.screenshot(path=str(folder / "03-english.png"), full_page=True)
    page.get_by_role("link", name="Back-office account connection").click()
    expect(page.get_by_role("link", name="Register emulator")).to_be_visible()

    # a form from another site is refused and makes nothing
    before = len(emu.archive())
    foreign = page.request.post(base + "/emulator/open-shift", form={},
                                headers={"Origin": "http://evil.test"})
    assert foreign.status == 403
    no_origin = page.request.post(base + "/emulator/sell",
                                  form={"name1": "Чужое", "price1": "1"},
                                  headers={"Referer": ""})
    assert no_origin.status in (400, 403)
    assert len(emu.archive()) == before
    with open_register(emu.tcp_url) as kkt:  # type: ignore[attr-defined]
        assert kkt.fn_status().last_fd_number == before
    assert script_errors == []


def test_a_real_run_has_no_emulator_page(tmp_path: Path) -> None:
    store = Store(tmp_path / "kkt.sqlite3")
    bus = EventBus()
    actions = Actions(store=store, pm=get_plugin_manager(),
                      access=DirectAccess(tmp_path, open_register), bus=bus)
    security = Security(secret="s" * 32)
    security.bind(8765)
    base = "http://127.0.0.1:8765"
    context = WebContext(actions=actions, security=security, bus=bus, base_url=base)
    with TestClient(create_app(context), base_url=base) as client:
        client.get(f"/login?token={security.login_token()}", follow_redirects=False)
        index = client.get("/")
        assert index.status_code == 200 and 'href="/emulator"' not in index.text
        assert client.get("/emulator").status_code == 404
        posted = client.post("/emulator/open-shift", headers={"Origin": base},
                             follow_redirects=False)
        assert posted.status_code == 404
    store.close()
