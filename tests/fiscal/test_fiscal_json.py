"""The FNS receipt JSON and the tag-level tree."""

from __future__ import annotations

import json
import re

import pytest
from fiscal_samples import (
    FISCAL_SIGN,
    FN_NUMBER,
    RECEIPT_12,
    RECEIPT_105,
    REGISTRATION,
    SHIFT_CLOSE,
    SHIFT_OPEN,
)

from kkt_bridge.fiscal import decode_document, encode_document, to_fns_json, to_tree
from kkt_bridge.fiscal.tags import PARENT_OVERRIDES, TAGS


def fns(doc_type: int, tags: tuple) -> dict:
    return to_fns_json(decode_document(encode_document(doc_type, tags)))


def test_receipt_fns_json_uses_the_tax_service_names() -> None:
    out = fns(3, RECEIPT_105)
    expected = {
        "receiptCode": 3, "dateTime": "2024-03-17T20:53:00", "operationType": 1,
        "totalSum": 8985, "cashTotalSum": 985, "ecashTotalSum": 8000,
        "fiscalDriveNumber": FN_NUMBER, "fiscalDocumentNumber": 82, "fiscalSign": FISCAL_SIGN,
        "kktRegId": "0000000221017090", "userInn": "7701234567", "user": 'ООО "Ромашка"',
        "operator": "Иванова А. А.", "shiftNumber": 17, "requestNumber": 82,
        "retailPlaceAddress": "г. Москва, ул. Тверская, д. 1", "taxationType": 1,
        "nds18": 1148, "nds0": 2100, "retailPlace": "Магазин №1",
        "prepaidSum": 0, "creditSum": 0, "provisionSum": 0,
        "properties": [{"key": "Номер заказа", "value": "A-1001"}],
    }
    assert {key: out[key] for key in expected} == expected
    first, second = out["items"]
    assert {key: first[key] for key in ("name", "price", "quantity", "sum", "nds")} == {
        "name": "Молоко 3,2% 1 л", "price": 1050, "quantity": "2.000000", "sum": 2100, "nds": 5}
    assert first["paymentType"] == 4 and first["productType"] == 10
    assert first["productCode"] == "444d0460012345670000"
    assert first["paymentAgentData"]["paymentAgentPhone"] == "+79001234567"
    assert second["ndsSum"] == 1148
    json.dumps(out)


def test_vat_sum_names() -> None:
    tags = tuple((tag, tag) for tag in range(1102, 1108))
    assert fns(3, tags) == {"receiptCode": 3, "nds18": 1102, "nds10": 1103, "nds0": 1104,
                            "ndsNo": 1105, "nds18118": 1106, "nds10110": 1107}


def test_ffd12_receipt_nested_requisites() -> None:
    out = fns(3, RECEIPT_12)
    item = out["items"][0]
    assert item["itemsQuantityMeasure"] == 0
    assert item["productCodeNew"] == {"ean13": "4600000000017"}
    assert item["itemsIndustryDetails"] == [{
        "idFoiv": "030", "foundationDocDateTime": "21.11.2023", "foundationDocNumber": "1944",
        "industryPropValue": "mode=horeca"}]
    assert out["buyerInformation"] == {"buyer": "Сидоров С. С.", "buyerInn": "165000123456"}
    assert out["operationalDetails"]["dateTime"] == "2025-01-09T09:05:00"
    assert out["fiscalDocumentFormatVer"] == 4


@pytest.mark.parametrize(("doc_type", "tags"), [
    (3, RECEIPT_105), (1, REGISTRATION), (2, SHIFT_OPEN), (5, SHIFT_CLOSE)])
def test_same_tag_same_name_in_every_document_type(doc_type: int, tags: tuple) -> None:
    out = fns(doc_type, tags)
    assert out["receiptCode"] == doc_type
    assert out["fiscalDriveNumber"] == FN_NUMBER
    assert out["kktRegId"] == "0000000221017090"
    assert out["userInn"] == "7701234567"
    assert isinstance(out["fiscalSign"], int)
    assert isinstance(out["fiscalDocumentNumber"], int)
    assert "T" in out["dateTime"]


