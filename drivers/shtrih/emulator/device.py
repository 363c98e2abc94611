"""The emulated Shtrih-M register behind one method: :meth:`EmulatedDevice.handle`.

The link (:mod:`.link`, on a pty or TCP line of :mod:`kkt_bridge.emulation.lines`) hands
every request body it receives to ``handle`` and sends back what it returns. Bodies are
parsed and answers built only with the command declarations of
:mod:`kkt_bridge.drivers.shtrih.commands`, the same ones the driver uses: the emulator is
the driver's mirror, over the protocol-neutral register of :mod:`kkt_bridge.emulation`.
The methods a cashier's actions stand for (:meth:`sell`, :meth:`open_shift`,
:meth:`register` ...) go through the same handlers with real request bodies too, so they
exercise the protocol, not a shortcut around it; only a refusal of the register reaches
them as its reason, not as the code a client on the line gets (see :meth:`call`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from kkt_bridge.drivers.shtrih.commands import REGISTRY, Command
from kkt_bridge.drivers.shtrih.commands.fields import (
    CASHIER_PASSWORD,
    NOT_GIVEN5,
    SYSADMIN_PASSWORD,
)
from kkt_bridge.drivers.shtrih.commands.receipt import (
    CLOSE_RECEIPT,
    CLOSE_RECEIPT_V2,
    OPEN_RECEIPT,
    OPERATION_V2,
    PURCHASE,
    PURCHASE_RETURN,
    SALE,
    SALE_RETURN,
)
from kkt_bridge.drivers.shtrih.commands.registration import (
    BEGIN_REGISTRATION_REPORT,
    REGISTRATION_REPORT,
    REREGISTRATION_REPORT,
)
from kkt_bridge.drivers.shtrih.commands.shift import CANCEL_RECEIPT, OPEN_SHIFT, Z_REPORT
from kkt_bridge.drivers.shtrih.commands.tables import WRITE_TABLE
from kkt_bridge.drivers.shtrih.errors import error_for
from kkt_bridge.drivers.shtrih.frame import command_prefix
from kkt_bridge.emulation.archive import StoredDocument
from kkt_bridge.emulation.profile import Profile
from kkt_bridge.emulation.refusal import Refused
from kkt_bridge.emulation.register import Item, SaleResult, split_payments, to_items
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

from . import (
    ops_correction,
    ops_fn,
    ops_receipt,
    ops_registration,
    ops_shift,
    ops_status,
    ops_tables,
)
from .codes import FFD_FORMAT, OPERATION_TO_RECEIPT_TYPE, VAT_TO_TAX_BIT, VAT_TO_TAX_GROUP
from .core import DeviceCore, DeviceFaults
from .dispatch import HANDLERS
from .refusal import BAD_PARAMETERS, REASON_CODES, UNSUPPORTED, Refusal
from .tables import (
    T18_ADDRESS,
    T18_CASHIER_INN,
    T18_OFD_INN,
    T18_OFD_NAME,
    T18_OFD_URL,
    T18_PLACE,
    T18_USER,
    T19_PORT,
    T19_SERVER,
    TABLES,
    encode_value,
)

__all__ = ["DeviceFaults", "EmulatedDevice", "Item", "SaleResult"]

# the handler modules fill HANDLERS when imported
_HANDLER_MODULES = (ops_correction, ops_fn, ops_receipt, ops_registration, ops_shift,
                    ops_status, ops_tables)

log = logging.getLogger(__name__)


def _code_of(body: bytes) -> tuple[int, bytes, bytes]:
    """(command code, its echo bytes, the data after it)."""
    echo = command_prefix(body)
    return int.from_bytes(echo, "big"), echo, body[len(echo):]


class EmulatedDevice(DeviceCore):
    """A ШТРИХ-М-01Ф with its ФН. Thread-safe: one command at a time."""

    # --- the one method the link calls ----------------------------------------------------

    def handle(self, request_body: bytes) -> bytes:
        """One request body (CMD + data) in, one answer body (CMD echo + error + data) out.

        Never raises: an unknown command answers 0x37, data that does not parse 0x33.
        """
        body = bytes(request_body)
        if not body:
            return bytes([0x00, UNSUPPORTED])
        code, echo, data = _code_of(body)
        with self.lock:
            try:
                return self._dispatch(code, echo, data)
            except Exception as exc:  # a bug of ours must not take the link down
                log.exception("emulator failed on command 0x%X", code)
                self.internal_errors.append(f"0x{code:X}: {exc!r}")
                return echo + bytes([BAD_PARAMETERS])

    def _dispatch(self, code: int, echo: bytes, data: bytes) -> bytes:
        cmd: Command | None = REGISTRY.get(code)
        if cmd is None or HANDLERS.get(code) is None:
            return echo + bytes([UNSUPPORTED])
        try:
            return self._run(code, cmd, data)
        except Refused as refused:
            return cmd.error_answer(REASON_CODES[refused.reason])

    def _run(self, code: int, cmd: Command, data: bytes) -> bytes:
        """One command's answer; a refusal of the virtual register is raised as
        :class:`Refused`, which :meth:`_dispatch` turns into the protocol's code."""
        try:
            request = cmd.request.parse(data)
        except Exception:  # construct errors, undecodable text, short data
            return cmd.error_answer(BAD_PARAMETERS)
        try:
            return HANDLERS[code](self, cmd, request)
        except Refusal as refusal:
            return cmd.error_answer(refusal.code)

    # --- at the register: everything goes through the command handlers -------------------

    def call(self, cmd: Command, **fields: Any) -> Any:
        """Send one command as a client would; raise the driver's error on an error answer,
        return the parsed answer otherwise.

        When the virtual register refused, its :class:`Refused` is the error's cause: the
        person at the keyboard is told the register's reason («не хватает наличности в
        кассе»), which the protocol's code alone («код 0x46») would lose (see
        :func:`kkt_bridge.emulation.refusal.refused_by_register`).
        """
        code, _echo, data = _code_of(cmd.build_request(**fields))
        refused: Refused | None = None
        with self.lock:
            try:
                answer = self._run(code, cmd, data)
            except Refused as exc:
                refused = exc
                answer = cmd.error_answer(REASON_CODES[exc.reason])
        skip = len(cmd.code_bytes)
        if answer[skip] != 0:
            raise error_for(cmd.code, answer[skip]) from refused
        return cmd.answer.parse(answer[skip + 1:])

    def open_shift(self, password: int = CASHIER_PASSWORD) -> StoredDocument:
        with self.lock:
            self.call(OPEN_SHIFT, password=password)
            return self._last_document()

    def close_shift(self, password: int = SYSADMIN_PASSWORD) -> StoredDocument:
        with self.lock:
            self.call(Z_REPORT, password=password)
            return self._last_document()

    def _last_document(self) -> StoredDocument:
        last = self.state.archive.last
        assert last is not None
        return last

    def register(self, profile: Profile | None = None, *,
                 reason: int | None = None) -> StoredDocument:
        """Register (or re-register, with ``reason``, 4 by default) as cash software does:
        tables 17, 18, 19 through 0x1E, then FF05 + FF06 (FF05 + FF34 when registered)."""
        profile = (profile or self.profile).with_serial(self.state.identity.serial)
        with self.lock:
            self._write_cell(17, 1, 17, FFD_FORMAT[profile.ffd])
            for field, value in ((T18_USER, profile.user_name), (T18_ADDRESS, profile.address),
                                 (T18_OFD_NAME, profile.ofd_name),
                                 (T18_OFD_URL, profile.ofd_host),
                                 (T18_OFD_INN, profile.ofd_inn), (T18_PLACE, profile.place),
                                 (T18_CASHIER_INN, profile.cashier_inn)):
                self._write_cell(18, 1, field, value)
            self._write_cell(19, 1, T19_SERVER, profile.ofd_host)
            self._write_cell(19, 1, T19_PORT, profile.ofd_port)
            if profile.cashier:
                self._write_cell(2, 1, 2, profile.cashier)
            fields = {"password": SYSADMIN_PASSWORD, "inn": profile.inn, "rnm": profile.rnm,
                      "tax_systems": profile.tax_systems, "work_mode": profile.work_mode}
            if self.state.registered:
                self.call(BEGIN_REGISTRATION_REPORT, password=SYSADMIN_PASSWORD, report_type=2)
                self.call(REREGISTRATION_REPORT, reason=reason or 4, **fields)
            else:
                self.call(BEGIN_REGISTRATION_REPORT, password=SYSADMIN_PASSWORD, report_type=0)
                self.call(REGISTRATION_REPORT, **fields)
            self.profile = profile
            return self._last_document()

    def _write_cell(self, table: int, row: int, field: int, value: int | str) -> None:
        spec = TABLES[table].field(field)
        if spec is None:
            raise ConfigError(_("в таблице {table} нет поля {field}").format(
                table=table, field=field), _("исправьте вызов"))
        raw = encode_value(spec, value)
        if isinstance(value, str):
            raw = raw.rstrip(b"\x00") or b"\x00"
        self.call(WRITE_TABLE, password=SYSADMIN_PASSWORD, table=table, row=row, field=field,
                  value=raw)

    def sell(self, items: Sequence[Item | tuple[Any, ...]],
             payments: Mapping[str, int] | None = None, *, operation: int = 1,
             classic: bool = False, **_options: Any) -> SaleResult:
        """Make a whole receipt through the protocol and return what the ФН made of it.

        ``items``: :class:`Item` or ``(name, price[, quantity])`` tuples. ``payments``:
        ``{"cash": ..., "electronic": ...}`` in kopecks; by default cash equal to the total.
        ``operation`` is 1054 (1 sale, 2 sale return, 3 purchase, 4 purchase return).
        ``classic`` uses 0x8D, 0x80..0x83 and 0x85 (as pyshtrih does) instead of FF46 + FF45.
        """
        lines = to_items(items)
        with self.lock:
            try:
                if classic:
                    change = self._sell_classic(lines, payments, operation)
                else:
                    change = self._sell_v2(lines, payments, operation)
            except BaseException:
                # leave no half-made receipt behind, as cash software cancels a failed one
                if self.receipt is not None:
                    self.handle(CANCEL_RECEIPT.build_request(password=SYSADMIN_PASSWORD))
                raise
            return self.sale_result(self._last_document(), change)

    def _sell_v2(self, lines: list[Item], payments: Mapping[str, int] | None,
                 operation: int) -> int:
        for item in lines:
            millionths = Decimal(str(item.quantity)) * 1_000_000
            self.call(OPERATION_V2, password=SYSADMIN_PASSWORD, operation=operation,
                      quantity=int(millionths), price=item.price, amount=NOT_GIVEN5,
                      tax_amount=NOT_GIVEN5, tax_rate=VAT_TO_TAX_BIT[item.vat],
                      department=item.department, payment_method=item.payment_method,
                      payment_subject=item.payment_subject, name=item.name)
        total = self.receipt.total if self.receipt is not None else 0
        cash, electronic = split_payments(payments, total)
        slots = [cash, electronic] + [0] * 14
        answer = self.call(CLOSE_RECEIPT_V2, password=SYSADMIN_PASSWORD, payments=slots,
                           rounding=0, tax_sums=[0] * 6, tax_system=0, text="")
        return int(answer.change)

    def _sell_classic(self, lines: list[Item], payments: Mapping[str, int] | None,
                      operation: int) -> int:
        receipt_type = OPERATION_TO_RECEIPT_TYPE[operation]
        line_cmd = {0: SALE, 1: PURCHASE, 2: SALE_RETURN, 3: PURCHASE_RETURN}[receipt_type]
        self.call(OPEN_RECEIPT, password=CASHIER_PASSWORD, receipt_type=receipt_type)
        for item in lines:
            thousandths = Decimal(str(item.quantity)) * 1000
            self.call(line_cmd, password=CASHIER_PASSWORD, quantity=int(thousandths),
                      price=item.price, department=item.department,
                      taxes=[VAT_TO_TAX_GROUP[item.vat], 0, 0, 0], text=item.name)
        total = self.receipt.total if self.receipt is not None else 0
        cash, electronic = split_payments(payments, total)
        answer = self.call(CLOSE_RECEIPT, password=CASHIER_PASSWORD,
                           payments=[cash, electronic, 0, 0], discount_percent=0,
                           taxes=[0, 0, 0, 0], text="")
        return int(answer.change)

