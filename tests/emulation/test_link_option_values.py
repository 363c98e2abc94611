"""Every protocol's link options are checked when the emulator starts, in the user's
language, whatever the line: a typo never waits for the first client."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation.emulator import link_byte, link_choice
from kkt_bridge.emulation.faults import FaultInjector
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import set_language


def start(*args: str, lang: str = "ru") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, "emulator", "--no-control", *args])
    set_language("ru")
    return result.exit_code, result.output


@pytest.mark.parametrize(("driver", "option"), [
    ("shtrih", "stray_ff=2"),  # was only read on a TCP line: the pty check let it through
    ("shtrih", "frame_while_held=queue"),
    ("atol", "accept_ack_add=maybe"),  # was taken as "no"
    ("atol", "results=maybe"),
    ("atol", "ack_reply=ZZ"),
    ("atol", "abort_reply=1FF"),
])
def test_a_bad_value_is_refused_in_the_users_language(driver: str, option: str) -> None:
    name = option.partition("=")[0]
    code, out = start("--driver", driver, "--link-option", option)
    assert code == 2 and name in out and "Traceback" not in out, out
    code, out = start("--driver", driver, "--link-option", option, lang="en")
    assert code == 2 and name in out, out
    # no Russian in the English message, no English reason in the Russian one
    assert not any("а" <= ch <= "я" for ch in out.lower()), out
    assert "async or sync" not in out and "invalid literal" not in out


def test_an_option_without_a_value_is_refused() -> None:
    code, out = start("--driver", "atol", "--link-option", "results")
    assert code == 2 and "КЛЮЧ=ЗНАЧЕНИЕ" in out, out


def test_no_stray_ff_names_the_protocol_it_belongs_to() -> None:
    code, out = start("--driver", "atol", "--no-stray-ff")
    assert code == 2 and "--no-stray-ff" in out and "Штрих-М" in out, out


def test_the_help_shows_every_protocols_link_options() -> None:
    out = CliRunner().invoke(cli, ["emulator", "--help"]).output
    flat = " ".join(out.split())
    for driver in ("shtrih", "atol"):
        for name in get_emulator(driver).link_option_names:
            assert name in flat, (driver, name)


def test_the_checks_take_python_values_too() -> None:
    assert link_byte("ack_reply", 0xA1) == 0xA1 and link_byte("ack_reply", "none") is None
    assert link_choice("results", "SYNC", ("async", "sync")) == "sync"
    with pytest.raises(ConfigError):
        link_byte("ack_reply", 256)
    front = get_emulator("atol")
    link = front.make_link(front.make_register(), FaultInjector(), "tcp",
                           {"ack_reply": "a1", "accept_ack_add": "1", "results": "sync"})
    assert link.options.ack_reply == 0xA1 and link.options.accept_ack_add
