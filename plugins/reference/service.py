"""The reference back office's rules, once, above any storage (:mod:`.storage`).

- A sync code is one-time and expires; a pairing that fails for any reason leaves it unused
  (the pairing is one unit of work, and the code is consumed by a conditional UPDATE in it).
- Tokens are kept only as SHA-256 hashes.
- One row per register (serial + ФН). A code does not take over a register that is paired:
  re-pairing it needs proof of possession (the register's current token) or the
  administrator's consent in «Мои Кассы» («Разрешить переподключение», time-limited). A
  register the administrator disconnected may be paired again with a new code.
- Documents belong to the register row that received them: one copy per register + ФН + ФД,
  so copies stored under an impostor's row never make the real register's "duplicates".
- Catalog changes since a time; a deletion since then makes the answer the whole catalog.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticSerializationError, to_json

from kkt_bridge.errors import PairingError, StoreError
from kkt_bridge.plugins.reference.messages import _
from kkt_bridge.plugins.reference.storage import (
    CODE_DIGITS,
    Clock,
    DocumentAck,
    IncomingDocument,
    Pairing,
    Register,
    Shop,
    Storage,
    StoredDocument,
    SyncCode,
    iso,
    normalize_code,
    open_storage,
    utc_now,
)

if TYPE_CHECKING:
    from kkt_bridge.plugins.reference.storage.sql import Tx

#: IncomingDocument's fields by position, for map()
_FN_NUMBER, _FD_NUMBER = itemgetter(1), itemgetter(2)
#: how long the administrator's consent to re-pair a register lasts
REPAIR_CONSENT = timedelta(hours=24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class PairingRefused(PairingError):
    """A pairing attempt failed; ``reason`` is the API's error code."""

    def __init__(self, reason: str, message: str, hint: str) -> None:
        super().__init__(message, hint)
        self.reason = reason


