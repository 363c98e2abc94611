"""The reference back office's ``receive``: one copy per ФН + ФД, whatever a batch holds,
and nothing stored under a ФН that is not the register's own. On each storage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from reference_support import SHOP, FakeClock, register_json

from kkt_bridge.plugins.reference.service import BackOffice
from kkt_bridge.plugins.reference.storage import IncomingDocument

TTL = timedelta(hours=24)


@pytest.fixture
def db(backoffice_db: str, clock: FakeClock) -> Iterator[BackOffice]:
    office = BackOffice.open(backoffice_db, clock=clock)
    office.ensure_shop(SHOP)
    yield office
    office.close()


def incoming(fn_number: str, fd: int, text: str = "чек") -> IncomingDocument:
    return IncomingDocument(f"{fn_number}:{fd}", fn_number, fd, 3, {"fd": fd, "t": text},
                            bytes([fd % 256]))


def _register(db: BackOffice, n: int = 1):  # type: ignore[no-untyped-def]
    return db.pair(db.issue_sync_code(SHOP, TTL).code, register_json(n)).register


def test_one_document_twice_in_one_batch_is_stored_once(db: BackOffice) -> None:
    register = _register(db)
    fn = register.fn_number
    acks = db.receive(register, [incoming(fn, 1), incoming(fn, 2, "первый"),
                                 incoming(fn, 2, "второй"), incoming(fn, 3)])
    assert [(a.key, a.accepted, a.duplicate) for a in acks] == [
        (f"{fn}:1", True, False), (f"{fn}:2", True, False), (f"{fn}:2", True, True),
        (f"{fn}:3", True, False)]
    assert db.count_documents() == 3
    stored = {d.fd_number: d for d in db.documents(register=register)}
    assert stored[2].fns["t"] == "первый"  # the first copy stays


def test_a_repeat_in_a_later_batch_is_a_duplicate(db: BackOffice) -> None:
    register = _register(db)
    fn = register.fn_number
    db.receive(register, [incoming(fn, 1), incoming(fn, 2)])
    acks = db.receive(register, [incoming(fn, 2), incoming(fn, 3)])
    assert [(a.accepted, a.duplicate) for a in acks] == [(True, True), (True, False)]
    assert db.count_documents(fn) == 3
    assert [d.fd_number for d in db.documents(register=register)] == [1, 2, 3]


def test_duplicates_are_found_beyond_one_query_chunk(db: BackOffice) -> None:
    register = _register(db)
    fn = register.fn_number
    db.receive(register, [incoming(fn, n) for n in range(600, 701)])
    acks = db.receive(register, [incoming(fn, n) for n in range(1, 1201)])
    assert [n + 1 for n, a in enumerate(acks) if a.duplicate] == list(range(600, 701))
    assert db.count_documents(fn) == 1200


def test_a_foreign_fn_is_refused_and_the_rest_is_stored(db: BackOffice) -> None:
    register, other = _register(db, 1), _register(db, 2)
    fn = register.fn_number
    acks = db.receive(register, [incoming(fn, 1), incoming(other.fn_number, 1),
                                 incoming(fn, 2)])
    assert [a.accepted for a in acks] == [True, False, True]
    assert acks[1].error and not acks[1].duplicate
    assert db.count_documents(other.fn_number) == 0 and db.count_documents(fn) == 2
    assert db.receive(register, []) == []
