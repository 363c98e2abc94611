"""The small udev rule evaluator itself (the project's rules file is tested in tests/udev)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.errors import ConfigError
from kkt_bridge.link.udev_rules import Device, evaluate, parse_rules

TTY = Device("tty", "ttyUSB3", attrs={"dev": "188:3"},
             parents_attrs=({"idVendor": "0403", "idProduct": "6001"},),
             env={"ID_SERIAL_SHORT": "A1"})


def run(text: str, device: Device = TTY) -> object:
    return evaluate(parse_rules(text), device)


def test_final_assignment_wins() -> None:
    out = evaluate(parse_rules('GROUP:="kkt"\nGROUP="dialout"\nMODE="0600"\nMODE="0660"\n'),
                   TTY)
    assert (out.group, out.mode) == ("kkt", "0660")


def test_symlink_and_tag_lists() -> None:
    out = evaluate(parse_rules('SYMLINK+="a b"\nSYMLINK+="c"\nSYMLINK-="b"\nTAG+="x"\n'
                               'TAG=="x", TAG+="y"\nTAG=="nope", TAG+="z"\n'), TTY)
    assert out.symlinks == ["a", "c"] and out.tags == ["x", "y"]


def test_substitutions() -> None:
    out = evaluate(parse_rules('SYMLINK+="k/$kernel-%k-$env{ID_SERIAL_SHORT}-%E{NONE}-'
                               '$attr{dev}-$$-%%"\n'), TTY)
    assert out.symlinks == ["k/ttyUSB3-ttyUSB3-A1--188:3-$-%"]


def test_matches_globs_alternatives_and_negation() -> None:
    out = evaluate(parse_rules(
        'KERNEL=="ttyUSB[0-9]*", ENV{A}="1"\n'
        'ATTRS{idVendor}=="1fc9|0403", ENV{B}="1"\n'
        'ATTRS{idVendor}!="0403", ENV{C}="1"\n'
        'ENV{ID_SERIAL_SHORT}=="?*", ENV{D}="1"\n'
        'ENV{MISSING}=="", ENV{E}="1"\n'
        'ATTR{missing}=="x", ENV{F}="1"\n'
        'ENV{D}+="2"\n'), TTY)
    assert {k: out.env.get(k) for k in "ABCDEF"} == {
        "A": "1", "B": "1", "C": None, "D": "1 2", "E": "1", "F": None}


def test_attrs_must_match_on_one_parent() -> None:
    split = Device("tty", "ttyACM0", parents_attrs=({"idVendor": "1fc9"},
                                                   {"idVendor": "dead", "idProduct": "0083"}))
    same = Device("tty", "ttyACM0", parents_attrs=({"bInterfaceNumber": "00"},
                                                  {"idVendor": "1fc9", "idProduct": "0083"}))
    rules = parse_rules('ATTRS{idVendor}=="1fc9", ATTRS{idProduct}=="0083", MODE="0660"\n')
    assert evaluate(rules, split).mode is None
    assert evaluate(rules, same).mode == "0660"
    negated = parse_rules('ATTRS{idVendor}!="1fc9", MODE="0600"\n')
    assert evaluate(negated, same).mode is None  # a missing attribute matches nothing
    assert evaluate(negated, split).mode == "0600"  # the "dead" parent differs


_KEYS = st.sampled_from(["SUBSYSTEM", "KERNEL", "ATTRS{idVendor}", "ATTR{dev}", "ENV{A}",
                         "MODE", "GROUP", "SYMLINK", "TAG", "GOTO", "LABEL", "ENV{B}"])
_OPS = st.sampled_from(["==", "!=", "=", "+=", "-=", ":="])
_VALUES = st.sampled_from(["tty", "ttyUSB*", "0403", "1", "", "x", "a|b", "$env{A}", "end"])


@given(st.lists(st.lists(st.tuples(_KEYS, _OPS, _VALUES), min_size=1, max_size=4),
                max_size=8))
def test_random_rules_evaluate_or_say_why(lines: list[list[tuple[str, str, str]]]) -> None:
    text = "\n".join(", ".join(f'{k}{op}"{v}"' for k, op, v in line) for line in lines)
    try:
        out = evaluate(parse_rules(text), TTY)
    except ConfigError as exc:
        assert exc.hint
    else:
        assert all(isinstance(link, str) for link in out.symlinks)


def test_goto_skips_and_bad_goto_is_reported() -> None:
    out = evaluate(parse_rules('GOTO="end"\nMODE="0666"\nLABEL="end"\n'), TTY)
    assert out.mode is None
    with pytest.raises(ConfigError, match="метки"):
        run('GOTO="nowhere"\n')
    with pytest.raises(ConfigError, match="зациклились"):
        run('LABEL="a"\nGOTO="a"\n')


def test_unsupported_match_key_is_reported() -> None:
    with pytest.raises(ConfigError, match="DRIVERS"):
        run('DRIVERS=="cdc_acm", MODE="0660"\n')


@given(st.text(max_size=120))
def test_parser_fails_only_with_config_error(text: str) -> None:
    try:
        rules = parse_rules(text)
    except ConfigError:
        return
    with contextlib.suppress(ConfigError):
        evaluate(rules, TTY)