def test_registration_report_fns_json() -> None:
    out = fns(1, REGISTRATION)
    assert out["kktNumber"] == "0012345678901234"
    assert out["taxationType"] == 3
    assert out["ofdInn"] == "7704211201"
    assert out["serviceSign"] == 1 and out["exciseDutyProductSign"] == 1
    assert out["fiscalSign"] == 0x112233FF


def test_unknown_and_repeated_tags() -> None:
    out = fns(3, ((40000, b"\x01"), (1020, 5), (1020, 6), (1020, 7)))
    assert out["tag40000"] == "01"
    assert out["totalSum"] == [5, 6, 7]


def test_every_known_tag_has_a_camel_case_json_name() -> None:
    for spec in (*TAGS.values(), *PARENT_OVERRIDES.values()):
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", spec.json_name), spec


def test_json_names_are_one_per_tag() -> None:
    # a name may only be shared by tags that mean the same thing in different documents
    shared = {"taxationType": {1055, 1062}, "totalSum": {1020, 1201},
              "prepaidSum": {1215, 1218}, "creditSum": {1216, 1219},
              "provisionSum": {1217, 1220}, "dateTime": {1012, 1273}}
    by_name: dict[str, set[int]] = {}
    for tag, spec in TAGS.items():
        by_name.setdefault(spec.json_name, set()).add(tag)
    duplicates = {name: tags for name, tags in by_name.items() if len(tags) > 1}
    assert duplicates == shared


def test_tree_shape() -> None:
    data = encode_document(3, RECEIPT_105)
    tree = to_tree(data)
    assert (tree["tag"], tree["name"], tree["type"], tree["offset"]) == (3, "Кассовый чек",
                                                                         "STLV", 0)
    assert tree["length"] == len(data) - 4
    by_tag = {child["tag"]: child for child in tree["children"]}
    assert by_tag[1012] == {"tag": 1012, "name": "дата, время", "type": "UnixTime",
                            "offset": by_tag[1012]["offset"], "length": 4,
                            "json": "dateTime", "value": "2024-03-17T20:53:00"}
    sign = by_tag[1077]
    assert (sign["value"], sign["raw"], sign["type"]) == (FISCAL_SIGN, "31043e0bbff2",
                                                          "FiscalSign")
    # offsets point at the TLV header inside the original bytes
    for child in tree["children"]:
        start = child["offset"]
        assert int.from_bytes(data[start:start + 2], "little") == child["tag"]
    item = next(child for child in tree["children"] if child["tag"] == 1059)
    assert item["type"] == "STLV"
    quantity = next(node for node in item["children"] if node["tag"] == 1023)
    assert quantity["value"] == "2.000000"
    json.dumps(tree)


def test_tree_of_an_unknown_tag_and_of_a_decoded_document() -> None:
    data = encode_document(3, ((40000, b"\xab"),))
    tree = to_tree(data)
    assert tree["children"] == [{"tag": 40000, "name": "тег 40000", "type": "unknown",
                                 "offset": 4, "length": 1, "value": "ab"}]
    assert to_tree(decode_document(data)) == tree


def test_property_names_depend_on_the_parent() -> None:
    tree = to_tree(encode_document(3, ((1084, ((1085, "k"), (1086, "v"))), (1085, "top"))))
    prop, top = tree["children"]
    assert [child["json"] for child in prop["children"]] == ["key", "value"]
    assert top["json"] == "propertyName"


def test_key_resource_is_named_by_its_document() -> None:
    assert fns(5, ((1213, 300),)) == {"receiptCode": 5, "fdKeyResource": 300}
    assert fns(21, ((1213, 300),)) == {"receiptCode": 21, "keyResource": 300}
