"""What ``kkt-bridge`` imports to start: ``--help`` no command module and no heavy library,
a command only its own module. Checked on ``sys.modules`` of a fresh interpreter, not timed
(the time is measured by ``tools/bench_startup.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest

from kkt_bridge.cli.main import COMMANDS, load_command

# what the command list must not pay for: the libraries and the core behind the commands
HEAVY = ("rich", "construct", "http.server", "httpx", "importlib.metadata", "pluggy",
         "serial", "sqlite3", "starlette", "uvicorn", "platformdirs", "usb",
         "kkt_bridge.bridge", "kkt_bridge.fiscal", "kkt_bridge.store", "kkt_bridge.link",
         "kkt_bridge.drivers", "kkt_bridge.plugins", "kkt_bridge.doctor")

_IMPORTED = """
import json, sys
from kkt_bridge.cli import main as entry
sys.argv = ["kkt-bridge", *ARGS]
try:
    entry.main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _imported(args: list[str]) -> set[str]:
    env = {key: value for key, value in os.environ.items() if key != "KKT_BRIDGE_LANG"}
    done = subprocess.run([sys.executable, "-c", f"ARGS = {args!r}\n{_IMPORTED}"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _command_modules(modules: set[str]) -> set[str]:
    return {target.partition(":")[0] for target, _summary in COMMANDS.values()} & modules


def _heavy(modules: set[str]) -> set[str]:
    return {name for name in modules
            if any(name == heavy or name.startswith(heavy + ".") for heavy in HEAVY)}


@pytest.mark.parametrize("lang", [[], ["--lang", "en"]], ids=["ru", "en"])
def test_help_imports_no_command_and_no_heavy_library(lang: list[str]) -> None:
    modules = _imported([*lang, "--help"])
    assert "kkt_bridge.cli.main" in modules  # the probe does look at the right process
    assert not _command_modules(modules)
    assert not _heavy(modules)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_imports_only_its_own_module(name: str) -> None:
    modules = _imported([name, "--help"])
    assert _command_modules(modules) == {COMMANDS[name][0].partition(":")[0]}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_table_entry_is_the_command_of_that_name(name: str) -> None:
    command = load_command(name, COMMANDS[name][0])
    assert isinstance(command, click.Command)
    assert command.name == name
    assert COMMANDS[name][1].strip()


def test_a_register_function_is_a_target_too() -> None:
    assert load_command("demo", "kkt_bridge.cli.demo:register").name == "demo"
