"""The bridge's SQLite store: one file, WAL, one transaction per change.

Thread-safe within a process (one connection behind a re-entrant lock, which the daemon's
per-register workers share); other processes (``kkt-bridge sync now`` beside a running
daemon) wait on SQLite's own lock. The file holds the back-office token, so it and its
``-wal``/``-shm`` companions are created 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kkt_bridge.errors import StoreError
from kkt_bridge.exchange import Credentials, Employee, Good, GoodsGroup
from kkt_bridge.i18n import _
from kkt_bridge.store import migrations
from kkt_bridge.store.holders import StoreHold, holders, lock_dir, try_exclusive
from kkt_bridge.store.models import (
    ORIGIN_BACKOFFICE,
    Event,
    ExchangeSettings,
    JobRun,
    Origin,
    OutboxDocument,
    Pairing,
    RegisterRecord,
    StoredGood,
    StoredGroup,
)
from kkt_bridge.store.paths import db_files, db_path, prepare_dir, unusable

_PRIVATE_FILE = 0o600
#: up to this many goods their barcodes are looked up by id, beyond it the whole register's
#: are read (an IN list of thousands is slower, and SQLite caps the number of parameters)
_FEW_GOODS = 100


def _private(path: Path) -> None:
    for file in db_files(path):
        if file.exists():
            os.chmod(file, _PRIVATE_FILE)


class Store:
    """Everything the bridge remembers. Open with :func:`open_store` or ``Store(path)``."""

    def __init__(self, path: Path, *, now: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._now = now
        self._lock = threading.RLock()
        self._depth = 0
        prepare_dir(self.path.parent)
        # held while open, so that `kkt-bridge reset` can refuse and name this process
        try:
            self._hold = StoreHold(self.path.parent)
        except OSError as exc:
            raise unusable(self.path.parent, exc) from None
        old_umask = os.umask(0o077)  # the db and the -wal/-shm SQLite creates next to it
        try:
            try:
                self._db = sqlite3.connect(
                    str(self.path), isolation_level=None, check_same_thread=False, timeout=30
                )
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                migrations.migrate(self._db)
            except OSError as exc:
                raise unusable(self.path.parent, exc) from None
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    _("хранилище {path} повреждено или не открывается: {error}").format(
                        path=self.path, error=exc),
                    _("восстановите файл из резервной копии или выполните «kkt-bridge reset»"),
                ) from exc
            _private(self.path)
            self._installation_id = self._ensure_installation()
        except BaseException:
            self._hold.release()
            raise
        finally:
            os.umask(old_umask)

    # --- plumbing --------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._hold.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._db.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return list(cur.fetchall())

    def _row(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @property
    def lock_dir(self) -> Path:
        """Where this store's processes keep their locks (the store's and each link's)."""
        return lock_dir(self.path.parent)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return migrations.current_version(self._db)

    # --- installation -----------------------------------------------------------------

    def _ensure_installation(self) -> str:
        with self.transaction() as db:
            row = db.execute("SELECT installation_id FROM installation").fetchone()
            if row:
                return str(row[0])
            new_id = str(uuid.uuid4())
            db.execute("INSERT INTO installation (singleton, installation_id, created_at) "
                       "VALUES (1, ?, ?)", (new_id, self._now()))
            return new_id

    @property
    def installation_id(self) -> str:
        return self._installation_id

    # --- registers --------------------------------------------------------------------

    def save_register(self, record: RegisterRecord) -> None:
        """Insert or update what is known about a register; settings are left as they are."""
        with self.transaction() as db:
            db.execute(
                """INSERT INTO registers (register_key, serial, fn_number, model, device_url, inn,
                       rnm, registration_fd, last_fd_number, driver, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (register_key) DO UPDATE SET
                       serial = excluded.serial, fn_number = excluded.fn_number,
                       model = excluded.model, driver = excluded.driver,
                       device_url = COALESCE(excluded.device_url, registers.device_url),
                       inn = COALESCE(excluded.inn, registers.inn),
                       rnm = COALESCE(excluded.rnm, registers.rnm),
                       registration_fd = COALESCE(excluded.registration_fd,
                                                  registers.registration_fd),
                       last_fd_number = COALESCE(excluded.last_fd_number,
                                                 registers.last_fd_number),
                       updated_at = excluded.updated_at""",
                (record.register_key, record.serial, record.fn_number, record.model,
                 record.device_url, record.inn, record.rnm, record.registration_fd,
                 record.last_fd_number, record.driver, self._now()),
            )

    def set_last_fd_number(self, register_key: str, fd_number: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE registers SET last_fd_number = ?, updated_at = ? "
                       "WHERE register_key = ?", (fd_number, self._now(), register_key))

    def get_register(self, register_key: str) -> RegisterRecord | None:
        row = self._row("SELECT * FROM registers WHERE register_key = ?", (register_key,))
        return _register(row) if row else None

    def registers(self) -> list[RegisterRecord]:
        return [_register(r) for r in self._rows("SELECT * FROM registers ORDER BY register_key")]

    # --- pairing ----------------------------------------------------------------------

    def save_pairing(self, register_key: str, credentials: Credentials) -> None:
        """Store a new pairing, replacing the old one in the same transaction."""
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM registers WHERE register_key = ?",
                              (register_key,)).fetchone():
                raise StoreError(_("ККТ {key} неизвестна хранилищу").format(key=register_key),
                                 _("сначала подключите ККТ"))
            db.execute(
                """INSERT OR REPLACE INTO pairings (register_key, backoffice, endpoint, token,
                       account, shop, extra, paired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (register_key, credentials.backoffice, credentials.endpoint, credentials.token,
                 credentials.account, credentials.shop, json.dumps(dict(credentials.extra)),
                 self._now()),
            )

    def get_pairing(self, register_key: str) -> Pairing | None:
        row = self._row("SELECT * FROM pairings WHERE register_key = ?", (register_key,))
        return _pairing(row) if row else None

    def has_pairing(self, register_key: str) -> bool:
        """Whether a pairing row exists, damaged or not (a damaged one is replaced by
        pairing again, so asking must not fail on it)."""
        return self._row("SELECT 1 FROM pairings WHERE register_key = ?",
                         (register_key,)) is not None

    def pairings(self) -> list[Pairing]:
        return [_pairing(r) for r in self._rows("SELECT * FROM pairings ORDER BY register_key")]

    def delete_pairing(self, register_key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM pairings WHERE register_key = ?", (register_key,))

    # --- exchange settings ------------------------------------------------------------

    def get_settings(self, register_key: str) -> ExchangeSettings:
        row = self._row("SELECT goods_period, employees_period, receipts_interval FROM registers "
                        "WHERE register_key = ?", (register_key,))
        if row is None:
            return ExchangeSettings()
        return ExchangeSettings(goods_period=row["goods_period"],
                                employees_period=row["employees_period"],
                                receipts_interval=row["receipts_interval"])

    def save_settings(self, register_key: str, settings: ExchangeSettings) -> None:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE registers SET goods_period = ?, employees_period = ?, "
                "receipts_interval = ?, updated_at = ? WHERE register_key = ?",
                (settings.goods_period, settings.employees_period, settings.receipts_interval,
                 self._now(), register_key))
            if cur.rowcount != 1:
                raise StoreError(_("ККТ {key} неизвестна хранилищу").format(key=register_key),
                                 _("сначала подключите ККТ"))

    # --- catalog ----------------------------------------------------------------------

    def groups(self, register_key: str, origin: Origin | None = None) -> list[StoredGroup]:
        sql = "SELECT * FROM goods_groups WHERE register_key = ?"
        params: list[Any] = [register_key]
        if origin:
            sql += " AND origin = ?"
            params.append(origin)
        return [_group(r) for r in self._rows(sql + " ORDER BY name, id", params)]

    def goods(self, register_key: str, origin: Origin | None = None) -> list[StoredGood]:
        sql = "SELECT * FROM goods WHERE register_key = ?"
        params: list[Any] = [register_key]
        if origin:
            sql += " AND origin = ?"
            params.append(origin)
        return self._goods(register_key, self._rows(sql + " ORDER BY name, id", params))

    def get_good(self, register_key: str, good_id: str) -> StoredGood | None:
        row = self._row("SELECT * FROM goods WHERE register_key = ? AND id = ?",
                        (register_key, good_id))
        return self._goods(register_key, [row])[0] if row else None

    def get_group(self, register_key: str, group_id: str) -> StoredGroup | None:
        row = self._row("SELECT * FROM goods_groups WHERE register_key = ? AND id = ?",
                        (register_key, group_id))
        return _group(row) if row else None

    def find_goods_by_barcode(self, register_key: str, barcode: str) -> list[StoredGood]:
        rows = self._rows(
            "SELECT g.* FROM goods g JOIN goods_barcodes b ON b.register_key = g.register_key "
            "AND b.good_id = g.id WHERE g.register_key = ? AND b.barcode = ? ORDER BY g.id",
            (register_key, barcode))
        return self._goods(register_key, rows)

    def find_goods_by_code(self, register_key: str, code: str) -> list[StoredGood]:
        rows = self._rows("SELECT * FROM goods WHERE register_key = ? AND code = ? ORDER BY id",
                          (register_key, code))
        return self._goods(register_key, rows)

    def put_group(self, register_key: str, group: GoodsGroup, origin: Origin) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO goods_groups (register_key, id, name, parent_id, "
                       "origin) VALUES (?, ?, ?, ?, ?)",
                       (register_key, group.id, group.name, group.parent_id, origin))

    def put_good(self, register_key: str, good: Good, origin: Origin) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO goods (register_key, id, name, price, group_id, code, "
                "measure, vat, weighed, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (register_key, good.id, good.name, good.price, good.group_id, good.code,
                 good.measure, good.vat, int(good.weighed), origin))
            db.execute("DELETE FROM goods_barcodes WHERE register_key = ? AND good_id = ?",
                       (register_key, good.id))
            db.executemany(
                "INSERT OR IGNORE INTO goods_barcodes (register_key, good_id, barcode, position) "
                "VALUES (?, ?, ?, ?)",
                [(register_key, good.id, b, i) for i, b in enumerate(good.barcodes)])

    def delete_good(self, register_key: str, good_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM goods WHERE register_key = ? AND id = ?",
                       (register_key, good_id))
            db.execute("DELETE FROM goods_barcodes WHERE register_key = ? AND good_id = ?",
                       (register_key, good_id))

    def delete_group(self, register_key: str, group_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM goods_groups WHERE register_key = ? AND id = ?",
                       (register_key, group_id))

    def delete_catalog(self, register_key: str, origin: Origin | None = None) -> None:
        with self.transaction() as db:
            params: tuple[str, ...]
            if origin is None:
                where, params = "register_key = ?", (register_key,)
            else:
                where, params = "register_key = ? AND origin = ?", (register_key, origin)
            db.execute("DELETE FROM goods_barcodes WHERE register_key = ? AND good_id IN "
                       f"(SELECT id FROM goods WHERE {where})", (register_key, *params))
            db.execute(f"DELETE FROM goods WHERE {where}", params)
            db.execute(f"DELETE FROM goods_groups WHERE {where}", params)

    def replace_catalog(self, register_key: str, groups: Iterable[GoodsGroup],
                        goods: Iterable[Good], *, complete: bool = True) -> None:
        """The back office's catalog becomes the register's: whole, or (a delta) merged."""
        with self.transaction():
            if complete:
                self.delete_catalog(register_key)
            for group in groups:
                self.put_group(register_key, group, ORIGIN_BACKOFFICE)
            for good in goods:
                self.put_good(register_key, good, ORIGIN_BACKOFFICE)

    def _goods(self, register_key: str, rows: Sequence[sqlite3.Row]) -> list[StoredGood]:
        # the barcodes of all the rows in one query, not one per good: a catalog has thousands
        if not rows:
            return []
        sql = "SELECT good_id, barcode FROM goods_barcodes WHERE register_key = ?"
        params: list[Any] = [register_key]
        if len(rows) <= _FEW_GOODS:
            sql += f" AND good_id IN ({', '.join('?' * len(rows))})"
            params += [r["id"] for r in rows]
        barcodes: dict[str, list[str]] = {}
        for r in self._rows(sql + " ORDER BY good_id, position", params):
            barcodes.setdefault(r["good_id"], []).append(r["barcode"])
        return [StoredGood(good=Good(id=r["id"], name=r["name"], price=r["price"],
                                     group_id=r["group_id"], code=r["code"],
                                     barcodes=tuple(barcodes.get(r["id"], ())),
                                     measure=r["measure"], vat=r["vat"],
                                     weighed=bool(r["weighed"])),
                           origin=r["origin"]) for r in rows]

    # --- employees --------------------------------------------------------------------

    def employees(self, register_key: str) -> list[Employee]:
        rows = self._rows("SELECT * FROM employees WHERE register_key = ? ORDER BY position",
                          (register_key,))
        return [Employee(id=r["id"], name=r["name"], role=r["role"], inn=r["inn"]) for r in rows]

    def replace_employees(self, register_key: str, employees: Sequence[Employee]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM employees WHERE register_key = ?", (register_key,))
            db.executemany(
                "INSERT INTO employees (register_key, id, name, role, inn, position) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(register_key, e.id, e.name, e.role, e.inn, i) for i, e in enumerate(employees)])

    # --- export cursor and outbox -----------------------------------------------------

    def get_cursor(self, fn_number: str) -> int:
        row = self._row("SELECT last_fd FROM export_cursor WHERE fn_number = ?", (fn_number,))
        return int(row[0]) if row else 0

    def acknowledge(self, fn_number: str, last_fd: int) -> None:
        """Move the cursor to ``last_fd`` and drop what it passed from the outbox, together:
        a crash between the two would otherwise re-send or lose documents."""
        with self.transaction() as db:
            current = self.get_cursor(fn_number)
            if last_fd <= current:
                return
            db.execute("INSERT OR REPLACE INTO export_cursor (fn_number, last_fd, updated_at) "
                       "VALUES (?, ?, ?)", (fn_number, last_fd, self._now()))
            db.execute("DELETE FROM outbox WHERE fn_number = ? AND fd_number <= ?",
                       (fn_number, last_fd))

    def outbox_put(self, documents: Iterable[OutboxDocument]) -> None:
        read_at = self._now()  # one batch, one read
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO outbox (fn_number, fd_number, document_type, fns, raw, "
                "read_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(d.fn_number, d.fd_number, d.document_type,
                  json.dumps(d.fns, ensure_ascii=False, default=str), d.raw, read_at)
                 for d in documents])

    def outbox(self, fn_number: str, first: int, last: int) -> list[OutboxDocument]:
        rows = self._rows("SELECT * FROM outbox WHERE fn_number = ? AND fd_number BETWEEN ? AND ? "
                          "ORDER BY fd_number", (fn_number, first, last))
        return [OutboxDocument(fn_number=r["fn_number"], fd_number=r["fd_number"],
                               document_type=r["document_type"], fns=json.loads(r["fns"]),
                               raw=bytes(r["raw"])) for r in rows]

    def outbox_count(self, fn_number: str | None = None) -> int:
        if fn_number is None:
            row = self._row("SELECT COUNT(*) FROM outbox")
        else:
            row = self._row("SELECT COUNT(*) FROM outbox WHERE fn_number = ?", (fn_number,))
        return int(row[0]) if row else 0

    # --- job runs ---------------------------------------------------------------------

    def get_job_run(self, register_key: str, job: str) -> JobRun:
        row = self._row("SELECT * FROM job_runs WHERE register_key = ? AND job = ?",
                        (register_key, job))
        if row is None:
            return JobRun(register_key=register_key, job=job)
        return JobRun(register_key=register_key, job=job, last_run_at=row["last_run_at"],
                      last_success_at=row["last_success_at"], next_run_at=row["next_run_at"],
                      failures=row["failures"], last_error=row["last_error"])

    def save_job_run(self, run: JobRun) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO job_runs (register_key, job, last_run_at, "
                "last_success_at, last_error, next_run_at, failures) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run.register_key, run.job, run.last_run_at, run.last_success_at, run.last_error,
                 run.next_run_at, run.failures))

    # --- event log --------------------------------------------------------------------

    def log_event(self, register_key: str | None, kind: str, message: str,
                  **data: Any) -> None:
        """Append to the event log. Callers pass no secret: this is read by people."""
        with self.transaction() as db:
            db.execute("INSERT INTO events (at, register_key, kind, message, data) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (self._now(), register_key, kind, message,
                        json.dumps(data, ensure_ascii=False, default=str)))

    def last_event(self, register_key: str | None, kind: str) -> Event | None:
        """The newest event of ``kind`` (for ``register_key``, or with none)."""
        rows = self._rows(
            "SELECT * FROM events WHERE register_key IS ? AND kind = ? ORDER BY id DESC LIMIT 1",
            (register_key, kind))
        return _event(rows[0]) if rows else None

    def events(self, register_key: str | None = None, limit: int = 100) -> list[Event]:
        if register_key is None:
            rows = self._rows("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._rows("SELECT * FROM events WHERE register_key = ? ORDER BY id DESC "
                              "LIMIT ?", (register_key, limit))
        return [_event(r) for r in reversed(rows)]


def _event(row: sqlite3.Row) -> Event:
    return Event(id=row["id"], at=row["at"], register_key=row["register_key"], kind=row["kind"],
                 message=row["message"], data=json.loads(row["data"]))


def _register(row: sqlite3.Row) -> RegisterRecord:
    return RegisterRecord(register_key=row["register_key"], serial=row["serial"],
                          fn_number=row["fn_number"], model=row["model"],
                          device_url=row["device_url"], inn=row["inn"], rnm=row["rnm"],
                          registration_fd=row["registration_fd"],
                          last_fd_number=row["last_fd_number"], driver=row["driver"])


def _pairing(row: sqlite3.Row) -> Pairing:
    try:
        extra = json.loads(row["extra"] or "{}")
    except (ValueError, TypeError, RecursionError):
        extra = None
    if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in extra.items()):
        raise StoreError(
            _("запись о подключении ККТ {key} в хранилище повреждена").format(
                key=row["register_key"]),
            _("подключите эту ККТ заново: kkt-bridge connect --device URL --plugin NAME "
              "(старая запись будет заменена; документы, ещё не выгруженные, не потеряются)"))
    credentials = Credentials(backoffice=row["backoffice"], endpoint=row["endpoint"],
                              token=row["token"], account=row["account"], shop=row["shop"],
                              extra=extra)
    return Pairing(register_key=row["register_key"], credentials=credentials,
                   paired_at=row["paired_at"])


def _group(row: sqlite3.Row) -> StoredGroup:
    return StoredGroup(GoodsGroup(id=row["id"], name=row["name"], parent_id=row["parent_id"]),
                       origin=row["origin"])


def open_store(directory: Path | None = None, **kwargs: Any) -> Store:
    """Open (creating and migrating as needed) the store in ``directory`` or the data dir."""
    return Store(db_path(directory), **kwargs)


def reset_store(directory: Path | None = None) -> None:
    """Forget everything, as a reinstall does: the next open makes a new installation id
    and has no pairing. Refused (StoreError naming the processes) while the store is open
    anywhere: a daemon or ``sync now`` would go on with a deleted file."""
    path = db_path(directory)
    hold = try_exclusive(path.parent)
    if hold is None:
        busy = holders(path.parent)
        raise StoreError(
            _("хранилище {path} сейчас открыто: {holders}").format(
                path=path.parent,
                holders=", ".join(_("процесс {who}").format(who=who) for who in busy)
                or _("другим процессом")),
            _("остановите kkt-bridge run (и дождитесь окончания kkt-bridge sync now), "
              "затем повторите сброс"))
    try:
        for file in db_files(path):
            file.unlink(missing_ok=True)
    finally:
        hold.release()
