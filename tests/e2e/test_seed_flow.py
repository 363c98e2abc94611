"""The help page's flow, end to end: emulator over TCP, the reference back office over HTTP,
the bridge through its CLI."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SHOP, cli_run, open_home_store, register_at_install

from kkt_bridge.bridge.catalog import Catalog
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.bridge.watcher import REGISTERED, Prompt
from kkt_bridge.exchange import Good, RegisterIdentity
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.kkt import Capability, capabilities_of
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.registers import open_register
from kkt_bridge.store import ORIGIN_REGISTER

pytestmark = pytest.mark.slow


class PromptListener:
    def __init__(self) -> None:
        self.prompts: list[tuple[str, str]] = []

    @hookimpl
    def kkt_connect_prompt(self, register: RegisterIdentity, reason: str) -> None:
        self.prompts.append((register.serial, reason))


def test_seed_flow(kkt_emulator_factory: Callable[..., Any], office: Any, home: Path,
                   driver: str) -> None:
    emu = kkt_emulator_factory(driver=driver, registered=False, pty=False, tcp=0)
    url = emu.tcp_url

    # 1-2. the watcher sees an unregistered register, then the registration: the prompt
    listener = PromptListener()
    pm = get_plugin_manager(plugins=[listener])
    store = open_home_store(home)
    shown: list[Prompt] = []
    daemon = Daemon(store, pm, [url], opener=open_register, on_prompt=shown.append)
    (link,) = daemon.links
    daemon.tick(link)
    assert listener.prompts == [] and shown == []
    register_at_install(emu, link.kkt(), driver)
    daemon.tick(link)
    assert listener.prompts == [(link.kkt().identity().serial, REGISTERED)]
    assert shown[0].reason_text == "ККТ зарегистрирована"
    key = link.kkt().identity().key
    link.drop()

    # 3. pairing: a wrong code stores nothing, the right one «Соединение установлено»
    code, out = cli_run("connect", "--device", url, "--plugin", "reference",
                        "--backoffice", office.url, "--code", "0000-0000")
    assert code != 0 and "Соединение установлено" not in out
    assert store.get_pairing(key) is None
    sync_code = office.issue_sync_code(SHOP)
    code, out = cli_run("connect", "--device", url, "--plugin", "reference",
                        "--backoffice", office.url, input=sync_code + "\n")
    assert code == 0, out
    assert "код синхронизации с бэк-офисом" in out and "Соединение установлено" in out
    assert sync_code not in out.split("Соединение")[1]
    pairing = store.get_pairing(key)
    assert pairing is not None and pairing.credentials.shop == SHOP

    # a good added at the register before goods sync is turned on
    Catalog(store, key).add_good(Good("", "Пирожок домашний", 4500, code="777"))

    # 4. settings: goods sync on needs the confirmation that lists the good to delete
    code, out = cli_run("settings", "--goods", "5 мин", "--employees", "15 мин")
    assert code == 7 and "Подтверждение" in out and "Пирожок домашний" in out
    assert store.get_settings(key).goods_period == 0
    token = re.search(r"Код подтверждения: (\w+)", out)
    assert token is not None, out
    code, out = cli_run("settings", "--goods", "5 мин", "--employees", "15 мин",
                        "--confirm", token.group(1))
    assert code == 0 and "Настройки сохранены" in out
    assert store.goods(key, ORIGIN_REGISTER) == []

    # 5-6. sales on the emulator; «Обновить сейчас» imports goods, employees, exports receipts
    for price in (4990, 12000, 300):
        emu.sell([("Хлеб", price)])
    code, out = cli_run("sync", "now")
    assert code == 0, out
    assert len(store.goods(key)) > 0 and len(store.employees(key)) > 0
    kkt = open_register(url)
    try:
        if Capability.CASHIER_TABLE in capabilities_of(kkt):
            names = {c.name for c in kkt.read_cashiers()}
            assert {e.name for e in store.employees(key)} <= names
        else:  # ATOL: the list stays in the bridge, and the bridge says so
            assert "у ККТ нет таблицы кассиров, список хранится в kkt-bridge" in " ".join(
                out.split())
            assert any("таблицы кассиров" in e.message for e in store.events(key))
        assert store.get_register(key).driver == driver
        last_fd = kkt.fn_status().last_fd_number
    finally:
        kkt.close()
    assert office.count_documents() == last_fd == len(emu.archive())
    receipts = [d for d in office.documents() if d.fd_number > 1]
    assert len(receipts) == last_fd - 1

    # 7. change the settings: goods sync off needs confirmation too; then edits are allowed
    code, out = cli_run("settings", "--goods", "Никогда")
    assert code == 7 and "Отключить синхронизацию" in out
    assert store.get_settings(key).goods_sync
    code, out = cli_run("settings", "--goods", "Никогда", "--confirm")
    assert code == 0
    Catalog(store, key).add_good(Good("", "Ватрушка", 3000))
    code, out = cli_run("settings", "--goods", "1 ч")
    assert code == 7 and "Ватрушка" in out

    # 8. «Обновить сейчас» again: the new sale goes out, nothing twice
    emu.sell([("Молоко", 8900)])
    code, out = cli_run("sync", "now")
    assert code == 0, out
    assert office.count_documents() == len(emu.archive())

    # status shows the bridge side
    from kkt_bridge.bridge.status import bridge_status

    status = bridge_status(store, key)
    assert status["pairing"]["shop"] == SHOP and status["export"]["unsent"] == 0
    emu.sell([("Кефир", 7500)])
    code, out = cli_run("status", "--device", url)
    assert code == 0, out
    assert SHOP in out and "Экспорт товаров: Никогда" in out
    assert "Не выгружено документов: 1" in out
    store.close()
