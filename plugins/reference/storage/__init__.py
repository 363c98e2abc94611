"""The reference back office's storage interface: what the rules (:mod:`..service`) and the
API stand on, whichever database holds the data.

A :class:`Storage` hands out units of work (:meth:`Storage.read`, :meth:`Storage.write`);
each is a :class:`~.sql.Tx` whose methods are single SQL statements, the same text for every
engine. Two engines implement it: SQLite (:mod:`.sqlite`, the default, a file) and
PostgreSQL (:mod:`.postgres`, psycopg 3 with a pool), chosen by :func:`open_storage` from
``--db``: a file path or ``sqlite:///path``, or ``postgresql://user@host:port/dbname``.

Only rules that a database can enforce alone live in SQL (one copy per register + ФН + ФД,
a code used once); every other rule is the service's.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from kkt_bridge.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from kkt_bridge.plugins.reference.storage.sql import Tx

Clock = Callable[[], datetime]

CODE_DIGITS = 8
MAX_BATCH = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_DIGITS else code


def normalize_code(code: str) -> str:
    """What the user typed, without the spaces and dashes a code is displayed with."""
    # upper-cased first: a few letters upper-case to a letter plus a combining mark
    return "".join(ch for ch in code.upper() if ch.isalnum())


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
    #: until when the administrator allows a new sync code to take this register over
    repair_until: float | None = None


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


class IncomingDocument(NamedTuple):
    """A document as a register sent it (a tuple: a batch of a thousand is made per
    request, and a frozen dataclass costs several times more to build)."""

    key: str
    fn_number: str
    fd_number: int
    document_type: int
    #: the FNS JSON as objects; None when only its text (``fns_text``) was kept
    fns: dict[str, Any] | None
    #: bytes, or a bytearray (batch.decode_batch: sqlite3 binds it without an adapter look-up)
    raw: bytes | bytearray
    #: the ``fns`` object as JSON text, a str or its UTF-8 bytes (as a request carried it:
    #: :func:`..batch.decode_batch` checks them and keeps them so); encoded from ``fns``
    #: when not given
    fns_text: str | bytes | bytearray | None = None

    def fns_json(self) -> str | bytes | bytearray:
        """The FNS JSON as text the storages write: a str, or valid UTF-8 bytes."""
        if self.fns_text is not None:
            return self.fns_text
        assert self.fns is not None, "a document without its FNS JSON"
        return json.dumps(self.fns, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)


class DocumentAck(msgspec.Struct, frozen=True, gc=False):
    """One document's answer, in the batch's order. A msgspec Struct: one is built per
    document of every batch (a frozen dataclass costs several times more) and the answer's
    body is encoded straight from them (:func:`..batch.encode_acks`)."""

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


class StorageUnavailable(StoreError):
    """The database cannot be reached or is saturated right now: a retry may succeed."""


# --- the interface ---------------------------------------------------------------------------


class Storage(ABC):
    """One database: units of work over it, and what it can and cannot do."""

    #: whether several server processes may share this storage
    multi_process: bool = False
    #: whether a short unit of work may run on the server's event loop: true for a local
    #: file (microseconds of SQL, writes serialised in-process anyway), false where every
    #: statement is a network round trip the other requests should not wait on
    inline: bool = False
    #: shown to people (no password)
    description: str = ""

    @abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """A read-only unit of work (a consistent snapshot)."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """A unit of work that commits when the block ends and rolls back on an exception."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the object is not used afterwards."""

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the database is at."""


def open_storage(db: str | os.PathLike[str]) -> Storage:
    """The storage ``db`` names: a file path, ``sqlite:///path`` or ``postgresql://…``."""
    text = os.fspath(db)
    if text.startswith(("postgresql://", "postgres://")):
        from kkt_bridge.plugins.reference.storage.postgres import PostgresStorage

        return PostgresStorage(text)
    if text.startswith("sqlite://"):
        path = text.removeprefix("sqlite://")
        if not path.startswith("/"):
            raise ConfigError(f"адрес базы {text!r} неверен",
                              "пишите sqlite:///путь/к/файлу (три косые черты)")
        text = path
    elif "://" in text:
        raise ConfigError(f"неизвестный вид базы {text.split('://')[0]!r}",
                          "укажите путь к файлу, sqlite:///путь или postgresql://…")
    from kkt_bridge.plugins.reference.storage.sqlite import SqliteStorage

    return SqliteStorage(Path(text))
