"""PostgreSQL storage: psycopg 3 with a connection pool, for a fleet and several server
processes (``serve --workers N``).

Concurrency is the database's: READ COMMITTED transactions, ``INSERT … ON CONFLICT DO
NOTHING`` for documents (a concurrent repeat waits for the first and then does nothing) and
a conditional ``UPDATE … RETURNING`` for a sync code. Migrations run under an advisory lock,
so processes starting together do not race.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from kkt_bridge.errors import StoreError
from kkt_bridge.plugins.reference.storage import Storage, StorageUnavailable
from kkt_bridge.plugins.reference.storage.pgarrays import register_dumpers
from kkt_bridge.plugins.reference.storage.sql import (
    POSTGRES,
    SCHEMA_VERSION,
    Tx,
    migrations,
    schema,
)
from kkt_bridge.plugins.reference.storage.sqlite import DEFAULT_ACCOUNT

#: an arbitrary key for pg_advisory_xact_lock: "kkt-bridge back office schema"
_MIGRATION_LOCK = 0x6B6B7462
POOL_MAX = 8
POOL_TIMEOUT = 30.0


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _configure(conn: Any) -> None:
    """Every pooled connection sends the hand-packed arrays of a batch as they are."""
    register_dumpers(conn.adapters)


class PostgresStorage(Storage):
    multi_process = True

    def __init__(self, url: str, *, pool_max: int = POOL_MAX) -> None:
        self.url = url
        self.description = redact(url)
        try:
            # UTF-8 whatever the server's default: pgarrays packs text as UTF-8
            self._pool = ConnectionPool(url, min_size=1, max_size=pool_max, open=True,
                                        kwargs={"row_factory": dict_row, "autocommit": False,
                                                "client_encoding": "UTF8"},
                                        configure=_configure,
                                        timeout=POOL_TIMEOUT, name="kkt-backoffice")
            self._pool.wait(timeout=POOL_TIMEOUT)
            self._version = self._migrate()
        except (psycopg.Error, PoolTimeout) as exc:
            if hasattr(self, "_pool"):
                self._pool.close()
            raise StoreError(f"база бэк-офиса {self.description} не открывается: "
                             f"{type(exc).__name__}",
                             "проверьте, что PostgreSQL запущен, и адрес --db") from None

    def _migrate(self) -> int:
        conn: Any
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            exists = conn.execute("SELECT to_regclass('meta') IS NOT NULL AS e").fetchone()
            version = 0
            if exists and exists["e"]:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                   ).fetchone()
                version = int(row["value"]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"база бэк-офиса {self.description} записана более новой "
                                 f"версией (схема {version}, эта версия знает "
                                 f"{SCHEMA_VERSION})", "обновите kkt-bridge")
            if version == 0:
                for statement in schema(POSTGRES):
                    conn.execute(statement)
            else:
                steps = migrations(POSTGRES)
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in steps[target]:
                        conn.execute(statement)
            tx = Tx(conn, POSTGRES)
            if version == 0:
                for statement in migrations(POSTGRES)[4]:  # the document numbering's base
                    conn.execute(statement)
            tx.set_meta("schema_version", str(SCHEMA_VERSION))
            tx.init_defaults(*DEFAULT_ACCOUNT, secrets.token_urlsafe(24))
            base = tx.meta("document_id_base")
        assert base is not None
        self._document_id_base = int(base)
        return SCHEMA_VERSION

    @property
    def schema_version(self) -> int:
        return self._version

    @contextmanager
    def _unit(self, *, read_only: bool) -> Iterator[Tx]:
        conn: Any
        try:
            with self._pool.connection() as conn, conn.transaction():
                if read_only:
                    conn.execute("SET TRANSACTION READ ONLY")
                yield Tx(conn, POSTGRES, self._document_id_base)
        except PoolTimeout:
            raise StorageUnavailable("база бэк-офиса перегружена: нет свободного соединения",
                             "повторите запрос позже") from None
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"связь с базой бэк-офиса потеряна ({type(exc).__name__})",
                             "повторите запрос позже") from None

    def read(self) -> Any:
        return self._unit(read_only=True)

    def write(self) -> Any:
        return self._unit(read_only=False)

    def close(self) -> None:
        self._pool.close()
