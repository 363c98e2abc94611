from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from kkt_bridge.errors import StoreError
from kkt_bridge.exchange import Credentials, Employee, Good, GoodsGroup
from kkt_bridge.store import (
    ORIGIN_BACKOFFICE,
    ORIGIN_REGISTER,
    ExchangeSettings,
    JobRun,
    OutboxDocument,
    RegisterRecord,
    Store,
    data_dir,
    db_path,
    migrations,
    open_store,
    reset_store,
)

FIXTURE_V1 = Path(__file__).with_name("fixtures") / "store_v1.sqlite3"
KEY = "0001:9999000011112222"
CREDS = Credentials(backoffice="fake", endpoint="http://bo", token="tok-secret-123",
                    account="ООО Ромашка", shop="Магазин 1")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "home" / "db.sqlite3")
    s.save_register(RegisterRecord(KEY, "0001", "9999000011112222", "FAKE"))
    return s


def test_data_dir_follows_env_then_platformdirs(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("KKT_BRIDGE_HOME")
    assert data_dir().name == "kkt-bridge"


def test_store_is_wal_and_private(tmp_path: Path) -> None:
    s = open_store(tmp_path / "home")
    s.log_event(None, "x", "y")
    path = db_path(tmp_path / "home")
    assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert len(files) == 3
    for file in files:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file
    assert stat.S_IMODE(os.stat(path.parent).st_mode) & 0o077 == 0
    # the lock files beside it (who has the store open) are private too
    locks = path.parent / "locks"
    assert stat.S_IMODE(os.stat(locks).st_mode) & 0o077 == 0
    for file in locks.iterdir():
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file
    s.close()


def test_store_reopened_after_a_chmod_is_private_again(tmp_path: Path) -> None:
    s = open_store(tmp_path / "home")
    s.close()
    path = db_path(tmp_path / "home")
    os.chmod(path, 0o644)  # a backup tool, a careless copy
    s = open_store(tmp_path / "home")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    s.close()


def test_reset_is_refused_while_the_store_is_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    s = open_store(home)
    s.save_register(RegisterRecord(KEY, "0001", "9999000011112222"))
    s.save_pairing(KEY, CREDS)
    with pytest.raises(StoreError, match="сейчас открыто") as info:
        reset_store(home)
    assert f"процесс {os.getpid()} (" in str(info.value)
    assert s.get_pairing(KEY) is not None
    s.close()
    reset_store(home)
    assert not db_path(home).exists()


def test_installation_id_survives_reopen_and_reset_forgets_everything(tmp_path: Path) -> None:
    home = tmp_path / "home"
    s = open_store(home)
    first = s.installation_id
    s.save_register(RegisterRecord(KEY, "0001", "9999000011112222"))
    s.save_pairing(KEY, CREDS)
    s.close()
    s = open_store(home)
    assert s.installation_id == first
    assert s.get_pairing(KEY) is not None
    s.close()
    reset_store(home)
    s = open_store(home)
    assert s.installation_id != first
    assert s.pairings() == []
    s.close()


def test_new_data_dir_is_a_new_installation(tmp_path: Path) -> None:
    a, b = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    assert a.installation_id != b.installation_id


def test_pairing_round_trip_keeps_token_out_of_repr(store: Store) -> None:
    store.save_pairing(KEY, CREDS)
    pairing = store.get_pairing(KEY)
    assert pairing is not None and pairing.credentials == CREDS
    assert "tok-secret-123" not in repr(pairing)


def test_pairing_of_unknown_register_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        store.save_pairing("nope:1", CREDS)
    assert store.get_pairing("nope:1") is None


def test_failed_transaction_changes_nothing(store: Store) -> None:
    store.save_pairing(KEY, CREDS)
    with pytest.raises(RuntimeError), store.transaction():
        store.delete_pairing(KEY)
        store.save_settings(KEY, ExchangeSettings(goods_period=300))
        raise RuntimeError
    assert store.get_pairing(KEY) is not None
    assert store.get_settings(KEY) == ExchangeSettings()


def test_settings_default_and_saved(store: Store) -> None:
    assert store.get_settings(KEY) == ExchangeSettings(0, 0, 60)
    store.save_settings(KEY, ExchangeSettings(900, 3600, 30))
    assert store.get_settings(KEY) == ExchangeSettings(900, 3600, 30)
    with pytest.raises(StoreError):
        store.save_settings("nope:1", ExchangeSettings())


def test_catalog_replace_and_find(store: Store) -> None:
    store.put_group(KEY, GoodsGroup("local:1", "Своё"), ORIGIN_REGISTER)
    store.replace_catalog(KEY, [GoodsGroup("g1", "Напитки"), GoodsGroup("g2", "Соки", "g1")],
                          [Good("p1", "Сок", 100, "g2", code="7", barcodes=("111", "222"))])
    assert {g.group.id for g in store.groups(KEY)} == {"g1", "g2"}
    found = store.find_goods_by_barcode(KEY, "222")
    assert [g.good.id for g in found] == ["p1"]
    assert found[0].good.barcodes == ("111", "222")
    assert found[0].origin == ORIGIN_BACKOFFICE
    assert store.find_goods_by_code(KEY, "7")[0].good.name == "Сок"
    store.replace_catalog(KEY, [], [Good("p9", "Хлеб", 50)], complete=False)
    assert {g.good.id for g in store.goods(KEY)} == {"p1", "p9"}
    store.delete_catalog(KEY, ORIGIN_BACKOFFICE)
    assert store.goods(KEY) == [] and store.find_goods_by_barcode(KEY, "111") == []


@pytest.mark.parametrize("count", [3, 250])  # barcodes looked up by id / for the whole register
def test_goods_keep_their_own_barcodes_in_order(store: Store, count: int) -> None:
    goods = [Good(f"p{n}", f"Товар {n:03d}", 100, barcodes=(f"{n}9", f"{n}1", f"{n}5")[: n % 4])
             for n in range(count)]
    store.replace_catalog(KEY, [], goods)
    assert [s.good for s in store.goods(KEY)] == sorted(goods, key=lambda g: g.name)
    found = store.get_good(KEY, "p2")
    assert found is not None and found.good.barcodes == ("29", "21")


def test_employees_replaced_in_order(store: Store) -> None:
    store.replace_employees(KEY, [Employee("b", "Б"), Employee("a", "А")])
    store.replace_employees(KEY, [Employee("c", "В"), Employee("b", "Б")])
    assert [e.id for e in store.employees(KEY)] == ["c", "b"]


def test_cursor_only_moves_forward_and_clears_outbox(store: Store) -> None:
    fn = "9999000011112222"
    docs = [OutboxDocument(fn, n, 3, {"n": n}, b"raw%d" % n) for n in range(1, 6)]
    store.outbox_put(docs)
    assert store.outbox_count(fn) == 5
    store.acknowledge(fn, 3)
    assert store.get_cursor(fn) == 3
    assert [d.fd_number for d in store.outbox(fn, 1, 10)] == [4, 5]
    store.acknowledge(fn, 2)
    assert store.get_cursor(fn) == 3
    assert store.outbox(fn, 4, 4)[0].raw == b"raw4"


def test_job_runs_and_events(store: Store) -> None:
    assert store.get_job_run(KEY, "goods") == JobRun(KEY, "goods")
    run = JobRun(KEY, "goods", 1.0, 1.0, 301.0, 0, None)
    store.save_job_run(run)
    assert store.get_job_run(KEY, "goods") == run
    store.log_event(KEY, "paired", "Соединение установлено", shop="Магазин")
    (event,) = store.events(KEY)
    assert event.kind == "paired" and event.data == {"shop": "Магазин"}


def test_store_written_by_schema_v1_opens_with_pairing_intact(tmp_path: Path) -> None:
    copy = tmp_path / "home" / "kkt-bridge.sqlite3"
    copy.parent.mkdir()
    shutil.copy(FIXTURE_V1, copy)
    old = sqlite3.connect(str(copy))
    assert old.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    old.close()
    s = open_store(copy.parent)
    assert s.schema_version == migrations.LATEST == 3
    key = "0012345678:9999078900001234"
    record = s.get_register(key)
    assert record is not None and record.driver == "shtrih"  # v3: stored registers are Shtrih
    pairing = s.get_pairing(key)
    assert pairing is not None
    assert pairing.credentials.token == "v1-token-kept-after-update"
    assert pairing.credentials.shop == "Магазин на Ленина"
    assert s.installation_id == "a1b2c3d4-0000-4000-8000-00000000v1v1"
    assert s.get_settings(key) == ExchangeSettings(900, 3600, 60)
    assert s.get_cursor("9999078900001234") == 40
    run = s.get_job_run(key, "goods")
    assert run.last_success_at == 1700000000.0 and run.next_run_at is None and run.failures == 0
    s.log_event(key, "updated", "v2 event log works")  # the table v2 added
    assert s.events(key)[-1].kind == "updated"
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    s.close()


def test_the_driver_is_part_of_a_register_record(store: Store) -> None:
    store.save_register(RegisterRecord(register_key="77:1", serial="77", fn_number="1",
                                       driver="atol"))
    assert store.get_register("77:1").driver == "atol"
    store.save_register(RegisterRecord(register_key="78:1", serial="78", fn_number="1"))
    assert store.get_register("78:1").driver == "shtrih"


def test_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s._db.execute("INSERT INTO schema_version VALUES (99)")
    s.close()
    with pytest.raises(StoreError):
        open_store(tmp_path)


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    db_path(tmp_path).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        open_store(tmp_path)
    assert "kkt-bridge reset" in str(info.value)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite3.connect(str(tmp_path / "x.sqlite3"), isolation_level=None)
    migrations.migrate(db, target=1)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(db, target=2)
    assert migrations.current_version(db) == 1
    assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()
