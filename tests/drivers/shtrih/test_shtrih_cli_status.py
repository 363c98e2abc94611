"""``kkt-bridge status`` end to end: CLI -> open_register -> driver -> pty -> scripted register."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from shtrih_fakes import Register, Script, fake_port
from test_shtrih_driver import FN_NUMBER, answers

from kkt_bridge.cli.main import cli
from kkt_bridge.i18n import set_language
from kkt_bridge.kkt import Kkt


def run(register: Register, *args: str, script: Script | None = None,
        lang: str = "ru") -> tuple[int, str]:
    with fake_port(register, script) as (port, _device):
        url = port.port
        port.close()
        result = CliRunner().invoke(cli, ["--lang", lang, "status", "--device", url, *args])
    return result.exit_code, result.output


def test_status_json() -> None:
    code, out = run(Register(answers()), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["model"] == "ШТРИХ-М-01Ф" and report["serial"] == "12345678"
    assert report["fn_number"] == FN_NUMBER
    assert report["registration"]["inn"] == "7701234567"
    assert report["registration"]["tax_systems"] == ["ОСН", "УСН доход"]
    assert report["registration"]["ffd_version"] == "1.05"
    assert report["shift"] == {"state": "open", "number": 4, "receipt_number": 2}
    assert report["last_fd_number"] == 7
    assert report["ofd"]["unsent"] == 2 and report["ofd"]["first_unsent_fd"] == 6


def test_status_table_in_russian_and_english() -> None:
    code, out = run(Register(answers()))
    assert code == 0, out
    for word in ("ШТРИХ-М-01Ф", "7701234567", "ОСН", "Не отправлено в ОФД", FN_NUMBER):
        assert word in out
    try:
        code, out_en = run(Register(answers()), lang="en")
    finally:
        set_language("ru")
    assert code == 0 and "Not sent to the OFD" in out_en
    # every label and value in English; only the model's own name stays as the register says
    leftover = out_en.replace("ШТРИХ-М-01Ф", "")
    assert not any("а" <= ch <= "я" or ch == "ё" for ch in leftover.lower()), out_en
    assert "OSN (general), USN income" in out_en


def test_status_of_an_unregistered_register() -> None:
    code, out = run(Register(answers(registered=False)))
    assert code == 0, out
    assert "не зарегистрирована" in out
    try:
        code, out_en = run(Register(answers(registered=False)), lang="en")
    finally:
        set_language("ru")
    assert code == 0 and "not registered" in out_en


def test_status_of_a_silent_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from kkt_bridge import registers
    from kkt_bridge.cli import status as status_cli
    from kkt_bridge.registers import open_register

    def quick(url: str, **options: Any) -> Kkt:
        return open_register(url, **options, control_timeout=0.05)

    monkeypatch.setattr(status_cli, "open_register", quick)
    # nothing answers on a silent port whatever the wait: a short probe of each driver at
    # each speed reaches the same error as the default half second, in a second not ten
    assert registers.detect_driver.__kwdefaults__ is not None
    monkeypatch.setitem(registers.detect_driver.__kwdefaults__, "timeout", 0.05)
    code, out = run(Register(answers()), script=Script(silent=True))
    assert code == 3  # LinkError
    assert "Ошибка" in out and "Traceback" not in out


@pytest.mark.parametrize("command", [["status"], ["fn"], ["fn", "read"], ["fn", "decode"],
                                     ["devices"]])
def test_help_of_the_register_commands_is_english_under_lang_en(command: list[str]) -> None:
    """A fresh process, as a user runs it: help texts are translated when modules import."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()",
         "--lang", "en", *command, "--help"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert not any("а" <= ch <= "я" or ch == "ё" for ch in done.stdout.lower()), done.stdout
