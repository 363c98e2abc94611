"""Every error code of the reference maps to its own typed error with a Russian message."""

from __future__ import annotations

import pytest

from kkt_bridge.drivers.shtrih import errors as shtrih_errors
from kkt_bridge.drivers.shtrih.errors import (
    FnError,
    FnNoDataError,
    ShtrihDeviceError,
    UnknownDeviceError,
    error_for,
    raise_for,
)
from kkt_bridge.errors import DeviceError
from kkt_bridge.i18n import set_language

# the reference's §2 table, every code but 00
REFERENCE_CODES = [0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x16,
                   0x33, 0x34, 0x37, 0x45, 0x46, 0x4A, 0x4E, 0x4F, 0x50, 0x55, 0x58, 0x5D,
                   0x6B, 0x72, 0x73, 0x7E, 0x8E, 0x8F]
#: codes the emulator answers beyond the reference's table: 0x48 "переполнение итога чека"
#: (a total that does not fit the 5-byte money field), the same in every public Shtrih
#: error table
BEYOND_REFERENCE = [0x48]


def test_the_table_is_complete_and_each_class_distinct() -> None:
    assert sorted(shtrih_errors.BY_CODE) == sorted(REFERENCE_CODES + BEYOND_REFERENCE)
    classes = list(shtrih_errors.BY_CODE.values())
    assert len(set(classes)) == len(classes)


@pytest.mark.parametrize("code", REFERENCE_CODES)
def test_each_code_raises_its_class_with_message_and_hint(code: int) -> None:
    with pytest.raises(shtrih_errors.BY_CODE[code]) as info:
        raise_for(0xFF01, code)
    error = info.value
    assert isinstance(error, DeviceError) and isinstance(error, ShtrihDeviceError)
    assert error.code == code and error.command == 0xFF01
    assert f"0x{code:02X}" in error.message
    assert "0xFF01" in error.message
    assert any("а" <= ch <= "я" for ch in error.message.lower())  # Russian
    assert error.hint
    assert isinstance(error, FnError) == shtrih_errors.is_fn_code(code)


@pytest.mark.parametrize("code", [0x04, 0x20, 0x99, 0xA5, 0xFF])
def test_unknown_codes_name_the_code_in_hex(code: int) -> None:
    error = error_for(0x10, code)
    assert type(error) is UnknownDeviceError
    assert f"0x{code:02X}" in error.message
    assert error.code == code


def test_zero_is_not_an_error() -> None:
    with pytest.raises(ValueError):
        raise_for(0x10, 0)


def test_messages_translate() -> None:
    try:
        set_language("en")
        error = error_for(0xFF3B, 0x08)
    finally:
        set_language("ru")
    assert isinstance(error, FnNoDataError)
    assert error.message.startswith("the register rejected command 0xFF3B")
    assert "no requested data (code 0x08)" in error.message
    assert error.hint and error.hint.startswith("check the document number")


@pytest.mark.parametrize("code", REFERENCE_CODES)
def test_each_code_has_an_english_message_and_hint(code: int) -> None:
    """Under --lang en nothing Russian is left: the meaning, the hint and the command title."""
    from kkt_bridge.drivers.shtrih.commands import REGISTRY

    try:
        set_language("en")
        errors = [error_for(command, code) for command in REGISTRY]
    finally:
        set_language("ru")
    for error in errors:
        text = f"{error.message} {error.hint}"
        assert not any("а" <= ch <= "я" or ch == "ё" for ch in text.lower()), text
        assert f"(code 0x{code:02X})" in error.message
