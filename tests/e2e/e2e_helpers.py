"""Shared pieces of the end-to-end tests: the reference back office, the bridge's home,
registering an emulator through the protocol, pairing it, and running the CLI."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kkt_bridge.bridge.pairing import pair
from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.shtrih.commands.registration import (
    BEGIN_REGISTRATION_REPORT,
    REGISTRATION_REPORT,
)
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.registers import open_register
from kkt_bridge.store import Pairing, Store

SHOP = "Магазин на Ленина"
PYTHON = sys.executable


def register_through_protocol(kkt: Any, profile: Any) -> int:
    """What the cash software does at fiscalisation: FF05 then FF06 over the link."""
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=0)
    answer = kkt.execute(REGISTRATION_REPORT, inn=profile.inn, rnm=profile.rnm,
                         tax_systems=profile.tax_systems, work_mode=profile.work_mode)
    return int(answer.document_number)


def register_at_install(emu: Any, kkt: Any, driver: str) -> None:
    """Fiscalise a fresh register the way its protocol allows: the Shtrih cash software
    sends FF05/FF06; ATOL's registration commands are not in the reference, so the
    service engineer registers it at the register (the emulator's own control)."""
    if driver == "shtrih":
        register_through_protocol(kkt, emu.device.profile)
    else:
        emu.register()


def cli_run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def open_home_store(home: Path) -> Store:
    return Store(home / "kkt-bridge.sqlite3")


def pair_with_office(store: Store, url: str, office: Any) -> Pairing:
    """Pair the register at ``url`` with the reference back office, as the user would."""
    kkt = open_register(url)
    try:
        return pair(store, get_plugin_manager(), kkt, plugin="reference",
                    code=office.issue_sync_code(SHOP), endpoint=office.url, device_url=url)
    finally:
        kkt.close()


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Polls ``condition``: a child process or thread does the work on its own time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cli_command(*args: str) -> list[str]:
    """The ``kkt-bridge`` command line for a child process."""
    return [PYTHON, "-c", "from kkt_bridge.cli.main import main; main()", *args]


def child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru"}
