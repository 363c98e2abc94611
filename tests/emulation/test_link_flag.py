"""Yes/no link options mean the same from Python and from the command line."""

from __future__ import annotations

import pytest

from kkt_bridge.drivers.shtrih.emulator.frontend import FRONT_END
from kkt_bridge.emulation.emulator import link_flag
from kkt_bridge.emulation.faults import FaultInjector
from kkt_bridge.errors import ConfigError


@pytest.mark.parametrize("value", [True, "1", "yes", "true", "on", "", "да", "ON"])
def test_yes(value: object) -> None:
    assert link_flag("stray_ff", value) is True


@pytest.mark.parametrize("value", [False, "0", "no", "false", "off", "нет", " 0 "])
def test_no(value: object) -> None:
    assert link_flag("stray_ff", value) is False


@pytest.mark.parametrize("value", ["2", "maybe", "-1"])
def test_anything_else_is_refused_with_a_hint(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        link_flag("stray_ff", value)
    assert "stray_ff" in str(caught.value)


@pytest.mark.parametrize(("given", "expected"), [("0", False), ("1", True), (False, False)])
def test_stray_ff_from_the_command_line(given: object, expected: bool) -> None:
    register = FRONT_END.make_register()
    link = FRONT_END.make_link(register, FaultInjector(), "tcp", {"stray_ff": given})
    assert link.stray_ff is expected
