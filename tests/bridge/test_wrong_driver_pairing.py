"""``connect`` and ``sync now`` through the wrong ``--driver`` name the protocol that answers
(as ``status`` and ``fn read`` do), in the user's language, instead of a bare time-out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bridge_fakes import FakeBackOffice
from click.testing import CliRunner

from kkt_bridge.bridge import app
from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.atol import plugin as atol_plugin
from kkt_bridge.i18n import set_language
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.registers import open_register

OTHER = {"shtrih": "atol", "atol": "shtrih"}


@pytest.fixture
def quick(home: Path, monkeypatch: pytest.MonkeyPatch, backoffice: FakeBackOffice) -> None:
    """The fake back office, and a wrong driver that gives up after one short try
    (the test is about the message, not the time-out)."""

    def quick_open(url: str, **options: Any) -> Any:
        if options.get("driver") == "shtrih":
            options.update(control_timeout=0.1, attempts=1)
        return open_register(url, **options)

    monkeypatch.setattr(app, "open_register", quick_open)
    # the ATOL driver's one try is its greeting: a Shtrih-M register never answers it, so
    # a fifth of a second fails it as the default two seconds do
    monkeypatch.setattr(atol_plugin, "GREETING_TIMEOUT", 0.2)
    monkeypatch.setattr(app, "plugin_manager",
                        lambda: get_plugin_manager(load_entrypoints=False, plugins=[backoffice]))


def run(*args: str, lang: str = "ru") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, *args])
    set_language("ru")
    return result.exit_code, result.output


def _says_which_driver(code: int, out: str, driver: str, lang: str,
                       give: str = "Give") -> None:
    out = " ".join(out.split())  # sync's lines are wrapped at 78 columns
    assert "Traceback" not in out, out
    if lang == "ru":
        assert "отвечает ККТ" in out and f"--driver {driver}" in out, out
    else:
        assert f"{give} --driver {driver}" in out, out


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_connect_names_the_driver_that_answers(kkt_emulator_factory: Any, driver: str,
                                              quick: None, lang: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=True, tcp=None)
    code, out = run("connect", "--device", emu.pty_path, "--driver", OTHER[driver],
                    "--plugin", "fake", "--code", "123456", lang=lang)
    assert code != 0, out
    _says_which_driver(code, out, driver, lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_sync_now_names_the_driver_that_answers(kkt_emulator_factory: Any, driver: str,
                                               quick: None, lang: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=True, tcp=None)
    code, out = run("connect", "--device", emu.pty_path, "--driver", driver,
                    "--plugin", "fake", "--code", "123456")
    assert code == 0, out
    code, out = run("sync", "now", "--driver", OTHER[driver], lang=lang)
    assert code != 0, out
    # a job's error is said inside its progress line («…: error X. give …»), not as
    # the CLI's «Error: X. Give …»
    _says_which_driver(code, out, driver, lang, give="give")
