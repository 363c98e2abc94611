"""Texts that came from outside (pyserial, the operating system) reach the user in the UI
language, and an unknown --driver says which names it takes."""

from __future__ import annotations

import errno
import socket

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.errors import os_error_text
from kkt_bridge.i18n import set_language, using_language


def run(*args: str, lang: str = "ru") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, *args])
    set_language("ru")
    return result.exit_code, result.output


def test_an_unknown_scheme_is_named_in_russian() -> None:
    code, out = run("status", "--device", "bogus://x")
    assert code == 2 and "схема bogus:// неизвестна" in out, out
    assert "invalid" not in out and "known" not in out


def test_an_unknown_driver_says_which_names_it_takes() -> None:
    code, out = run("status", "--device", "/dev/null", "--driver", "foo")
    assert code != 0 and "--driver atol" in out and "один из: atol, shtrih" in out, out
    code, out = run("status", "--device", "/dev/null", "--driver", "foo", lang="en")
    assert "one of: atol, shtrih" in out, out


def test_a_busy_emulator_port_is_said_in_the_ui_language() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        code, out = run("emulator", "--no-control", "--tcp", f"127.0.0.1:{port}")
        assert code == 3 and "адрес уже занят другой программой" in out, out
        assert "Address already in use" not in out
    finally:
        taken.close()


@pytest.mark.parametrize("code", [errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL])
def test_common_system_errors_are_translated(code: int) -> None:
    error = OSError(code, "English text from the system")
    assert "English" not in os_error_text(error)
    with using_language("en"):
        assert "English" not in os_error_text(error) and os_error_text(error).isascii()
    assert "English" in os_error_text(OSError(errno.EIO, "English text from the system"))
