"""Help that shows a network address gives both protocols' usual ports, not Shtrih-M's
alone (an ATOL register listens on 5555), in both languages."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.i18n import set_language


@pytest.mark.parametrize("command", [["status"], ["fn", "read"], ["connect"]])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_device_help_names_both_usual_ports(command: list[str], lang: str) -> None:
    result = CliRunner().invoke(cli, ["--lang", lang, *command, "--help"])
    set_language("ru")
    flat = " ".join(result.output.split())
    assert result.exit_code == 0 and "7778" in flat and "5555" in flat, flat
