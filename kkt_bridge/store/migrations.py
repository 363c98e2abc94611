"""Versioned schema migrations: numbered functions, applied in order, each in one transaction.

An update of kkt-bridge only ever appends a migration, so a store written by any earlier
version opens with everything in it (the pairing above all: the seed's «В случае обновления
программы синхронизация сохранится»). Never edit a released migration; add the next one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def _run(db: sqlite3.Connection, script: str) -> None:
    """Run a script statement by statement: ``executescript`` would commit the migration's
    transaction first, and a failing step must roll back whole."""
    pending = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        db.execute(pending)


def _v1_initial(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE installation (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            installation_id TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        -- one row per register + ФН (Identity.key); a new ФН is a new row and a new pairing
        CREATE TABLE registers (
            register_key TEXT PRIMARY KEY,
            serial TEXT NOT NULL,
            fn_number TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            device_url TEXT,
            inn TEXT,
            rnm TEXT,
            registration_fd INTEGER,
            last_fd_number INTEGER,
            goods_period INTEGER NOT NULL DEFAULT 0,
            employees_period INTEGER NOT NULL DEFAULT 0,
            receipts_interval INTEGER NOT NULL DEFAULT 60,
            updated_at REAL NOT NULL
        );
        CREATE TABLE pairings (
            register_key TEXT PRIMARY KEY REFERENCES registers(register_key),
            backoffice TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            token TEXT NOT NULL,
            account TEXT NOT NULL DEFAULT '',
            shop TEXT NOT NULL DEFAULT '',
            extra TEXT NOT NULL DEFAULT '{}',
            paired_at REAL NOT NULL
        );
        CREATE TABLE goods_groups (
            register_key TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            parent_id TEXT,
            origin TEXT NOT NULL CHECK (origin IN ('backoffice', 'register')),
            PRIMARY KEY (register_key, id)
        );
        CREATE TABLE goods (
            register_key TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            price INTEGER NOT NULL,
            group_id TEXT,
            code TEXT NOT NULL DEFAULT '',
            measure TEXT NOT NULL DEFAULT 'шт',
            vat INTEGER NOT NULL DEFAULT 6,
            weighed INTEGER NOT NULL DEFAULT 0,
            origin TEXT NOT NULL CHECK (origin IN ('backoffice', 'register')),
            PRIMARY KEY (register_key, id)
        );
        CREATE INDEX goods_code ON goods (register_key, code);
        CREATE TABLE goods_barcodes (
            register_key TEXT NOT NULL,
            good_id TEXT NOT NULL,
            barcode TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (register_key, good_id, barcode)
        );
        CREATE INDEX goods_barcodes_barcode ON goods_barcodes (register_key, barcode);
        CREATE TABLE employees (
            register_key TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT 'cashier',
            inn TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL,
            PRIMARY KEY (register_key, id)
        );
        -- the last ФД the back office acknowledged, per ФН (a ФН outlives no register key)
        CREATE TABLE export_cursor (
            fn_number TEXT PRIMARY KEY,
            last_fd INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );
        -- documents read from the ФН and not yet acknowledged: a crash re-sends these
        -- instead of reading the register again
        CREATE TABLE outbox (
            fn_number TEXT NOT NULL,
            fd_number INTEGER NOT NULL,
            document_type INTEGER NOT NULL,
            fns TEXT NOT NULL,
            raw BLOB NOT NULL,
            read_at REAL NOT NULL,
            PRIMARY KEY (fn_number, fd_number)
        );
        CREATE TABLE job_runs (
            register_key TEXT NOT NULL,
            job TEXT NOT NULL,
            last_run_at REAL,
            last_success_at REAL,
            last_error TEXT,
            PRIMARY KEY (register_key, job)
        );
        """
    )


def _v2_events_and_schedule(db: sqlite3.Connection) -> None:
    # v2: an event log, and the scheduler's next run and failure count kept across restarts
    # (v1 recomputed them from the last run, which made a restarted fleet retry at once).
    _run(
        db,
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            register_key TEXT,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_register ON events (register_key, id);
        ALTER TABLE job_runs ADD COLUMN next_run_at REAL;
        ALTER TABLE job_runs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        """
    )


def _v3_register_driver(db: sqlite3.Connection) -> None:
    # v3: the driver (protocol) is part of a register's identity. Every register stored
    # before was opened by the only driver there was: Shtrih-M.
    _run(db, "ALTER TABLE registers ADD COLUMN driver TEXT NOT NULL DEFAULT 'shtrih';")


#: migration N is MIGRATIONS[N - 1]; the schema version is len(MIGRATIONS)
MIGRATIONS: tuple[Migration, ...] = (_v1_initial, _v2_events_and_schedule, _v3_register_driver)
LATEST = len(MIGRATIONS)


def current_version(db: sqlite3.Connection) -> int:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the schema up to ``target``; each step commits alone, so a crash mid-way
    leaves a store at a valid earlier version. Returns the version reached."""
    version = current_version(db)
    if version > LATEST:
        from kkt_bridge.errors import StoreError
        from kkt_bridge.i18n import _

        raise StoreError(
            _("хранилище создано более новой версией kkt-bridge "
              "(схема {found}, эта версия знает {known})").format(found=version, known=LATEST),
            _("обновите kkt-bridge"),
        )
    for number in range(version + 1, target + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number - 1](db)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return max(version, target)
