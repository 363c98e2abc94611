"""A bridge's batch through the one-pass route (plugins/reference/batch.py) on each storage:
what it stores (the FNS JSON as the request carried it, stored as text) and how it
answers a repeat inside the batch, a batch half stored already, a document of another
register and a batch with one invalid document."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from reference_support import pair, register_identity

from kkt_bridge.plugins.reference.batch import decode_batch
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.contract import sample_receipt

FN1 = register_identity(1).fn_number
FN2 = register_identity(2).fn_number


def doc_json(fn_number: str, fd: int) -> dict[str, Any]:
    d = sample_receipt(fn_number, fd, items=1 + fd % 5)
    return {"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
            "document_type": d.document_type, "fns": dict(d.fns),
            "raw_b64": base64.b64encode(d.raw).decode()}


def post(http: httpx.Client, auth: dict[str, str], batch: list[Any]) -> httpx.Response:
    """POST the batch as a bridge encodes it (UTF-8, compact)."""
    body = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode()
    return http.post("/api/v1/documents", content=body,
                     headers={**auth, "Content-Type": "application/json"})


def flags(answer: httpx.Response) -> list[tuple[bool, bool]]:
    assert answer.status_code == 200, answer.text
    return [(a["accepted"], a["duplicate"]) for a in answer.json()["acks"]]


def stored_texts(office: ReferenceBackOffice) -> dict[int, Any]:
    """fd_number -> the fns column as the database gives it back."""
    with office.db.storage.read() as tx:
        return {int(r["fd_number"]): r["fns"]
                for r in tx._all("SELECT fd_number, fns FROM documents")}


def test_a_bridges_batch_is_stored_as_it_arrived(http: httpx.Client,
                                                 office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    batch = [doc_json(FN1, fd) for fd in range(1, 51)]
    body = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode()
    assert decode_batch(body) is not None  # the one-pass route takes it
    assert flags(post(http, auth, batch)) == [(True, False)] * 50
    texts = stored_texts(office)
    for sent in batch:
        text = texts[sent["fd_number"]]
        # TEXT, not a blob, on SQLite too; the very bytes of the request
        assert isinstance(text, str)
        assert text.encode() == json.dumps(sent["fns"], ensure_ascii=False,
                                           separators=(",", ":")).encode()
    first = office.documents()[0]
    assert first.fns == batch[0]["fns"]
    assert first.raw == base64.b64decode(batch[0]["raw_b64"])


def test_a_repeat_inside_a_batch_is_stored_once(http: httpx.Client,
                                                office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    one, two, three = (doc_json(FN1, fd) for fd in (1, 2, 3))
    assert flags(post(http, auth, [one, two, two, three, one])) == [
        (True, False), (True, False), (True, True), (True, False), (True, True)]
    assert office.count_documents() == 3


def test_a_batch_half_stored_already(http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    assert flags(post(http, auth, [doc_json(FN1, fd) for fd in range(1, 5)])) == \
        [(True, False)] * 4
    again = post(http, auth, [doc_json(FN1, fd) for fd in range(3, 9)])
    assert flags(again) == [(True, True)] * 2 + [(True, False)] * 4
    assert [d.fd_number for d in office.documents()] == list(range(1, 9))


def test_another_registers_document_is_refused_alone(http: httpx.Client,
                                                     office: ReferenceBackOffice) -> None:
    auth = pair(http, office, 1)
    pair(http, office, 2)
    answer = post(http, auth, [doc_json(FN1, 1), doc_json(FN2, 1), doc_json(FN1, 2)])
    assert flags(answer) == [(True, False), (False, False), (True, False)]
    assert answer.json()["acks"][1]["error"]
    assert office.count_documents(FN1) == 2 and office.count_documents(FN2) == 0


def test_one_invalid_document_refuses_the_batch(http: httpx.Client,
                                                office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    batch = [doc_json(FN1, fd) for fd in range(1, 11)]
    for bad in ({**batch[5], "fd_number": 0}, {**batch[5], "fn_number": " "},
                {**batch[5], "fns": {"x": float("inf")}}):
        answer = post(http, auth, [*batch[:5], bad, *batch[6:]])  # json.dumps: Infinity
        assert answer.status_code in (400, 422), bad
        error = answer.json()["error"]
        assert set(error) == {"code", "message"} and error["code"] and error["message"]
    assert office.count_documents() == 0
