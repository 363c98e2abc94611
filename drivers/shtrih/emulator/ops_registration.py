"""Registration in the ФН: FF05 begin the report, FF06 registration, FF34 re-registration.

Cash software first fills table 18 (user, address, OFD) and table 19, then sends FF05 and
FF06 with INN, RNM, tax systems and work mode. The register checks what a real one checks:
the INN's and the RNM's check digits, the tax systems, a closed shift.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.registration import (
    BEGIN_REGISTRATION_REPORT,
    REGISTRATION_REPORT,
    REREGISTRATION_REPORT,
)

from . import documents
from .archive import DOC_REGISTRATION, DOC_REREGISTRATION, StoredDocument
from .core import SYSADMIN_ONLY, DeviceCore
from .dispatch import handles
from .profile import inn_is_valid, rnm_is_valid
from .refusal import BAD_PARAMETERS, FN_BAD_STATE, refuse
from .state import LIFECYCLE_FISCAL, FnRegistration
from .tables import T17_EXTENDED_ANSWERS, T18_INN, T18_MODE, T18_OFD_INN, T18_RNM, T18_TAX

REPORT_TYPES = (0, 1, 2)
MAX_REASON = 4


@handles(BEGIN_REGISTRATION_REPORT)
def begin_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    core.need_no_receipt()
    core.need_shift_closed()
    if request.report_type not in REPORT_TYPES:
        refuse(BAD_PARAMETERS)
    # a first registration only on a fresh ФН, a change only on a registered one
    if (request.report_type == 0) == core.state.registered:
        refuse(FN_BAD_STATE)
    core.pending_report = request.report_type
    core.pending_report_tags = []
    return cmd.build_answer()


def _register(core: DeviceCore, cmd: Command, request: Any, reason: int | None) -> bytes:
    operator = core.operator(request.password, SYSADMIN_ONLY)
    core.need_no_receipt()
    core.need_shift_closed()
    wanted_report = (0,) if reason is None else (1, 2)
    if core.pending_report not in wanted_report:
        refuse(FN_BAD_STATE)
    state = core.state
    inn = request.inn.replace("\x00", "").strip()
    rnm = request.rnm.replace("\x00", "").strip()
    if (not inn_is_valid(inn) or not rnm_is_valid(rnm, inn, state.identity.kkt_serial)
            or not 0 < request.tax_systems < 64 or request.work_mode >= 64
            or (reason is not None and not 1 <= reason <= MAX_REASON)):
        refuse(BAD_PARAMETERS)
    core.need_paper()
    tables = state.tables
    previous = {f: tables.get(18, 1, f) for f in (T18_INN, T18_RNM, T18_TAX, T18_MODE)}
    # the report carries the new requisites: put them where the report reads them from
    tables.set(18, 1, T18_INN, inn)
    tables.set(18, 1, T18_RNM, rnm)
    tables.set(18, 1, T18_TAX, request.tax_systems)
    tables.set(18, 1, T18_MODE, request.work_mode)
    now = core.document_time()
    requisites = core.requisites(operator)
    requisites = documents.Requisites(**{**vars(requisites), "tax_systems": request.tax_systems,
                                         "work_mode": request.work_mode})
    tags = documents.registration(requisites, now, reason) + core.pending_report_tags
    doc_type = DOC_REGISTRATION if reason is None else DOC_REREGISTRATION
    details: dict[str, Any] = {"inn": inn.ljust(12), "rnm": rnm.ljust(20),
                               "tax_systems": request.tax_systems,
                               "work_mode": request.work_mode}
    if reason is not None:
        details["reason"] = reason

    def registered(document: StoredDocument) -> None:
        state.lifecycle = LIFECYCLE_FISCAL
        state.registrations.append(FnRegistration(
            at=document.created_at, inn=inn, rnm=rnm, tax_systems=request.tax_systems,
            work_mode=request.work_mode, fd_number=document.number,
            fiscal_sign=document.fiscal_sign, reason=reason,
            ofd_inn=tables.get_str(18, 1, T18_OFD_INN).strip()[:12]))
        core.pending_report = None
        core.pending_report_tags = []

    try:
        document = core.issue(doc_type, tags, details, registered)
    except BaseException:
        for field, value in previous.items():
            tables.set(18, 1, field, value)
        raise
    extended = tables.get_int(17, 1, T17_EXTENDED_ANSWERS)
    return cmd.build_answer(document_number=document.number, fiscal_sign=document.fiscal_sign,
                            datetime=document.created_at if extended else None)


@handles(REGISTRATION_REPORT)
def registration_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    return _register(core, cmd, request, None)


@handles(REREGISTRATION_REPORT)
def reregistration_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    return _register(core, cmd, request, request.reason)
