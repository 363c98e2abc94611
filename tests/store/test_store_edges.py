"""The store at its edges: a damaged pairing row, a KKT_BRIDGE_HOME that cannot hold a
store, and the cursor/outbox rules the export relies on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_store import CREDS, KEY, store  # noqa: F401 (the fixture)

from kkt_bridge.cli.main import cli
from kkt_bridge.errors import StoreError
from kkt_bridge.store import OutboxDocument, RegisterRecord, Store, open_store

FN = "9999000011112222"


def _damage(path: Path, extra: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE pairings SET extra = ?", (extra,))


@pytest.mark.parametrize("extra", ['{"register_id": ', "[1, 2]", '{"a": 1}', "[" * 5000])
def test_a_damaged_pairing_row_says_what_to_do(store: Store, extra: str) -> None:  # noqa: F811
    store.save_pairing(KEY, CREDS)
    _damage(store.path, extra)
    for read in (lambda: store.get_pairing(KEY), store.pairings):
        with pytest.raises(StoreError) as info:
            read()
        assert KEY in info.value.message and "повреждена" in info.value.message
        assert "kkt-bridge connect" in (info.value.hint or "")
    assert store.has_pairing(KEY)  # connect can still see there is one to replace
    store.save_pairing(KEY, CREDS)  # ... and replacing it mends it
    assert store.get_pairing(KEY) is not None


def test_sync_now_with_a_damaged_pairing_prints_the_message_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(tmp_path / "home"))
    with open_store() as db:
        db.save_register(RegisterRecord(KEY, "0001", FN, "FAKE", device_url="loop://"))
        db.save_pairing(KEY, CREDS)
        path = db.path
    _damage(path, "{broken")
    result = CliRunner().invoke(cli, ["sync", "now"])
    assert result.exit_code != 0
    assert "повреждена" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, (ValueError, TypeError))


def test_home_naming_a_file_is_a_clear_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(home))
    with pytest.raises(StoreError, match="файл") as info:
        open_store()
    assert "KKT_BRIDGE_HOME" in (info.value.hint or "")
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(home / "below"))
    with pytest.raises(StoreError, match="не создаётся"):
        open_store()
    result = CliRunner().invoke(cli, ["sync", "now"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "не создаётся" in result.output


@pytest.mark.parametrize("failing", ["mkdir", "lock", "sqlite"])
def test_an_unwritable_home_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            failing: str) -> None:
    """Permission refused at each step of opening (the tests run as root too, where a
    chmod would not stop anything, so the refusal is injected where the OS would give it)."""
    import kkt_bridge.store.paths as paths
    import kkt_bridge.store.store as store_module

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")
    if failing == "mkdir":
        monkeypatch.setattr(Path, "mkdir", refuse)
    elif failing == "lock":
        monkeypatch.setattr(store_module, "StoreHold", refuse)
    else:
        monkeypatch.setattr(store_module.sqlite3, "connect", refuse)
    monkeypatch.setattr(paths.os, "access", lambda *a, **k: True)
    with pytest.raises(StoreError, match="Permission denied") as info:
        Store(tmp_path / "home" / "db.sqlite3")
    assert "KKT_BRIDGE_HOME" in (info.value.hint or "")


def test_a_directory_without_write_permission_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kkt_bridge.store.paths as paths
    (tmp_path / "home").mkdir()
    monkeypatch.setattr(paths.os, "access", lambda *a, **k: False)
    with pytest.raises(StoreError, match="нельзя писать"):
        Store(tmp_path / "home" / "db.sqlite3")


# --- cursor and outbox: what the export's exactly-once rests on -----------------------------


def _doc(fd: int, fn: str = FN) -> OutboxDocument:
    return OutboxDocument(fn, fd, 3, {"fd": fd, "текст": "чек"}, b"raw%d" % fd)


def test_outbox_keeps_the_first_copy_and_reads_a_range_in_order(store: Store) -> None:  # noqa: F811
    store.outbox_put([_doc(5), _doc(2), _doc(3)])
    store.outbox_put([OutboxDocument(FN, 3, 4, {"later": True}, b"other")])
    store.outbox_put([_doc(1, "1111")])
    held = store.outbox(FN, 2, 5)
    assert [d.fd_number for d in held] == [2, 3, 5]
    assert held[1] == _doc(3)  # INSERT OR IGNORE: a re-read never replaces what was read
    assert [d.fd_number for d in store.outbox(FN, 3, 3)] == [3]
    assert store.outbox(FN, 4, 4) == []
    assert store.outbox_count(FN) == 3 and store.outbox_count() == 4
    assert store.outbox_count("1111") == 1


def test_acknowledge_moves_one_fn_only_and_never_back(store: Store) -> None:  # noqa: F811
    assert store.get_cursor(FN) == 0
    store.outbox_put([_doc(n) for n in range(1, 5)] + [_doc(1, "1111")])
    store.acknowledge(FN, 2)
    assert (store.get_cursor(FN), store.get_cursor("1111")) == (2, 0)
    assert [d.fd_number for d in store.outbox(FN, 1, 9)] == [3, 4]
    assert store.outbox_count("1111") == 1
    store.acknowledge(FN, 2)
    store.acknowledge(FN, 1)
    assert store.get_cursor(FN) == 2
    store.acknowledge(FN, 3)
    assert store.get_cursor(FN) == 3 and [d.fd_number for d in store.outbox(FN, 1, 9)] == [4]
