"""``kkt-bridge --lang en <command> --help`` is English for every command and subcommand.

Help texts are translated when the command modules are imported, which happens after
``--lang`` took effect; this process has long imported them in Russian, so the check runs
in one fresh interpreter that walks the whole command tree through the real entry point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

CYRILLIC = re.compile(r"[\u0400-\u04ff]")

_WALK = r"""
import contextlib, io, json, sys
import click
from kkt_bridge.cli import main as entry

def show(path):
    sys.argv = ["kkt-bridge", *LANG, *path, "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            entry.main()
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"{path}: exit {exc.code}: {out.getvalue()}")
    return out.getvalue()

helps = {}

def walk(command, path):
    helps[" ".join(path)] = show(path)
    if isinstance(command, click.Group):
        with click.Context(command) as ctx:
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])

helps[""] = show([])  # loads the command modules in the chosen language first
walk(entry.cli, [])
print(json.dumps(helps, ensure_ascii=False))
"""


def _help_pages(lang: list[str]) -> dict[str, str]:
    script = f"LANG = {lang!r}\n" + _WALK
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=_env(), check=False)
    assert done.returncode == 0, done.stderr
    pages: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
    return pages


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("KKT_BRIDGE_LANG", None)
    return env


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return _help_pages(["--lang", "en"])


def test_every_command_is_walked(english: dict[str, str]) -> None:
    # the tree is discovered, so a new command is checked without editing this test
    for path in ("", "backoffice serve", "backoffice add-register", "backoffice documents",
                 "backoffice seed", "connect", "demo", "doctor", "emulator", "plugins",
                 "reset", "run", "settings", "sync", "sync now", "status", "fn read",
                 "devices"):
        assert path in english


def test_english_help_has_no_cyrillic(english: dict[str, str]) -> None:
    russian = {path or "(kkt-bridge)": [line.strip() for line in page.splitlines()
                                        if CYRILLIC.search(line)]
               for path, page in english.items() if CYRILLIC.search(page)}
    assert not russian, json.dumps(russian, ensure_ascii=False, indent=1)


@pytest.fixture(scope="module")
def russian() -> dict[str, str]:
    return _help_pages([])


@pytest.mark.parametrize("language", ["russian", "english"])
def test_options_name_their_values_not_click_types(language: str,
                                                   request: pytest.FixtureRequest) -> None:
    """click names a value by its type («INTEGER RANGE», "FLOAT RANGE") unless the option
    says what it takes: English in the Russian help, and no help to anyone."""
    pages: dict[str, str] = request.getfixturevalue(language)
    typed = {path or "(kkt-bridge)": [line.strip() for line in page.splitlines()
                                      if re.search(r"\b(INTEGER|FLOAT|TEXT)\b|\bRANGE\b", line)]
             for path, page in pages.items()}
    assert not {path: lines for path, lines in typed.items() if lines}


def test_russian_stays_the_default(russian: dict[str, str]) -> None:
    assert "Подключить ККТ к бэк-офису" in russian["connect"]
    assert "Обновить сейчас" in russian["sync now"]
    assert "Никогда" in russian["settings"]
