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

from .core import SYSADMIN_ONLY, DeviceCore
from .dispatch import handles
from .refusal import BAD_PARAMETERS, FN_BAD_STATE, refuse
from .tables import T17_EXTENDED_ANSWERS, T18_INN, T18_MODE, T18_RNM, T18_TAX

REPORT_TYPES = (0, 1, 2)


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
    inn = request.inn.replace("\x00", "").strip()
    rnm = request.rnm.replace("\x00", "").strip()
    tables = core.tables
    previous = {f: tables.get(18, 1, f) for f in (T18_INN, T18_RNM, T18_TAX, T18_MODE)}
    try:
        # the report carries the new requisites: put them where the report reads them from
        # (the register refuses a bad INN or RNM before it issues anything)
        tables.set(18, 1, T18_INN, inn)
        tables.set(18, 1, T18_RNM, rnm)
        tables.set(18, 1, T18_TAX, request.tax_systems)
        tables.set(18, 1, T18_MODE, request.work_mode)
        document = core.fiscalize_now(
            operator, inn=inn, rnm=rnm, tax_systems=request.tax_systems,
            work_mode=request.work_mode, reason=reason, extra_tags=core.pending_report_tags)
    except BaseException:
        for field, value in previous.items():
            tables.set(18, 1, field, value)
        raise
    core.pending_report = None
    core.pending_report_tags = []
    extended = tables.get_int(17, 1, T17_EXTENDED_ANSWERS)
    return cmd.build_answer(document_number=document.number, fiscal_sign=document.fiscal_sign,
                            datetime=document.created_at if extended else None)


@handles(REGISTRATION_REPORT)
def registration_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    return _register(core, cmd, request, None)


@handles(REREGISTRATION_REPORT)
def reregistration_report(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    return _register(core, cmd, request, request.reason)
