"""``AtolKkt``: the driver-neutral :class:`~kkt_bridge.kkt.Kkt` over ATOL protocol 3.1.

Every command goes through :meth:`AtolKkt.execute`: build the declared task, run it through
the task buffer (:class:`~.transport.Transport`), raise the typed error of a refusal, parse
the declared answer. ATOL has no cashier table the bridge could fill: the cash software
writes the cashier (tags 1021/1203) into each document, so the capabilities say so.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, Protocol

from construct import ConstructError, Container

from kkt_bridge.errors import ConfigError, KktBridgeError, LinkError, ProtocolError
from kkt_bridge.fiscal import tlv
from kkt_bridge.fiscal.documents import RegistrationReport, decode_document
from kkt_bridge.fiscal.facts import FFD_VERSIONS
from kkt_bridge.i18n import _
from kkt_bridge.kkt import (
    Capability,
    Cashier,
    DocumentInfo,
    FnStatus,
    Identity,
    KktStatus,
    OfdQueue,
    Registration,
    Shift,
    ShiftState,
)

from .commands import fn as fn_cmds
from .commands import receipt as receipt_cmds
from .commands import status as status_cmds
from .commands.base import ACCESS_PASSWORD, Command
from .errors import (
    AtolDeviceError,
    FnError,
    FnNoDataError,
    ModeError,
    NotFiscalizedError,
    NotSupportedError,
)
from .models import model_name
from .transport import SerialPort, Transport

#: stands in for a date the ФН reports as all zeros, where a model needs a datetime
NO_DATE = datetime(2000, 1, 1)
_TAG_FFD_VERSION = 1209
#: reads of one document before its error reaches the caller
DOCUMENT_ATTEMPTS = 3

MODE_TEXTS: dict[int, str] = {
    0: "режим выбора",
    1: "режим регистрации",
    2: "режим отчётов без гашения",
    3: "режим отчётов с гашением",
    4: "режим программирования",
    5: "режим доступа к ФП",
    6: "режим доступа к ЭКЛЗ",
    7: "дополнительный режим",
}


class ClosablePort(SerialPort, Protocol):
    def close(self) -> None: ...


def _text(raw: str) -> str:
    return raw.strip("\x00 ")


def _when(day: date | None, moment: time | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, moment or time())


class AtolKkt:
    """An ATOL register on an open link. One task at a time (a lock guards the link)."""

    protocol = "atol"
    capabilities = frozenset({Capability.CASHIER_PER_DOCUMENT})

    def __init__(self, transport: Transport, *, password: int = ACCESS_PASSWORD,
                 port: ClosablePort | None = None) -> None:
        self.transport = transport
        self.password = password
        self._port = port
        self._lock = threading.Lock()
        self._batch = 0

    @classmethod
    def on_port(cls, port: ClosablePort, **options: Any) -> AtolKkt:
        transport_options = {k: options.pop(k) for k in
                             ("byte_timeout", "poll_interval", "resends", "ack_add")
                             if k in options}
        return cls(Transport(port, **transport_options), port=port, **options)

    # --- the generic command path ---------------------------------------------------------

    def execute(self, command: Command, **fields: Any) -> Container:
        return command.parse_answer(self._answer(command, fields))

    def execute_data(self, command: Command, **fields: Any) -> bytes:
        """A command whose answer is all data (A4 46): the data, without construct."""
        return command.answer_data(self._answer(command, fields))

    def _answer(self, command: Command, fields: dict[str, Any],
                follow: Callable[[int, bytes], bytes | None] | None = None) -> bytes:
        try:
            task = command.build_task(self.password, **fields)
        except (ConstructError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(_("команда {command}: недопустимые значения ({reason})").format(
                command=command.label, reason=exc), _("проверьте переданные значения")) from None
        with self._lock:
            # a task sent ahead is only for a batch: outside one, the flush below would
            # run it for nothing
            _status, answer = self.transport.execute(
                task, command.timeout, follow=follow if self._batch else None)
            if not self._batch:
                self.transport.flush()  # the result's ACK now: nothing else follows
        return answer

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Tasks that follow each other at once (a document read): each result's ACK goes
        out with the next task, and the last one when the batch ends."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if not self._batch:
                with self._lock, contextlib.suppress(LinkError):
                    self.transport.flush()

    def greet(self, timeout: float) -> Container:
        """A5 with a short timeout: the first task of a connection, to see who answers."""
        with self._lock:
            _status, answer = self.transport.execute(
                status_cmds.DEVICE_TYPE.build_task(self.password), timeout)
            self.transport.flush()
        return status_cmds.DEVICE_TYPE.parse_answer(answer)

    # --- Kkt: identity and state ----------------------------------------------------------

    def device_type(self) -> Container:
        return self.execute(status_cmds.DEVICE_TYPE)

    def state(self) -> Container:
        return self.execute(status_cmds.STATE)

    def identity(self) -> Identity:
        kind = self.device_type()
        state = self.state()
        try:
            fn_number: str | None = _text(self.execute(fn_cmds.FN_NUMBER).fn_number) or None
        except (FnError, NotSupportedError, ModeError):
            fn_number = None  # no ФН installed
        version = bytes(kind.version)
        return Identity(
            protocol=self.protocol,
            model=model_name(kind.model, kind.name),
            model_code=kind.model,
            serial=str(state.serial),
            firmware=".".join(str(b) for b in version[:3]) + f".{version[3] << 8 | version[4]}",
            fn_number=fn_number,
        )

    def status(self) -> KktStatus:
        state = self.state()
        mode = state.mode & 0x0F
        # 3F says only open or closed; a shift past 24 h shows as error 0x88 on a sale
        open_ = bool(state.flags & status_cmds.FLAG_SHIFT_OPEN)
        shift = ShiftState.OPEN if open_ else ShiftState.CLOSED
        return KktStatus(
            mode=mode,
            submode=state.mode >> 4,
            mode_text=_(MODE_TEXTS.get(mode, "неизвестный режим")),
            shift=shift,
            receipt_open=state.receipt_state != status_cmds.RECEIPT_CLOSED,
            paper_present=bool(state.flags & status_cmds.FLAG_PAPER),
            operator=state.cashier,
            clock=_when(state.date, state.time),
        )

    def registration(self) -> Registration | None:
        if not self.fn_status().lifecycle & 0b10:
            return None
        try:
            reg = self.execute(fn_cmds.LAST_REGISTRATION)
        except (FnError, NotFiscalizedError):
            return None
        except AtolDeviceError:
            # A4 43 is the ФН's own 43h passed through [I]; a firmware that filters it
            # (atol.md §9 question 7) still has the report in its archive
            return self._registration_from_archive()
        return Registration(
            inn=_text(reg.inn),
            rnm=_text(reg.rnm),
            tax_systems=reg.tax_systems,
            work_mode=reg.work_mode,
            ffd_version=self._ffd_version(reg.fd_number),
            registered_at=reg.registered_at or NO_DATE,
            fd_number=reg.fd_number,
            fiscal_sign=reg.fiscal_sign,
        )

    def _registration_from_archive(self) -> Registration | None:
        """The last registration report, found by walking the archive back from the last
        ФД with A4 45 (confirmed commands only), read whole and decoded."""
        last = self.execute(fn_cmds.FN_STATUS).last_fd_number
        for number in range(last, 0, -1):
            head = self.execute(fn_cmds.DOCUMENT_TLV, fd_number=number)
            if head.document_type not in (1, 11):
                continue
            report = decode_document(self.read_document(number))
            if not isinstance(report, RegistrationReport):
                return None
            flags = (report.encryption, report.autonomous, report.automatic, report.services,
                     report.bso, report.internet)
            return Registration(
                inn=report.user_inn or "",
                rnm=report.rnm or "",
                tax_systems=report.tax_systems or 0,
                work_mode=sum(1 << bit for bit, on in enumerate(flags) if on),
                ffd_version=FFD_VERSIONS.get(report.ffd_version or 0, _("неизвестна")),
                registered_at=report.date_time or NO_DATE,
                fd_number=number,
                fiscal_sign=report.fiscal_sign or 0,
            )
        return None

    def _ffd_version(self, registration_fd: int) -> str:
        try:
            document = self.read_document(registration_fd)
        except (AtolDeviceError, ProtocolError):
            return _("неизвестна")
        value = tlv.find(document[4:], _TAG_FFD_VERSION)
        if not value:
            return _("неизвестна")
        code = int.from_bytes(value, "little")
        return FFD_VERSIONS.get(code, str(code))

    def fn_status(self) -> FnStatus:
        st = self.execute(fn_cmds.FN_STATUS)
        valid_until: datetime | None
        try:
            valid_until = _when(self.execute(fn_cmds.FN_VALIDITY).valid_until, None)
        except (FnError, NotSupportedError, ModeError):
            valid_until = None  # a ФН in setup has no validity yet
        return FnStatus(
            fn_number=_text(st.fn_number),
            lifecycle=st.lifecycle,
            shift_open=bool(st.shift_open),
            last_fd_number=st.last_fd_number,
            last_document_at=st.last_document_at,
            warnings=st.warnings,
            valid_until=valid_until,
        )

    def ofd_queue(self) -> OfdQueue:
        ex = self.execute(fn_cmds.OFD_EXCHANGE)
        pending = ex.unsent > 0
        return OfdQueue(
            unsent=ex.unsent,
            first_unsent_fd=ex.first_unsent_fd if pending else None,
            first_unsent_at=ex.first_unsent_at if pending else None,
        )

    def shift(self) -> Shift:
        sp = self.execute(fn_cmds.SHIFT)
        return Shift(open=bool(sp.shift_open), number=sp.shift_number,
                     receipt_number=sp.receipt_number)

    # --- Kkt: the ФН archive --------------------------------------------------------------

    def document_info(self, fd_number: int) -> DocumentInfo:
        found = self.execute(fn_cmds.FIND_DOCUMENT, fd_number=fd_number)
        details: dict[str, int | str] = {}
        if found.details:
            details["raw"] = bytes(found.details).hex()
        return DocumentInfo(
            fd_number=found.fd_number,
            document_type=found.document_type,
            created_at=found.created_at or NO_DATE,
            fiscal_sign=found.fiscal_sign,
            ofd_acknowledged=bool(found.ofd_acknowledged),
            details=details,
        )

    def read_document(self, fd_number: int) -> bytes:
        """A4 45, then A4 46 until the announced length is read (no extra request past
        it) or the ФН says 0xDA: type u16 LE, length u16 LE, the TLV body."""
        with self.batch():
            return self._read_document(fd_number)

    def _read_document(self, fd_number: int) -> bytes:
        """The read, started again with A4 45 when the line spoiled it: a task the buffer
        refused or could not tell apart (:class:`.transport.Transport`), packets damaged
        past the resend count, a length that does not add up. A4 45 rewinds the ФН's
        reading, so a read again is the same read."""
        for attempt in range(DOCUMENT_ATTEMPTS):
            try:
                return self._read_document_once(fd_number)
            except ProtocolError:
                if attempt == DOCUMENT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_document_once(self, fd_number: int) -> bytes:
        head = self.execute(fn_cmds.DOCUMENT_TLV, fd_number=fd_number)
        chunks: list[bytes] = []
        got = 0
        length: int = head.length  # out of the container once, not twice a block
        command = fn_cmds.READ_TLV
        task = command.build_task(self.password)  # the same bytes object every block

        def more(_status: int, answer: bytes) -> bytes | None:
            """The next A4 46, when this answer is a block and the length is not reached
            with it: the transport adds it at once (its ``follow``)."""
            try:
                size = len(command.answer_data(answer))
            except KktBridgeError:
                return None  # a refusal (0xDA: no more data): the loop below says what
            return task if size and got + size < length else None

        # every answer carries a 4-byte TLV header at least, so the length bounds the loop
        for _block in range(length // 4 + 1):
            if got >= length:
                break
            try:
                block = command.answer_data(self._answer(command, {}, more))
            except FnNoDataError:
                break
            if not block:
                break
            chunks.append(block)
            got += len(block)
        if got != length:
            raise ProtocolError(
                _("документ {n}: ФН объявил {length} байт, передал {got}").format(
                    n=fd_number, length=head.length, got=got), _("повторите чтение документа"))
        return (head.document_type.to_bytes(2, "little") + head.length.to_bytes(2, "little")
                + b"".join(chunks))

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        for number in range(first, last + 1):
            with self.batch():
                document = self._read_document(number)
            yield number, document

    # --- Kkt: cashiers --------------------------------------------------------------------

    def read_cashiers(self) -> list[Cashier]:
        """ATOL keeps no cashier names in a table the bridge can reach (atol.md §4.4)."""
        return []

    def write_cashier(self, row: int, name: str) -> None:
        raise NotImplementedError(_(
            "у ККТ АТОЛ нет таблицы кассиров: кассовая программа записывает кассира "
            "(теги 1021, 1203) в каждый документ"))

    # --- convenience commands (a cashier's day) -------------------------------------------

    def enter_mode(self, mode: int, mode_password: int) -> None:
        self.execute(status_cmds.ENTER_MODE, mode=mode, mode_password=mode_password)

    def leave_mode(self) -> None:
        self.execute(status_cmds.LEAVE_MODE)

    def open_shift(self) -> None:
        self.execute(receipt_cmds.OPEN_SHIFT, test=0)

    def cancel_receipt(self) -> None:
        self.execute(receipt_cmds.CANCEL_RECEIPT)

    def close(self) -> None:
        if self._port is not None:
            with contextlib.suppress(LinkError):
                self.transport.flush()  # the last result's ACK frees it in the register
            self._port.close()
            self._port = None

    def __enter__(self) -> AtolKkt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
