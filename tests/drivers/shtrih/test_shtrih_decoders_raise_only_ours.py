"""Every decoder of the Shtrih-M driver, fed junk, raises only kkt_bridge's errors: the
frame, the transport, each command's answer and request, the driver's model-making methods,
the emulator's request handler and line (a hypothesis property per decoder)."""

from __future__ import annotations

import pytest

from kkt_bridge.drivers.shtrih.commands import fn as fn_cmds
from kkt_bridge.drivers.shtrih.fuzzing import _driver, targets
from kkt_bridge.testing.fuzzing import Target, check_target

TARGETS = targets()


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_decoder_raises_only_the_projects_errors(target: Target) -> None:
    check_target(target, max_examples=60 if ".driver." in target.name else 30)


def test_every_declared_command_is_fuzzed_both_ways() -> None:
    from kkt_bridge.drivers.shtrih.commands import REGISTRY
    names = {t.name for t in TARGETS}
    for code in REGISTRY:
        assert {f"shtrih.answer.{code:#x}", f"shtrih.request.{code:#x}"} <= names


def test_document_info_of_a_type_21_document_without_a_date() -> None:
    """Found by fuzzing: «отчёт о состоянии расчётов» whose first unconfirmed document
    date is 00 00 00 (none unconfirmed) raised TypeError."""
    answer = fn_cmds.FIND_DOCUMENT.answer.build({
        "document_type": 21, "ofd_acknowledged": 1, "created_at": None, "fd_number": 7,
        "fiscal_sign": 1234, "details": {"unconfirmed": 0, "first_unconfirmed": None}})
    info = _driver(bytes([len(answer) + 1, 0]) + bytes(answer)).document_info(7)
    assert info.document_type == 21 and info.fd_number == 7
    assert info.details["unconfirmed"] == 0 and "first_unconfirmed" not in info.details
