"""The page's routes without a browser: the app over real actions, a store, an emulator and the
reference back office, through Starlette's test client.

What a browser test would show slowly or not at all: a request without a session, from
another site, with a forged confirmation; the language switch's target; unknown files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

from kkt_bridge.bridge.access import DirectAccess
from kkt_bridge.bridge.actions import Actions, BackOfficePreset
from kkt_bridge.bridge.actions.shared import SharedPortLookup
from kkt_bridge.bridge.events import EventBus
from kkt_bridge.bridge.export import REJECTED
from kkt_bridge.bridge.prompts import PromptBoard
from kkt_bridge.link.holders import Holder
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.registers import open_register
from kkt_bridge.share.service import STATE_FILE, SharedPorts
from kkt_bridge.store import ORIGIN_REGISTER, Store
from kkt_bridge.web.app import create_app
from kkt_bridge.web.context import WebContext
from kkt_bridge.web.security import Security

SHOP = "Магазин на Ленина"
HOST = "127.0.0.1:8765"
BASE = f"http://{HOST}"
SAME_SITE = {"Origin": BASE}


class Page:
    def __init__(self, client: TestClient, store: Store, url: str,
                 office: ReferenceBackOffice) -> None:
        self.client, self.store, self.url, self.office = client, store, url, office

    def post(self, path: str, data: dict[str, str], **headers: str) -> Any:
        return self.client.post(path, data=data, headers={**SAME_SITE, **headers},
                                follow_redirects=False)

    def pair(self) -> str:
        # «Подключить ККТ» on the page names the register
        html = self.client.get("/").text
        key = unquote(html.split('href="/connect/')[1].split('"')[0])
        answer = self.post(f"/connect/{quote(key, safe='')}",
                           {"code": self.office.issue_sync_code(SHOP)})
        assert answer.status_code == 303, answer.text
        return key


@pytest.fixture
def page(tmp_path: Path, kkt_emulator_factory: Callable[..., Any],
         office: ReferenceBackOffice) -> Iterator[Page]:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    store = Store(tmp_path / "kkt.sqlite3")
    client = signed_in(store, tmp_path, office, emu.tcp_url)
    yield Page(client, store, emu.tcp_url, office)
    client.close()
    store.close()


def signed_in(store: Store, home: Path, office: ReferenceBackOffice, url: str) -> TestClient:
    """The page's app over real actions for the register at ``url``, with a session."""
    bus = EventBus()
    actions = Actions(store=store, pm=get_plugin_manager(),
                      access=DirectAccess(home, open_register), board=PromptBoard(bus),
                      bus=bus, preset=BackOfficePreset("reference", str(office.url)))
    security = Security(secret="s" * 32)
    security.bind(8765)
    context = WebContext(actions=actions, security=security, bus=bus,
                         urls=lambda: [url], base_url=BASE)
    client = TestClient(create_app(context), base_url=BASE)
    client.get(f"/login?token={security.login_token()}", follow_redirects=False)
    return client


def test_no_session_gets_the_sign_in_notice(page: Page) -> None:
    page.client.cookies.clear()
    answer = page.client.get("/", headers={"Accept-Language": "en"})
    assert answer.status_code == 401 and "Sign-in needed" in answer.text
    assert page.post("/settings/any", {"goods": "0"}).status_code == 401


def test_forms_from_elsewhere_change_nothing(page: Page) -> None:
    key = page.pair()
    path = f"/catalog/{quote(key, safe='')}/groups"
    assert page.client.post(path, data={"name": "Чужая"},
                            headers={"Origin": "http://evil.test"}).status_code == 403
    # a cookie-carried post that does not show where it comes from at all
    assert page.client.post(path, data={"name": "Чужая"}).status_code == 403
    assert page.client.get("/", headers={"Host": "evil.test"}).status_code == 421
    assert page.store.groups(key) == []


