"""The «Эмулятор ККТ» page names the protocol and the shift in the UI's words, for either
protocol (it showed the driver id, "shtrih", and "№1" on the English page)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kkt_bridge.bridge.access import DirectAccess
from kkt_bridge.bridge.actions import Actions
from kkt_bridge.bridge.events import EventBus
from kkt_bridge.bridge.prompts import PromptBoard
from kkt_bridge.emulation.control import ControlServer
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.registers import open_register
from kkt_bridge.store import Store
from kkt_bridge.web.app import create_app
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.security import Security

BASE = "http://127.0.0.1:8765"
TITLES = {"shtrih": ("Штрих-М", "Shtrih-M"), "atol": ("АТОЛ", "ATOL")}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_protocol_and_the_shift_in_the_uis_words(
        tmp_path: Path, kkt_emulator_factory: Callable[..., Any], driver: str,
        lang: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=False, tcp=0)
    control = ControlServer(emu).start()
    store = Store(tmp_path / "kkt.sqlite3")
    try:
        bus = EventBus()
        actions = Actions(store=store, pm=get_plugin_manager(),
                          access=DirectAccess(tmp_path, open_register), board=PromptBoard(bus),
                          bus=bus)
        security = Security(secret="s" * 32)
        security.bind(8765)
        context = WebContext(actions=actions, security=security, bus=bus,
                             urls=lambda: [str(emu.tcp_url)], base_url=BASE,
                             emulator_control=control.url)
        with TestClient(create_app(context), base_url=BASE) as client:
            client.get(f"/login?token={security.login_token()}", follow_redirects=False)
            answer = client.get("/emulator", headers={"Accept-Language": lang})
        assert answer.status_code == 200, answer.text
        title = TITLES[driver][lang == "en"]
        assert f"<dd>{title}</dd>" in answer.text, answer.text
        shift = answer.text.split('data-testid="emu-shift">')[1].split("<")[0]
        assert shift == ("№0, закрыта" if lang == "ru" else "No. 0, closed"), shift
    finally:
        control.stop()
        store.close()
