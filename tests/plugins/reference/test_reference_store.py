"""The reference back office's store and fault specs, without HTTP."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference_support import SHOP, FakeClock, register_json

from kkt_bridge.errors import ConfigError, PairingError, StoreError
from kkt_bridge.plugins.reference.app import ApiError, split_json_array
from kkt_bridge.plugins.reference.demo import ean13, seed_demo
from kkt_bridge.plugins.reference.faults import FaultInjector, parse_faults
from kkt_bridge.plugins.reference.storage import (
    Database,
    IncomingDocument,
    normalize_code,
)

TTL = timedelta(hours=24)


@pytest.fixture
def db(tmp_path: Path, clock: FakeClock) -> Database:
    return Database(tmp_path / "bo.sqlite3", clock=clock)


def incoming(fn_number: str, fd: int) -> IncomingDocument:
    return IncomingDocument(f"{fn_number}:{fd}", fn_number, fd, 3, {"fd": fd}, b"\x01")


def test_database_file_is_private_and_in_wal_mode(db: Database) -> None:
    assert stat.S_IMODE(db.path.stat().st_mode) == 0o600
    with db.transaction(write=False) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_code_is_one_time_and_expires(db: Database, clock: FakeClock) -> None:
    code = db.issue_sync_code(SHOP, TTL)
    assert len(code.code) == 8 and code.display == f"{code.code[:4]}-{code.code[4:]}"
    pairing = db.pair(code.display, register_json(1))
    assert pairing.register.shop == SHOP and pairing.token
    with pytest.raises(PairingError, match="уже использован"):
        db.pair(code.code, register_json(2))
    late = db.issue_sync_code(SHOP, TTL)
    clock.advance(hours=24)
    with pytest.raises(PairingError, match="истёк"):
        db.pair(late.code, register_json(2))
    assert len(db.registers()) == 1


def test_codes_do_not_repeat_among_many(db: Database) -> None:
    codes = {db.issue_sync_code(SHOP, TTL).code for _ in range(300)}
    assert len(codes) == 300


def test_concurrent_pairing_with_one_code_succeeds_once(db: Database) -> None:
    code = db.issue_sync_code(SHOP, TTL).code
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            db.pair(code, register_json(n))
            result = "ok"
        except PairingError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    assert len(db.registers()) == 1


def test_concurrent_duplicate_batches_are_stored_once(db: Database) -> None:
    register = db.pair(db.issue_sync_code(SHOP, TTL).code, register_json(1)).register
    batch = [incoming(register.fn_number, fd) for fd in range(1, 51)]
    results: list[list[bool]] = []
    lock = threading.Lock()

    def post() -> None:
        acks = db.receive(register, batch)
        with lock:
            results.append([a.duplicate for a in acks])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert db.count_documents() == 50
    assert all(column.count(False) == 1 for column in zip(*results, strict=True))


def test_a_failing_batch_rolls_back_whole(db: Database) -> None:
    register = db.pair(db.issue_sync_code(SHOP, TTL).code, register_json(1)).register
    # raw that SQLite cannot bind fails the INSERT after the first row is prepared
    bad = IncomingDocument(f"{register.fn_number}:2", register.fn_number, 2, 3, {},
                           {"not": "bytes"})  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        db.receive(register, [incoming(register.fn_number, 1), bad])
    assert db.count_documents() == 0


def test_bad_prices_and_shop_names_change_nothing(db: Database) -> None:
    with pytest.raises(StoreError):
        db.upsert_good(SHOP, "p", "x", -1)
    with pytest.raises(StoreError):
        db.ensure_shop("  ")
    assert db.shops() == []


def test_seeding_twice_changes_nothing(db: Database) -> None:
    first = seed_demo(db)
    shop = db.shops()[0]
    catalog = db.catalog(shop.id, None)
    assert seed_demo(db) == first
    again = db.catalog(shop.id, None)
    assert again["goods"] == catalog["goods"] and again["groups"] == catalog["groups"]


def test_ean13_check_digit() -> None:
    assert ean13("460123456789") == "4601234567893"


@given(st.text(max_size=20))
def test_normalize_code_keeps_only_alphanumerics(text: str) -> None:
    code = normalize_code(text)
    assert all(ch.isalnum() for ch in code)
    assert normalize_code(code) == code


# --- fault specs ---------------------------------------------------------------------------


def test_fault_specs_parse() -> None:
    rules = parse_faults("503:every=3, 429:first=2:retry_after=0.5, slow:delay=2:path=/api/v1/me,"
                         "drop:rate=0.5:seed=7, drop-after:times=1")
    assert [r.kind for r in rules] == ["status", "429", "slow", "drop", "drop-after"]
    assert rules[0].status == 503 and rules[1].retry_after == 0.5
    assert rules[2].path == "/api/v1/me" and rules[3].seed == 7


def test_fault_selection_is_deterministic() -> None:
    def pattern(spec: str) -> list[bool]:
        injector = FaultInjector(spec)
        return [injector.pick("/api/v1/me") is not None for _ in range(12)]

    assert pattern("500:every=3") == [False, False, True] * 4
    assert pattern("500:first=2") == [True, True] + [False] * 10
    assert pattern("500:times=3") == [True] * 3 + [False] * 9
    assert pattern("500:rate=0.5:seed=1") == pattern("500:rate=0.5:seed=1")
    assert FaultInjector("500").pick("/api/v1/admin/faults") is None
    assert FaultInjector("500").pick("/openapi.json") is None


@pytest.mark.parametrize("spec", ["404", "teapot", "500:every=0", "500:every", "slow:delay=-1",
                                  "drop:rate=2", "500:colour=red", "500:path=relative"])
def test_bad_fault_specs_are_config_errors_and_keep_the_old_rules(spec: str) -> None:
    injector = FaultInjector("500")
    with pytest.raises(ConfigError):
        injector.set(spec)
    assert injector.spec == "500" and injector.pick("/api/v1/me") is not None


@given(st.text(alphabet="0123456789abcdeflorstwy:=,.-_/ ", max_size=40))
def test_any_fault_spec_parses_or_is_a_config_error(spec: str) -> None:
    try:
        rules = parse_faults(spec)
    except ConfigError:
        return
    for rule in rules:
        assert rule.kind in ("status", "429", "slow", "drop", "drop-after")


# --- the verbatim JSON array splitter -------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=3), children, max_size=3), max_leaves=8)


@given(st.lists(_json_values, max_size=5), st.sampled_from(["", " ", "\n  "]))
def test_split_json_array_returns_each_element_and_its_text(items: list[object],
                                                            space: str) -> None:
    body = ("[" + space + ("," + space).join(json.dumps(i, ensure_ascii=False) for i in items)
            + space + "]" + space).encode()
    pairs = split_json_array(body)
    assert [p[0] for p in pairs] == items
    assert [json.loads(p[1]) for p in pairs] == items


@given(st.binary(max_size=40))
def test_split_json_array_accepts_arrays_only(body: bytes) -> None:
    try:
        pairs = split_json_array(body)
    except ApiError as exc:
        assert exc.status == 400
        return
    assert json.loads(body) == [p[0] for p in pairs]


@pytest.mark.parametrize("body", [b"[1,]", b"[1 2]", b"[1]x", b"{}", b"", b"[", b"\xff"])
def test_split_json_array_refuses_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ApiError):
        split_json_array(body)
