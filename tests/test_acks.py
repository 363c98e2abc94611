"""The typed acknowledgement schema (kkt_bridge.acks), unit by unit."""

from __future__ import annotations

import pytest

from kkt_bridge.acks import MAX_ERROR, acks_from_json, check_acks
from kkt_bridge.errors import AcknowledgementError
from kkt_bridge.exchange import Ack, ExportDocument

DOCS = [ExportDocument("9999", n, 3, {}) for n in (1, 2, 3)]


def test_good_acknowledgements_come_back_as_they_are() -> None:
    acks = [Ack("9999:1", True), Ack("9999:2", True, duplicate=True),
            Ack("9999:3", False, error="нет")]
    assert check_acks(DOCS, acks) is acks
    assert check_acks([], []) == []


@pytest.mark.parametrize(("answer", "words"), [
    ({"acks": [{"key": "9999:1", "accepted": True}, {"key": "9999:2", "accepted": "true"},
               {"key": "9999:3", "accepted": True}]}, "подтверждение №2: поле accepted"),
    ({"acks": [{"key": "9999:1", "accepted": True}, {"key": "9999:2", "accepted": True},
               {"key": "9999:4", "accepted": True}]}, "подтверждение №3: ключ '9999:4'"),
    ({"acks": [{"key": "9999:1", "accepted": True}, "9999:2", {}]}, "подтверждение №2 не объект"),
    ({"acks": "all"}, "нет списка acks"),
    ({}, "нет списка acks"),
    (None, "нет списка acks"),
    ([{"key": "9999:1", "accepted": True}], "1 подтверждений на 3 документов"),
])
def test_what_is_refused_is_named(answer: object, words: str) -> None:
    with pytest.raises(AcknowledgementError, match=words):
        acks_from_json(DOCS, answer)


def test_json_acknowledgements_with_defaults_and_a_long_error() -> None:
    answer = [{"key": "9999:1", "accepted": True},
              {"key": "9999:2", "accepted": True, "duplicate": True},
              {"key": "9999:3", "accepted": False, "error": "x" * (MAX_ERROR + 50)}]
    acks = acks_from_json(DOCS, answer)
    assert acks[:2] == [Ack("9999:1", True), Ack("9999:2", True, duplicate=True)]
    assert acks[2].error == "x" * MAX_ERROR and not acks[2].accepted
    assert acks_from_json(DOCS, {"acks": answer}) == acks
