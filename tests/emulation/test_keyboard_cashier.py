"""``kkt-bridge emulator sell|open-shift|close-shift --cashier NAME [--cashier-inn INN]``: the
documents made at the keyboard carry that cashier (tags 1021 and 1203), for every driver,
read back from the ФН through the driver; the cash software's own cashier is untouched, and
a wrong cashier makes no document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.emulation.control import ControlServer
from kkt_bridge.emulation.profile import Profile
from kkt_bridge.fiscal import parse_document
from kkt_bridge.registers import open_register

CASHIER_INN = "500100732259"  # 12 digits with valid check digits
PROFILE_CASHIER = "Иванов И.И."


@pytest.fixture(params=["shtrih", "atol"])
def keyboard(request: pytest.FixtureRequest, kkt_emulator_factory: Callable[..., Any]
             ) -> Iterator[tuple[Any, str, str]]:
    """(emulator, its control URL, driver) of a registered emulator over TCP."""
    emu = kkt_emulator_factory(driver=request.param, pty=False, tcp=0,
                               profile=Profile(cashier=PROFILE_CASHIER))
    control = ControlServer(emu).start()
    try:
        yield emu, control.url, request.param
    finally:
        control.stop()


def _emulator(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["emulator", *args])
    return result.exit_code, result.output


def _cashier_tags(url: str, driver: str, fd: int) -> tuple[Any, Any]:
    with open_register(url, driver=driver) as kkt:  # type: ignore[attr-defined]
        tags = dict(parse_document(kkt.read_document(fd))[1])
    return tags.get(1021), tags.get(1203)


def test_the_documents_carry_the_cashier_at_the_keyboard(
        keyboard: tuple[Any, str, str]) -> None:
    emu, url, driver = keyboard
    assert _emulator("sell", "--at", url, "--item", "Соль:19")[0] == 0
    # the register's own cashier: Shtrih's cashier table (the operator of the password),
    # ATOL's profile
    own = _cashier_tags(emu.tcp_url, driver, len(emu.archive()))[0]
    assert own and own != "Петрова А.А."
    assert _emulator("close-shift", "--at", url)[0] == 0
    code, out = _emulator("open-shift", "--at", url, "--cashier", "Сидоров С.С.")
    assert code == 0, out
    code, out = _emulator("sell", "--at", url, "--item", "Хлеб:49.90", "--cash", "50",
                          "--cashier", "Петрова А.А.", "--cashier-inn", CASHIER_INN)
    assert code == 0, out
    code, out = _emulator("sell", "--at", url, "--item", "Молоко:89")
    assert code == 0, out
    last = len(emu.archive())
    assert _cashier_tags(emu.tcp_url, driver, last - 2) == ("Сидоров С.С.", None)
    assert _cashier_tags(emu.tcp_url, driver, last - 1) == ("Петрова А.А.", CASHIER_INN)
    # the next receipt without --cashier: the register's own cashier again
    assert _cashier_tags(emu.tcp_url, driver, last) == (own, None)
    code, out = _emulator("close-shift", "--at", url, "--cashier", "Петрова А.А.",
                          "--cashier-inn", CASHIER_INN)
    assert code == 0, out
    assert _cashier_tags(emu.tcp_url, driver, last + 1) == ("Петрова А.А.", CASHIER_INN)


@pytest.mark.parametrize(("extra", "words"), [
    (("--cashier", "  "), "имя кассира пустое"),
    (("--cashier", "К" * 65), "длиннее 64"),
    (("--cashier", "Петрова 🙂"), "CP866"),
    (("--cashier", "Петрова А.А.", "--cashier-inn", "500100732250"), "неверен"),
    (("--cashier", "Петрова А.А.", "--cashier-inn", "7707083893"), "12 цифр"),
    (("--cashier-inn", CASHIER_INN), "Укажите и --cashier"),
])
def test_a_wrong_cashier_makes_no_document(keyboard: tuple[Any, str, str],
                                           extra: tuple[str, ...], words: str) -> None:
    emu, url, _driver = keyboard
    before = emu.archive()
    code, out = _emulator("sell", "--at", url, "--item", "Хлеб:49.90", *extra)
    assert code == 2 and words in out and "Traceback" not in out, out
    assert emu.archive() == before
    assert emu.device.keyboard_cashier is None
