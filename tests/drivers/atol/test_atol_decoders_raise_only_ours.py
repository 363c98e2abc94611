"""Every decoder of the ATOL driver that the fuzzing campaign (tools/fuzz.py) runs, fed junk,
raises only kkt_bridge's errors: the frame and the reader, the task buffer both ways, each
command's answer and request, the emulator's line (a hypothesis property per decoder)."""

from __future__ import annotations

import pytest

from kkt_bridge.drivers.atol.commands import REGISTRY
from kkt_bridge.drivers.atol.fuzzing import targets
from kkt_bridge.testing.fuzzing import Target, check_target

TARGETS = targets()


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_decoder_raises_only_the_projects_errors(target: Target) -> None:
    check_target(target, max_examples=30)


def test_every_declared_command_is_fuzzed_both_ways() -> None:
    names = {t.name for t in TARGETS}
    for command in REGISTRY.values():
        label = command.code.hex()
        assert {f"atol.answer.{label}", f"atol.request.{label}"} <= names
