"""The help page's whole flow in a real browser, against the daemon as the service runs it.

An unregistered emulated register on TCP, the reference back office, and ``kkt-bridge run``
as a child process with no terminal and no ``--plugin`` (its store in a temporary
directory). The page is opened by the login address the daemon prints. Then, as the seed
tells it: the register is registered and the first-connection window opens by itself (in
every open page); a wrong code, a used code, the right one («Соединение установлено»);
periods and «Сохранить» with «Подтверждение» listing the goods added at the register; a list
that changed meanwhile shown again; «Обновить сейчас» with its progress; the receipts in the
back office; later «Отключить синхронизацию» and «Синхронизировать товары». Each step leaves
a screenshot (``test-artifacts/web/``); the page's time to first paint is printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from page_helpers import START_TIMEOUT, Daemon

from kkt_bridge.plugins.reference.server import ReferenceBackOffice

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
PROMPT_TIMEOUT = 30_000  # ms: the watcher's poll, the event stream, the window
STEP_TIMEOUT = 30_000
SHOT_TIMEOUT = 5_000  # ms: a screenshot that takes longer is skipped and named (Shots)
RECEIPT = 3  # FFD document type «кассовый чек»
POS_SCREEN = {"width": 1024, "height": 600}


class Shots:
    """Numbered screenshots of one run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in [*folder.glob("*.png"), folder / "missed.txt"]:
            old.unlink(missing_ok=True)
        self.count = 0

    def __call__(self, page: Any, name: str) -> None:
        from playwright.sync_api import Error as PlaywrightError

        self.count += 1
        shot = self.folder / f"{self.count:02d}-{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=False, timeout=SHOT_TIMEOUT)
        except PlaywrightError as exc:
            # a picture is a record, not a check: one taken while the page navigates away
            # (the progress list ends by loading the result) may never be painted; the
            # flow's own assertions go on, and the missed picture is named beside the others
            with (self.folder / "missed.txt").open("a", encoding="utf-8") as missed:
                missed.write(f"{shot.name}: {str(exc).splitlines()[0]}\n")


def paint_timing(page: Any) -> dict[str, float]:
    """The page's first paint and first contentful paint (ms from navigation start), and
    when its HTML had arrived (responseEnd), from the browser's Performance API."""
    entries = page.evaluate("""() => new Promise((resolve) => {
        const done = () => {
            const nav = performance.getEntriesByType('navigation')[0];
            resolve([...performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]),
                     ['html-received', nav ? nav.responseEnd : -1]]);
        };
        if (performance.getEntriesByType('paint').length > 1) return done();
        new PerformanceObserver(done).observe({type: 'paint', buffered: true});
        setTimeout(done, 5000);
    })""")
    return {name: round(value, 1) for name, value in entries}


def check_usable(page: Any) -> None:
    """Every field has a label, and every button and button-like link is a touch target
    (at least 40 px high) that the keyboard reaches."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')]
        .filter((el) => el.offsetParent !== null && !el.labels.length
                        && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML)""")
    assert unlabelled == []
    small = page.evaluate("""() => [...document.querySelectorAll('button, a.button')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => el.getBoundingClientRect().height < 40 || el.tabIndex < 0)
        .map((el) => el.outerHTML)""")
    assert small == []


def settle(page: Any) -> None:
    page.wait_for_load_state("load")


