"""Acceptance: every real byte trace of the reference, replayed against the emulator.

Each real request is sent as the bytes of the trace, through a real handshake on the pty.
Where the device's state decides every byte (an error answer), the answer must be the
trace itself; otherwise the state is set up as on the real device (clock, ФД number,
shift, sums) and every byte that state determines must match. What cannot match is named:
the ФН number and the fiscal sign belong to one physical ФН, and the count of documents
of a register that has lived for years is not worth making in a test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
import serial

from kkt_bridge.drivers.shtrih.commands.fields import NOT_GIVEN5
from kkt_bridge.drivers.shtrih.commands.receipt import CLOSE_RECEIPT_V2, OPERATION_V2
from kkt_bridge.drivers.shtrih.commands.registration import REGISTRATION_REPORT
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.emulator.link import v2_frame
from kkt_bridge.drivers.shtrih.emulator.profile import rnm_with_check
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, build_frame, parse_frame
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.fiscal import decode_document


def trace(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


class Wire:
    """A host that speaks the handshake with raw frames."""

    def __init__(self, path: str) -> None:
        self.port = serial.Serial(path, 115200, timeout=1)

    def send(self, frame: bytes) -> bytes:
        """One request frame out, the whole answer frame back (ACKed)."""
        self.port.write(bytes([ENQ]))
        assert self.port.read(1) == bytes([NAK])
        self.port.write(frame)
        assert self.port.read(1) == bytes([ACK])
        head = self.port.read(2)
        assert len(head) == 2
        answer = head + self.port.read(head[1] + 1)
        self.port.write(bytes([ACK]))
        return answer

    def body(self, request_body: bytes) -> bytes:
        return parse_frame(self.send(build_frame(request_body)))


def start(factory: Callable[..., Emulator], moment: datetime, **options: object) -> Emulator:
    return factory(tcp=None, clock=ManualClock(moment), **options)


@pytest.fixture
def wire_to() -> Iterator[Callable[[Emulator], Wire]]:
    opened: list[Wire] = []

    def connect(emu: Emulator) -> Wire:
        assert emu.pty_path
        opened.append(Wire(emu.pty_path))
        return opened[-1]

    yield connect
    for wire in opened:
        wire.port.close()


def fill_to(emu: Emulator, last_fd: int) -> None:
    """Receipts until the ФН's last ФД number is ``last_fd``."""
    if not emu.device.state.shift.is_open:  # type: ignore[attr-defined]
        emu.open_shift()
    while len(emu.archive()) < last_fd:
        emu.sell([("Товар", 100)])
    assert len(emu.archive()) == last_fd


def test_short_status_with_a_wrong_password_is_the_real_answer_exactly(
        kkt_emulator_factory: Callable[..., Emulator],
        wire_to: Callable[[Emulator], Wire]) -> None:
    emu = start(kkt_emulator_factory, datetime(2020, 10, 6, 15, 31))
    wire = wire_to(emu)
    answer = wire.send(build_frame(trace("10 | 39 30 00 00")))  # password 12345
    assert answer == trace("02 02 10 4F 5D")


def test_fn_status_real_request_and_answer(kkt_emulator_factory: Callable[..., Emulator],
                                           wire_to: Callable[[Emulator], Wire]) -> None:
    real_request = trace("02 06 FF 01 1E 00 00 00 E6")
    real_answer = trace("02 21 FF 01 00 | 03 | 00 | 00 | 01 | 00 | 14 0A 06 0F 1F |"
                        "39 32 38 31 30 30 30 31 30 30 30 30 37 34 34 32 | 40 2E 00 00 | BD")
    emu = start(kkt_emulator_factory, datetime(2020, 10, 6, 15, 31))
    emu.open_shift()  # shift open, last document made at 2020-10-06 15:31
    answer = wire_to(emu).send(real_request)
    # frame, echo, error, lifecycle (fiscal mode), no document open, shift open, no
    # warnings, the date and time of the last document: byte for byte
    assert answer[:15] == real_answer[:15]
    # the ФН number: 16 ASCII digits (this ФН's own); the last ФД: this ФН's own count
    fn_number = emu.device.state.identity.fn_number  # type: ignore[attr-defined]
    assert answer[15:31] == fn_number.encode()
    assert answer[15:31].isdigit()
    assert int.from_bytes(answer[31:35], "little") == len(emu.archive())
    assert len(answer) == len(real_answer)
    assert parse_frame(answer)  # the LRC is right


@pytest.mark.parametrize("real", [
    "02 10 | 10 00 1E 92 02 02 00 00 9F E5 20 01 00 8A 08 00 | 55",  # ШТРИХ-М-01Ф (RS)
    "02 10 | 10 00 1E B2 02 02 00 00 9F F8 00 00 00 75 08 00 | 00",  # ШТРИХ-МИНИ-01Ф
])
def test_short_status_answer_layout(real: str, kkt_emulator_factory: Callable[..., Emulator],
                                    wire_to: Callable[[Emulator], Wire]) -> None:
    real_body = trace(real)[2:-1]
    emu = start(kkt_emulator_factory, datetime(2020, 10, 6, 15, 31))
    emu.open_shift()
    body = wire_to(emu).body(trace("10 | 1E 00 00 00"))  # the administrator, 30
    assert len(body) == len(real_body)
    # echo, no error, operator 30; mode 2 (shift open, under 24 h); submode 0 (paper)
    assert body[:3] == real_body[:3]
    assert body[5:7] == real_body[5:7] == b"\x02\x00"


