"""Acceptance for ATOL: a cash program sells through the shared pty while the bridge catches
up a backlog through the same link owner, document by document.

No third-party ATOL client exists here, so the cash program is the project's own ATOL driver
opened on the shared pty by its stable name, exactly as on the register's tty: its own packet
ids, task ids, REQ polling and deferred ACKs. The bridge's side reads A4 45/46 through
:class:`~kkt_bridge.share.SharedKkt`. Each side must see what it would see alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from share_helpers import READ_BOUND, Reader, assert_read_once, fill

from kkt_bridge.drivers.atol.commands import receipt, status
from kkt_bridge.drivers.atol.driver import AtolKkt
from kkt_bridge.drivers.atol.plugin import driver as atol_driver
from kkt_bridge.fiscal import Receipt, ShiftCloseReport, ShiftOpenReport, decode_document
from kkt_bridge.share import Completed, LinkOwner, SharedKkt, SharedPort

BACKLOG = 60
#: a cashier's pause between two steps of the day (scanning, taking the money): cash
#: software sends its tasks back to back only inside one step
CASHIER_PAUSE = 0.3


def a_day(till: AtolKkt, mark: Callable[[], None]) -> None:
    """Statuses, a shift, a receipt and the Z-report, as cash software sends them; ``mark``
    is called between the steps."""
    till.execute(status.STATE)
    till.fn_status()
    mark()
    till.execute(status.ENTER_MODE, mode=1, mode_password=1)
    till.execute(receipt.OPEN_SHIFT, test=0)
    mark()
    till.execute(receipt.OPEN_RECEIPT, flags=0, receipt_type=1)
    till.execute(receipt.ITEM, flags=2, name="Хлеб", price=4990, quantity=2000,
                 discount_sign=0, discount=0, tax=7, section=1)
    till.execute(receipt.CLOSE_RECEIPT, test=0, payment_type=1, amount=10000)
    mark()
    till.execute(status.LEAVE_MODE)
    till.execute(status.ENTER_MODE, mode=3, mode_password=29)
    till.execute(receipt.Z_REPORT)
    till.execute(status.LEAVE_MODE)
    mark()
    till.execute(status.STATE)


def test_a_day_of_an_atol_cash_program_during_a_backlog_catch_up(
        kkt_emulator_factory: Callable[..., Any],
        shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[..., Reader]) -> None:
    emu = kkt_emulator_factory(driver="atol", tcp=None, seed=11)
    fill(emu, BACKLOG)
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=None, driver="atol")
    made: list[Completed] = []
    owner.subscribe(made.append)
    before = len(emu.archive())
    # the catch-up stops one document short of the backlog until the day is done, and the
    # day starts once it is under way: every step of the day meets it, whatever the load
    reader = reader_for(owner.kkt(), hold_at=before - 1)
    assert reader.started.wait(READ_BOUND), "the catch-up began"

    progress: list[int] = []
    till = atol_driver.open(str(port.link))
    try:
        def mark() -> None:
            progress.append(len(reader.read))
            time.sleep(CASHIER_PAUSE)

        a_day(till, mark)
    finally:
        till.close()
        reader.resume.set()
    reader.finish.set()
    reader.join(READ_BOUND)

    assert_read_once(reader, emu)
    archive = emu.archive()
    assert any(0 < n < before for n in progress), f"sales met the catch-up: {progress}"
    new = [decode_document(data) for data in archive[before:]]
    assert [type(doc) for doc in new] == [ShiftOpenReport, Receipt, ShiftCloseReport]
    # the export follows the sales: one event per document, from the command that made it
    assert [c.command for c in made] == ["9A", "4A", "5A"]
    assert all(c.made_document for c in made)


def test_two_atol_cash_programs_on_the_pty_and_tcp_take_turns_without_garbling(
        kkt_emulator_factory: Callable[..., Any],
        shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[[SharedKkt], Reader]) -> None:
    """Both programs number their packets and tasks from 1: only whole exchanges keep their
    ids apart in the one task buffer."""
    emu = kkt_emulator_factory(driver="atol", tcp=None, seed=11)
    fill(emu, BACKLOG)
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=0, driver="atol")
    assert port.tcp_url
    reader = reader_for(owner.kkt())
    errors: list[BaseException] = []
    answers: dict[str, list[int]] = {"pty": [], "tcp": []}

    def program(face: str, url: str) -> None:
        try:
            till = atol_driver.open(url)
            try:
                for _ in range(30):
                    answers[face].append(till.fn_status().last_fd_number)
            finally:
                till.close()
        except BaseException as exc:  # reported by the test, never swallowed
            errors.append(exc)

    threads = [threading.Thread(target=program, args=("pty", str(port.link))),
               threading.Thread(target=program, args=("tcp", port.tcp_url))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    reader.finish.set()
    reader.join(READ_BOUND)

    assert not errors, errors
    last = len(emu.archive())
    assert answers == {"pty": [last] * 30, "tcp": [last] * 30}
    assert_read_once(reader, emu)


def test_settle_reads_away_a_result_the_register_still_holds(
        kkt_emulator_factory: Callable[..., Any]) -> None:
    """The bridge's task answered but never acknowledged: settle leaves a quiet line."""
    from kkt_bridge.drivers.atol import taskbuffer
    from kkt_bridge.drivers.atol.exchange import AtolExchangeRules
    from kkt_bridge.drivers.atol.frame import build_frame
    from kkt_bridge.drivers.atol.plugin import open_port

    emu = kkt_emulator_factory(driver="atol", tcp=None)
    port = open_port(emu.pty_path or "", baudrate=None)
    try:
        port.write(build_frame(1, taskbuffer.add(1, status.STATE.build_task(0))))
        time.sleep(0.1)
        AtolExchangeRules().settle(port)
        assert port.in_waiting == 0, "nothing left on the line"
        kkt = AtolExchangeRules().kkt_on_port(port)
        assert kkt.state().serial
    finally:
        port.close()


def test_packets_the_register_asks_for_again_pass_within_the_exchange(
        kkt_emulator_factory: Callable[..., Any],
        shared: Callable[..., tuple[LinkOwner, SharedPort]]) -> None:
    """The register refuses packets ("send it again": an empty packet of their id) and the
    cash program sends them again, inside its exchange; the bridge polls in between."""
    emu = kkt_emulator_factory(driver="atol", tcp=None, seed=5)
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=None, driver="atol")
    made: list[Completed] = []
    owner.subscribe(made.append)
    bridge = owner.kkt()
    emu.inject("nak=0.1,latency=2")
    till = atol_driver.open(str(port.link))
    try:
        for _round in range(3):
            a_day(till, lambda: bridge.fn_status())
    finally:
        till.close()
    stats = emu.fault_stats
    emu.clear_faults()
    assert stats.get("naked", 0) > 0, "the register did ask for packets again"
    assert [c.command for c in made] == ["9A", "4A", "5A"] * 3
    assert bridge.fn_status().last_fd_number == len(emu.archive())
