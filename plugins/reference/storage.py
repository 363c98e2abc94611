"""The reference back office's SQLite store: organisation, shops, goods, employees,
registers, sync codes and received fiscal documents.

WAL mode, one ``BEGIN IMMEDIATE`` transaction per change. Idempotency of documents is the
``UNIQUE (fn_number, fd_number)`` constraint, not a check in Python, so concurrent repeats
of one document cannot both be stored. Only a SHA-256 hash of each register token is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kkt_bridge.errors import PairingError, StoreError

Clock = Callable[[], datetime]

SCHEMA_VERSION = 1
CODE_DIGITS = 8
MAX_BATCH = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS organisation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    inn TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS shops (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS goods_groups (
    shop_id INTEGER NOT NULL REFERENCES shops(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT,
    archived INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (shop_id, id)
);
CREATE TABLE IF NOT EXISTS goods (
    shop_id INTEGER NOT NULL REFERENCES shops(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    group_id TEXT,
    code TEXT NOT NULL DEFAULT '',
    barcodes TEXT NOT NULL DEFAULT '[]',
    measure TEXT NOT NULL DEFAULT 'шт',
    vat INTEGER NOT NULL DEFAULT 6,
    weighed INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (shop_id, id)
);
CREATE TABLE IF NOT EXISTS employees (
    shop_id INTEGER NOT NULL REFERENCES shops(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'cashier',
    inn TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (shop_id, id)
);
CREATE TABLE IF NOT EXISTS registers (
    id INTEGER PRIMARY KEY,
    shop_id INTEGER NOT NULL REFERENCES shops(id),
    serial TEXT NOT NULL,
    fn_number TEXT NOT NULL,
    model TEXT NOT NULL,
    inn TEXT,
    rnm TEXT,
    installation_id TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    paired_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS registers_serial ON registers (shop_id, serial);
CREATE TABLE IF NOT EXISTS sync_codes (
    code TEXT PRIMARY KEY,
    shop_id INTEGER NOT NULL REFERENCES shops(id),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    register_id INTEGER REFERENCES registers(id)
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    register_id INTEGER NOT NULL REFERENCES registers(id),
    fn_number TEXT NOT NULL,
    fd_number INTEGER NOT NULL,
    document_type INTEGER NOT NULL,
    received TEXT NOT NULL,  -- the document's JSON object exactly as it arrived
    raw BLOB NOT NULL,
    received_at REAL NOT NULL,
    UNIQUE (fn_number, fd_number)
);
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_code(code: str) -> str:
    """What the user typed, without the spaces and dashes a code is displayed with."""
    # upper-cased first: a few letters upper-case to a letter plus a combining mark
    return "".join(ch for ch in code.upper() if ch.isalnum())


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_DIGITS else code


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


# --- rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    id: int
    name: str


@dataclass(frozen=True)
class Register:
    id: int
    shop_id: int
    shop: str
    serial: str
    fn_number: str
    model: str
    inn: str | None
    rnm: str | None
    paired_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class SyncCode:
    code: str  # normalized
    shop: str
    expires_at: float

    @property
    def display(self) -> str:
        return display_code(self.code)


@dataclass(frozen=True)
class Pairing:
    token: str
    register: Register
    account: str


@dataclass(frozen=True)
class IncomingDocument:
    key: str
    fn_number: str
    fd_number: int
    document_type: int
    fns: dict[str, Any]
    raw: bytes
    #: the document's JSON text as received; stored verbatim (and not re-encoded: at 10,000
    #: receipts a batch that is most of the server's work). None: encoded from the fields.
    text: str | None = None

    def json_text(self) -> str:
        if self.text is not None:
            return self.text
        return json.dumps({"key": self.key, "fn_number": self.fn_number,
                           "fd_number": self.fd_number, "document_type": self.document_type,
                           "fns": self.fns}, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class DocumentAck:
    key: str
    accepted: bool
    duplicate: bool = False
    error: str | None = None


@dataclass(frozen=True)
class StoredDocument:
    id: int
    register_id: int
    serial: str
    shop: str
    fn_number: str
    fd_number: int
    document_type: int
    fns: dict[str, Any]
    raw: bytes
    received_at: float

    @property
    def key(self) -> str:
        return f"{self.fn_number}:{self.fd_number}"


class PairingRefused(PairingError):
    """A pairing attempt failed; ``reason`` is the API's error code."""

    def __init__(self, reason: str, message: str, hint: str) -> None:
        super().__init__(message, hint)
        self.reason = reason


