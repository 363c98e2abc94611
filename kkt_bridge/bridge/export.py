"""Export every fiscal document exactly once: ФН -> outbox -> back office -> cursor.

The cursor per ФН is the last ФД the back office acknowledged. Each document of a batch is
read from the register and stored in the outbox at once, one by one (so a link error or a
restart in the middle of a slow, noisy batch keeps what was read, and the next run reads only
what is missing); the batch is then sent, and only then is the cursor moved past the longest
accepted prefix, in the same transaction that empties the outbox. Acknowledgements reach this
module already held to the typed schema of :mod:`kkt_bridge.acks`. A crash anywhere re-sends
at most one batch, which the back office recognises by the idempotency key (ФН number + ФД
number). Memory holds one batch, whatever the backlog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kkt_bridge.bridge.backoffice import BackOffice
from kkt_bridge.errors import BackOfficeError, DocumentError
from kkt_bridge.exchange import Credentials, ExportDocument
from kkt_bridge.fiscal import decode_document, to_fns_json
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.store import OutboxDocument, Store

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
#: after this many refusals in a row of the same ФД the failure is reported as one the back
#: office will not get over by itself (the cursor still waits at that document)
REJECTION_ALERT = 3
REJECTED = "rejected"

Decoder = Callable[[bytes], Mapping[str, Any]]


def fns_decoder(raw: bytes) -> Mapping[str, Any]:
    """The FNS JSON of a document, by :mod:`kkt_bridge.fiscal`."""
    return to_fns_json(decode_document(raw))


def document_type(raw: bytes) -> int:
    """The STLV tag in front of a stored document (u16, little-endian)."""
    if len(raw) < 2:
        raise DocumentError(_("документ короче заголовка ({n} байт)").format(n=len(raw)),
                            _("прочитайте документ ещё раз"))
    return int.from_bytes(raw[:2], "little")


@dataclass
class ExportResult:
    fn_number: str
    last_fd: int
    cursor: int
    exported: int = 0
    duplicates: int = 0
    undecoded: int = 0
    stopped: bool = False

    def summary(self) -> dict[str, int]:
        return {"exported": self.exported, "duplicates": self.duplicates,
                "undecoded": self.undecoded, "cursor": self.cursor, "last_fd": self.last_fd,
                "unsent": self.last_fd - self.cursor}


class DocumentExporter:
    def __init__(self, store: Store, kkt: Kkt, backoffice: BackOffice, credentials: Credentials,
                 *, register_key: str, decoder: Decoder = fns_decoder,
                 batch_size: int = DEFAULT_BATCH, stop: threading.Event | None = None) -> None:
        self.store = store
        self.kkt = kkt
        self.backoffice = backoffice
        self.credentials = credentials
        self.key = register_key
        self.decoder = decoder
        self.batch_size = max(1, batch_size)
        self.stop = stop

    def run(self) -> ExportResult:
        fn = self.kkt.fn_status()
        self.store.set_last_fd_number(self.key, fn.last_fd_number)
        cursor = self.store.get_cursor(fn.fn_number)
        result = ExportResult(fn_number=fn.fn_number, last_fd=fn.last_fd_number, cursor=cursor)
        while result.cursor < result.last_fd:
            if self.stop is not None and self.stop.is_set():
                result.stopped = True
                break
            first = result.cursor + 1
            last = min(result.last_fd, result.cursor + self.batch_size)
            batch = self._batch(fn.fn_number, first, last, result)
            self._send(batch, result)
        return result

    def drain(self, fn_number: str, last_fd: int | None = None) -> ExportResult:
        """Send what the outbox still holds of ФН ``fn_number`` that is no longer in the
        register (the ФН was replaced): those copies are the only ones the bridge can still
        reach. Goes from the cursor on, stops at the first document never read; ``unsent`` in
        the result counts what is left up to ``last_fd`` (the last ФД the bridge saw)."""
        cursor = self.store.get_cursor(fn_number)
        result = ExportResult(fn_number=fn_number, last_fd=max(cursor, last_fd or 0),
                              cursor=cursor)
        while True:
            if self.stop is not None and self.stop.is_set():
                result.stopped = True
                break
            held = self.store.outbox(fn_number, result.cursor + 1,
                                     result.cursor + self.batch_size)
            batch: list[OutboxDocument] = []
            for document in held:  # only the run that follows the cursor without a gap
                if document.fd_number != result.cursor + 1 + len(batch):
                    break
                batch.append(document)
            if not batch:
                break
            result.last_fd = max(result.last_fd, batch[-1].fd_number)
            self._send(batch, result)
        return result

    # --- one batch --------------------------------------------------------------------

    def _batch(self, fn_number: str, first: int, last: int,
               result: ExportResult) -> list[OutboxDocument]:
        pending = {d.fd_number: d for d in self.store.outbox(fn_number, first, last)}
        for start, end in _gaps(first, last, pending):
            for fd_number, raw in self.kkt.iter_documents(start, end):
                if not start <= fd_number <= end or fd_number in pending:
                    continue  # not asked for: only the range's own documents go out
                document = self._decode(fn_number, fd_number, raw, result)
                # stored as soon as read: what a slow read took is never read again
                self.store.outbox_put([document])
                pending[fd_number] = document
        missing = [n for n in range(first, last + 1) if n not in pending]
        if missing:
            raise DocumentError(
                _("ККТ не отдала документы {numbers}").format(
                    numbers=", ".join(map(str, missing[:5]))),
                _("проверьте связь с ККТ; выгрузка продолжится со следующей попытки"))
        return [pending[n] for n in range(first, last + 1)]

    def _decode(self, fn_number: str, fd_number: int, raw: bytes,
                result: ExportResult) -> OutboxDocument:
        try:
            fns = dict(self.decoder(raw))
        except DocumentError as first_error:
            # a bad read looks like a bad document: read once more before giving up on it
            raw = self.kkt.read_document(fd_number)
            try:
                fns = dict(self.decoder(raw))
            except DocumentError as exc:
                # an undecodable document is still a fiscal document: it goes out raw
                # rather than blocking every later one
                result.undecoded += 1
                self.store.log_event(self.key, "undecoded",
                                     _("ФД {fd} не разобран: {error}").format(
                                         fd=fd_number, error=exc.message),
                                     fn_number=fn_number, fd_number=fd_number)
                log.warning("ФД %s of ФН %s not decoded: %s (first read: %s)", fd_number,
                            fn_number, exc.message, first_error.message)
                fns = {"undecoded": True, "error": exc.message}
        return OutboxDocument(fn_number=fn_number, fd_number=fd_number,
                              document_type=_safe_type(raw), fns=fns, raw=raw)

    def _send(self, batch: list[OutboxDocument], result: ExportResult) -> None:
        documents = [ExportDocument(fn_number=d.fn_number, fd_number=d.fd_number,
                                    document_type=d.document_type, fns=d.fns, raw=d.raw)
                     for d in batch]
        # one Ack per document, same keys, same order, typed (kkt_bridge.acks)
        acks = self.backoffice.export_documents(self.credentials, documents)
        accepted = 0
        for ack in acks:
            if not ack.accepted:
                break
            accepted += 1
            result.duplicates += int(ack.duplicate)
        if accepted:
            new_cursor = documents[accepted - 1].fd_number
            self.store.acknowledge(result.fn_number, new_cursor)
            result.cursor = new_cursor
            result.exported += accepted
        if accepted < len(documents):
            failed = documents[accepted]
            error = acks[accepted].error or _("бэк-офис не принял документ")
            attempts = self._record_rejection(failed, error)
            if attempts >= REJECTION_ALERT:
                # the back office keeps refusing this one document: every later one waits
                # behind it (the cursor never skips a fiscal document), so say so plainly
                raise BackOfficeError(
                    _("бэк-офис отклоняет ФД {fd} (ФН {fn}) уже {n}-й раз подряд: {error}; "
                      "следующие документы не выгружаются, пока он не принят").format(
                        fd=failed.fd_number, fn=failed.fn_number, n=attempts, error=error),
                    _("исправьте причину в бэк-офисе или обратитесь в его поддержку, назвав "
                      "ФН {fn} и ФД {fd}; документ хранится в ФН и не потерян, выгрузка "
                      "продолжится сама или по «Обновить сейчас» (kkt-bridge sync now)").format(
                        fn=failed.fn_number, fd=failed.fd_number),
                    retryable=True)
            raise BackOfficeError(
                _("бэк-офис не принял ФД {fd}: {error}").format(fd=failed.fd_number,
                                                               error=error),
                _("выгрузка продолжится с этого документа при следующей попытке"),
                retryable=True)

    def _record_rejection(self, document: ExportDocument, error: str) -> int:
        """Log the refusal; returns how many times in a row this ФД has been refused."""
        previous = self.store.last_event(self.key, REJECTED)
        attempts = 1
        if previous is not None and (previous.data.get("fn_number"),
                                     previous.data.get("fd_number")) == (document.fn_number,
                                                                         document.fd_number):
            attempts = int(previous.data.get("attempts", 0)) + 1
        self.store.log_event(self.key, REJECTED,
                             _("бэк-офис не принял ФД {fd} (ФН {fn}): {error}").format(
                                 fd=document.fd_number, fn=document.fn_number, error=error),
                             fn_number=document.fn_number, fd_number=document.fd_number,
                             attempts=attempts, error=error)
        return attempts


def _safe_type(raw: bytes) -> int:
    try:
        return document_type(raw)
    except DocumentError:
        return 0


def _gaps(first: int, last: int, have: Mapping[int, object]) -> Iterator[tuple[int, int]]:
    """Contiguous ranges of [first, last] not in ``have``."""
    start: int | None = None
    for n in range(first, last + 1):
        if n in have:
            if start is not None:
                yield start, n - 1
                start = None
        elif start is None:
            start = n
    if start is not None:
        yield start, last