def test_a_confirmation_for_another_list_shows_the_new_one(page: Page) -> None:
    key = page.pair()
    path = f"/settings/{quote(key, safe='')}"
    page.post(f"/catalog/{quote(key, safe='')}/goods", {"name": "Пирожок", "price": "45"})
    first = page.post(path, {"goods": "300", "employees": "0"})
    assert first.status_code == 200 and "Пирожок" in first.text
    assert page.store.get_settings(key).goods_period == 0  # nothing until confirmed
    page.post(f"/catalog/{quote(key, safe='')}/goods", {"name": "Ватрушка", "price": "30"})
    old_token = first.text.split('name="token" value="')[1].split('"')[0]
    stale = page.post(path, {"goods": "300", "employees": "0", "token": old_token})
    assert stale.status_code == 409 and "Ватрушка" in stale.text
    assert page.store.get_settings(key).goods_period == 0
    new_token = stale.text.split('name="token" value="')[1].split('"')[0]
    assert page.post(path, {"goods": "300", "employees": "0",
                            "token": new_token}).status_code == 303
    assert page.store.get_settings(key).goods_period == 300
    assert page.store.goods(key, ORIGIN_REGISTER) == []


@pytest.mark.parametrize(("fields", "shown"), [
    ({"goods": "301", "employees": "0"}, "не из списка"),
    ({"goods": "", "employees": "x"}, None),
])
def test_bad_periods_change_nothing(page: Page, fields: dict[str, str],
                                    shown: str | None) -> None:
    key = page.pair()
    before = page.store.get_settings(key)
    answer = page.post(f"/settings/{quote(key, safe='')}", fields)
    assert answer.status_code in (303, 400)
    if shown:
        assert shown in answer.text
    assert page.store.get_settings(key) == before


def test_catalog_refused_with_the_reason_while_goods_sync_is_on(page: Page) -> None:
    key = page.pair()
    path = f"/settings/{quote(key, safe='')}"
    token = page.post(path, {"goods": "300", "employees": "0"}).text.split(
        'name="token" value="')[1].split('"')[0]
    page.post(path, {"goods": "300", "employees": "0", "token": token})
    answer = page.post(f"/catalog/{quote(key, safe='')}/goods", {"name": "Сушка", "price": "10"})
    assert answer.status_code == 400 and "синхронизация товаров" in answer.text
    assert page.store.goods(key, ORIGIN_REGISTER) == []