def test_the_seed_flow_in_the_browser(browser: Any, kkt_emulator_factory: Callable[..., Any],
                                      office: ReferenceBackOffice,
                                      daemon_for: Callable[..., Daemon],
                                      artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=STEP_TIMEOUT)
    shots = Shots(artifacts_dir / "seed-flow")
    emu = kkt_emulator_factory(registered=False, pty=False, tcp=0)
    daemon = daemon_for(emu.tcp_url)
    login = daemon.login_url(START_TIMEOUT)
    base = daemon.base_url(login)

    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(login)
    settle(page)
    print(f"\npage timing, first visit through the login redirect (ms): {paint_timing(page)}")
    expect(page.get_by_text("ККТ не зарегистрирована")).to_be_visible()
    shots(page, "unregistered")

    # a second page open at the same time: the window opens in every open page
    other = browser.new_page()
    other.goto(base + "/")
    dialog, other_dialog = page.locator("dialog#window"), other.locator("dialog#window")

    # 1. the register is registered: «Подключить ККТ» opens by itself
    emu.register()
    expect(dialog).to_be_visible(timeout=PROMPT_TIMEOUT)
    expect(dialog.get_by_role("button", name="Подключить ККТ")).to_be_visible()
    expect(other_dialog.get_by_role("button", name="Подключить ККТ")).to_be_visible(
        timeout=PROMPT_TIMEOUT)
    shots(page, "window-opens-by-itself")
    check_usable(page)

    # the dialog keeps the keyboard inside; Esc closes it, the page reopens it
    for _step in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('window').contains("
                             "document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Подключить ККТ").click()
    expect(dialog.get_by_role("button", name="Подключить ККТ")).to_be_visible()

    # 2. the code: wrong, used, then the right one
    dialog.get_by_role("button", name="Подключить ККТ").click()
    settle(page)
    code_field = dialog.get_by_label("Код синхронизации")
    expect(code_field).to_be_focused()
    # no --plugin: the cashier picks the back office from the installed plugins
    dialog.get_by_label("Бэк-офис", exact=True).select_option(label="Эталонный бэк-офис")
    dialog.get_by_label("Адрес бэк-офиса").fill(str(office.url))
    shots(page, "code")
    code_field.fill("0000-0000")
    dialog.get_by_role("button", name="Подключить", exact=True).click()
    settle(page)
    expect(dialog.get_by_role("alert")).to_contain_text("не найден")
    expect(dialog.get_by_label("Код синхронизации")).to_be_visible()
    assert office.registers() == []
    shots(page, "wrong-code")

    used = office.issue_sync_code(SHOP)
    office.db.pair(used, {"serial": "000000042", "fn_number": "9999000000000042",
                              "model": "another till", "inn": None, "rnm": None,
                              "installation_id": None})
    dialog.get_by_label("Код синхронизации").fill(used)
    dialog.get_by_role("button", name="Подключить", exact=True).click()
    settle(page)
    expect(dialog.get_by_role("alert")).to_contain_text("использован")
    assert len(office.registers()) == 1
    shots(page, "used-code")

    dialog.get_by_label("Код синхронизации").fill(office.issue_sync_code(SHOP))
    dialog.get_by_role("button", name="Подключить", exact=True).click()
    settle(page)

    # 3. «Соединение установлено», with the back office, organisation and shop
    expect(dialog.get_by_text("Соединение установлено")).to_be_visible()
    expect(dialog).to_contain_text(SHOP)
    expect(dialog).to_contain_text("Эталонный бэк-офис")
    # 4. the two drop-downs with exactly the seed's list, and the receipts line
    for label in ("Экспорт товаров", "Экспорт сотрудников"):
        options = dialog.get_by_label(label).locator("option").all_inner_texts()
        assert [o.strip() for o in options] == ["Никогда", "5 мин", "15 мин", "30 мин", "1 ч",
                                                "3 ч", "6 ч", "12 ч", "24 ч"]
    expect(dialog.get_by_text("Экспорт чеков настроен автоматически")).to_be_visible()
    shots(page, "connected")

    # goods added at the register before goods sync is turned on (the window waits)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.goto(base + "/")
    print(f"page timing, a paired register's page (ms): {paint_timing(page)}")
    paints = []
    for _load in range(5):
        page.reload()
        paints.append(paint_timing(page).get("first-contentful-paint", -1.0))
    print(f"first contentful paint over 5 reloads (ms): {sorted(paints)}")
    add_good(page, "Пирожок домашний", "45,00", "777")
    expect(page.get_by_role("cell", name="Пирожок домашний", exact=True)).to_be_visible()

    # 5. «Сохранить» with goods sync on: «Подтверждение» lists what goes
    page.get_by_role("link", name="Изменить настройки обновления").click()
    expect(dialog.get_by_label("Экспорт товаров")).to_be_visible()
    dialog.get_by_label("Экспорт товаров").select_option(label="5 мин")
    dialog.get_by_label("Экспорт сотрудников").select_option(label="15 мин")
    dialog.get_by_role("button", name="Сохранить").click()
    settle(page)
    expect(dialog.get_by_role("heading", name="Подтверждение")).to_be_visible()
    expect(dialog.get_by_test_id("to-delete")).to_contain_text("Пирожок домашний")
    shots(page, "first-setup-confirmation")
    check_usable(page)

    # meanwhile the list changes (another page adds a good): confirming shows it again
    other.goto(base + "/")
    add_good(other, "Ватрушка", "30", "")
    dialog.get_by_role("button", name="Подтверждение").click()
    settle(page)
    expect(dialog.get_by_test_id("to-delete")).to_contain_text("Ватрушка")
    expect(dialog.get_by_text("Список изменился")).to_be_visible()
    shots(page, "list-changed-shown-again")
    dialog.get_by_role("button", name="Подтверждение").click()
    settle(page)
    expect(page.get_by_text("Настройки сохранены")).to_be_visible()
    expect(page.get_by_role("cell", name="Пирожок домашний", exact=True)).to_have_count(0)

    # 6. sales, then «Обновить сейчас» with its progress; the receipts reach the back office
    for price in (4990, 12000, 300):
        emu.sell([("Хлеб", price)])
    page.get_by_role("button", name="Обновить сейчас").click()
    expect(page.locator("[data-progress] li[data-state=ok]").first).to_be_visible()
    shots(page, "sync-progress")
    page.wait_for_url(re.compile(r"done=synced"), timeout=STEP_TIMEOUT)
    expect(page.get_by_text("Обмен завершён").first).to_be_visible()
    expect(page.get_by_test_id("unsent")).to_have_text("0")
    assert office.count_documents() == len(emu.archive())
    receipts = [d for d in office.documents() if d.document_type == RECEIPT]
    assert len(receipts) == 3
    page.screenshot(path=str(shots.folder / f"{shots.count + 1:02d}-after-sync-full.png"),
                    full_page=True)
    shots.count += 1

    # the catalog is the back office's now, and locked at the register with the reason
    expect(page.get_by_text("товары нельзя изменять на кассе")).to_be_visible()
    refused = page.request.post(f"{base}/catalog/{key_of(page)}/goods",
                                form={"name": "Сушка", "price": "10"},
                                headers={"Origin": base})
    assert refused.status == 400 and "нельзя" in refused.text()

    # 7. later changes: «Отключить синхронизацию», then «Синхронизировать товары»
    page.get_by_role("link", name="Изменить настройки обновления").click()
    dialog.get_by_label("Экспорт товаров").select_option(label="Никогда")
    dialog.get_by_role("button", name="Сохранить").click()
    settle(page)
    expect(dialog.get_by_role("button", name="Отключить синхронизацию")).to_be_visible()
    shots(page, "confirm-sync-off")
    dialog.get_by_role("button", name="Отключить синхронизацию").click()
    settle(page)
    add_good(page, "Ватрушка с творогом", "35", "")
    page.get_by_role("link", name="Изменить настройки обновления").click()
    dialog.get_by_label("Экспорт товаров").select_option(label="1 ч")
    dialog.get_by_role("button", name="Сохранить").click()
    settle(page)
    expect(dialog.get_by_role("button", name="Синхронизировать товары")).to_be_visible()
    expect(dialog.get_by_test_id("to-delete")).to_contain_text("Ватрушка с творогом")
    shots(page, "confirm-sync-on")
    dialog.get_by_role("button", name="Синхронизировать товары").click()
    settle(page)
    expect(page.get_by_text("Настройки сохранены")).to_be_visible()

    # «Настроить подключение»: a new code and the periods, from the settings card
    page.get_by_role("link", name="Настроить подключение").click()
    expect(dialog.get_by_label("Код синхронизации")).to_be_visible()
    shots(page, "reconnect")
    page.keyboard.press("Escape")

    # the same page in English, at 1280x800 and on a 10" POS screen
    page.get_by_role("link", name="English").click()
    settle(page)
    expect(page.get_by_role("heading", name="Settings – Back-office connection")).to_be_visible()
    expect(page.get_by_role("button", name="Update now")).to_be_visible()
    shots(page, "english")
    page.set_viewport_size(POS_SCREEN)
    page.get_by_role("link", name="Change update settings").click()
    expect(dialog.get_by_label("Goods export")).to_be_visible()
    shots(page, "english-pos-settings")
    check_usable(page)
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Русский").click()
    settle(page)
    shots(page, "russian-pos")
    check_usable(page)
    page.get_by_role("link", name="Изменить настройки обновления").click()
    expect(dialog.get_by_label("Экспорт товаров")).to_be_visible()
    shots(page, "russian-pos-settings")


def add_good(page: Any, name: str, price: str, code: str) -> None:
    page.get_by_label("Наименование").fill(name)
    page.get_by_label("Цена, ₽").fill(price)
    if code:
        page.get_by_label("Код", exact=True).fill(code)
    page.get_by_role("button", name="Сохранить товар").click()
    settle(page)


def key_of(page: Any) -> str:
    href = page.get_by_role("link", name="Изменить настройки обновления").get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[1]
