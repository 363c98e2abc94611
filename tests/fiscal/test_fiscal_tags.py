"""The tag table against the project's reference (ffd-tlv.md) and the FNS JSON names."""

from __future__ import annotations

import re

import pytest

from kkt_bridge.fiscal import DOCUMENT_TYPES, TAGS, WireType, tag_spec
from kkt_bridge.fiscal.tags import tag_name

B, U32, T, V, F, S, X, L = (WireType.BYTE, WireType.U32, WireType.UNIXTIME, WireType.VLN,
                            WireType.FVLN, WireType.STRING, WireType.BYTES, WireType.STLV)

# tag, type, max length: the reference's table, row by row
REFERENCE = [
    (1000, S, 256), (1008, S, 64), (1009, S, 256), (1012, T, 4), (1013, S, 20),
    (1017, S, 12), (1018, S, 12), (1020, V, 8), (1021, S, 64), (1023, F, 8), (1030, S, 128),
    (1031, V, 8), (1037, S, 20), (1038, U32, 4), (1040, U32, 4), (1041, S, 16),
    (1042, U32, 4), (1043, V, 8), (1046, S, 256), (1048, S, 256), (1054, B, 1), (1055, B, 1),
    (1059, L, 328), (1062, B, 1), (1079, V, 8), (1081, V, 8), (1084, L, 328), (1085, S, 64),
    (1086, S, 256), (1102, V, 8), (1103, V, 8), (1104, V, 8), (1105, V, 8), (1106, V, 8),
    (1107, V, 8), (1162, X, 32), (1187, S, 256), (1188, S, 8), (1189, B, 1), (1190, B, 1),
    (1209, B, 1), (1197, S, 16), (1199, B, 1), (1200, V, 8), (1203, S, 12), (1212, B, 1),
    (1214, B, 1), (1215, V, 8), (1216, V, 8), (1217, V, 8), (1222, B, 1), (1226, S, 12),
    (1163, L, None), (1256, L, None), (1260, L, None), (1227, S, None), (1228, S, None),
    (2108, B, None),
]

# the FNS receipt JSON names the reference lists
FNS_NAMES = {
    1012: "dateTime", 1054: "operationType", 1020: "totalSum", 1031: "cashTotalSum",
    1081: "ecashTotalSum", 1041: "fiscalDriveNumber", 1040: "fiscalDocumentNumber",
    1077: "fiscalSign", 1037: "kktRegId", 1018: "userInn", 1048: "user", 1021: "operator",
    1038: "shiftNumber", 1042: "requestNumber", 1009: "retailPlaceAddress",
    1055: "taxationType", 1102: "nds18", 1103: "nds10", 1104: "nds0", 1105: "ndsNo",
    1106: "nds18118", 1107: "nds10110", 1084: "properties", 1059: "items", 1030: "name",
    1079: "price", 1023: "quantity", 1043: "sum",
}


@pytest.mark.parametrize(("tag", "wire", "max_length"), REFERENCE)
def test_reference_tags_are_in_the_table(tag: int, wire: WireType,
                                         max_length: int | None) -> None:
    spec = TAGS[tag]
    assert spec.type is wire
    if max_length is not None:
        assert spec.max_length == max_length


def test_fiscal_sign_is_six_bytes_with_its_own_reading() -> None:
    assert TAGS[1077].type is WireType.FISCAL_SIGN
    assert TAGS[1077].max_length == 6


def test_fns_names_of_the_reference() -> None:
    assert {tag: TAGS[tag].json_name for tag in FNS_NAMES} == FNS_NAMES


def test_well_known_tags_beyond_the_reference() -> None:
    expected = {1001: B, 1002: B, 1056: B, 1108: B, 1109: B, 1110: B, 1117: S, 1193: B,
                1207: B, 1213: WireType.U16, 1221: B, 1290: U32, 1057: B, 1060: S, 1173: B,
                1174: L, 1177: S, 1178: T, 1179: S, 1205: U32, 1223: L, 1224: L, 1194: L}
    assert {tag: TAGS[tag].type for tag in expected} == expected


def test_ffd12_tags_are_marked() -> None:
    for tag in (1163, 1256, 1260, 1261, 2108, 1290):
        assert TAGS[tag].ffd == "1.2"
    assert TAGS[1059].ffd == "1.05"


def test_fixed_types_have_their_fixed_length() -> None:
    fixed = {WireType.BYTE: 1, WireType.U16: 2, WireType.U32: 4, WireType.UNIXTIME: 4}
    for spec in TAGS.values():
        if spec.type in fixed:
            assert spec.max_length == fixed[spec.type], spec


def test_document_types_of_the_reference() -> None:
    assert sorted(DOCUMENT_TYPES) == [1, 2, 3, 4, 5, 6, 7, 11, 21, 31, 41]
    assert DOCUMENT_TYPES[3] == "Кассовый чек"


def test_lookup_by_parent() -> None:
    assert tag_spec(1085, 1084).json_name == "key"  # type: ignore[union-attr]
    assert tag_spec(1085, 3).json_name == "propertyName"  # type: ignore[union-attr]
    assert tag_spec(1085) is TAGS[1085]
    assert tag_spec(65000) is None
    assert tag_name(65000, 3) == "тег 65000"
    assert tag_name(3) == "Кассовый чек"


def test_every_tag_and_document_type_has_an_english_name() -> None:
    from kkt_bridge import i18n
    from kkt_bridge.fiscal.tags import PARENT_OVERRIDES, document_type_name

    with i18n.using_language("en"):
        named = {tag: tag_name(tag) for tag in TAGS}
        named.update({tag: tag_name(tag, parent) for parent, tag in PARENT_OVERRIDES})
        documents = {kind: document_type_name(kind) for kind in DOCUMENT_TYPES}
        unknown = (tag_name(9999), document_type_name(99))
    russian = [name for name in (*named.values(), *documents.values(), *unknown)
               if re.search("[а-яё]", name, re.IGNORECASE)]
    assert not russian, f"no English name: {russian}"
    assert named[1008] == "customer phone or e-mail" and documents[3] == "Receipt"
    assert unknown == ("tag 9999", "document of type 99")
    # Russian by default: the FFD's own names
    assert tag_name(1077) == "фискальный признак документа"
    assert document_type_name(3) == "Кассовый чек"