@pytest.mark.parametrize(("target", "expected"), [
    ("/settings/x", "/settings/x"), ("//evil.test/", "/"), ("http://evil.test/", "/"),
])
def test_language_switch_stays_on_this_server(page: Page, target: str, expected: str) -> None:
    answer = page.client.get("/lang", params={"to": "en", "next": target},
                             follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == expected
    assert "kkt_lang=en" in answer.headers["set-cookie"]
    assert "SameSite=strict" in answer.headers["set-cookie"]
    assert "Connect the register" in page.client.get("/").text  # the cookie holds


def test_only_the_page_files_are_served(page: Page) -> None:
    assert page.client.get("/static/page.css").status_code == 200
    assert page.client.get("/static/page.js").headers["content-type"].startswith(
        "text/javascript")
    for name in ("../pages.py", "..%2Fpages.py", "CONTRACT.md"):
        assert page.client.get(f"/static/{name}").status_code == 404


def test_a_refused_document_is_shown_with_retry(page: Page) -> None:
    key = page.pair()
    fn_number = key.partition(":")[2]
    refused_fd = page.store.get_cursor(fn_number) + 1
    # what the export logs when the back office refuses a document (the cursor waits at it)
    page.store.log_event(key, REJECTED, "refused", fn_number=fn_number, fd_number=refused_fd,
                         attempts=3, error="неверная сумма чека")
    html = page.client.get("/").text
    assert "Не принятые бэк-офисом документы" in html and "неверная сумма чека" in html
    assert f"ФД {refused_fd}" in html and "Повторить" in html
    retried = page.post(f"/sync/{quote(key, safe='')}", {"job": "documents"})
    assert retried.status_code == 303
    assert page.store.get_cursor(fn_number) >= refused_fd  # accepted this time
    assert "неверная сумма чека" not in page.client.get("/").text


def test_a_register_out_of_reach_is_shown_as_such(tmp_path: Path) -> None:
    store = Store(tmp_path / "kkt.sqlite3")
    bus = EventBus()
    actions = Actions(store=store, pm=get_plugin_manager(),
                      access=DirectAccess(tmp_path, open_register, wait=1.0), bus=bus)
    security = Security(secret="s" * 32)
    security.bind(8765)
    silent = "socket://127.0.0.1:9"  # discard: nothing answers there
    context = WebContext(actions=actions, security=security, bus=bus, urls=lambda: [silent],
                         base_url=BASE)
    with TestClient(create_app(context), base_url=BASE) as client:
        client.get(f"/login?token={security.login_token()}", follow_redirects=False)
        answer = client.get("/")
    store.close()
    assert answer.status_code == 200
    assert "нет связи" in answer.text and "Подключить ККТ" not in answer.text


def test_what_an_exchange_did_is_told_in_the_reader_s_language(page: Page) -> None:
    key = page.pair()
    # «Обновить сейчас» from a Russian page, then the same page read in English
    assert page.post(f"/sync/{quote(key, safe='')}", {}).status_code == 303
    assert "выгружено документов" in page.client.get("/").text
    page.client.get("/lang", params={"to": "en", "next": "/"}, follow_redirects=False)
    english = page.client.get("/").text
    assert "выгружено документов" not in english and "товаров:" not in english
    assert "exported" in english


@pytest.mark.parametrize("holders", [[], [Holder(4242, "frontol")]])
def test_the_register_panel_shows_the_shared_port(
        tmp_path: Path, kkt_emulator_factory: Callable[..., Any], holders: list[Holder]) -> None:
    emu = kkt_emulator_factory(pty=True, tcp=None)
    device = emu.pty_path or ""
    home, run = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    run.mkdir()
    store = Store(home / "kkt.sqlite3")
    bus = EventBus()
    actions = Actions(store=store, pm=get_plugin_manager(),
                      access=DirectAccess(tmp_path, open_register), bus=bus,
                      shared=SharedPortLookup(home, holders=lambda _url: holders))
    security = Security(secret="s" * 32)
    security.bind(8765)
    context = WebContext(actions=actions, security=security, bus=bus, urls=lambda: [device],
                         base_url=BASE)
    with SharedPorts(tcp=0, run_dir=run, state_file=home / STATE_FILE) as shares, \
            TestClient(create_app(context), base_url=BASE) as client:
        info = shares.add(device)
        assert info is not None and info.tcp_url
        client.get(f"/login?token={security.login_token()}", follow_redirects=False)
        html = client.get("/").text
        english = client.get("/", headers={"Accept-Language": "en"}).text
    store.close()
    assert f'data-testid="shared-port">{info.path}<' in html
    assert f'data-testid="shared-tcp">{info.tcp_url}<' in html
    assert "Укажите этот порт в настройках кассовой программы вместо порта ККТ" in html
    assert "Port for the cash software" in english
    warning = "Программа frontol (4242) работает с ККТ напрямую через"
    assert (warning in html) is bool(holders)
    assert (f"Укажите в её настройках порт {info.path}" in html) is bool(holders)


def test_a_register_never_reached_is_not_called_unregistered(
        tmp_path: Path, office: ReferenceBackOffice) -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on: the link fails at once
        closed.bind(("127.0.0.1", 0))
        url = f"socket://127.0.0.1:{closed.getsockname()[1]}"
    store = Store(tmp_path / "kkt.sqlite3")
    with signed_in(store, tmp_path, office, url) as client:
        html = client.get("/").text
        assert "неизвестно: нет связи с ККТ" in html
        assert "ККТ не зарегистрирована" not in html
        assert "после регистрации ККТ" not in html
        client.get("/lang?to=en&next=/", headers=SAME_SITE)
        english = client.get("/").text
    store.close()
    assert "unknown: no link to the register" in english
    assert "once the link is up" in english
