"""Value encodings against the reference's real bytes, through both decoders and the encoder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal import (
    decode_document,
    encode_document,
    encode_tlv,
    fiscal_sign_number,
    parse_document,
)
from kkt_bridge.fiscal.wire import parse_with_construct


def tlv(tag: int, value_hex: str) -> bytes:
    value = bytes.fromhex(value_hex)
    return tag.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value


def document(*tlvs: bytes, doc_type: int = 3) -> bytes:
    body = b"".join(tlvs)
    return doc_type.to_bytes(2, "little") + len(body).to_bytes(2, "little") + body


def both(data: bytes) -> tuple:
    """Parse with the fast path and with the construct declarations; they must agree."""
    fast = parse_document(data)
    reference = parse_with_construct(data)
    assert fast == reference
    assert repr(fast) == repr(reference)  # same Decimal scale, same types
    return fast


# (tag, wire bytes of the value, Python value): the reference's examples
REFERENCE_VALUES = [
    (1012, "8A 02 9E 55", datetime(2015, 7, 9, 5, 11, 38)),
    (1020, "E9 2D 06", 404969),
    (1023, "02 15 CD 5B 07", Decimal("1234567.89")),
    (1023, "06 40 42 0F", Decimal("1.000000")),
    (1030, "92 A5 E1 E2", "Тест"),
    (1038, "01 00 00 00", 1),
    (1079, "1A 04", 1050),  # the real Shtrih item's price
    (1023, "06 80 84 1E", Decimal("2.000000")),  # and its quantity
    (1199, "05", 5),
    (1214, "04", 4),
    (1212, "0A", 10),
    (1077, "31 04 3E 0B BF F2", bytes.fromhex("31043E0BBFF2")),
]


@pytest.mark.parametrize(("tag", "wire", "value"), REFERENCE_VALUES)
def test_reference_value_decodes(tag: int, wire: str, value: object) -> None:
    _, tags = both(document(tlv(tag, wire)))
    assert tags == ((tag, value),)
    assert repr(tags[0][1]) == repr(value)


@pytest.mark.parametrize(("tag", "wire", "value"), REFERENCE_VALUES)
def test_reference_value_encodes_to_the_same_bytes(tag: int, wire: str, value: object) -> None:
    assert encode_tlv(tag, value) == tlv(tag, wire)  # type: ignore[arg-type]


def test_unixtime_is_wall_clock_without_time_zone() -> None:
    _, ((_, moment),) = parse_document(document(tlv(1012, "8A 02 9E 55")))
    assert isinstance(moment, datetime)
    assert moment.tzinfo is None
    assert moment == datetime.fromtimestamp(1436418698, UTC).replace(tzinfo=None)


def test_fiscal_sign_is_bytes_two_to_five_big_endian() -> None:
    raw = bytes.fromhex("31043E0BBFF2")
    assert fiscal_sign_number(raw) == 0x3E0BBFF2 == 1040957426
    # the sign the register answers as u32 LE (F2 BF 0B 3E) is the same number
    assert int.from_bytes(bytes.fromhex("F2BF0B3E"), "little") == 1040957426
    # not the 6-byte little-endian VLN reading
    assert int.from_bytes(raw, "little") != 1040957426
    doc = decode_document(document(tlv(1077, "31 04 3E 0B BF F2")))
    assert doc.fiscal_sign == 1040957426


def test_fiscal_sign_int_builds_the_real_prefix() -> None:
    assert encode_tlv(1077, 1040957426) == tlv(1077, "31 04 3E 0B BF F2")


def test_vln_is_minimal_and_zero_is_empty() -> None:
    assert encode_tlv(1020, 0) == tlv(1020, "")
    assert encode_tlv(1020, 255) == tlv(1020, "FF")
    assert encode_tlv(1020, 256) == tlv(1020, "00 01")
    # a non-minimal VLN from a register still reads
    assert both(document(tlv(1031, "00 00")))[1] == ((1031, 0),)


def test_fvln_keeps_its_scale() -> None:
    ((_, one),) = both(document(tlv(1023, "06 40 42 0F")))[1]
    assert str(one) == "1.000000"
    assert encode_tlv(1023, Decimal("1.5")) == tlv(1023, "01 0F")
    assert encode_tlv(1023, Decimal("0")) == tlv(1023, "00")
    assert encode_tlv(1023, 3) == tlv(1023, "00 03")  # an int is a scale-0 Decimal
    assert encode_tlv(1023, Decimal("1E+2")) == tlv(1023, "00 64")


def test_strings_are_cp866_not_cp1251() -> None:
    assert encode_tlv(1030, "Тест") == tlv(1030, "92 A5 E1 E2")
    assert "Тест".encode("cp1251").hex() != "92a5e1e2"


def test_unknown_tag_stays_raw_bytes() -> None:
    data = document(tlv(1030, "92 A5 E1 E2"), tlv(40000, "DE AD BE EF"), tlv(1020, "01"))
    _, tags = both(data)
    assert tags == ((1030, "Тест"), (40000, bytes.fromhex("DEADBEEF")), (1020, 1))
    assert encode_document(3, tags) == data


def test_unknown_document_type_is_still_a_tlv_tree() -> None:
    data = document(tlv(1040, "05 00 00 00"), doc_type=99)
    assert both(data) == (99, ((1040, 5),))


def test_stlv_children_are_decoded_under_their_parent() -> None:
    item = tlv(1030, "92 A5 E1 E2") + tlv(1079, "1A 04")
    _, tags = both(document(tlv(1059, item.hex())))
    assert tags == ((1059, ((1030, "Тест"), (1079, 1050))),)


def test_encode_document_header_is_type_and_length() -> None:
    data = encode_document(3, [(1020, 404969)])
    assert data == bytes.fromhex("0300 0700 FC03 0300 E92D06")


def test_encode_accepts_lists_and_returns_tuples() -> None:
    data = encode_document(3, [(1059, [(1030, "Тест")])])
    assert parse_document(data) == (3, ((1059, ((1030, "Тест"),)),))


def test_datetime_microseconds_are_dropped() -> None:
    assert encode_tlv(1012, datetime(2015, 7, 9, 5, 11, 38, 999999)) == tlv(1012, "8A029E55")


@pytest.mark.parametrize(("tag", "value"), [
    (1020, -1),  # negative money
    (1020, 1 << 64),  # longer than 8 bytes
    (1020, "10"),  # wrong Python type
    (1054, 256),  # Byte overflow
    (1038, 1 << 32),  # U32 overflow
    (1023, Decimal("-1")),  # negative quantity
    (1023, Decimal("NaN")),
    (1023, Decimal(1 << 60)),  # mantissa over 7 bytes
    (1012, datetime(2015, 7, 9, tzinfo=UTC)),  # a zone would make the wall clock ambiguous
    (1012, datetime(1969, 12, 31)),
    (1012, "2015-07-09"),
    (1030, "x" * 129),  # over the tag's maximum length
    (1030, "€"),  # not in CP866
    (1030, b"bytes"),
    (1162, b"x" * 33),
    (1077, b"12345"),
    (1077, 1 << 32),
    (1059, "not a sequence"),
    (1059, [(1030,)]),  # not a pair
    (1059, [("1030", "x")]),
    (70000, b""),  # tag beyond u16
])
def test_encoder_refuses_what_a_fn_would_refuse(tag: int, value: object) -> None:
    with pytest.raises(DocumentError) as info:
        encode_tlv(tag, value)  # type: ignore[arg-type]
    assert info.value.hint


def test_encode_document_refuses_bad_type_and_oversized_body() -> None:
    with pytest.raises(DocumentError):
        encode_document(70000, [])
    with pytest.raises(DocumentError):
        encode_document(3, [(40000, b"x" * 70000)])
