"""A driver contributes its emulator front end; the factory and the fixture find it by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kkt_bridge import driverapi
from kkt_bridge.drivers.shtrih.emulator.frontend import FRONT_END
from kkt_bridge.emulation import Emulator, FrontEnd
from kkt_bridge.errors import PluginError


def test_the_shtrih_driver_offers_its_front_end() -> None:
    assert driverapi.get_emulator("shtrih") is FRONT_END
    assert driverapi.get_emulator() is FRONT_END


class _NoEmulator:
    name = "bare"
    emulator = None


@pytest.mark.parametrize(("drivers", "name", "words"), [
    ({}, "nosuch", "nosuch"),
    ({"bare": _NoEmulator()}, "bare", "не предлагает эмулятор"),
])
def test_a_driver_without_an_emulator_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, drivers: dict[str, Any], name: str,
        words: str) -> None:
    real = driverapi.load_drivers()
    monkeypatch.setattr(driverapi, "load_drivers", lambda: {**real, **drivers})
    with pytest.raises(PluginError) as error:
        driverapi.get_emulator(name)
    assert words in str(error.value) and error.value.hint


def test_the_fixture_takes_a_driver(kkt_emulator_factory: Callable[..., Emulator]) -> None:
    emu = kkt_emulator_factory(driver="shtrih", pty=False)
    assert isinstance(emu.front_end, FrontEnd) and emu.tcp_url
    with pytest.raises(PluginError):
        kkt_emulator_factory(driver="nosuch")
