"""The page without JavaScript, on a preset POS, in the browser's language; who may use it.

The daemon runs as a POS set up for one back office (``--plugin reference --backoffice URL``)
serves it, still with no terminal: the cashier types only the code. The browser has
JavaScript off and asks for English (Accept-Language): every window is a plain form in the
page, «Обновить сейчас» runs and then shows what each exchange did, and goods are added,
edited and deleted at the register. A page without a session gets the sign-in notice; a
form from another site is refused and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from page_helpers import START_TIMEOUT, Daemon

from kkt_bridge.plugins.reference.server import ReferenceBackOffice

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
STEP_TIMEOUT = 30_000


def test_without_javascript_on_a_preset_pos_in_english(
        launch_browser: Callable[..., Any], kkt_emulator_factory: Callable[..., Any],
        office: ReferenceBackOffice, daemon_for: Callable[..., Daemon],
        artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT)
    folder = artifacts_dir / "no-javascript"
    folder.mkdir(parents=True, exist_ok=True)
    emu = kkt_emulator_factory(pty=False, tcp=0)  # registered, not paired yet
    daemon = daemon_for(emu.tcp_url, "--plugin", "reference", "--backoffice", str(office.url))
    login = daemon.login_url(START_TIMEOUT)
    base = daemon.base_url(login)

    context = launch_browser(java_script_enabled=False, locale="en-US",
                             viewport={"width": 1024, "height": 600})
    page = context.new_page()

    # no session: the sign-in notice, in the browser's language
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Sign-in needed")).to_be_visible()

    page.goto(login)
    expect(page.get_by_role("link", name="Connect the register")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Connect the register").click()
    # the window is part of the page; «Подключить ККТ», then the code only (preset)
    window = page.locator("dialog#window")
    window.get_by_role("button", name="Connect the register").click()
    expect(window.get_by_label("Sync code")).to_be_visible()
    expect(window.get_by_label("Back office", exact=True)).to_have_count(0)
    expect(window.get_by_label("Back-office address")).to_have_count(0)
    page.screenshot(path=str(folder / "01-code-only.png"))
    window.get_by_label("Sync code").fill("1234-5678")
    window.get_by_role("button", name="Connect", exact=True).click()
    expect(window.get_by_role("alert")).to_be_visible()
    assert office.registers() == []
    window.get_by_label("Sync code").fill(office.issue_sync_code(SHOP))
    window.get_by_role("button", name="Connect", exact=True).click()
    expect(window.get_by_text("Connection established")).to_be_visible()
    options = window.get_by_label("Goods export").locator("option").all_inner_texts()
    assert [o.strip() for o in options] == ["Never", "5 min", "15 min", "30 min", "1 h",
                                            "3 h", "6 h", "12 h", "24 h"]
    window.get_by_label("Employees export").select_option(label="15 min")
    page.screenshot(path=str(folder / "02-connected.png"))
    window.get_by_role("button", name="Save").click()  # goods sync stays off: nothing to confirm
    expect(page.get_by_text("Settings saved")).to_be_visible()

    # the catalog at the register while goods sync is off: add, edit, delete
    page.get_by_label("Group name").fill("Выпечка")
    page.get_by_role("button", name="Add a group").click()
    expect(page.get_by_text("Group saved")).to_be_visible()
    page.get_by_role("link", name="Edit Выпечка").click()
    page.get_by_label("Group name").fill("Выпечка свежая")
    page.get_by_role("button", name="Save the group").click()
    expect(page.get_by_role("cell", name="Выпечка свежая", exact=True)).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Булочка")
    page.get_by_label("Price, RUB").fill("2x")
    page.get_by_role("button", name="Save the good").click()
    expect(page.get_by_role("alert")).to_contain_text("is not an amount")
    page.get_by_label("Name", exact=True).fill("Булочка")
    page.get_by_label("Price, RUB").fill("25,50")
    page.get_by_label("Group", exact=True).select_option(label="Выпечка свежая")
    page.get_by_role("button", name="Save the good").click()
    expect(page.get_by_role("cell", name="RUB 25.50")).to_be_visible()
    page.get_by_role("link", name="Edit Булочка").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Булочка")
    page.get_by_label("Price, RUB").fill("27")
    page.get_by_role("button", name="Save the good").click()
    expect(page.get_by_role("cell", name="RUB 27.00")).to_be_visible()
    page.screenshot(path=str(folder / "03-catalog.png"), full_page=True)
    page.get_by_role("button", name="Delete Булочка").click()
    expect(page.get_by_text("Good deleted")).to_be_visible()
    expect(page.get_by_role("cell", name="Булочка", exact=True)).to_have_count(0)

    # «Обновить сейчас» without JavaScript: it runs, then the page says what each did
    emu.sell([("Хлеб", 4990)])
    page.get_by_role("button", name="Update now").click()
    page.wait_for_url(re.compile(r"done=synced"))
    expect(page.get_by_text("Exchange finished")).to_be_visible()
    expect(page.locator("[data-progress] li")).to_have_count(2)  # receipts, employees
    assert office.count_documents() == len(emu.archive())
    page.screenshot(path=str(folder / "04-synced.png"), full_page=True)

    # a back office that fails: the exchange says why, the receipt waits, nothing is lost
    office.set_faults("503:path=/api/v1/documents")
    emu.sell([("Молоко", 8990)])
    page.get_by_role("button", name="Update now").click()
    page.wait_for_url(re.compile(r"done=sync-failed"))
    expect(page.get_by_role("alert")).to_contain_text("finished with errors")
    failed = page.locator("[data-progress] li[data-state=error]")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Receipts export")
    expect(page.get_by_test_id("unsent")).to_have_text("1")
    page.screenshot(path=str(folder / "05-export-failed.png"), full_page=True)
    office.set_faults(None)
    page.get_by_role("button", name="Update now").click()
    page.wait_for_url(re.compile(r"done=synced"))
    expect(page.locator("[data-progress] li[data-state=error]")).to_have_count(0)
    expect(page.get_by_test_id("unsent")).to_have_text("0")
    assert office.count_documents() == len(emu.archive())

    # a form from another site is refused and changes nothing
    key = page.get_by_role("link", name="Change update settings").get_attribute("href")
    assert key is not None
    foreign = page.request.post(f"{base}/catalog/{key.rsplit('/', 1)[1]}/groups",
                                form={"name": "Чужая"}, headers={"Origin": "http://evil.test"})
    assert foreign.status == 403
    no_origin = page.request.post(f"{base}/catalog/{quote(key.rsplit('/', 1)[1])}/groups",
                                  form={"name": "Чужая"}, headers={"Referer": ""})
    assert no_origin.status in (400, 403)
    page.reload()
    expect(page.get_by_text("Чужая")).to_have_count(0)
