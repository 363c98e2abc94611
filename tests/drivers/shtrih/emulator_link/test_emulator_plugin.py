"""An integrator's own test suite gets ``kkt_emulator`` from the installed ``pytest11`` entry
point: no conftest, no import of kkt_bridge in the test file, a pytest in another process."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INTEGRATOR_TESTS = '''
from datetime import timedelta

import pyshtrih
import serial


def test_my_till_sells(kkt_emulator):
    till = pyshtrih.ShtrihM01F(kkt_emulator.pty_path, 115200)
    till.connect()
    try:
        before = len(kkt_emulator.archive())
        till.open_shift()
        till.wait_printing()
        till.sale(("Хлеб", 1000, 4990))
        till.close_check(cash=5000)
        till.wait_printing()
    finally:
        till.disconnect()
    assert len(kkt_emulator.archive()) == before + 2  # shift open + receipt


def test_tcp_line_and_the_clock(kkt_emulator):
    with serial.serial_for_url(kkt_emulator.tcp_url, timeout=2) as port:
        port.write(b"\\x05")
        assert port.read(1) == b"\\x15"
    kkt_emulator.open_shift()
    kkt_emulator.clock.advance(timedelta(hours=25))
    till = pyshtrih.ShtrihM01F(kkt_emulator.pty_path, 115200)
    till.connect()
    try:
        assert till.state()["Режим ФР"].num == 3  # the shift is over 24 h
    finally:
        till.disconnect()


def test_a_fresh_register(kkt_emulator_factory):
    emu = kkt_emulator_factory(registered=False, pty=False)
    assert emu.archive() == []
    emu.register()
    assert len(emu.archive()) == 1
'''


def test_an_integrators_suite_uses_the_fixture_through_the_entry_point(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_till=INTEGRATOR_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_without_the_plugin_there_is_no_fixture(pytester: pytest.Pytester) -> None:
    """The control: the fixture comes from the entry point, nothing else provides it."""
    pytester.makepyfile(test_till=INTEGRATOR_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider",
                                           "-p", "no:kkt_bridge")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*fixture 'kkt_emulator*' not found*"])