def test_close_receipt_v2_answer(kkt_emulator_factory: Callable[..., Emulator],
                                 wire_to: Callable[[Emulator], Wire]) -> None:
    """fr_drv_ng #141: ``FF 45 00 | change 0 | ФД 0x52 | sign F2 BF 0B 3E``."""
    real = trace("FF 45 00 | 00 00 00 00 00 | 52 00 00 00 | F2 BF 0B 3E")
    emu = start(kkt_emulator_factory, datetime(2021, 5, 20, 12, 0))
    fill_to(emu, 0x51)
    wire = wire_to(emu)
    opened = wire.body(OPERATION_V2.build_request(
        password=30, operation=1, quantity=1_000_000, price=20000, amount=NOT_GIVEN5,
        tax_amount=NOT_GIVEN5, tax_rate=8, department=1, payment_method=4, payment_subject=1,
        name="Товар"))
    assert opened == b"\xff\x46\x00"
    body = wire.body(CLOSE_RECEIPT_V2.build_request(
        password=30, payments=[20000] + [0] * 15, rounding=0, tax_sums=[0] * 6,
        tax_system=1, text=""))
    assert len(body) == len(real)
    assert body[:12] == real[:12], "echo, no error, no change, ФД 0x52"
    receipt = decode_document(emu.archive()[-1])
    # the sign in the answer (u32 LE) is tag 1077's, read big-endian: the same number
    assert int.from_bytes(body[12:16], "little") == receipt.fiscal_sign


def test_find_document_answer_of_a_receipt(kkt_emulator_factory: Callable[..., Emulator],
                                           wire_to: Callable[[Emulator], Wire]) -> None:
    """JT: ``03 00 | 11 03 18 14 35 | A3 00 00 00 | EB EA 4B 2E | 01 | 20 4E 00 00 00``: a
    sale of 200.00 made on 2017-03-24 at 20:53 as ФД 163."""
    real = trace("03 00 | 11 03 18 14 35 | A3 00 00 00 | EB EA 4B 2E | 01 | 20 4E 00 00 00")
    emu = start(kkt_emulator_factory, datetime(2017, 3, 24, 20, 53))
    fill_to(emu, 0xA2)
    emu.sell([("Товар", 20000)])
    body = wire_to(emu).body(trace("FF 0A | 1E 00 00 00 | A3 00 00 00"))
    assert body[:3] == b"\xff\x0a\x00"
    data = body[3:]
    assert len(data) == len(real)
    assert data[:11] == real[:11], "type 3, no OFD receipt yet, date-time, ФД 163"
    assert data[15:] == real[15:], "operation 1 (приход), total 200.00"
    receipt = decode_document(emu.archive()[-1])
    assert int.from_bytes(data[11:15], "little") == receipt.fiscal_sign


def test_registration_request_of_the_vendor_tests(
        kkt_emulator_factory: Callable[..., Emulator],
        wire_to: Callable[[Emulator], Wire]) -> None:
    """JT's FF06: INN 7701234567, RNM 0000000221017090, tax 0x11, work mode 0x18, NUL-padded.

    Its INN fails the check digits and its RNM was issued for another register, so a real
    ФН refuses it as it stands; the same bytes with a valid INN and this register's RNM
    (same lengths, same padding) register the device."""
    real = (trace("FF 06 1E 00 00 00") + b"7701234567\x00\x00"
            + b"0000000221017090\x00\x00\x00\x00" + trace("11 18"))
    parsed = REGISTRATION_REPORT.request.parse(real[2:])
    assert (parsed.tax_systems, parsed.work_mode) == (0x11, 0x18)

    emu = start(kkt_emulator_factory, datetime(2018, 1, 10, 10, 0), registered=False)
    wire = wire_to(emu)
    assert wire.body(trace("FF 05 1E 00 00 00 00")) == b"\xff\x05\x00"
    assert wire.body(real) == b"\xff\x06\x33", "refused: bad parameters"

    inn = "7701234560"
    serial_number = emu.device.state.identity.serial
    rnm = rnm_with_check("0000000221", inn, serial_number)
    ours = real.replace(b"7701234567", inn.encode()).replace(b"0000000221017090",
                                                               rnm.encode())
    assert len(ours) == len(real)
    assert wire.body(trace("FF 05 1E 00 00 00 00")) == b"\xff\x05\x00"
    body = wire.body(ours)
    assert body[:3] == b"\xff\x06\x00"
    assert len(body) in (11, 16)  # ФД u32, sign u32 [, DATE_TIME when table 17 asks]
    report = decode_document(emu.archive()[-1])
    assert int.from_bytes(body[3:7], "little") == report.fd_number == 1
    assert int.from_bytes(body[7:11], "little") == report.fiscal_sign


def test_protocol_v2_real_request(kkt_emulator_factory: Callable[..., Emulator]) -> None:
    """P116 / JP: ``8F 08 00 15 00 8D 01 00 00 00 00 4A EE`` (frame 0x15: open a sale receipt,
    cashier 1) was answered ``8F 04 00 15 00 8D 30 C4 F4``. Ours: the same frame number and
    framing, the answer to 0x8D in this device's state, a right CRC."""
    emu = start(kkt_emulator_factory, datetime(2020, 10, 6, 15, 31))
    emu.open_shift()
    assert emu.pty_path
    with serial.Serial(emu.pty_path, 115200, timeout=1) as port:
        port.write(trace("8F 08 00 15 00 8D 01 00 00 00 00 4A EE"))
        head = port.read(5)
        assert head[:1] == b"\x8f"
        length = int.from_bytes(head[1:3], "little")
        assert head[3:5] == b"\x15\x00", "the answer carries the request's number"
        rest = port.read(length - 2 + 2)
    answer = head + rest
    assert answer == v2_frame(0x15, rest[:-2])
    assert rest[:2] == b"\x8d\x00", "0x8D, no error: the receipt is open"
    assert emu.device.receipt is not None  # type: ignore[attr-defined]
