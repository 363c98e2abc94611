"""AtolKkt against a scripted peer that answers with the same declarations."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from atol_fakes import FakeClock, ScriptedPort, TaskPeer

from kkt_bridge.drivers.atol.commands import fn, status
from kkt_bridge.drivers.atol.driver import AtolKkt
from kkt_bridge.drivers.atol.transport import Transport
from kkt_bridge.errors import ProtocolError
from kkt_bridge.fiscal.wire import encode_document
from kkt_bridge.kkt import Capability, Kkt, ShiftState, capabilities_of

# a receipt: type 3, two top-level TLVs (1037 RNM, 1209 FFD 1.2)
TLVS = [(1037).to_bytes(2, "little") + (4).to_bytes(2, "little") + b"0001",
        (1209).to_bytes(2, "little") + (1).to_bytes(2, "little") + b"\x04"]
BODY = b"".join(TLVS)


def _state(**over: object) -> bytes:
    fields = dict(cashier=7, hall_number=1, date=date(2026, 12, 6), time=time(17, 30, 5),
                  flags=status.FLAG_FISCAL | status.FLAG_SHIFT_OPEN | status.FLAG_PAPER,
                  serial=12345678, model=61, firmware=b"\x03\x12", mode=0x21,
                  receipt_number=12, shift_number=3, receipt_state=0, receipt_total=0,
                  decimal_point=2, port=6)
    fields.update(over)
    return status.STATE.build_answer(**fields)


class ArchivePeer(TaskPeer):
    """Answers identity and ФН requests, and reads document 5 as TLV."""

    def __init__(self, *, announce: int = len(BODY),
                 documents: dict[int, bytes] | None = None) -> None:
        super().__init__(handler=self.handle)
        self.queue: list[bytes] = []
        self.announce = announce
        self.documents = documents or {}

    def handle(self, task: bytes) -> bytes:
        code = task[2:4]
        if task[2] == 0xA5:
            return status.DEVICE_TYPE.build_answer(
                protocol=3, device_type=1, model=61, mode=0, version=b"\x03\x00\x01\x12\x34",
                name="АТОЛ 30Ф")
        if task[2] == 0x3F:
            return _state()
        if code == b"\xa4\x31":
            return fn.FN_NUMBER.build_answer(fn_number="9999078900001234")
        if code == b"\xa4\x30":
            return fn.FN_STATUS.build_answer(
                lifecycle=3, current_document=0, document_data=0, shift_open=1, warnings=0,
                last_document_at=datetime(2026, 12, 6, 17, 0), fn_number="9999078900001234",
                last_fd_number=5, rest=b"")
        if code == b"\xa4\x32":
            return fn.FN_VALIDITY.build_answer(valid_until=date(2028, 1, 1),
                                               registrations_left=29, registrations_done=1)
        if code == b"\xa4\x10":
            return fn.SHIFT.build_answer(shift_open=1, shift_number=3, receipt_number=12)
        if code == b"\xa4\x20":
            return fn.OFD_EXCHANGE.build_answer(status=1, reading=0, unsent=2,
                                                first_unsent_fd=4,
                                                first_unsent_at=datetime(2026, 12, 6, 16, 0))
        if code == b"\xa4\x45":
            number = int.from_bytes(task[4:8], "little")
            if number in self.documents:
                whole = self.documents[number]
                self.queue = _split(whole[4:])
                return fn.DOCUMENT_TLV.build_answer(
                    document_type=int.from_bytes(whole[:2], "little"), length=len(whole) - 4)
            self.queue = list(TLVS)
            return fn.DOCUMENT_TLV.build_answer(document_type=3, length=self.announce)
        if code == b"\xa4\x46":
            if not self.queue:
                return fn.READ_TLV.error_answer(0xDA)
            return fn.READ_TLV.build_answer(data=self.queue.pop(0))
        return fn.READ_TLV.error_answer(0xF2)


def _split(body: bytes) -> list[bytes]:
    out, offset = [], 0
    while offset < len(body):
        end = offset + 4 + int.from_bytes(body[offset + 2:offset + 4], "little")
        out.append(body[offset:end])
        offset = end
    return out


def _kkt(peer: TaskPeer) -> AtolKkt:
    clock = FakeClock()
    return AtolKkt(Transport(ScriptedPort(peer, clock), clock=clock))


def test_it_is_a_kkt_and_says_it_has_no_cashier_table() -> None:
    kkt = _kkt(ArchivePeer())
    assert isinstance(kkt, Kkt)
    assert capabilities_of(kkt) == {Capability.CASHIER_PER_DOCUMENT}
    assert kkt.read_cashiers() == []
    with pytest.raises(NotImplementedError):
        kkt.write_cashier(1, "Иванова")


def test_identity_and_status() -> None:
    kkt = _kkt(ArchivePeer())
    ident = kkt.identity()
    assert (ident.protocol, ident.model, ident.model_code, ident.serial, ident.fn_number) == (
        "atol", "АТОЛ 30Ф", 61, "12345678", "9999078900001234")
    st = kkt.status()
    assert (st.mode, st.submode, st.shift, st.paper_present, st.operator) == (
        1, 2, ShiftState.OPEN, True, 7)
    assert st.clock == datetime(2026, 12, 6, 17, 30, 5)


def test_fn_status_queue_and_shift() -> None:
    kkt = _kkt(ArchivePeer())
    fs = kkt.fn_status()
    assert (fs.last_fd_number, fs.fiscal, fs.valid_until) == (5, True, datetime(2028, 1, 1))
    queue = kkt.ofd_queue()
    assert (queue.unsent, queue.first_unsent_fd) == (2, 4)
    assert kkt.shift().number == 3


def test_a_document_is_read_to_its_announced_length_and_no_further() -> None:
    peer = ArchivePeer()
    kkt = _kkt(peer)
    assert kkt.read_document(5) == (3).to_bytes(2, "little") + len(BODY).to_bytes(
        2, "little") + BODY
    # A4 45, then one A4 46 per TLV: no request past the length A4 45 announced
    assert [t[2:4] for t in peer.tasks] == [b"\xa4\x45", b"\xa4\x46", b"\xa4\x46"]


def test_a_document_shorter_than_announced_is_a_protocol_error() -> None:
    kkt = _kkt(ArchivePeer(announce=len(BODY) + 10))
    with pytest.raises(ProtocolError):
        kkt.read_document(5)


def test_registration_falls_back_to_the_archive_when_a4_43_is_filtered() -> None:
    report = encode_document(1, [
        (1018, "7700000000  "), (1037, "0000000001012345    "), (1062, 1), (1056, True),
        (1209, 4), (1012, datetime(2026, 12, 1, 9, 30)), (1040, 1),
        (1077, bytes.fromhex("0000 12345678"))])
    peer = ArchivePeer(documents={1: report})  # A4 43 answers F2 "wrong command"
    registration = _kkt(peer).registration()
    assert registration is not None
    assert (registration.inn, registration.rnm, registration.tax_systems) == (
        "7700000000", "0000000001012345", 1)
    assert (registration.work_mode, registration.ffd_version, registration.fd_number) == (
        1, "1.2", 1)
    assert registration.fiscal_sign == 0x12345678
    assert registration.registered_at == datetime(2026, 12, 1, 9, 30)
