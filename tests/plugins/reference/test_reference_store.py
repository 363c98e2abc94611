"""The reference back office's rules over each storage, the fault specs and the strict JSON
parser, without HTTP."""

from __future__ import annotations

import json
import shutil
import stat
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference_support import SHOP, FakeClock, register_json

from kkt_bridge.errors import ConfigError, PairingError, StoreError
from kkt_bridge.plugins.reference.app import MAX_DEPTH, ApiError, parse_json
from kkt_bridge.plugins.reference.demo import ean13, seed_demo
from kkt_bridge.plugins.reference.faults import FaultInjector, parse_faults
from kkt_bridge.plugins.reference.service import BackOffice
from kkt_bridge.plugins.reference.storage import IncomingDocument, normalize_code, open_storage
from kkt_bridge.plugins.reference.storage.sql import SCHEMA_VERSION

TTL = timedelta(hours=24)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "backoffice"


@pytest.fixture
def db(backoffice_db: str, clock: FakeClock) -> Iterator[BackOffice]:
    office = BackOffice.open(backoffice_db, clock=clock)
    yield office
    office.close()


def incoming(fn_number: str, fd: int) -> IncomingDocument:
    return IncomingDocument(f"{fn_number}:{fd}", fn_number, fd, 3, {"fd": fd}, b"\x01")


def test_database_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "bo.sqlite3")
    try:
        assert stat.S_IMODE((tmp_path / "bo.sqlite3").stat().st_mode) == 0o600
        with storage.read() as tx:
            assert tx.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        storage.close()


@pytest.mark.parametrize("url", ["sqlite://relative/path", "mysql://x/y", "sqlite://"])
def test_bad_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_storage(url)


def test_a_store_written_by_the_current_schema_opens_with_its_data(tmp_path: Path) -> None:
    """tests/fixtures/backoffice/v2.sqlite3 was written by this schema's code."""
    path = tmp_path / "v2.sqlite3"
    shutil.copy(FIXTURES / "v2.sqlite3", path)
    office = BackOffice.open(path)
    try:
        (register,) = office.registers()
        assert register.shop == "Магазин на Садовой" and register.repair_until is not None
        assert [(d.fd_number, d.raw) for d in office.documents()] == [(1, b"\x01\x02"),
                                                                      (2, b"\x02\x02")]
        assert office.admin_token and len(office.shops()) == 2
    finally:
        office.close()


def test_a_store_written_by_the_previous_schema_opens_with_its_data(tmp_path: Path) -> None:
    """tests/fixtures/backoffice/v1.sqlite3 was written by the SQLite-only store (schema 1:
    a register row per pairing, raw bytes kept twice); it migrates to the current schema."""
    path = tmp_path / "v1.sqlite3"
    shutil.copy(FIXTURES / "v1.sqlite3", path)
    office = BackOffice.open(path)
    try:
        assert office.storage.schema_version == SCHEMA_VERSION
        registers = office.registers()
        assert len(registers) == 1 and registers[0].revoked_at is None  # the newest pairing
        docs = office.documents()
        assert [d.fd_number for d in docs] == [1, 2, 3, 4]
        assert docs[0].fns == {"fiscalDocumentNumber": 1, "totalSum": 100}
        assert docs[0].raw == bytes([1, 1, 2])
        assert {d.register_id for d in docs} == {registers[0].id}
        assert [c["used_at"] is not None for c in office.sync_codes()] == [True, True, False]
        assert len(office.catalog(office.shops()[0].id, None)["goods"]) == 8
        ack = office.receive(registers[0], [incoming(registers[0].fn_number, 2)])
        assert ack[0].duplicate  # the migrated copy still counts
    finally:
        office.close()
    again = BackOffice.open(path)  # and opening it again changes nothing
    assert again.count_documents() == 4
    again.close()


def test_code_is_one_time_and_expires(db: BackOffice, clock: FakeClock) -> None:
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


def test_codes_do_not_repeat_among_many(db: BackOffice) -> None:
    codes = {db.issue_sync_code(SHOP, TTL).code for _ in range(300)}
    assert len(codes) == 300


def test_concurrent_pairing_with_one_code_succeeds_once(db: BackOffice) -> None:
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


def test_concurrent_duplicate_batches_are_stored_once(db: BackOffice) -> None:
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


def test_a_failing_batch_rolls_back_whole(db: BackOffice) -> None:
    register = db.pair(db.issue_sync_code(SHOP, TTL).code, register_json(1)).register
    # raw that SQLite cannot bind fails the INSERT after the first row is prepared
    bad = IncomingDocument(f"{register.fn_number}:2", register.fn_number, 2, 3, {},
                           {"not": "bytes"})  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - whichever the engine's driver raises
        db.receive(register, [incoming(register.fn_number, 1), bad])
    assert db.count_documents() == 0


