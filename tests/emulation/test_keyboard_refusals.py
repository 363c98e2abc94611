"""A keyboard action the register refuses says the register's reason in words, on every
protocol and in the user's language.

The Shtrih-M front end runs the keyboard's actions through its protocol; its answer code
alone («код 0x46») used to be all the user got. These go through the control API as
``kkt-bridge emulator sell/open-shift/close-shift`` does, with nothing in the way between
the keyboard and the register's own checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation import Emulator, ManualClock
from kkt_bridge.emulation.control import ControlServer, call
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import using_language

Keyboard = Callable[..., ControlServer]


@pytest.fixture
def keyboard(driver: str) -> Iterator[Keyboard]:
    started: list[tuple[Emulator, ControlServer]] = []

    def make(*, registered: bool = True) -> ControlServer:
        emu = Emulator(get_emulator(driver), pty=False, tcp=0, registered=registered,
                       clock=ManualClock(), seed=3).start()
        server = ControlServer(emu).start()
        started.append((emu, server))
        return server

    try:
        yield make
    finally:
        for emu, server in started:
            server.stop()
            emu.stop()


def _refused(control: ControlServer, action: str, data: dict[str, Any],
             lang: str) -> ConfigError:
    before = len(control.emu.archive())
    with using_language(lang), pytest.raises(ConfigError) as caught:
        call(control.url, action, data)
    assert len(control.emu.archive()) == before  # a refusal makes no document
    return caught.value


BREAD = {"name": "Хлеб", "price": 1000}

#: the words of each refusal: (ru message, ru hint), (en message, en hint)
WORDS = {
    "cash": (("не хватает наличности в кассе", "уменьшите сумму или внесите наличные"),
             ("not enough cash in the drawer", "reduce the sum or put cash in")),
    "card": (("безналичная оплата 20,00\u00a0₽ больше итога чека 10,00\u00a0₽",
              "сдачу ККТ даёт только с наличных: безналичными платят не больше итога, "
              "остальное — наличными"),
             ("the card payment RUB 20.00 is more than the receipt total RUB 10.00",
              "a register gives change from cash only: pay by card no more than the "
              "total, the rest in cash")),
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_not_enough_cash_for_a_refund(keyboard: Keyboard, lang: str) -> None:
    control = keyboard()
    call(control.url, "open-shift", {})
    error = _refused(control, "sell", {"items": [BREAD], "operation": 2,
                                       "payments": {"cash": 1000}}, lang)
    assert (error.message, error.hint) == WORDS["cash"][0 if lang == "ru" else 1]
    if lang == "en":
        assert not any("\u0400" <= c <= "\u04ff" for c in error.message + (error.hint or ""))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_card_payment_above_the_total(keyboard: Keyboard, lang: str) -> None:
    control = keyboard()
    call(control.url, "open-shift", {})
    error = _refused(control, "sell", {"items": [BREAD], "payments": {"electronic": 2000}},
                     lang)
    assert (error.message, error.hint) == WORDS["card"][0 if lang == "ru" else 1]


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize(("action", "data"), [("open-shift", {}), ("close-shift", {}),
                                              ("sell", {"items": [BREAD]})])
def test_an_unregistered_register(keyboard: Keyboard, action: str, data: dict[str, Any],
                                  lang: str) -> None:
    control = keyboard(registered=False)
    error = _refused(control, action, data, lang)
    if lang == "ru":
        assert error.message == "ККТ не зарегистрирована"
        assert error.hint is not None and error.hint.startswith(
            "зарегистрируйте её: kkt-bridge emulator register --at ")
    else:
        assert error.message == "The register is not registered"
        assert error.hint is not None and "kkt-bridge emulator register --at " in error.hint
        assert not any("\u0400" <= c <= "\u04ff" for c in error.message + error.hint)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_item_name_longer_than_its_tag(keyboard: Keyboard, lang: str) -> None:
    """Not a refusal the Shtrih-M register makes (it cuts the name to 128 characters
    without a word): the keyboard checks it itself, the same for both protocols."""
    control = keyboard()
    error = _refused(control, "sell", {"items": [{"name": "Х" * 129, "price": 1000}]}, lang)
    if lang == "ru":
        assert error.message == f"название «{'Х' * 40}…» длиннее 128 знаков (тег 1030)"
        assert error.hint == "сократите название позиции"
    else:
        assert error.message == f"the name “{'Х' * 40}…” is longer than 128 characters " \
            "(tag 1030)"