class BackOffice:
    """The rules of the reference back office over one :class:`Storage`."""

    def __init__(self, storage: Storage, *, clock: Clock = utc_now) -> None:
        self.storage = storage
        self.clock = clock
        self._admin_token: str | None = None

    @classmethod
    def open(cls, db: Any, *, clock: Clock = utc_now) -> BackOffice:
        return cls(open_storage(db), clock=clock)

    def now(self) -> float:
        return self.clock().timestamp()

    def close(self) -> None:
        self.storage.close()

    # organisation and shops

    @property
    def admin_token(self) -> str:
        if self._admin_token is None:
            with self.storage.read() as tx:
                token = tx.meta("admin_token")
            assert token is not None
            self._admin_token = token
        return self._admin_token

    def account(self) -> str:
        with self.storage.read() as tx:
            return tx.account()

    def shops(self) -> list[Shop]:
        with self.storage.read() as tx:
            return tx.shops()

    def shop(self, name: str) -> Shop | None:
        with self.storage.read() as tx:
            return tx.shop_by_name(name.strip())

    def ensure_shop(self, name: str) -> tuple[Shop, bool]:
        """The shop named ``name``, created when missing; the flag tells whether it was."""
        name = name.strip()
        if not name:
            raise StoreError(_("название магазина пустое"), _("укажите --shop НАЗВАНИЕ"))
        with self.storage.write() as tx:
            found = tx.shop_by_name(name)
            return (found, False) if found else (tx.add_shop(name), True)

    # sync codes and pairing

    def issue_sync_code(self, shop: str, ttl: timedelta) -> SyncCode:
        """«Мои Кассы» -> «Добавить ККТ»: a one-time code for a register of ``shop``."""
        shop_row, _created = self.ensure_shop(shop)
        now = self.now()
        expires = now + ttl.total_seconds()
        with self.storage.write() as tx:
            for _attempt in range(50):  # 10^8 codes: a clash is rare, fifty in a row is not
                code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
                if tx.add_code(code, shop_row.id, now, expires):
                    return SyncCode(code, shop_row.name, expires)
        raise StoreError(_("не удалось выдать код синхронизации"), _("повторите попытку"))

    def pair(self, code: str, register: dict[str, str | None],
             current_token: str | None = None) -> Pairing:
        """Spend a sync code on a register; nothing changes when the pairing is refused."""
        code = normalize_code(code)
        now = self.now()
        token = secrets.token_urlsafe(32)
        serial, fn_number = register["serial"], register["fn_number"]
        assert serial is not None and fn_number is not None
        with self.storage.write() as tx:
            row = tx.code(code)
            if row is None:
                raise PairingRefused("sync_code_not_found", _("код синхронизации не найден"),
                                     _("проверьте код или получите новый: «Мои Кассы» -> "
                                       "«Добавить ККТ»"))
            if row["used_at"] is not None:
                raise _code_used()
            if row["expires_at"] <= now:
                raise PairingRefused("sync_code_expired",
                                     _("срок действия кода синхронизации истёк"),
                                     _get_a_code())
            existing = tx.register_by_identity(serial, fn_number)
            if existing is not None:
                old, old_hash = existing
                proof = current_token is not None and hmac.compare_digest(
                    hash_token(current_token), old_hash)
                consent = old.repair_until is not None and old.repair_until > now
                if old.revoked_at is None and not proof and not consent:
                    raise _already_paired()
            shop_id = tx.consume_code(code, now)
            if shop_id is None:  # another pairing spent it a moment ago
                raise _code_used()
            if existing is not None:
                register_id = existing[0].id
                if not tx.repair_register(register_id, shop_id, register, hash_token(token),
                                          now, existing[1]):
                    raise _already_paired()
            else:
                added = tx.add_register(shop_id, register, hash_token(token), now)
                if added is None:  # paired by someone else a moment ago
                    raise _already_paired()
                register_id = added
            tx.link_code(code, register_id)
            account = tx.account()
            reg = tx.register_by_id(register_id)
        assert reg is not None
        return Pairing(token, reg, account)

    def record_pair_failure(self, client: str, window: timedelta) -> None:
        now = self.now()
        with self.storage.write() as tx:
            tx.add_pair_failure(client, now, now - window.total_seconds())

    def pair_failures(self, client: str, window: timedelta) -> list[float]:
        """When ``client``'s failed pairings within ``window`` happened, oldest first."""
        with self.storage.read() as tx:
            return tx.pair_failures(client, self.now() - window.total_seconds())

    def register_by_token(self, token: str) -> Register | None:
        with self.storage.read() as tx:
            return tx.register_by_token_hash(hash_token(token))

    def register_by_id(self, register_id: int) -> Register | None:
        with self.storage.read() as tx:
            return tx.register_by_id(register_id)

    def registers(self) -> list[Register]:
        with self.storage.read() as tx:
            return tx.registers()

    def revoke(self, register_id: int) -> bool:
        """«Отключить»: the register's token stops working at once."""
        with self.storage.write() as tx:
            return tx.revoke(register_id, self.now())

    def allow_repair(self, register_id: int, ttl: timedelta = REPAIR_CONSENT) -> bool:
        """«Разрешить переподключение»: for ``ttl``, a new sync code may re-pair the register
        without its current token (a reinstalled bridge has lost it)."""
        with self.storage.write() as tx:
            return tx.allow_repair(register_id, self.now() + ttl.total_seconds())

    def sync_codes(self) -> list[dict[str, Any]]:
        with self.storage.read() as tx:
            return tx.sync_codes()

    # catalog and employees

    def upsert_group(self, shop: str, id: str, name: str, parent_id: str | None = None) -> None:
        shop_row, _created = self.ensure_shop(shop)
        with self.storage.write() as tx:
            tx.upsert_group(shop_row.id, id, name, parent_id, self.now())

    def upsert_good(self, shop: str, id: str, name: str, price: int, *,
                    group_id: str | None = None, code: str = "",
                    barcodes: Sequence[str] = (), measure: str = "шт", vat: int = 6,
                    weighed: bool = False) -> None:
        if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price < 2**63:
            raise StoreError(_("цена товара {name} должна быть целым числом копеек >= 0"
                               ).format(name=repr(name)))
        shop_row, _created = self.ensure_shop(shop)
        good = {"id": id, "name": name, "price": price, "group_id": group_id, "code": code,
                "barcodes": list(barcodes), "measure": measure, "vat": vat,
                "weighed": weighed}
        with self.storage.write() as tx:
            tx.upsert_good(shop_row.id, good, self.now())

    def archive_good(self, shop: str, id: str) -> bool:
        shop_row, _created = self.ensure_shop(shop)
        with self.storage.write() as tx:
            return tx.archive("goods", shop_row.id, id, self.now())

    def archive_group(self, shop: str, id: str) -> bool:
        shop_row, _created = self.ensure_shop(shop)
        with self.storage.write() as tx:
            return tx.archive("goods_groups", shop_row.id, id, self.now())

    def upsert_employee(self, shop: str, id: str, name: str, role: str = "cashier",
                        inn: str = "") -> None:
        shop_row, _created = self.ensure_shop(shop)
        with self.storage.write() as tx:
            tx.upsert_employee(shop_row.id, id, name, role, inn)

    def delete_employee(self, shop: str, id: str) -> bool:
        shop_row, _created = self.ensure_shop(shop)
        with self.storage.write() as tx:
            return tx.delete_employee(shop_row.id, id)

    def catalog(self, shop_id: int, since: float | None) -> dict[str, Any]:
        """The shop's catalog; a delta since ``since`` unless something was archived since
        then (a delta cannot say "deleted", so the whole catalog is sent instead)."""
        as_of = self.now()
        with self.storage.read() as tx:
            complete = since is None or tx.archived_since(shop_id, since)
            cutoff = None if complete else since
            groups = tx.groups(shop_id, cutoff)
            goods = tx.goods(shop_id, cutoff)
        return {"complete": complete, "as_of": iso(as_of), "groups": groups, "goods": goods}

    def employees(self, shop_id: int) -> list[dict[str, Any]]:
        with self.storage.read() as tx:
            return tx.employees(shop_id)

    # documents

    def receive(self, register: Register, batch: Sequence[IncomingDocument]) -> list[DocumentAck]:
        """Store a batch in one unit of work; a repeat of a stored document is a duplicate."""
        now = self.now()
        # encoded before the unit of work: the write lock is held for SQL only
        texts = [doc.fns_json() for doc in batch]
        with self.storage.write() as tx:
            own, inserted = self._store(tx, register, batch, texts, now)
        return _acks(batch, own, inserted)

    def receive_from(self, token: str,
                     batch: Sequence[IncomingDocument]) -> list[DocumentAck] | None:
        """:meth:`receive` for the register holding ``token`` (None: no such live register),
        the token checked in the same unit of work as the batch is stored: one transaction
        per request instead of two."""
        now = self.now()
        texts = [doc.fns_json() for doc in batch]
        with self.storage.write() as tx:
            found = tx.register_with_siblings(hash_token(token))
            if found is None:
                return None
            own, inserted = self._store(tx, found[0], batch, texts, now, found[1])
        return _acks(batch, own, inserted)

    @staticmethod
    def _store(tx: Tx, register: Register, batch: Sequence[IncomingDocument],
               texts: Sequence[str | bytes | bytearray], now: float,
               own: dict[str, int] | None = None,
               ) -> tuple[dict[str, int], set[tuple[int, str, int]]]:
        if own is None:
            own = tx.sibling_registers(register.shop_id, register.serial)
        # A bridge's batch: one ФН, the register's own, each ФД once. Said by two sets (C
        # loops) instead of a look-up and a key per document.
        fn_numbers = set(map(_FN_NUMBER, batch))
        register_id = own.get(fn_numbers.pop()) if len(fn_numbers) == 1 else None
        if register_id is not None and len(set(map(_FD_NUMBER, batch))) == len(batch):
            return own, tx.add_documents([
                (register_id, doc.fn_number, doc.fd_number, doc.document_type, text, doc.raw,
                 now) for doc, text in zip(batch, texts, strict=True)])
        rows: list[tuple[Any, ...]] = []
        seen: set[tuple[str, int]] = set()
        for doc, text in zip(batch, texts, strict=True):
            register_id = own.get(doc.fn_number)
            if register_id is not None and (doc.fn_number, doc.fd_number) not in seen:
                seen.add((doc.fn_number, doc.fd_number))
                rows.append((register_id, doc.fn_number, doc.fd_number, doc.document_type,
                             text, doc.raw, now))
        return own, tx.add_documents(rows)

    def documents(self, *, register: Register | None = None, after: int = 0,
                  limit: int = 1000) -> list[StoredDocument]:
        """Received documents in arrival order; with ``register``, only that register's."""
        with self.storage.read() as tx:
            ids = None if register is None else tx.sibling_registers(
                register.shop_id, register.serial).values()
            return tx.documents(after=after, limit=limit, register_ids=ids)

    def document(self, register: Register, fn_number: str,
                 fd_number: int) -> StoredDocument | None:
        with self.storage.read() as tx:
            ids = tx.sibling_registers(register.shop_id, register.serial).values()
            return tx.document(ids, fn_number, fd_number)

    def document_by_id(self, document_id: int) -> StoredDocument | None:
        with self.storage.read() as tx:
            return tx.document_by_id(document_id)

    def recent_documents(self, limit: int) -> list[StoredDocument]:
        """The newest ``limit`` documents, oldest first."""
        with self.storage.read() as tx:
            return tx.recent_documents(limit)

    def document_counts(self) -> dict[int, int]:
        with self.storage.read() as tx:
            return tx.document_counts()

    def count_documents(self, fn_number: str | None = None) -> int:
        with self.storage.read() as tx:
            return tx.count_documents(fn_number)


