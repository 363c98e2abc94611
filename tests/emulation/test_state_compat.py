"""State files written by the emulator before the kit existed still load, unchanged.

``fixtures/shtrih_state_v1.json`` (and its ``.archive``) were written by the Shtrih emulator
of commit 3a06c67: registration, a shift with two receipts (FF46 and classic), two documents
confirmed by the OFD, the shift closed. A later version must open them with the same
documents, counters and tables, and go on from there.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice, Item
from kkt_bridge.emulation.clock import ManualClock

FIXTURE = Path(__file__).parent / "fixtures" / "shtrih_state_v1.json"


@pytest.fixture
def old_state(tmp_path: Path) -> Path:
    target = tmp_path / FIXTURE.name
    shutil.copy(FIXTURE, target)
    shutil.copy(FIXTURE.with_name(FIXTURE.name + ".archive"),
                target.with_name(target.name + ".archive"))
    return target


def _archived_tlvs() -> list[bytes]:
    lines = FIXTURE.with_name(FIXTURE.name + ".archive").read_text("utf-8").splitlines()
    return [bytes.fromhex(json.loads(line)["tlv"]) for line in lines]


def test_an_old_state_file_loads_with_its_documents_and_counters(old_state: Path) -> None:
    device = EmulatedDevice(state_path=old_state, clock=ManualClock(datetime(2026, 3, 3, 9)))
    assert device.archive() == _archived_tlvs()
    assert device.registered
    state = device.state
    assert (state.shift.number, state.shift.is_open, state.shift.receipts) == (1, False, 2)
    assert state.identity.fn_number == "9999078902012345"
    assert device.tables.get_str(18, 1, 2).strip() == "7701234560"  # table 18: the INN


def test_an_old_state_file_goes_on_from_where_it_stopped(old_state: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 3, 9))
    device = EmulatedDevice(state_path=old_state, clock=clock)
    sale = device.sell([Item("Чай", 12000)])
    assert (sale.fd_number, sale.shift_number, sale.receipt_number) == (7, 2, 1)
    reopened = EmulatedDevice(state_path=old_state, clock=clock)
    assert reopened.archive()[:5] == _archived_tlvs()
    assert len(reopened.archive()) == 7
