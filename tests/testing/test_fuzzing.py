"""The fuzzing helper finds what it is for, and the fiscal decoders pass it."""

from __future__ import annotations

import pytest

from kkt_bridge.errors import DocumentError
from kkt_bridge.testing.fuzzing import (
    Target,
    all_targets,
    check_target,
    fiscal_targets,
    from_construct,
    run_one,
)


def _zero_date_bug(data: bytes) -> object:
    if len(data) < 3:
        raise DocumentError("коротко", "ещё раз")
    if data[:3] == b"\x00\x00\x00":
        return int(None)  # type: ignore[arg-type]  # the kind of bug it must find
    return data


def test_the_property_finds_a_decoder_that_raises_a_foreign_error() -> None:
    from construct import Bytes
    target = from_construct("zero-date", Bytes(3), _zero_date_bug)
    assert target.size == 3
    with pytest.raises(AssertionError, match="TypeError"):
        check_target(target, max_examples=200)
    assert isinstance(run_one(target, b"\x00\x00\x00"), TypeError)
    assert run_one(target, b"\x00") is None  # the project's own error is fine


def test_targets_of_every_driver_and_the_fiscal_package_are_listed() -> None:
    names = {t.name for t in all_targets()}
    assert {"shtrih.frame", "shtrih.transport", "shtrih.emulator.handle",
            "shtrih.emulator.line", "shtrih.driver.document_info",
            "fiscal.decode_document+to_fns_json", "atol.frame", "atol.reader",
            "atol.taskbuffer.kkt", "atol.emulator.line"} <= names
    assert len(names) == len(all_targets())  # one name, one target


@pytest.mark.parametrize("target", fiscal_targets(), ids=lambda t: t.name)
def test_fiscal_decoders_raise_only_the_projects_errors(target: Target) -> None:
    for seed in target.seeds:
        assert run_one(target, seed) is None
    check_target(target, max_examples=150)
