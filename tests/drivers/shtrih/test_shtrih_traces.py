"""Real byte traces of the reference: frames and commands parse, and build back the same bytes."""

from __future__ import annotations

from datetime import datetime

import pytest

from kkt_bridge.drivers.shtrih import errors as shtrih_errors
from kkt_bridge.drivers.shtrih.commands import REGISTRY
from kkt_bridge.drivers.shtrih.commands.fn import FIND_DOCUMENT, FN_STATUS, LAST_REGISTRATION
from kkt_bridge.drivers.shtrih.commands.status import SHORT_STATUS
from kkt_bridge.drivers.shtrih.frame import build_frame, parse_frame
from kkt_bridge.errors import FrameError, ProtocolError


def hexb(text: str) -> bytes:
    return bytes.fromhex(text)


# (whole frame as seen on the wire, command code, "request" or "answer")
FRAMES = [
    ("02 06 FF 01 1E 00 00 00 E6", 0xFF01, "request"),  # RS: FF01 with password 30
    ("02 21 FF 01 00 03 00 00 01 00 14 0A 06 0F 1F 39 32 38 31 30 30 30 31 30 30 30 30 37 34 "
     "34 32 40 2E 00 00 BD", 0xFF01, "answer"),  # RS
    ("02 10 10 00 1E 92 02 02 00 00 9F E5 20 01 00 8A 08 00 55", 0x10, "answer"),  # RS
]

# answer bodies without the frame: CMD + error + data
ANSWER_BODIES = [
    ("10 00 1E B2 02 02 00 00 9F F8 00 00 00 75 08 00", 0x10),  # ШТРИХ-МИНИ-01Ф
    ("FF 0A 00 03 00 11 03 18 14 35 A3 00 00 00 EB EA 4B 2E 01 20 4E 00 00 00", 0xFF0A),  # JT
    ("FF 45 00 00 00 00 00 00 52 00 00 00 F2 BF 0B 3E", 0xFF45),  # fr_drv_ng #141
]


# request bodies: CMD + data
REQUEST_BODIES = [
    # JT: FF06 registration report, INN and RNM NUL-padded by the client
    ("FF 06 1E 00 00 00" + b"7701234567".hex() + "00 00" + b"0000000221017090".hex()
     + "00 00 00 00 11 18", 0xFF06),
]


@pytest.mark.parametrize(("text", "code"), REQUEST_BODIES)
def test_real_requests_round_trip(text: str, code: int) -> None:
    assert code in REGISTRY  # declared once, by a family of commands/
    body = hexb(text)
    cmd = REGISTRY[code]
    assert cmd.build_request(**cmd.parse_request(body)) == body


@pytest.mark.parametrize(("wire", "code", "kind"), FRAMES)
def test_real_frames_round_trip(wire: str, code: int, kind: str) -> None:
    frame = hexb(wire)
    body = parse_frame(frame)
    assert build_frame(body) == frame
    cmd = REGISTRY[code]
    if kind == "request":
        fields = cmd.parse_request(body)
        assert cmd.build_request(**fields) == body
    else:
        fields = cmd.parse_answer(body)
        assert cmd.build_answer(**fields) == body


@pytest.mark.parametrize(("text", "code"), ANSWER_BODIES)
def test_real_answers_round_trip(text: str, code: int) -> None:
    assert code in REGISTRY  # declared once, by a family of commands/
    body = hexb(text)
    cmd = REGISTRY[code]
    assert cmd.build_answer(**cmd.parse_answer(body)) == body


def test_fn_status_trace_values() -> None:
    body = parse_frame(hexb(FRAMES[1][0]))
    st = FN_STATUS.parse_answer(body)
    assert st.lifecycle == 3 and st.shift_open == 1
    assert st.last_document_at == datetime(2020, 10, 6, 15, 31)
    assert st.fn_number == "9281000100007442"
    assert st.last_fd_number == 11840
    request = FN_STATUS.parse_request(parse_frame(hexb(FRAMES[0][0])))
    assert request.password == 30


def test_short_status_trace_values() -> None:
    st = SHORT_STATUS.parse_answer(parse_frame(hexb(FRAMES[2][0])))
    assert (st.operator, st.mode, st.submode) == (30, 2, 0)
    assert st.reserved == hexb("8A 08 00") and st.print_result is None


def test_find_document_trace_values() -> None:
    doc = FIND_DOCUMENT.parse_answer(hexb(ANSWER_BODIES[1][0]))
    assert doc.document_type == 3 and doc.ofd_acknowledged == 0
    assert doc.created_at == datetime(2017, 3, 24, 20, 53)
    assert doc.fd_number == 163
    assert doc.fiscal_sign.to_bytes(4, "little") == hexb("EB EA 4B 2E")
    assert doc.details.operation == 1 and doc.details.total == 20000


def test_wrong_password_trace() -> None:
    body = parse_frame(hexb("02 02 10 4F 5D"))
    with pytest.raises(shtrih_errors.WrongPasswordError) as info:
        SHORT_STATUS.parse_answer(body)
    assert info.value.code == 0x4F
    assert SHORT_STATUS.error_answer(0x4F) == body


def test_ff09_layouts_are_told_apart_by_length() -> None:
    head = (hexb("18 05 14 0C 1E") + b"7701234567  " + b"0000000221017090    "
            + bytes([0x01, 0x18]))
    sign = (7).to_bytes(4, "little") + (0xDEADBEEF).to_bytes(4, "little")
    ofd = bytes([0x00]) + b"7704358518  " + bytes([0x02])
    for tail, expect in ((sign, {}), (bytes([3]) + sign, {"reason": 3}),
                         (ofd + sign, {"reason": 2, "ofd_inn": "7704358518  "})):
        body = hexb("FF 09 00") + head + tail
        reg = LAST_REGISTRATION.parse_answer(body)
        assert reg.registered_at == datetime(2024, 5, 20, 12, 30)
        assert reg.tail.fd_number == 7 and reg.tail.fiscal_sign == 0xDEADBEEF
        for key, value in expect.items():
            assert reg.tail[key] == value
        assert LAST_REGISTRATION.build_answer(**reg) == body


def test_bad_frames_raise_frame_error() -> None:
    good = hexb(FRAMES[2][0])
    for bad in (good[:-1], good[:-1] + bytes([good[-1] ^ 1]), b"\x03" + good[1:], good + b"\x00"):
        with pytest.raises(FrameError):
            parse_frame(bad)


def test_a_foreign_echo_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        FN_STATUS.parse_answer(hexb("FF 02 00") + b"9281000100007442")
    with pytest.raises(ProtocolError):
        FN_STATUS.parse_answer(hexb("FF 01"))


def test_close_receipt_v2_trace_values() -> None:
    """fr_drv_ng #141: change 0, ФД 0x52, fiscal sign F2 BF 0B 3E (u32 LE), no date."""
    fields = REGISTRY[0xFF45].parse_answer(hexb(ANSWER_BODIES[2][0]))
    assert (fields.change, fields.document_number, fields.fiscal_sign, fields.datetime) == (
        0, 0x52, 0x3E0BBFF2, None)


def test_registration_request_trace_values() -> None:
    fields = REGISTRY[0xFF06].parse_request(hexb(REQUEST_BODIES[0][0]))
    assert (fields.password, fields.inn, fields.rnm) == (30, "7701234567", "0000000221017090")
    assert (fields.tax_systems, fields.work_mode) == (0x11, 0x18)
