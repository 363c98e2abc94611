"""The control URL opened as a URL: a page that says what it is, errors with a body.

The emulator prints ``control http://127.0.0.1:PORT/TOKEN``; people open printed URLs. A GET
of it gives a page (the register, the commands with this URL in ``--at``, the demo's page
when there is one) in the language asked for; another path or method gets a body that says
what is wrong, HTML for a browser and JSON for a program; nothing of it changes the register
or shows the token to who did not have it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import httpx
import pytest

from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation import Emulator
from kkt_bridge.emulation.control import ControlServer, call
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import using_language

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(params=["shtrih", "atol"])
def control(request: pytest.FixtureRequest) -> Iterator[ControlServer]:
    emu = Emulator(get_emulator(request.param), pty=False, tcp=0, seed=7).start()
    server = ControlServer(emu).start()
    try:
        yield server
    finally:
        server.stop()
        emu.stop()


def test_the_control_url_in_a_browser_says_what_it_is(control: ControlServer) -> None:
    answer = httpx.get(control.url, headers={**HTML, "Accept-Language": "ru-RU,ru;q=0.9"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["referrer-policy"] == "no-referrer"  # the URL holds the token
    assert answer.headers["cache-control"] == "no-store"
    page = answer.text
    assert "Эмулятор ККТ: адрес управления" in page and 'lang="ru"' in page
    identity = control.emu.device.state.identity
    assert identity.serial in page and str(identity.fn_number) in page
    assert control.emu.urls[0] in page  # where the cash software connects
    for action in ("register", "open-shift", "sell", "close-shift", "status"):
        assert f"kkt-bridge emulator {action} --at {shlex.quote(control.url)}" in page
    # a standalone emulator: no link, and where the page is found
    assert "<a " not in page and "kkt-bridge demo" in re.sub("<[^>]+>", "", page)


def test_in_english_and_without_accept_language(control: ControlServer) -> None:
    english = httpx.get(control.url, headers={**HTML, "Accept-Language": "en-US,en;q=0.9"})
    assert "Register emulator: control address" in english.text
    assert not re.search("[\u0400-\u04ff]", english.text) and 'lang="en"' in english.text
    assert "--item Bread:49.90:2" in english.text
    assert "Open the shift." in english.text  # the command's own help, translated
    # no header: the emulator's own language, Russian by default
    with using_language("ru"):
        plain = httpx.get(control.url + "/")
    assert plain.status_code == 200 and "адрес управления" in plain.text


def test_the_demo_page_is_linked_when_there_is_one(control: ControlServer) -> None:
    control.page_url = "http://127.0.0.1:1/emulator"
    page = httpx.get(control.url, headers=HTML).text
    assert '<a href="http://127.0.0.1:1/emulator" rel="noreferrer">' in page


def test_a_get_changes_nothing(control: ControlServer) -> None:
    before = len(control.emu.archive())
    for path in ("", "/", "/register", "/open-shift", "/sell"):
        httpx.get(control.url + path, headers=HTML)
    assert len(control.emu.archive()) == before


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/sell", 405),        # an action is a POST
    ("GET", "/status", 405),
    ("PUT", "", 405),             # a method nothing serves, on the control URL
    ("DELETE", "/sell", 405),
    ("GET", "/nothing", 404),     # not an action
    ("BREW", "", 405),
    ("POST", "", 405),            # the URL itself is a page: no action is named
    ("POST", "/", 405),
])
def test_what_is_not_served_says_why(control: ControlServer, method: str, path: str,
                                     status: int) -> None:
    answer = httpx.request(method, control.url + path, headers={"Accept-Language": "ru"})
    assert answer.status_code == status
    body = answer.json()
    assert body["ok"] is False and body["error"] and body["hint"]
    if status == 405:  # Allow names what this very address takes
        assert answer.headers["allow"] == ("GET, HEAD" if path in ("", "/") else "POST")
        assert method in body["error"]
    english = httpx.request(method, control.url + path, headers={"Accept-Language": "en"})
    assert english.json()["error"].isascii() and english.json()["hint"].isascii()
    # a browser gets a page that leads back to the control URL
    page = httpx.request(method, control.url + path, headers={**HTML, "Accept-Language": "ru"})
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert f'<a href="{control.url}"' in page.text and f"HTTP {status}" in page.text


@pytest.mark.parametrize("method", ["GET", "POST", "BREW"])
def test_a_wrong_token_learns_nothing(control: ControlServer, method: str) -> None:
    base = control.url.rsplit("/", 1)[0]
    for path in ("/", "/favicon.ico", "/wrong-token", "/wrong-token/status",
                 f"/{control.token}x/status", f"/{control.token[:-1]}/status"):
        answer = httpx.request(method, base + path, headers={**HTML, "Accept-Language": "ru"})
        assert answer.status_code == 404, path
        assert "по этому адресу ничего нет" in answer.text
        assert control.token not in answer.text and "<a " not in answer.text


def test_head_is_a_get_without_a_body(control: ControlServer) -> None:
    answer = httpx.head(control.url, headers=HTML)
    assert answer.status_code == 200 and answer.content == b""
    assert int(answer.headers["content-length"]) > 0


def test_a_wrong_token_through_the_client_is_said_in_words(control: ControlServer) -> None:
    base = control.url.rsplit("/", 1)[0]
    with using_language("ru"), pytest.raises(ConfigError) as caught:
        call(base + "/wrong-token", "status", {})
    assert "по этому адресу ничего нет" in caught.value.message
    assert "STATE.control" in caught.value.hint
    with using_language("en"), pytest.raises(ConfigError) as caught:
        call(base + "/wrong-token", "status", {})
    assert caught.value.message == "there is nothing at this address"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("lang", "words"), [
    ("ru", "на этом порту никто не слушает"), ("en", "nothing listens on that port")])
def test_an_address_where_nothing_listens_is_said_in_words(lang: str, words: str) -> None:
    from kkt_bridge.errors import LinkError

    at = f"http://127.0.0.1:{_free_port()}/some-token"
    with using_language(lang), pytest.raises(LinkError) as caught:
        call(at, "status", {}, timeout=5)
    text = caught.value.message + " " + caught.value.hint
    assert words in text and "Errno" not in text and "Connection refused" not in text
    # the host and port, as the user may read it; the token stays out of the message
    assert at.rsplit("/", 1)[0] in caught.value.message and "some-token" not in text
    assert "STATE.control" in caught.value.hint


def test_registering_twice_names_the_commands_to_run(control: ControlServer) -> None:
    with using_language("ru"), pytest.raises(ConfigError) as caught:
        call(control.url, "register", {})
    assert caught.value.message == "ККТ уже зарегистрирована"
    for command in ("reregister", "replace-fn"):  # each as the user can paste it
        assert f"kkt-bridge emulator {command} --at {control.url}" in caught.value.hint


@pytest.mark.parametrize(("electronic", "cash"), [(5000, 0), (334, 0), (1000, 500)])
def test_a_card_payment_above_the_total_is_said_as_such(control: ControlServer,
                                                        electronic: int, cash: int) -> None:
    """On the line both protocols refuse it as «bad parameters» (Shtrih-M: 0x33 of its
    closing command); the keyboard says the register's reason, and no document is made."""
    call(control.url, "open-shift", {})
    before = len(control.emu.archive())
    sale = {"items": [{"name": "Хлеб", "price": 1000, "quantity": "0.333"}],
            "payments": {"electronic": electronic, "cash": cash}}
    with using_language("ru"), pytest.raises(ConfigError) as caught:
        call(control.url, "sell", sale)
    assert caught.value.message == (
        f"безналичная оплата {electronic // 100},{electronic % 100:02d}\u00a0₽ больше "
        "итога чека 3,33\u00a0₽")
    assert "только с наличных" in caught.value.hint
    assert len(control.emu.archive()) == before
    # exactly the total by card is a sale
    call(control.url, "sell", {**sale, "payments": {"electronic": 333}})
    assert len(control.emu.archive()) == before + 1


