"""``kkt-bridge emulator --driver atol`` as a user runs it: a child process on TCP port 0,
the ATOL driver talks to it, SIGTERM stops it."""

from __future__ import annotations

import signal
import subprocess
import sys

from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.atol.plugin import driver as atol_driver


def test_the_atol_emulator_from_the_command_line(tmp_path: object) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()", "emulator",
         "--driver", "atol", "--tcp", "127.0.0.1:0", "--link-option", "results=sync"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        kkt = atol_driver.open(url)
        try:
            ident = kkt.identity()
            assert (ident.protocol, ident.model) == ("atol", "АТОЛ 30Ф")
            assert kkt.fn_status().last_fd_number == 1  # the registration report
        finally:
            kkt.close()
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=20)
    assert child.returncode == 0


def test_options_another_driver_has_are_refused() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--driver", "atol", "--tcp", "127.0.0.1:0",
                                      "--no-stray-ff"])
    assert result.exit_code == 2 and "stray_ff" in result.output
    result = CliRunner().invoke(cli, ["emulator", "--driver", "atol", "--tcp", "127.0.0.1:0",
                                      "--link-option", "results=maybe"])
    assert result.exit_code == 2 and "results" in result.output