def _acks(batch: Sequence[IncomingDocument], own: dict[str, int],
          inserted: set[tuple[int, str, int]]) -> list[DocumentAck]:
    """One acknowledgement per document, in the batch's order."""
    if len(inserted) == len(batch):  # every document a distinct new key: all stored
        return [DocumentAck(doc.key, True) for doc in batch]
    acks: list[DocumentAck] = []
    for doc in batch:
        register_id = own.get(doc.fn_number)
        if register_id is None:
            acks.append(DocumentAck(doc.key, False,
                                    error=_("ФН не принадлежит этой кассе")))
            continue
        entry = (register_id, doc.fn_number, doc.fd_number)
        fresh = entry in inserted
        inserted.discard(entry)  # a second copy in the same batch is a duplicate
        acks.append(DocumentAck(doc.key, True, duplicate=not fresh))
    return acks


def _get_a_code() -> str:
    return _("получите новый код: «Мои Кассы» -> «Добавить ККТ»")


def _code_used() -> PairingRefused:
    return PairingRefused("sync_code_used", _("код синхронизации уже использован"),
                          _get_a_code())


def _already_paired() -> PairingRefused:
    return PairingRefused(
        "register_paired", _("эта касса уже подключена к бэк-офису"),
        _("переподключите её с прежнего места или попросите администратора нажать "
          "«Разрешить переподключение» в «Мои Кассы»"))


def encode_fns(fns: dict[str, Any]) -> str:
    """The FNS JSON as stored; ValueError for what JSON cannot carry (NaN, infinities, lone
    surrogates). pydantic-core's encoder, three times faster than json.dumps, writes an
    infinity as ``Infinity``: only when that word shows does the strict encoder decide."""
    try:
        encoded = to_json(fns)
    except PydanticSerializationError as exc:
        raise ValueError(str(exc)) from None
    if b"Infinity" in encoded or b"NaN" in encoded:
        return json.dumps(fns, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return encoded.decode("utf-8")