def test_emulator_status_is_a_table_for_people_and_json_on_request(
        control: ControlServer) -> None:
    import json

    from click.testing import CliRunner

    from kkt_bridge.cli.main import cli
    from kkt_bridge.i18n import set_language

    serial = control.emu.device.state.identity.serial
    try:
        ru = CliRunner().invoke(cli, ["emulator", "status", "--at", control.url])
        en = CliRunner().invoke(cli, ["--lang", "en", "emulator", "status", "--at",
                                      control.url])
        raw = CliRunner().invoke(cli, ["emulator", "status", "--at", control.url, "--json"])
    finally:
        set_language("ru")
    assert ru.exit_code == 0 and "Заводской номер" in ru.output and serial in ru.output
    assert "Смена" in ru.output and "закрыта" in ru.output and "{" not in ru.output
    assert en.exit_code == 0 and "Serial number" in en.output and serial in en.output
    assert "Смена" not in en.output
    data = json.loads(raw.output)
    assert data["serial"] == serial and "cpu_seconds" in data and "ok" not in data


def test_a_bug_behind_the_page_is_said_not_a_dropped_connection(
        control: ControlServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from kkt_bridge.emulation import control as control_module

    def broken(emu: object, data: object) -> dict[str, object]:
        raise RuntimeError("a bug")

    monkeypatch.setitem(control_module.HANDLERS, "status", broken)
    answer = httpx.get(control.url)
    assert answer.status_code == 500 and "a bug" in answer.json()["error"]
    # a browser gets a page that says it, in its language, not the API's JSON
    page = httpx.get(control.url, headers={**HTML, "Accept-Language": "ru"})
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Эмулятор не смог показать эту страницу" in page.text and "a bug" in page.text
    english = httpx.get(control.url, headers={**HTML, "Accept-Language": "en"})
    assert "could not show this page" in english.text


def test_every_refusal_hint_that_names_a_command_names_it_whole() -> None:
    """A hint says «kkt-bridge emulator COMMAND», which the client completes with the
    user's --at; a bare «reregister» the user could not run as written."""
    from kkt_bridge.emulation.control import REFUSALS, with_at

    commands = ("register", "reregister", "replace-fn", "open-shift", "close-shift")
    for _message, hint in REFUSALS.values():
        for word in hint.replace(":", " ").replace(",", " ").split():
            if word in commands:
                assert f"kkt-bridge emulator {word}" in hint, hint
                assert f"emulator {word} --at kkt.json" in with_at(hint, "kkt.json"), hint


def test_a_host_that_cannot_be_found_is_said_in_words() -> None:
    from kkt_bridge.errors import LinkError

    with using_language("ru"), pytest.raises(LinkError) as caught:
        call("http://no-such-host.invalid:1/some-token", "status", {}, timeout=10)
    assert "такого адреса не найти" in caught.value.message, caught.value.message
    assert "Errno" not in caught.value.message


@pytest.mark.parametrize(("name", "words"), [
    ("Х" * 129, "длиннее 128 знаков (тег 1030)"),
    ("Торт 🎂", "нет в кодировке ФН (CP866)"),
])
def test_an_item_name_the_fn_cannot_hold_is_said_as_such(control: ControlServer, name: str,
                                                         words: str) -> None:
    """The register refuses either as «документ не помещается в ФН»: true, and no help."""
    call(control.url, "open-shift", {})
    before = len(control.emu.archive())
    with using_language("ru"), pytest.raises(ConfigError) as caught:
        call(control.url, "sell", {"items": [{"name": name, "price": 100}]})
    assert words in caught.value.message and "не помещается" not in caught.value.message
    assert len(control.emu.archive()) == before
    call(control.url, "sell", {"items": [{"name": "Х" * 128, "price": 100}]})
    assert len(control.emu.archive()) == before + 1  # the longest name 1030 holds


@pytest.mark.parametrize("at", ["http://[bad", "http://127.0.0.1:abc/x",
                                "http://127.0.0.1:99999/x", "http:///token"])
def test_a_control_url_that_is_not_one_is_said_in_words(at: str) -> None:
    """A mistyped --at used to end in urllib's or httpx's traceback («Invalid IPv6 URL»,
    "Invalid port: 'abc'") or in «nothing listens» for a port no one can listen on."""
    with using_language("ru"), pytest.raises(ConfigError) as caught:
        call(at, "status", {}, timeout=5)
    assert caught.value.message == f"«{at}» — не адрес управления эмулятора"
    assert "--state" in caught.value.hint
    with using_language("en"), pytest.raises(ConfigError) as caught:
        call(at, "status", {}, timeout=5)
    assert "is not an emulator's control address" in caught.value.message
    assert "PORT" in caught.value.hint and "ПОРТ" not in caught.value.hint