# --- the store ---------------------------------------------------------------------------


class Database:
    """A small pool of SQLite connections to one file (threads of the ASGI server share it)."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        fresh = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                # the file holds the admin token: never world-readable
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            conn = self._connect()
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._pool.put(conn)
            with self.transaction() as db:
                db.execute(
                    "INSERT OR IGNORE INTO organisation (id, name, inn) VALUES (1, ?, ?)",
                    ("ООО «Ромашка»", "7700000000"),
                )
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('admin_token', ?)",
                           (secrets.token_urlsafe(24),))
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"база бэк-офиса {self.path} не открывается: {exc}",
                             "проверьте путь и права на файл") from exc

    def now(self) -> float:
        return self.clock().timestamp()

    # connections

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._pool.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break

    # organisation and shops

    @property
    def admin_token(self) -> str:
        with self.transaction(write=False) as db:
            return str(db.execute("SELECT value FROM meta WHERE key='admin_token'").fetchone()[0])

    def account(self) -> str:
        with self.transaction(write=False) as db:
            return str(db.execute("SELECT name FROM organisation").fetchone()[0])

    def shops(self) -> list[Shop]:
        with self.transaction(write=False) as db:
            rows = db.execute("SELECT id, name FROM shops ORDER BY id").fetchall()
        return [Shop(r["id"], r["name"]) for r in rows]

    def ensure_shop(self, name: str) -> tuple[Shop, bool]:
        """The shop named ``name``, created when missing; the flag tells whether it was."""
        name = name.strip()
        if not name:
            raise StoreError("название магазина пустое", "укажите --shop НАЗВАНИЕ")
        with self.transaction() as db:
            row = db.execute("SELECT id FROM shops WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return Shop(row["id"], name), False
            cur = db.execute("INSERT INTO shops (name) VALUES (?)", (name,))
            return Shop(int(cur.lastrowid or 0), name), True

    # sync codes and pairing

    def issue_sync_code(self, shop: str, ttl: timedelta) -> SyncCode:
        """«Мои Кассы» -> «Добавить ККТ»: a one-time code for a register of ``shop``."""
        shop_row, _ = self.ensure_shop(shop)
        now = self.now()
        expires = now + ttl.total_seconds()
        with self.transaction() as db:
            for _attempt in range(50):  # 10^8 codes: a clash is rare, fifty in a row is not
                code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
                cur = db.execute(
                    "INSERT OR IGNORE INTO sync_codes (code, shop_id, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?)", (code, shop_row.id, now, expires))
                if cur.rowcount == 1:
                    return SyncCode(code, shop_row.name, expires)
        raise StoreError("не удалось выдать код синхронизации", "повторите попытку")

    def pair(self, code: str, register: dict[str, str | None]) -> Pairing:
        """Spend a sync code on a register; nothing changes when the code does not work."""
        code = normalize_code(code)
        now = self.now()
        token = secrets.token_urlsafe(32)
        with self.transaction() as db:
            row = db.execute(
                "SELECT c.shop_id, c.expires_at, c.used_at, s.name AS shop FROM sync_codes c"
                " JOIN shops s ON s.id = c.shop_id WHERE c.code = ?", (code,)).fetchone()
            if row is None:
                raise PairingRefused("sync_code_not_found", "код синхронизации не найден",
                                     "проверьте код или получите новый: «Мои Кассы» -> "
                                     "«Добавить ККТ»")
            if row["used_at"] is not None:
                raise PairingRefused("sync_code_used", "код синхронизации уже использован",
                                     "получите новый код: «Мои Кассы» -> «Добавить ККТ»")
            if row["expires_at"] <= now:
                raise PairingRefused("sync_code_expired", "срок действия кода синхронизации "
                                     "истёк", "получите новый код: «Мои Кассы» -> "
                                     "«Добавить ККТ»")
            # one live pairing per physical register: the previous token stops working
            db.execute("UPDATE registers SET revoked_at = ? WHERE serial = ? AND fn_number = ?"
                       " AND revoked_at IS NULL", (now, register["serial"],
                                                   register["fn_number"]))
            cur = db.execute(
                "INSERT INTO registers (shop_id, serial, fn_number, model, inn, rnm,"
                " installation_id, token_hash, paired_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (row["shop_id"], register["serial"], register["fn_number"], register["model"],
                 register.get("inn"), register.get("rnm"), register.get("installation_id"),
                 hash_token(token), now))
            register_id = int(cur.lastrowid or 0)
            used = db.execute("UPDATE sync_codes SET used_at = ?, register_id = ?"
                              " WHERE code = ? AND used_at IS NULL", (now, register_id, code))
            if used.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; keep the promise
                raise PairingRefused("sync_code_used", "код синхронизации уже использован",
                                     "получите новый код")
            account = str(db.execute("SELECT name FROM organisation").fetchone()[0])
        reg = self.register_by_id(register_id)
        assert reg is not None
        return Pairing(token, reg, account)

    def register_by_token(self, token: str) -> Register | None:
        with self.transaction(write=False) as db:
            row = db.execute(_REGISTER_SELECT + " WHERE r.token_hash = ? AND r.revoked_at IS NULL",
                             (hash_token(token),)).fetchone()
        return _register(row) if row else None

    def register_by_id(self, register_id: int) -> Register | None:
        with self.transaction(write=False) as db:
            row = db.execute(_REGISTER_SELECT + " WHERE r.id = ?", (register_id,)).fetchone()
        return _register(row) if row else None

    def registers(self) -> list[Register]:
        with self.transaction(write=False) as db:
            rows = db.execute(_REGISTER_SELECT + " ORDER BY r.id").fetchall()
        return [_register(r) for r in rows]

    def revoke(self, register_id: int) -> bool:
        with self.transaction() as db:
            cur = db.execute("UPDATE registers SET revoked_at = ? WHERE id = ?"
                             " AND revoked_at IS NULL", (self.now(), register_id))
        return cur.rowcount == 1

    def sync_codes(self) -> list[dict[str, Any]]:
        with self.transaction(write=False) as db:
            rows = db.execute("SELECT c.code, s.name AS shop, c.created_at, c.expires_at,"
                              " c.used_at, c.register_id FROM sync_codes c"
                              " JOIN shops s ON s.id = c.shop_id"
                              " ORDER BY c.created_at, c.rowid").fetchall()
        return [dict(r) for r in rows]

    # catalog and employees

    def upsert_group(self, shop: str, id: str, name: str, parent_id: str | None = None) -> None:
        shop_row, _ = self.ensure_shop(shop)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO goods_groups (shop_id, id, name, parent_id, updated_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT (shop_id, id) DO UPDATE SET name=excluded.name,"
                " parent_id=excluded.parent_id, archived=0, updated_at=excluded.updated_at",
                (shop_row.id, id, name, parent_id, self.now()))

    def upsert_good(self, shop: str, id: str, name: str, price: int, *,
                    group_id: str | None = None, code: str = "",
                    barcodes: Sequence[str] = (), measure: str = "шт", vat: int = 6,
                    weighed: bool = False) -> None:
        if not isinstance(price, int) or price < 0:
            raise StoreError(f"цена товара {name!r} должна быть целым числом копеек >= 0")
        shop_row, _ = self.ensure_shop(shop)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO goods (shop_id, id, name, price, group_id, code, barcodes, measure,"
                " vat, weighed, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (shop_id, id) DO UPDATE SET name=excluded.name,"
                " price=excluded.price, group_id=excluded.group_id, code=excluded.code,"
                " barcodes=excluded.barcodes, measure=excluded.measure, vat=excluded.vat,"
                " weighed=excluded.weighed, archived=0, updated_at=excluded.updated_at",
                (shop_row.id, id, name, price, group_id, code, json.dumps(list(barcodes)),
                 measure, vat, int(weighed), self.now()))

    def archive_good(self, shop: str, id: str) -> None:
        shop_row, _ = self.ensure_shop(shop)
        with self.transaction() as db:
            db.execute("UPDATE goods SET archived = 1, updated_at = ? WHERE shop_id = ?"
                       " AND id = ?", (self.now(), shop_row.id, id))

    def upsert_employee(self, shop: str, id: str, name: str, role: str = "cashier",
                        inn: str = "") -> None:
        shop_row, _ = self.ensure_shop(shop)
        with self.transaction() as db:
            db.execute("INSERT INTO employees (shop_id, id, name, role, inn) VALUES (?,?,?,?,?)"
                       " ON CONFLICT (shop_id, id) DO UPDATE SET name=excluded.name,"
                       " role=excluded.role, inn=excluded.inn",
                       (shop_row.id, id, name, role, inn))

    def catalog(self, shop_id: int, since: float | None) -> dict[str, Any]:
        """The shop's catalog; a delta since ``since`` unless something was archived since
        then (a delta cannot say "deleted", so the whole catalog is sent instead)."""
        as_of = self.now()
        with self.transaction(write=False) as db:
            complete = since is None or db.execute(
                "SELECT EXISTS (SELECT 1 FROM goods WHERE shop_id = ? AND archived = 1"
                " AND updated_at >= ?) OR EXISTS (SELECT 1 FROM goods_groups WHERE shop_id = ?"
                " AND archived = 1 AND updated_at >= ?)",
                (shop_id, since, shop_id, since)).fetchone()[0] == 1
            cutoff = float("-inf") if complete else since
            groups = db.execute(
                "SELECT id, name, parent_id FROM goods_groups WHERE shop_id = ? AND archived = 0"
                " AND updated_at >= ? ORDER BY id", (shop_id, cutoff)).fetchall()
            goods = db.execute(
                "SELECT id, name, price, group_id, code, barcodes, measure, vat, weighed"
                " FROM goods WHERE shop_id = ? AND archived = 0 AND updated_at >= ?"
                " ORDER BY id", (shop_id, cutoff)).fetchall()
        return {
            "complete": complete,
            "as_of": iso(as_of),
            "groups": [{"id": g["id"], "name": g["name"], "parent_id": g["parent_id"]}
                       for g in groups],
            "goods": [{"id": g["id"], "name": g["name"], "price": g["price"],
                       "group_id": g["group_id"], "code": g["code"],
                       "barcodes": json.loads(g["barcodes"]), "measure": g["measure"],
                       "vat": g["vat"], "weighed": bool(g["weighed"])} for g in goods],
        }

    def employees(self, shop_id: int) -> list[dict[str, Any]]:
        with self.transaction(write=False) as db:
            rows = db.execute("SELECT id, name, role, inn FROM employees WHERE shop_id = ?"
                              " ORDER BY id", (shop_id,)).fetchall()
        return [dict(r) for r in rows]

    # documents

    def receive(self, register: Register, batch: Sequence[IncomingDocument]) -> list[DocumentAck]:
        """Store a batch in one transaction; a repeat of a stored ФН+ФД is a duplicate."""
        now = self.now()
        # encoded before the write lock is taken, so the lock is held only for SQL
        texts = [doc.json_text() for doc in batch]
        with self.transaction() as db:
            own_fns = {r[0] for r in db.execute(
                "SELECT fn_number FROM registers WHERE shop_id = ? AND serial = ?",
                (register.shop_id, register.serial))}
            # Under BEGIN IMMEDIATE no other writer can slip in between this look-up and
            # the insert, so "already stored" is exact; the UNIQUE constraint still guards.
            stored: set[tuple[str, int]] = set()
            for fn_number in {doc.fn_number for doc in batch} & own_fns:
                numbers = [doc.fd_number for doc in batch if doc.fn_number == fn_number]
                for start in range(0, len(numbers), 500):  # SQLite's bound-parameter limit
                    chunk = numbers[start:start + 500]
                    stored.update((fn_number, r[0]) for r in db.execute(
                        "SELECT fd_number FROM documents WHERE fn_number = ? AND fd_number IN"
                        f" ({','.join('?' * len(chunk))})", (fn_number, *chunk)))
            acks: list[DocumentAck] = []
            rows = []
            for doc, text in zip(batch, texts, strict=True):
                if doc.fn_number not in own_fns:
                    acks.append(DocumentAck(doc.key, False, error="ФН не принадлежит этой кассе"))
                    continue
                duplicate = (doc.fn_number, doc.fd_number) in stored
                acks.append(DocumentAck(doc.key, True, duplicate=duplicate))
                if not duplicate:
                    stored.add((doc.fn_number, doc.fd_number))  # a repeat inside the batch
                    rows.append((register.id, doc.fn_number, doc.fd_number, doc.document_type,
                                 text, doc.raw, now))
            cur = db.executemany(
                "INSERT INTO documents (register_id, fn_number, fd_number, document_type,"
                " received, raw, received_at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT (fn_number, fd_number) DO NOTHING", rows)
            if cur.rowcount != len(rows):  # impossible under the write lock; never lie
                raise StoreError("документы изменились во время записи", "повторите запрос")
        return acks

    def documents(self, *, register: Register | None = None, after: int = 0,
                  limit: int | None = None) -> list[StoredDocument]:
        """Received documents in arrival order; with ``register``, only that register's."""
        sql = _DOCUMENT_SELECT + " WHERE d.id > ?"
        args: list[Any] = [after]
        if register is not None:
            sql += " AND r.shop_id = ? AND r.serial = ?"
            args += [register.shop_id, register.serial]
        sql += " ORDER BY d.id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self.transaction(write=False) as db:
            rows = db.execute(sql, args).fetchall()
        return [_document(r) for r in rows]

    def document(self, register: Register, fn_number: str, fd_number: int) -> StoredDocument | None:
        with self.transaction(write=False) as db:
            row = db.execute(_DOCUMENT_SELECT + " WHERE d.fn_number = ? AND d.fd_number = ?"
                             " AND r.shop_id = ? AND r.serial = ?",
                             (fn_number, fd_number, register.shop_id, register.serial)).fetchone()
        return _document(row) if row else None

    def recent_documents(self, limit: int) -> list[StoredDocument]:
        """The newest ``limit`` documents, oldest first."""
        with self.transaction(write=False) as db:
            rows = db.execute(_DOCUMENT_SELECT + " ORDER BY d.id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [_document(r) for r in reversed(rows)]

    def document_counts(self) -> dict[int, int]:
        """Documents received per register id."""
        with self.transaction(write=False) as db:
            rows = db.execute("SELECT register_id, COUNT(*) FROM documents"
                              " GROUP BY register_id").fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    def count_documents(self, fn_number: str | None = None) -> int:
        with self.transaction(write=False) as db:
            if fn_number is None:
                return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
            return int(db.execute("SELECT COUNT(*) FROM documents WHERE fn_number = ?",
                                  (fn_number,)).fetchone()[0])


_REGISTER_SELECT = (
    "SELECT r.id, r.shop_id, s.name AS shop, r.serial, r.fn_number, r.model, r.inn, r.rnm,"
    " r.paired_at, r.revoked_at FROM registers r JOIN shops s ON s.id = r.shop_id"
)

_DOCUMENT_SELECT = (
    "SELECT d.id, d.register_id, r.serial, s.name AS shop, d.fn_number, d.fd_number,"
    " d.document_type, d.received, d.raw, d.received_at FROM documents d"
    " JOIN registers r ON r.id = d.register_id JOIN shops s ON s.id = r.shop_id"
)


def _register(row: sqlite3.Row) -> Register:
    return Register(row["id"], row["shop_id"], row["shop"], row["serial"], row["fn_number"],
                    row["model"], row["inn"], row["rnm"], row["paired_at"], row["revoked_at"])


def _document(row: sqlite3.Row) -> StoredDocument:
    return StoredDocument(row["id"], row["register_id"], row["serial"], row["shop"],
                          row["fn_number"], row["fd_number"], row["document_type"],
                          json.loads(row["received"])["fns"], bytes(row["raw"]),
                          row["received_at"])
