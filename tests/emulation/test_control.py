"""Acting on a running emulator as a service engineer and a cashier would: the control
commands of ``kkt-bridge emulator`` against a real ``kkt-bridge emulator`` process, checked
through the register's own line with the project's driver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kkt_bridge.cli.emulator import parse_item, rubles
from kkt_bridge.cli.main import cli
from kkt_bridge.errors import ConfigError
from kkt_bridge.fiscal import decode_document, parse_document
from kkt_bridge.kkt import FnLifecycle
from kkt_bridge.registers import open_register

KKT_BRIDGE = str(Path(sys.executable).with_name("kkt-bridge"))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(pty path, control URL, state file) of an unregistered emulator in its own process."""
    state = tmp_path / "kkt.json"
    proc = subprocess.Popen([KKT_BRIDGE, "emulator", "--unregistered", "--state", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pty_path = proc.stdout.readline().strip()
        control = proc.stdout.readline().strip()
        assert control.startswith("control http://127.0.0.1:"), control
        yield pty_path, control.split()[1], state
    finally:
        proc.terminate()
        proc.wait(10)
    assert not state.with_name("kkt.json.control").exists(), "the control file goes at exit"


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["emulator", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_service_engineer_and_a_cashier_at_the_keyboard(
        running: tuple[str, str, Path]) -> None:
    pty_path, url, state = running
    assert "ФД 1" in _run("register", "--at", str(state))  # the state file finds it too
    _run("open-shift", "--at", url)
    out = _run("sell", "--at", url, "--item", "Хлеб:49.90:2:10", "--item", "Молоко:89",
               "--cash", "200")
    assert "итог 188,80\u00a0₽, сдача 11,20\u00a0₽" in out
    _run("sell", "--at", url, "--item", "Хлеб:49.90", "--operation", "sale-return",
         "--electronic", "49.90")
    _run("close-shift", "--at", url)
    assert "ФД 6" in _run("reregister", "--at", url, "--reason", "3")
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        assert kkt.fn_status().last_fd_number == 6
        receipt = decode_document(kkt.read_document(3))
        assert receipt.total == 18880  # type: ignore[attr-defined]
        assert [item.name for item in receipt.items] == ["Хлеб", "Молоко"]  # type: ignore[attr-defined]
        assert dict(parse_document(kkt.read_document(4))[1])[1054] == 2  # a return
        old_fn = kkt.fn_status().fn_number
    out = _run("replace-fn", "--at", url)
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        status = kkt.fn_status()
        assert status.fn_number != old_fn and status.fn_number in out
        assert status.lifecycle == FnLifecycle.FISCAL and status.last_fd_number == 1


@pytest.mark.parametrize(("args", "words"), [
    # the register's reason, the same on every protocol, with the command that helps
    # (not the 0x8F «не фискализирована» the Shtrih front end answers on its line)
    (["open-shift"], "не зарегистрирована. Зарегистрируйте её: kkt-bridge emulator register"),
    (["sell", "--item", "Хлеб:49.90"], "ККТ не зарегистрирована"),
    (["close-shift"], "ККТ не зарегистрирована"),
    (["reregister"], "ещё не зарегистрирована"),
    (["sell", "--item", "Хлеб:abc"], "Хлеб:abc"),
])
def test_the_keyboard_says_what_is_wrong(running: tuple[str, str, Path], args: list[str],
                                         words: str) -> None:
    _pty, url, _state = running
    result = CliRunner().invoke(cli, ["emulator", *args, "--at", url])
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output


def test_only_the_holder_of_the_token_acts(running: tuple[str, str, Path]) -> None:
    _pty, url, _state = running
    base, _token = url.rsplit("/", 1)
    assert httpx.post(f"{base}/wrong-token/register", json={}).status_code == 404
    assert httpx.post(f"{url}/open-shift", content=b"[1]").json()["ok"] is False


def test_no_emulator_at_the_address(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["emulator", "status", "--at", str(tmp_path / "none")])
    assert result.exit_code != 0 and "нет запущенного эмулятора" in result.output


@pytest.mark.parametrize(("text", "item"), [
    ("Хлеб:49.90", {"name": "Хлеб", "price": 4990}),
    ("Хлеб:49,90:2:10", {"name": "Хлеб", "price": 4990, "quantity": "2", "vat": 2}),
    ("Сыр:весовой:259.90:0.35:none",
     {"name": "Сыр:весовой", "price": 25990, "quantity": "0.35", "vat": 6}),
])
def test_items_as_people_write_them(text: str, item: dict[str, object]) -> None:
    assert parse_item(text) == item


@pytest.mark.parametrize("text", ["Хлеб", ":49.90", "Хлеб:1:2:3", "Хлеб:49.999"])
def test_items_that_are_not(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_item(text)


def test_rubles() -> None:
    assert rubles("0.01", "x") == 1 and rubles("1 000".replace(" ", ""), "x") == 100000


def test_status_counts_the_line_and_the_cpu(running: tuple[str, str, Path]) -> None:
    pty_path, url, _state = running
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        kkt.fn_status()
    status = httpx.post(f"{url}/status", json={}).json()
    line = status["lines"][0]
    assert line["url"] == pty_path and line["bytes_in"] > 0 and line["bytes_out"] > 0
    assert line["wakeups"] > 0 and status["cpu_seconds"] > 0
    assert (status["registered"], status["last_fd_number"]) == (False, 0)
