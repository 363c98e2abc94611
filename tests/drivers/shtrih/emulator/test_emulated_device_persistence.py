"""Persistence across restarts, power loss, and the atomic state file."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from emulated_device_helpers import CASHIER, SYSADMIN, cmd, device, error_of, mode, ok, sale_line

from kkt_bridge.drivers.shtrih.errors import FnFailureError
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.errors import StoreError
from kkt_bridge.fiscal import parse_document


def test_the_whole_device_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kkt.json"
    clock = ManualClock()
    first = device(state_path=path, clock=clock)
    first.open_shift()
    first.sell([("Хлеб", 4500)])
    ok(first, cmd(0x1E), password=SYSADMIN, table=2, row=3, field=2,
       value="Петрова".encode("cp1251"))
    first.set_clock_offset(timedelta(minutes=5))
    ok(first, cmd(0x50), password=CASHIER, amount=700)
    first.acknowledge_ofd(up_to=1)

    second = device(state_path=path, clock=clock, registered=False)  # the file wins
    assert second.archive() == first.archive()
    assert second.state.to_json() == first.state.to_json()
    assert mode(second) == 2
    assert ok(second, cmd(0xFF40), password=SYSADMIN).receipt_number == 1
    assert ok(second, cmd(0x1F), password=SYSADMIN, table=2, row=3, field=2).value.rstrip(
        b"\x00").decode("cp1251") == "Петрова"
    assert second.now() == first.now()
    # it goes on numbering where the first one stopped, with the same signing key
    second.sell([("Хлеб", 4500)])
    assert parse_document(second.archive()[-1])[1][-3] == (1040, len(first.archive()) + 1)


def test_a_new_state_file_is_created_for_a_new_device(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "kkt.json"
    device(state_path=path, registered=False)
    assert json.loads(path.read_text("utf-8"))["lifecycle"] == 1


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kkt.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError) as info:
        device(state_path=path)
    assert info.value.hint
    good = tmp_path / "good.json"
    device(state_path=good)
    archive = tmp_path / "good.json.archive"
    record = json.loads(archive.read_text("utf-8"))
    record["tlv"] = record["tlv"][:-6]  # a truncated document
    archive.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(StoreError):
        device(state_path=good)
    archive.unlink()  # the state counts a document the archive does not have
    with pytest.raises(StoreError):
        device(state_path=good)


def test_power_loss_loses_the_open_receipt_and_keeps_every_document(tmp_path: Path) -> None:
    path = tmp_path / "kkt.json"
    dev = device(state_path=path)
    dev.open_shift()
    dev.sell([("Хлеб", 4500)])
    kept = dev.archive()
    ok(dev, cmd(0x80), **sale_line())
    ok(dev, cmd(0x80), **sale_line())
    ok(dev, cmd(0xFF3A), password=SYSADMIN, fd_number=1)
    dev.power_cycle()
    assert dev.archive() == kept
    assert mode(dev) == 2  # the shift is open, the receipt is gone
    assert error_of(dev, cmd(0xFF3B), password=SYSADMIN) == 0x08
    assert ok(dev, cmd(0xFF40), password=SYSADMIN).receipt_number == 1
    dev.sell([("Соль", 1500)])
    assert len(dev.archive()) == len(kept) + 1


def test_a_crash_while_saving_leaves_the_previous_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kkt.json"
    dev = device(state_path=path)
    dev.open_shift()
    before = path.read_bytes()

    def power_fails(*_args: object) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", power_fails)
    with pytest.raises(FnFailureError):  # the ФН could not write: error 0x03
        dev.sell([("Хлеб", 4500)])
    monkeypatch.undo()
    assert path.read_bytes() == before
    # no temporary file left; the archive may hold the unsaved receipt until the next load
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kkt.json", "kkt.json.archive"]
    # the device came back from the file: the unwritten receipt does not exist
    assert len(dev.archive()) == 2 and dev.receipt is None
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).last_fd_number == 2
    dev.sell([("Хлеб", 4500)])
    assert len(dev.archive()) == 3
    again = device(state_path=path)
    assert again.archive() == dev.archive()


def test_a_torn_archive_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "kkt.json"
    dev = device(state_path=path)
    dev.open_shift()
    with (tmp_path / "kkt.json.archive").open("ab") as handle:
        handle.write(b'{"number": 3, "ty')  # power went during an append
    again = device(state_path=path)
    assert again.archive() == dev.archive()
    again.sell([("Хлеб", 4500)])
    assert device(state_path=path).archive() == again.archive()
    for document in dev.archive():
        parse_document(document)
