"""What each fiscal document holds: its requisites as (tag, value) lists, in the order a
real Shtrih device writes them; every front end gets the same FFD.
:class:`~.archive.Archive` adds 1040, 1041 and 1077.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kkt_bridge.fiscal.facts import WORK_MODE_TAGS
from kkt_bridge.fiscal.tags import DOCUMENT_TYPES
from kkt_bridge.fiscal.wire import TagValue

from .sale import Line, OpenReceipt

Tags = list[tuple[int, TagValue]]

FNS_SITE = "www.nalog.gov.ru"
KKT_VERSION = "3.0"  # 1188, at most 8 characters



@dataclass(frozen=True)
class Requisites:
    """The registration data every document repeats (taken from table 18 when made)."""

    ffd_code: int  # 1209
    user: str
    inn: str
    rnm: str
    kkt_serial: str
    address: str
    place: str
    ofd_name: str
    ofd_inn: str
    tax_systems: int
    work_mode: int
    cashier: str
    cashier_inn: str = ""


def _common(req: Requisites, doc_type: int, at: datetime) -> Tags:
    return [
        (1000, DOCUMENT_TYPES[doc_type]),
        (1209, req.ffd_code),
        (1048, req.user),
        (1018, req.inn.ljust(12)),  # the ФН keeps the INN space-padded to 12
        (1012, at),
    ]


def _cashier(req: Requisites) -> Tags:
    tags: Tags = [(1021, req.cashier)]
    if req.cashier_inn:
        tags.append((1203, req.cashier_inn.ljust(12)))
    return tags


def _place(req: Requisites) -> Tags:
    return [(1037, req.rnm.ljust(20)), (1009, req.address), (1187, req.place)]


def registration(req: Requisites, at: datetime, reason: int | None) -> Tags:
    """Registration report (1), or re-registration (11) when ``reason`` is given."""
    doc_type = 1 if reason is None else 11
    tags = _common(req, doc_type, at)
    tags += _cashier(req)
    tags += _place(req)
    tags += [(1013, req.kkt_serial), (1062, req.tax_systems)]
    for bit, tag in WORK_MODE_TAGS.items():
        if req.work_mode & (1 << bit):
            tags.append((tag, 1))
    tags += [(1017, req.ofd_inn.ljust(12)), (1046, req.ofd_name), (1060, FNS_SITE),
             (1188, KKT_VERSION), (1189, req.ffd_code), (1190, req.ffd_code)]
    if reason is not None:
        tags.append((1101, reason))
    return tags


def shift_open(req: Requisites, at: datetime, shift: int) -> Tags:
    return [*_common(req, 2, at), (1038, shift), *_cashier(req), *_place(req),
            (1188, KKT_VERSION)]


def shift_close(req: Requisites, at: datetime, shift: int, documents_in_shift: int,
                receipts_in_shift: int, unsent: int, first_unsent_at: datetime | None) -> Tags:
    tags = [*_common(req, 5, at), (1038, shift), *_cashier(req), *_place(req),
            (1111, documents_in_shift), (1118, receipts_in_shift), (1097, unsent)]
    if first_unsent_at is not None:
        tags.append((1098, first_unsent_at))
    return tags


def _item(line: Line, ffd_code: int) -> tuple[int, TagValue]:
    fields: Tags = [
        (1214, line.payment_method),
        (1212, line.payment_subject),
        (1030, line.name),
        (1079, line.price),
        (1023, line.quantity),
        (1199, line.vat_rate),
        (1043, line.amount),
    ]
    if line.vat_rate in (1, 2, 3, 4):
        fields.append((1200, line.vat))
    if ffd_code >= 4:
        fields.append((2108, 0))  # measure: pieces (FFD 1.2 replaced 1197 with it)
    fields += line.extra
    return (1059, fields)


@dataclass(frozen=True)
class Payments:
    cash: int = 0  # what stays in the drawer: cash given minus change
    electronic: int = 0
    prepaid: int = 0
    credit: int = 0
    provision: int = 0


def receipt(req: Requisites, at: datetime, shift: int, number: int, sale: OpenReceipt,
            tax_system: int, payments: Payments, correction: bool = False) -> Tags:
    doc_type = 31 if correction else 3
    tags = [*_common(req, doc_type, at), (1042, number), (1038, shift),
            (1054, sale.operation), (1055, tax_system), *_cashier(req), *_place(req)]
    tags += [_item(line, req.ffd_code) for line in sale.lines]
    tags += sale.requisites
    tags += [(1020, sale.total), (1031, payments.cash), (1081, payments.electronic),
             (1215, payments.prepaid), (1216, payments.credit), (1217, payments.provision)]
    tags += list(sale.vat_totals().items())
    tags.append((1060, FNS_SITE))
    return tags


def quantity(thousandths: int | None = None, millionths: int | None = None) -> Decimal:
    """1023 with six decimals, as real devices store it (2.000000 = ``06 80 84 1E``)."""
    if millionths is None:
        millionths = (thousandths or 0) * 1000
    return Decimal(millionths).scaleb(-6)


def correction(req: Requisites, at: datetime, shift: int, number: int, operation: int,
               tax_system: int, amount: int) -> Tags:
    """Correction receipt (31) of FF36: a sum to correct, paid in cash, self-initiated."""
    return [
        *_common(req, 31, at), (1042, number), (1038, shift), (1054, operation),
        (1055, tax_system), (1173, 0), (1174, [(1177, "Самостоятельная коррекция"),
                                               (1178, at.replace(hour=0, minute=0)),
                                               (1179, "0")]),
        *_cashier(req), *_place(req),
        (1020, amount), (1031, amount), (1081, 0), (1215, 0), (1216, 0), (1217, 0),
        (1105, amount), (1060, FNS_SITE),
    ]
