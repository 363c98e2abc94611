"""A register opened through the wrong ``--driver`` stays silent: the error names the
protocol that does answer there and the ``--driver`` to give, in the user's language."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge.cli import fn as fn_cli
from kkt_bridge.cli import status as status_cli
from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.atol import plugin as atol_plugin
from kkt_bridge.i18n import set_language
from kkt_bridge.registers import open_register

OTHER = {"shtrih": "atol", "atol": "shtrih"}


@pytest.fixture
def quick_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrong driver gives up after one short try: the test is about the message."""

    def quick(url: str, **options: Any) -> Any:
        if options.get("driver") == "shtrih":
            options.update(control_timeout=0.1, attempts=1)
        return open_register(url, **options)

    monkeypatch.setattr(fn_cli, "open_register", quick)
    monkeypatch.setattr(status_cli, "open_register", quick)
    # the ATOL driver's one try is its greeting: a Shtrih-M register never answers it, so
    # a fifth of a second fails it as the default two seconds do
    monkeypatch.setattr(atol_plugin, "GREETING_TIMEOUT", 0.2)


def run(*args: str, lang: str = "ru") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, *args])
    set_language("ru")
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [["status"], ["fn", "read"]])
def test_the_error_names_the_driver_that_answers(kkt_emulator_factory: Any, driver: str,
                                                 command: list[str], quick_opens: None) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=True, tcp=None)
    code, out = run(*command, "--device", emu.pty_path, "--driver", OTHER[driver])
    assert code == 3, out
    assert f"--driver {driver}" in out and "Traceback" not in out, out
    assert "отвечает ККТ" in out
    code, out = run(*command, "--device", emu.pty_path, "--driver", OTHER[driver], lang="en")
    assert code == 3 and f"Give --driver {driver}" in out, out
    assert not any("а" <= ch <= "я" for ch in out.split("(")[0].lower()), out
