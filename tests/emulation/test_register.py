"""The protocol-neutral virtual register, driven directly (no protocol, no line)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kkt_bridge.emulation import (
    DEMO_PROFILE,
    Item,
    ManualClock,
    Profile,
    Reason,
    Refused,
    VirtualRegister,
)
from kkt_bridge.emulation.profile import rnm_is_valid
from kkt_bridge.fiscal import decode_document, parse_document
from kkt_bridge.fiscal.facts import DOC_REGISTRATION, DOC_REREGISTRATION, VAT_10


def _register(tmp_path: Path | None = None, **options: object) -> VirtualRegister:
    return VirtualRegister(clock=ManualClock(datetime(2026, 5, 4, 10)),
                           state_path=tmp_path / "kkt.json" if tmp_path else None,
                           **options)  # type: ignore[arg-type]


def test_a_day_at_the_register_without_a_protocol() -> None:
    reg = _register()
    assert reg.registered and len(reg.archive()) == 1
    reg.open_shift()
    sale = reg.sell([Item("Хлеб", 4990, 2, vat=VAT_10), ("Молоко", 8900)], {"cash": 20000})
    assert (sale.total, sale.change, sale.receipt_number) == (18880, 1120, 1)
    receipt = decode_document(sale.document)
    assert receipt.total == 18880  # type: ignore[attr-defined]
    reg.close_shift()
    assert [parse_document(tlv)[0] for tlv in reg.archive()] == [1, 2, 3, 5]
    assert reg.state.cash_in_drawer == 18880


def test_refusals_change_nothing() -> None:
    reg = _register()
    before = reg.archive()
    with pytest.raises(Refused) as refused:
        reg.sell([("Хлеб", 4990)], {"cash": 100})
    assert refused.value.reason is Reason.PAYMENTS_LESS_THAN_TOTAL
    # the sale had opened the shift before it was refused: the shift report stays, the
    # receipt does not
    assert reg.receipt is None and reg.archive()[:len(before)] == before
    with pytest.raises(Refused) as refused:
        reg.open_shift()
    assert refused.value.reason is Reason.SHIFT_OPEN


@pytest.mark.parametrize("price", [0xFF_FFFF_FFFF + 1, 0xFF_FFFF_FFFF // 2 + 1])
def test_a_total_that_does_not_fit_the_money_fields_is_refused(price: int) -> None:
    reg = _register()
    reg.open_shift()
    count = len(reg.archive())
    with pytest.raises(Refused) as refused:
        reg.sell([("Слиток", price), ("Слиток", price)])
    assert refused.value.reason is Reason.TOTAL_OVERFLOW
    assert len(reg.archive()) == count and reg.receipt is None


def test_each_new_register_has_its_own_serial_and_fn_unless_the_profile_fixes_them() -> None:
    fresh = Profile()
    first, second = _register(profile=fresh), _register(profile=fresh)
    numbers = {(r.state.identity.serial, r.state.identity.fn_number) for r in (first, second)}
    assert len(numbers) == 2
    for reg in (first, second):
        ident = reg.state.identity
        # the digits every protocol carries whole (ATOL 3F: 8 BCD digits), no leading zero
        assert len(ident.serial) == 8 and ident.serial.isdigit() and ident.serial[0] != "0"
        assert rnm_is_valid(reg.state.registrations[0].rnm, fresh.inn, ident.serial)
    fixed = Profile(kkt_serial="0000000000000042", fn_number="9999078900000042")
    reg = _register(profile=fixed)
    assert (reg.state.identity.serial, reg.state.identity.fn_number) == (
        "0000000000000042", "9999078900000042")
    seeded = {_register(profile=fresh, seed=3).state.identity.serial for _ in range(2)}
    assert len(seeded) == 1, "a seed makes the numbers reproducible"


def test_unregistered_with_a_profile_registers_with_it_later() -> None:
    profile = Profile(inn="5001007329", rnm_sequence="0000000077", tax_systems=0b10)
    reg = _register(profile=profile, registered=False)
    assert reg.archive() == [] and not reg.registered
    document = reg.register()
    assert document.doc_type == DOC_REGISTRATION
    assert reg.state.registrations[-1].inn == "5001007329"
    assert reg.register(reason=3).doc_type == DOC_REREGISTRATION


def test_a_new_fn_starts_empty_and_is_registered_again() -> None:
    reg = _register()
    old = reg.state.identity.fn_number
    reg.sell([("Хлеб", 4990)])
    reg.close_shift()
    document = reg.replace_fn()
    assert reg.state.identity.fn_number != old
    assert document.number == 1 and len(reg.archive()) == 1
    tags = dict(parse_document(reg.archive()[0])[1])
    assert tags[1041] == reg.state.identity.fn_number
    with pytest.raises(Refused):
        reg.replace_fn(reg.state.identity.fn_number)  # the same ФН is no replacement


def test_a_new_fn_is_refused_in_an_open_shift() -> None:
    reg = _register()
    reg.open_shift()
    with pytest.raises(Refused) as refused:
        reg.replace_fn()
    assert refused.value.reason is Reason.SHIFT_OPEN


def test_ofd_confirmations_survive_a_restart(tmp_path: Path) -> None:
    reg = _register(tmp_path)
    reg.sell([("Хлеб", 4990)])
    reg.sell([("Чай", 9900)])
    assert reg.acknowledge_ofd(2) == 2
    again = _register(tmp_path)
    assert [d.ofd_acknowledged for d in again.state.archive.documents] == [
        True, True, False, False]


def test_the_clock_and_the_24_hour_rule() -> None:
    clock = ManualClock(datetime(2026, 5, 4, 10))
    reg = VirtualRegister(clock=clock, profile=DEMO_PROFILE)
    reg.open_shift()
    clock.advance(timedelta(hours=25))
    with pytest.raises(Refused) as refused:
        reg.sell([("Хлеб", 4990)])
    assert refused.value.reason is Reason.SHIFT_OVER_24H
    reg.close_shift()
    reg.sell([("Хлеб", 4990)])
