"""The bridge's commands that open a register work on an ATOL register, with ``--driver
atol`` or found by probing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli


@pytest.mark.parametrize("given", [["--driver", "atol"], []])
def test_status_fn_read_and_doctor(kkt_emulator_factory: Callable[..., Any],
                                   given: list[str]) -> None:
    emu = kkt_emulator_factory(driver="atol", tcp=None)
    emu.sell([("Хлеб", 4990)])
    url = emu.pty_path
    runner = CliRunner()
    status = runner.invoke(cli, ["status", "--device", url, "--json", *given])
    assert status.exit_code == 0, status.output
    state = json.loads(status.output)
    assert (state["driver"], state["model"], state["last_fd_number"]) == ("atol", "АТОЛ 30Ф", 3)
    assert state["registration"]["inn"] == emu.device.profile.inn
    read = runner.invoke(cli, ["fn", "read", "--device", url, "--from", "2", "--to", "2",
                               *given])
    assert read.exit_code == 0, read.output
    assert json.loads(read.output.splitlines()[0])["fiscalDocumentNumber"] == 2
    doctor = runner.invoke(cli, ["doctor", "--device", url, *given])
    assert "АТОЛ 30Ф" in doctor.output
    devices = runner.invoke(cli, ["devices", "--device", url])
    assert devices.exit_code == 0 and "АТОЛ 30Ф" in devices.output
