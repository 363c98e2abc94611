"""Shared pieces of the end-to-end tests: the reference back office, the bridge's home,
registering an emulator through the protocol, and running the CLI."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.shtrih.commands.registration import (
    BEGIN_REGISTRATION_REPORT,
    REGISTRATION_REPORT,
)
from kkt_bridge.store import Store

SHOP = "Магазин на Ленина"
PYTHON = sys.executable


def register_through_protocol(kkt: Any, profile: Any) -> int:
    """What the cash software does at fiscalisation: FF05 then FF06 over the link."""
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=0)
    answer = kkt.execute(REGISTRATION_REPORT, inn=profile.inn, rnm=profile.rnm,
                         tax_systems=profile.tax_systems, work_mode=profile.work_mode)
    return int(answer.document_number)


def cli_run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def open_home_store(home: Path) -> Store:
    return Store(home / "kkt-bridge.sqlite3")


def cli_command(*args: str) -> list[str]:
    """The ``kkt-bridge`` command line for a child process."""
    return [PYTHON, "-c", "from kkt_bridge.cli.main import main; main()", *args]


def child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru"}
