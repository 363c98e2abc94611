"""Helpers for the emulated device's tests: send commands as a client would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kkt_bridge.drivers.shtrih.commands import REGISTRY, Command
from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.emulation.clock import ManualClock

START = datetime(2026, 3, 2, 10, 0, 0)
SYSADMIN = 30
CASHIER = 1


def device(**kwargs: Any) -> EmulatedDevice:
    kwargs.setdefault("clock", ManualClock(START))
    kwargs.setdefault("seed", 7)
    return EmulatedDevice(**kwargs)


def send(dev: EmulatedDevice, cmd: Command, **fields: Any) -> tuple[int, Any]:
    """(error code, parsed answer or None) for one command built by its declaration."""
    answer = dev.handle(cmd.build_request(**fields))
    echo = cmd.code_bytes
    assert answer[:len(echo)] == echo, "the answer must echo the command"
    error = answer[len(echo)]
    if error:
        assert len(answer) == len(echo) + 1, "an error answer carries echo and code only"
        return error, None
    return 0, cmd.answer.parse(answer[len(echo) + 1:])


def ok(dev: EmulatedDevice, cmd: Command, **fields: Any) -> Any:
    error, answer = send(dev, cmd, **fields)
    assert error == 0, f"{cmd} answered 0x{error:02X}"
    return answer


def error_of(dev: EmulatedDevice, cmd: Command, **fields: Any) -> int:
    return send(dev, cmd, **fields)[0]


def cmd(code: int) -> Command:
    return REGISTRY[code]


def mode(dev: EmulatedDevice) -> int:
    return int(ok(dev, cmd(0x10), password=CASHIER).mode)


def read_document_tlv(dev: EmulatedDevice, number: int) -> bytes:
    """FF3A + FF3B until error 08, as a client reads a document."""
    head = ok(dev, cmd(0xFF3A), password=SYSADMIN, fd_number=number)
    body = b""
    for _ in range(10_000):
        error, block = send(dev, cmd(0xFF3B), password=SYSADMIN)
        if error == 0x08:
            break
        assert error == 0
        body += block.data
    assert len(body) == head.length
    return (head.document_type.to_bytes(2, "little") + head.length.to_bytes(2, "little")
            + body)


def sale_line(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"password": CASHIER, "quantity": 1000, "price": 10000,
                              "department": 1, "taxes": [1, 0, 0, 0], "text": "Товар"}
    fields.update(overrides)
    return fields


def close_fields(cash: int, electronic: int = 0, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"password": CASHIER, "payments": [cash, electronic, 0, 0],
                              "discount_percent": 0, "taxes": [0, 0, 0, 0], "text": ""}
    fields.update(overrides)
    return fields


def v2_line(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "password": SYSADMIN, "operation": 1, "quantity": 1_000_000, "price": 10000,
        "amount": 0xFF_FF_FF_FF_FF, "tax_amount": 0xFF_FF_FF_FF_FF, "tax_rate": 0x08,
        "department": 1, "payment_method": 4, "payment_subject": 1, "name": "Товар"}
    fields.update(overrides)
    return fields


def v2_close(cash: int = 0, electronic: int = 0, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"password": SYSADMIN, "payments": [cash, electronic] + [0] * 14,
                              "rounding": 0, "tax_sums": [0] * 6, "tax_system": 0, "text": ""}
    fields.update(overrides)
    return fields
