"""The ATOL task handlers without a line: every refusal has its code, malformed and unknown
tasks get the protocol's answers, each known command has a handler."""

from __future__ import annotations

from kkt_bridge.drivers.atol.commands import REGISTRY
from kkt_bridge.drivers.atol.emulator.handlers import HANDLERS, REFUSALS, handle
from kkt_bridge.drivers.atol.emulator.register import AtolRegister
from kkt_bridge.drivers.atol.errors import CODES
from kkt_bridge.emulation import ManualClock, Reason


def _register() -> AtolRegister:
    return AtolRegister(clock=ManualClock(), seed=1)


def test_every_refusal_reason_is_an_atol_error_code() -> None:
    assert set(REFUSALS) == set(Reason)
    assert set(REFUSALS.values()) <= set(CODES)


def test_every_declared_command_has_a_handler() -> None:
    assert {cmd.name for cmd in REGISTRY.values()} == set(HANDLERS)


def test_unknown_and_malformed_tasks() -> None:
    reg = _register()
    assert handle(reg, bytes.fromhex("00 00 EF")) == (False, bytes.fromhex("55 F2 00"))
    ok, answer = handle(reg, bytes.fromhex("00 00 A4 45 01"))  # the ФД number cut short
    assert not ok and answer == bytes.fromhex("55 14")
    ok, answer = handle(reg, bytes.fromhex("00 00 56 01"))  # no mode password
    assert not ok and answer[:2] == bytes.fromhex("55 14")


def test_a_cashiers_command_outside_its_mode_is_0x66() -> None:
    assert handle(_register(), bytes.fromhex("00 00 9A 00")) == (
        False, bytes.fromhex("55 66 00"))
