"""SQLite storage: one file, WAL mode, for the demo and a single shop.

Writes are serialised in this process by one lock taken before ``BEGIN IMMEDIATE``, so the
server's threads queue on the lock instead of polling SQLite's busy handler (which was where
most of a loaded server's time went). Readers never wait for the writer (WAL). One server
process only: a second process would be back to the busy handler.
"""

from __future__ import annotations

import os
import queue
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kkt_bridge.errors import StoreError
from kkt_bridge.plugins.reference.storage import Storage
from kkt_bridge.plugins.reference.storage.sql import (
    SCHEMA_VERSION,
    SQLITE,
    Tx,
    migrations,
    schema,
)

DEFAULT_ACCOUNT = ("ООО «Ромашка»", "7700000000")


class SqliteStorage(Storage):
    multi_process = False
    inline = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # the file holds the admin token: never world-readable
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._version = self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"база бэк-офиса {self.path} не открывается: {exc}",
                             "проверьте путь и права на файл") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # a new store only (no effect once the file has pages): a receipt row is 1.5-2 KB,
        # and a commit writes one WAL frame per page, so 8 KB pages mean fewer frames and
        # checkpoint copies per document (tools/bench_fleet.py: ~1.5 us of ~14 per document)
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _migrate(self) -> int:
        conn = self._connect()
        try:
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                    if version > SCHEMA_VERSION:
                        raise StoreError(
                            f"база бэк-офиса {self.path} записана более новой версией "
                            f"(схема {version}, эта версия знает {SCHEMA_VERSION})",
                            "обновите kkt-bridge")
                    if version == 0:
                        for statement in schema(SQLITE):
                            conn.execute(statement)
                    else:
                        steps = migrations(SQLITE)
                        for target in range(version + 1, SCHEMA_VERSION + 1):
                            for statement in steps[target]:
                                conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    Tx(conn, SQLITE).init_defaults(*DEFAULT_ACCOUNT, secrets.token_urlsafe(24))
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._pool.put(conn)
        return SCHEMA_VERSION

    @property
    def schema_version(self) -> int:
        return self._version

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._pool.put(conn)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield Tx(conn, SQLITE)
            finally:
                conn.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._connection() as conn, self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn, SQLITE)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break
