"""The fault spec syntax and the injector's countdowns."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.emulator.faults import (
    FaultInjector,
    FaultSpec,
    parse_faults,
)
from kkt_bridge.errors import ConfigError


def test_the_example_of_the_brief() -> None:
    spec = parse_faults("corrupt=0.01,drop=0.005,nak=0.02,silent_after=100,disconnect_after=50")
    assert spec == FaultSpec(corrupt_in=0.01, corrupt_out=0.01, drop_in=0.005, drop_out=0.005,
                             nak=0.02, silent_after=100, disconnect_after=50)


def test_keys_and_spaces() -> None:
    spec = parse_faults(" baud=9600 , latency=12.5, paper_out, power_loss_at=3,nak_burst=4 ")
    assert spec.baud == 9600
    assert spec.latency_ms == 12.5
    assert spec.paper_out is True
    assert spec.power_loss_at == 3
    assert spec.nak_burst == 4
    assert spec.byte_time == pytest.approx(10 / 9600)


def test_one_direction_overrides() -> None:
    spec = parse_faults("corrupt=0.1,corrupt_out=0")
    assert (spec.corrupt_in, spec.corrupt_out) == (0.1, 0.0)


@pytest.mark.parametrize("text", ["", None, ",,"])
def test_empty_is_healthy(text: str | None) -> None:
    spec = parse_faults(text)
    assert spec == FaultSpec()
    assert not spec.line_faults
    assert spec.byte_time == 0


@pytest.mark.parametrize("text", [
    "corrupt=2", "corrupt=-0.1", "drop=x", "baud=-1", "latency=-5", "nak_burst=0",
    "paper_out=2", "silent_after=1.5", "bogus=1", "bogus", "latency=nan", "silent_for=inf",
    "nak=nan",
])
def test_bad_items_are_named(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_faults(text)
    assert text.split("=")[0] in str(caught.value)
    assert caught.value.hint


_specs = st.builds(
    FaultSpec,
    baud=st.sampled_from([0, 2400, 9600, 115200]),
    latency_ms=st.floats(0, 10_000, allow_nan=False).map(lambda x: round(x, 3)),
    corrupt_in=st.floats(0, 1), corrupt_out=st.floats(0, 1),
    drop_in=st.floats(0, 1), drop_out=st.floats(0, 1), nak=st.floats(0, 1),
    nak_burst=st.integers(1, 50),
    lose_ack=st.floats(0, 1),
    silent_after=st.none() | st.integers(0, 10_000),
    silent_for=st.none() | st.floats(0, 100),
    disconnect_after=st.none() | st.integers(0, 10_000),
    paper_out=st.none() | st.booleans(),
    power_loss_at=st.none() | st.integers(0, 10_000),
)


@given(_specs)
def test_str_parses_back(spec: FaultSpec) -> None:
    assert parse_faults(str(spec)) == spec


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_faults(text)


def test_merged_keeps_what_the_other_does_not_set() -> None:
    base = FaultSpec(baud=9600, latency_ms=5)
    assert base.merged(parse_faults("nak=0.5")) == FaultSpec(baud=9600, latency_ms=5, nak=0.5)
    assert base.merged(parse_faults("baud=115200")).baud == 115200


def test_countdowns_start_at_reset() -> None:
    faults = FaultInjector(parse_faults("silent_after=2,disconnect_after=1,power_loss_at=3"))
    assert not faults.is_silent(0.0)
    faults.command_done()
    assert not faults.cut_this_answer()
    faults.command_done()
    assert faults.cut_this_answer()
    assert not faults.cut_this_answer(), "one disconnect per injection"
    assert faults.power_fails()
    assert not faults.power_fails()
    assert faults.is_silent(1.0)
    faults.reset(parse_faults("silent_after=2"))
    assert not faults.is_silent(2.0)


def test_silence_without_limit_lasts() -> None:
    faults = FaultInjector(parse_faults("silent_after=0"))
    assert faults.is_silent(0.0)
    assert faults.is_silent(1e9)


def test_same_seed_same_noise() -> None:
    spec = parse_faults("corrupt=0.3,drop=0.3")
    data = bytes(range(256)) * 4
    one, two = FaultInjector(spec, 5), FaultInjector(spec, 5)
    assert one.outbound(data) == two.outbound(data)
    assert one.inbound(data) == two.inbound(data)
    assert FaultInjector(spec, 6).outbound(data) != FaultInjector(spec, 5).outbound(data)


def test_healthy_injector_passes_bytes_through() -> None:
    faults = FaultInjector()
    assert faults.outbound(b"\x01\x02") == b"\x01\x02"
    assert not faults.refuse_frame()
    assert not faults.power_fails()
