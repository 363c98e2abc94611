"""``ShtrihKkt``: the driver-neutral :class:`~kkt_bridge.kkt.Kkt` over the Shtrih-M protocol.

Every command goes through :meth:`ShtrihKkt.execute`: build the declared request, exchange
it over the :class:`~.transport.Transport`, raise the typed error of a non-zero code, parse
the declared answer. Nothing here writes a byte by hand except table values, whose layout
only the table's field structure knows.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any, Protocol

from construct import ConstructError, Container

from kkt_bridge.errors import ConfigError, DocumentError, ProtocolError
from kkt_bridge.fiscal import tlv
from kkt_bridge.fiscal.facts import FFD_VERSIONS
from kkt_bridge.i18n import _
from kkt_bridge.kkt import (
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

from .commands import Command
from .commands import fn as fn_cmds
from .commands import shift as shift_cmds
from .commands import status as status_cmds
from .commands import tables as table_cmds
from .commands.fields import CASHIER_PASSWORD, SYSADMIN_PASSWORD, cp1251_text
from .errors import FnError, FnNoDataError, FnWrongStateError, NotFiscalizedError, NotSupportedError
from .transport import SerialPort, Transport

log = logging.getLogger(__name__)

#: commands that need the system administrator (tables, reports), besides every 0xFFxx one
_SYSADMIN_COMMANDS = frozenset({0x1E, 0x1F, 0x2D, 0x2E, 0x40, 0x41})

#: how many times a document whose blocks did not add up to its length is read from FF3A
DOCUMENT_READS = 3

CASHIER_TABLE = 2
CASHIER_NAME_FIELD = 2
CASHIER_ROWS = 30
FISCAL_TABLE = 18
FISCAL_INN_FIELD = 2
FISCAL_RNM_FIELD = 3

#: stands in for a date the ФН reports as all zeros, where a model needs a datetime
NO_DATE = datetime(2000, 1, 1)

#: FFD version tag of the registration report
_TAG_FFD_VERSION = 1209

MODE_TEXTS: dict[int, str] = {
    0: "рабочий режим",
    1: "выдача данных",
    2: "смена открыта, 24 часа не кончились",
    3: "смена открыта, 24 часа кончились",
    4: "смена закрыта",
    5: "блокировка по неправильному паролю налогового инспектора",
    6: "ожидание подтверждения ввода даты",
    7: "разрешение изменения положения десятичной точки",
    8: "открытый документ",
    9: "режим разрешения технологического обнуления",
    10: "тестовый прогон",
    11: "печать полного фискального отчёта",
    12: "печать длинного отчёта ЭКЛЗ",
    13: "работа с фискальным подкладным документом",
    14: "печать подкладного документа",
    15: "фискальный подкладной документ сформирован",
}


class ClosablePort(SerialPort, Protocol):
    def close(self) -> None: ...


def _text(raw: str) -> str:
    """ФН strings come space- or NUL-padded (INN, RNM, numbers)."""
    return raw.strip("\x00 ")


def _when(day: date | None, moment: time | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, moment or time())


class ShtrihKkt:
    """A Shtrih-M register on an open link. One command at a time (a lock guards the link)."""

    protocol = "shtrih"

    def __init__(self, transport: Transport, *, password: int = CASHIER_PASSWORD,
                 sysadmin_password: int = SYSADMIN_PASSWORD, port: ClosablePort | None = None,
                 ) -> None:
        self.transport = transport
        self.password = password
        self.sysadmin_password = sysadmin_password
        self._port = port
        self._lock = threading.Lock()
        self._password_fields: dict[int, bool] = {}
        # request bodies that take nothing but the password are the same every time (FF3B
        # 25 times a document): built by the declaration once, kept by (code, password)
        self._constant_requests: dict[tuple[int, int], bytes] = {}
        self._field_sizes: dict[tuple[int, int], tuple[int, int]] = {}

    @classmethod
    def on_port(cls, port: ClosablePort, **options: Any) -> ShtrihKkt:
        """A driver on an already open pyserial port (closed by :meth:`close`)."""
        transport_options = {k: options.pop(k) for k in
                             ("byte_timeout", "control_timeout", "attempts", "blind")
                             if k in options}
        return cls(Transport(port, **transport_options), port=port, **options)

    # --- the generic command path ---------------------------------------------------------

    def password_for(self, command: Command) -> int:
        if command.code > 0xFF or command.code in _SYSADMIN_COMMANDS:
            return self.sysadmin_password
        return self.password

    def execute(self, command: Command, **fields: Any) -> Container:
        """Run one declared command; the password is filled in when not given.

        Raises the typed DeviceError of a non-zero answer code, LinkError/ProtocolError
        when the link fails.
        """
        answer = self._exchange(command, fields)
        return command.parse_answer(answer)

    def _exchange(self, command: Command, fields: dict[str, Any]) -> bytes:
        """Build ``command``'s request from ``fields`` (the password filled in), run it, and
        return the answer body."""
        body = self._request(command, fields)
        with self._lock:
            return self.transport.exchange(body, command.timeout, query=command.query)

    def _request(self, command: Command, fields: dict[str, Any]) -> bytes:
        """``command``'s request body from ``fields``, the password filled in."""
        if "password" not in fields and self._takes_password(command):
            fields["password"] = self.password_for(command)
        password = fields.get("password")
        key = (command.code, password) if len(fields) == 1 and type(password) is int else None
        body = self._constant_requests.get(key) if key is not None else None
        if body is None:
            try:
                body = command.build_request(**fields)
            except (ConstructError, ValueError, TypeError, KeyError, struct.error) as exc:
                raise ConfigError(_("команда {command}: недопустимые значения ({reason})"
                                    ).format(command=command, reason=exc),
                                  _("проверьте переданные значения")) from None
            if key is not None:
                self._constant_requests[key] = body
        return body

    def _takes_password(self, command: Command) -> bool:
        known = self._password_fields.get(command.code)
        if known is None:
            names = [getattr(sub, "name", None) for sub in getattr(command.request, "subcons", ())]
            known = self._password_fields[command.code] = "password" in names
        return known

    # --- Kkt: identity and state ----------------------------------------------------------

    def device_type(self) -> Container:
        return self.execute(status_cmds.DEVICE_TYPE)

    def full_status(self) -> Container:
        return self.execute(status_cmds.FULL_STATUS)

    def short_status(self) -> Container:
        return self.execute(status_cmds.SHORT_STATUS)

    def identity(self) -> Identity:
        kind = self.device_type()
        full = self.full_status()
        try:
            fn_number: str | None = _text(self.execute(fn_cmds.FN_NUMBER).fn_number) or None
        except (FnError, NotSupportedError):
            fn_number = None  # no ФН installed, or a pre-ФН model
        version = full.firmware_version.decode("latin-1")
        return Identity(
            protocol=self.protocol,
            model=model_name(kind.name),
            model_code=kind.model,
            serial=str(full.serial),
            firmware=f"{'.'.join(version)}.{full.firmware_build}",
            fn_number=fn_number,
        )

    def status(self) -> KktStatus:
        full = self.full_status()
        mode = full.mode & 0x0F
        return KktStatus(
            mode=full.mode,
            submode=full.submode,
            mode_text=_(MODE_TEXTS.get(mode, "неизвестный режим")),
            shift=shift_state(full.mode),
            receipt_open=mode == 8,
            paper_present=full.submode not in (1, 2),
            operator=full.operator,
            clock=_when(full.date, full.time),
        )

    def registration(self) -> Registration | None:
        if not self.fn_status().lifecycle & 0b10:
            return None  # the ФН never entered fiscal mode
        try:
            reg = self.execute(fn_cmds.LAST_REGISTRATION)
        except (FnWrongStateError, NotFiscalizedError):
            return None
        tail = reg.tail
        if "raw" in tail:  # an unknown layout: ФД and sign end it
            raw = bytes(tail.raw)
            if len(raw) < 8:
                raise ProtocolError(_("ответ FF09 короче ожидаемого"),
                                    _("обновите драйвер или прошивку ККТ"))
            fd_number = int.from_bytes(raw[-8:-4], "little")
            fiscal_sign = int.from_bytes(raw[-4:], "little")
        else:
            fd_number, fiscal_sign = tail.fd_number, tail.fiscal_sign
        inn, rnm = _text(reg.inn), _text(reg.rnm)
        if not inn or not rnm:  # some firmware leaves them blank here: table 18 has them
            inn = inn or str(self.read_field(FISCAL_TABLE, 1, FISCAL_INN_FIELD)).strip()
            rnm = rnm or str(self.read_field(FISCAL_TABLE, 1, FISCAL_RNM_FIELD)).strip()
        return Registration(
            inn=inn,
            rnm=rnm,
            tax_systems=reg.tax_systems,
            work_mode=reg.work_mode,
            ffd_version=self._ffd_version(fd_number),
            registered_at=reg.registered_at or NO_DATE,
            fd_number=fd_number,
            fiscal_sign=fiscal_sign,
        )

    def _ffd_version(self, registration_fd: int) -> str:
        """Tag 1209 of the registration report; the register has no command that says it."""
        try:
            document = self.read_document(registration_fd)
        except (FnError, ProtocolError, DocumentError):
            return _("неизвестна")
        value = find_top_tag(document[4:], _TAG_FFD_VERSION)
        if not value:
            return _("неизвестна")
        code = int.from_bytes(value, "little")
        return FFD_VERSIONS.get(code, str(code))

    def fn_status(self) -> FnStatus:
        st = self.execute(fn_cmds.FN_STATUS)
        valid_until: datetime | None
        try:
            validity = self.execute(fn_cmds.FN_VALIDITY)
            valid_until = _when(validity.valid_until, None)
        except (FnError, NotSupportedError):
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
        pending = ex.queue_length > 0
        return OfdQueue(
            unsent=ex.queue_length,
            first_unsent_fd=ex.first_unsent_fd if pending else None,
            first_unsent_at=ex.first_unsent_at if pending else None,
        )

    def shift(self) -> Shift:
        sp = self.execute(fn_cmds.SHIFT_PARAMETERS)
        return Shift(open=bool(sp.shift_open), number=sp.shift_number,
                     receipt_number=sp.receipt_number)

    # --- Kkt: the ФН archive --------------------------------------------------------------

    def document_info(self, fd_number: int) -> DocumentInfo:
        found = self.execute(fn_cmds.FIND_DOCUMENT, fd_number=fd_number)
        details: dict[str, int | str] = {}
        for key, value in found.details.items():
            if key.startswith("_") or value is None:
                continue  # a date of 00 00 00 (e.g. no unconfirmed document): not given
            if isinstance(value, str):
                details[key] = _text(value)
            elif isinstance(value, bytes):
                details[key] = value.hex()
            elif isinstance(value, date):
                details[key] = value.isoformat()
            else:
                details[key] = int(value)
        return DocumentInfo(
            fd_number=found.fd_number,
            document_type=found.document_type,
            created_at=found.created_at or NO_DATE,
            fiscal_sign=found.fiscal_sign,
            ofd_acknowledged=bool(found.ofd_acknowledged),
            details=details,
        )

    def read_document(self, fd_number: int) -> bytes:
        """FF3A, then FF3B until the length FF3A announced has come: type u16 LE, length
        u16 LE, the TLV body.

        The read stops at the announced length, as the vendor's own driver does, instead of
        asking once more for the error 08 that ends the data: one round trip less a
        document. An 08 (or an empty block) before the length is a short document.

        A block can be lost on the line without an error: the transport sends an FF3B
        again when it cannot tell whether the device took it (a query runs twice safely,
        but the ФН moves on to the next block). The length check catches that, and the
        document is read again from FF3A, up to :data:`DOCUMENT_READS` times."""
        for read in range(1, DOCUMENT_READS + 1):
            with self.transport.back_to_back():
                head, chunks, got = self._read_document_once(fd_number)
            if got == head.length:
                return (head.document_type.to_bytes(2, "little")
                        + head.length.to_bytes(2, "little") + b"".join(chunks))
            if read < DOCUMENT_READS:
                log.info("document %d: %d of %d bytes came; reading it again",
                         fd_number, got, head.length)
        raise ProtocolError(
            _("документ {n}: ФН объявил {length} байт, передал {got}").format(
                n=fd_number, length=head.length, got=got), _("повторите чтение документа"))

    def _read_document_once(self, fd_number: int) -> tuple[Container, list[bytes], int]:
        """FF3A and its FF3Bs: the head, the blocks, and how many bytes they hold."""
        head = self.execute(fn_cmds.DOCUMENT_TLV, fd_number=fd_number)
        chunks: list[bytes] = []
        got = 0
        # the loop runs between an answer and the next command: what it needs is taken
        # out of the containers and the declaration once a document
        length: int = head.length
        command = fn_cmds.READ_TLV_BLOCK
        request = self._request(command, {})
        exchange, data_of = self.transport.exchange, fn_cmds.tlv_block_data
        timeout, query, lock = command.timeout, command.query, self._lock
        size_of = fn_cmds.tlv_block_size

        def more(answer: bytes) -> bytes | None:
            """The next FF3B, when this answer is a block and the length is not reached
            with it: the transport sends it at once (its ``follow``)."""
            size = size_of(answer)
            return request if size and got + size < length else None

        # each block carries at least one byte, so the ФН's length bounds the loop
        for _block in range(length):
            if got >= length:
                break
            try:
                with lock:
                    answer = exchange(request, timeout, query=query, follow=more)
                block = data_of(answer)
            except FnNoDataError:
                break
            if not block:
                break
            chunks.append(block)
            got += len(block)
        return head, chunks, got

    def iter_documents(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        for number in range(first, last + 1):
            yield number, self.read_document(number)

    # --- Kkt: cashiers (table 2) ----------------------------------------------------------

    def read_cashiers(self) -> list[Cashier]:
        rows = self._table_rows(CASHIER_TABLE, CASHIER_ROWS)
        cashiers = []
        for row in range(1, rows + 1):
            raw = self.read_table(CASHIER_TABLE, row, CASHIER_NAME_FIELD)
            cashiers.append(Cashier(row=row, name=decode_char(raw)))
        return cashiers

    def write_cashier(self, row: int, name: str) -> None:
        if not 1 <= row <= CASHIER_ROWS:
            raise ConfigError(_("номер кассира {row} вне диапазона 1..{rows}").format(
                row=row, rows=CASHIER_ROWS), _("укажите ряд таблицы 2 от 1 до 30"))
        _kind, size = self.field_structure(CASHIER_TABLE, CASHIER_NAME_FIELD)
        self.write_table(CASHIER_TABLE, row, CASHIER_NAME_FIELD, encode_char(name, size))

    # --- tables ---------------------------------------------------------------------------

    def read_table(self, table: int, row: int, field: int) -> bytes:
        return bytes(self.execute(table_cmds.READ_TABLE, table=table, row=row, field=field).value)

    def write_table(self, table: int, row: int, field: int, value: bytes) -> None:
        self.execute(table_cmds.WRITE_TABLE, table=table, row=row, field=field, value=value)

    def field_structure(self, table: int, field: int) -> tuple[int, int]:
        """(type, size) of a table field: FIELD_BIN or FIELD_CHAR, bytes. Cached per link."""
        key = (table, field)
        known = self._field_sizes.get(key)
        if known is None:
            info = self.execute(table_cmds.FIELD_STRUCTURE, table=table, field=field)
            known = self._field_sizes[key] = (info.type, info.size)
        return known

    def read_field(self, table: int, row: int, field: int) -> int | str:
        """A table value decoded by its field structure: an int (BIN) or a str (CHAR)."""
        kind, _size = self.field_structure(table, field)
        raw = self.read_table(table, row, field)
        if kind == table_cmds.FIELD_BIN:
            return int.from_bytes(raw, "little")
        return decode_char(raw)

    def write_field(self, table: int, row: int, field: int, value: int | str) -> None:
        kind, size = self.field_structure(table, field)
        if kind == table_cmds.FIELD_BIN:
            if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
                raise ConfigError(
                    _("значение {value!r} не помещается в поле {table}.{field} ({size} байт)")
                    .format(value=value, table=table, field=field, size=size),
                    _("укажите целое число подходящего размера"))
            data = value.to_bytes(size, "little")
        else:
            data = encode_char(str(value), size)
        self.write_table(table, row, field, data)

    def _table_rows(self, table: int, default: int) -> int:
        try:
            rows = int(self.execute(table_cmds.TABLE_STRUCTURE, table=table).rows)
        except NotSupportedError:
            return default
        return rows or default

    # --- convenience commands -------------------------------------------------------------

    def beep(self) -> int:
        return int(self.execute(status_cmds.BEEP).operator)

    def open_shift(self) -> int:
        return int(self.execute(shift_cmds.OPEN_SHIFT).operator)

    def x_report(self) -> int:
        return int(self.execute(shift_cmds.X_REPORT).operator)

    def z_report(self) -> int:
        return int(self.execute(shift_cmds.Z_REPORT).operator)

    def cancel_receipt(self) -> int:
        return int(self.execute(shift_cmds.CANCEL_RECEIPT).operator)

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def __enter__(self) -> ShtrihKkt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- helpers (model_name is the plugin's too) ------------------------------------------------


def model_name(raw: bytes) -> str:
    return cp1251_text(raw).strip()


def shift_state(mode: int) -> ShiftState:
    low = mode & 0x0F
    if low == 3:
        return ShiftState.EXPIRED
    if low in (2, 8):  # a document is open only inside an open shift
        return ShiftState.OPEN
    return ShiftState.CLOSED


def decode_char(raw: bytes) -> str:
    return cp1251_text(raw).rstrip()


def encode_char(text: str, size: int) -> bytes:
    try:
        data = text.encode("cp1251")
    except UnicodeEncodeError:
        raise ConfigError(_("текст {text!r} содержит символы вне кодировки ККТ (cp1251)")
                          .format(text=text), _("уберите неподдерживаемые символы")) from None
    if len(data) > size:
        raise ConfigError(_("текст {text!r} длиннее поля ({size} байт)").format(
            text=text, size=size), _("сократите текст"))
    return data.ljust(size, b"\x00")


#: the value of the first top-level TLV ``tag`` of a document body (the one TLV walker)
find_top_tag = tlv.find