def test_bad_prices_and_shop_names_change_nothing(db: BackOffice) -> None:
    with pytest.raises(StoreError):
        db.upsert_good(SHOP, "p", "x", -1)
    with pytest.raises(StoreError):
        db.ensure_shop("  ")
    assert db.shops() == []


def test_seeding_twice_changes_nothing(db: BackOffice) -> None:
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
                                  "slow:delay=nan", "slow:delay=inf", "429:retry_after=nan",
                                  "drop:rate=nan", "429:retry_after=1e9",
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


# --- strict JSON ----------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5), lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=3), children, max_size=3), max_leaves=8)


@given(_json_values)
def test_parse_json_reads_what_json_writes(value: object) -> None:
    assert parse_json(json.dumps(value).encode()) == value
    assert parse_json(json.dumps(value, ensure_ascii=False).encode()) == value


@given(st.binary(max_size=40))
def test_parse_json_refuses_with_400_or_agrees_with_json(body: bytes) -> None:
    try:
        value = parse_json(body)
    except ApiError as exc:
        assert exc.status == 400
        return
    assert value == json.loads(body)


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b"[-Infinity]", b'"\\ud800"',
                                  b'{"\\udfff": 1}', b'["a\\ud83d"]', b"[1,]", b"\xff",
                                  b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)])
def test_parse_json_refuses_what_json_cannot_carry(body: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        parse_json(body)
    assert refused.value.status == 400


def test_parse_json_keeps_surrogate_pairs_and_bracket_strings() -> None:
    assert parse_json(b'["\\ud83d\\ude00"]') == ["\U0001f600"]
    deep_text = '"' + "[" * 1000 + '"'
    assert parse_json(deep_text.encode()) == "[" * 1000
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)  # the cap itself is allowed


def test_reopening_a_store_keeps_its_data(backoffice_db: str, clock: FakeClock) -> None:
    first = BackOffice.open(backoffice_db, clock=clock)
    register = first.pair(first.issue_sync_code(SHOP, TTL).code, register_json(1)).register
    first.receive(register, [incoming(register.fn_number, 1)])
    token = first.admin_token
    first.close()
    again = BackOffice.open(backoffice_db, clock=clock)
    try:
        assert again.storage.schema_version == SCHEMA_VERSION
        assert again.admin_token == token and again.registers() == [register]
        assert again.count_documents() == 1
    finally:
        again.close()


def test_a_postgresql_store_of_schema_2_is_migrated(postgres_url: str) -> None:
    office = BackOffice.open(postgres_url)
    with office.storage.write() as tx:  # what version 2 looked like
        tx._exec("DROP TABLE pair_failures")
        tx.set_meta("schema_version", "2")
    office.close()
    again = BackOffice.open(postgres_url)
    try:
        assert again.storage.schema_version == SCHEMA_VERSION
        again.record_pair_failure("10.0.0.1", timedelta(minutes=1))
        assert len(again.pair_failures("10.0.0.1", timedelta(minutes=1))) == 1
    finally:
        again.close()


def test_failed_pairings_are_counted_for_every_process(backoffice_db: str,
                                                       clock: FakeClock) -> None:
    """Two server processes are two BackOffice objects on one database."""
    one, two = BackOffice.open(backoffice_db, clock=clock), BackOffice.open(backoffice_db,
                                                                            clock=clock)
    try:
        window = timedelta(minutes=1)
        for office in (one, two) * 3:
            office.record_pair_failure("10.0.0.1", window)
        assert len(one.pair_failures("10.0.0.1", window)) == 6
        assert two.pair_failures("10.0.0.2", window) == []
        clock.advance(minutes=2)
        assert one.pair_failures("10.0.0.1", window) == []
    finally:
        one.close()
        two.close()


def test_a_postgresql_listing_never_pages_past_a_document_committed_late(
        postgres_url: str) -> None:
    """Two connections: the first transaction to write stays open while a second one stores
    and commits. A reader paging by id (``after=``) must not page past the first one's
    documents, which it cannot see yet, and miss them once they are committed."""
    slow, quick = BackOffice.open(postgres_url), BackOffice.open(postgres_url)
    try:
        one = slow.pair(slow.issue_sync_code(SHOP, TTL).code, register_json(1)).register
        two = slow.pair(slow.issue_sync_code(SHOP, TTL).code, register_json(2)).register
        with slow.storage.write() as tx:  # writes first, commits last
            tx.add_documents([(one.id, one.fn_number, 1, 3, "{}", b"\x01", 0.0)])
            quick.receive(two, [incoming(two.fn_number, 1)])
            early = quick.documents(after=0)
            for register in (one, two):
                assert quick.documents(register=register) == [
                    d for d in early if d.register_id == register.id]
        after = early[-1].id if early else 0
        late = quick.documents(after=after)
        assert sorted(d.fn_number for d in early + late) == sorted(
            [one.fn_number, two.fn_number])
        assert [d.id for d in quick.documents()] == sorted(d.id for d in early + late)
    finally:
        slow.close()
        quick.close()
