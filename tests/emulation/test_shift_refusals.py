"""The keyboard's shift actions refuse the same way on every protocol, and the hint is a
command the user can run as it stands."""

from __future__ import annotations

from typing import Any

import pytest

from kkt_bridge.emulation.control import run_action, with_at
from kkt_bridge.errors import ConfigError, DeviceError


@pytest.mark.parametrize(("action", "words"), [("close-shift", "смена закрыта"),
                                               ("open-shift", "смена открыта")])
def test_a_shift_in_the_wrong_state_is_refused_with_what_is_wrong(
        kkt_emulator_factory: Any, driver: str, action: str, words: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=False, tcp=0)
    if action == "open-shift":
        run_action(emu, "open-shift", {})
    before = len(emu.archive())
    with pytest.raises(ConfigError) as caught:  # Shtrih-M said DeviceError 0x73 here
        run_action(emu, action, {})
    assert not isinstance(caught.value, DeviceError)
    assert words in str(caught.value)
    assert len(emu.archive()) == before


def test_the_hint_gets_the_at_the_user_gave() -> None:
    assert with_at("откройте смену: kkt-bridge emulator open-shift", "kkt.json") == (
        "откройте смену: kkt-bridge emulator open-shift --at kkt.json")
    assert with_at("kkt-bridge emulator register --at x", "y") == (
        "kkt-bridge emulator register --at x")
    assert with_at("проверьте значения", "kkt.json") == "проверьте значения"
    assert with_at("kkt-bridge emulator sell", "my kkt.json").endswith("--at 'my kkt.json'")
