"""The daemon's side: shared ports per register, an opener handing out SharedKkt, events."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.registers import open_register
from kkt_bridge.share import SharedKkt
from kkt_bridge.share.paths import RUN_DIR_ENV, port_name, run_dir
from kkt_bridge.share.rules import Completed
from kkt_bridge.share.service import SharedPorts

pyshtrih = pytest.importorskip("pyshtrih")


def test_one_shared_port_per_register_and_the_opener_shares_the_link(
        kkt_emulator: Emulator, tmp_path: Path) -> None:
    url = kkt_emulator.pty_path or ""
    made: list[tuple[str, Completed]] = []
    with SharedPorts(tcp=0, run_dir=tmp_path,
                     on_document=lambda u, c: made.append((u, c))) as shares:
        info = shares.add(url)
        assert info is not None and shares.add(url) == info
        assert os.readlink(info.path) == info.pty and info.tcp_url
        kkt = shares.opener(open_register)(url)
        assert isinstance(kkt, SharedKkt)
        till = pyshtrih.ShtrihM01F(info.path, 115200)
        till.connect()
        try:
            till.open_shift()
        finally:
            till.disconnect()
        assert kkt.fn_status().shift_open
        assert [(u, c.command) for u, c in made] == [(url, "E0")]
        assert [i.path for i in shares.infos()] == [info.path]
    assert not Path(info.path).is_symlink()


def test_a_register_without_rules_keeps_the_plain_opener(tmp_path: Path,
                                                         kkt_emulator: Emulator) -> None:
    class NoRules:
        name = "plain"

    with SharedPorts(run_dir=tmp_path, drivers=lambda _name: NoRules()) as shares:  # type: ignore[arg-type,return-value]
        assert shares.add(kkt_emulator.pty_path or "") is None
        kkt = shares.opener(open_register)(kkt_emulator.pty_path or "")
        try:
            assert not isinstance(kkt, SharedKkt)
        finally:
            kkt.close()


@pytest.mark.parametrize(("env", "expected"), [
    ({RUN_DIR_ENV: "/x/run"}, "/x/run"),
    ({"RUNTIME_DIRECTORY": "/run/kkt-bridge"}, "/run/kkt-bridge"),
    ({"XDG_RUNTIME_DIR": "/run/user/1000"}, "HOME/run"),  # an explicit home wins over XDG
])
def test_the_run_directory(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                           expected: str) -> None:
    for name in (RUN_DIR_ENV, "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    home = os.environ["KKT_BRIDGE_HOME"]
    assert str(run_dir()) == expected.replace("HOME", home)


def test_a_register_the_daemon_opens_later_gets_its_shared_port_then(
        kkt_emulator: Emulator, tmp_path: Path) -> None:
    url = kkt_emulator.pty_path or ""
    added: list[str] = []
    with SharedPorts(run_dir=tmp_path, on_added=lambda info: added.append(info.path)) as shares:
        opener = shares.opener(open_register, add=True)
        kkt = opener(url)
        assert isinstance(kkt, SharedKkt)
        assert added == [str(tmp_path / port_name(url))]
        opener(url)
        assert len(added) == 1


def test_a_url_refused_once_keeps_the_plain_opener(tmp_path: Path,
                                                   kkt_emulator: Emulator) -> None:
    asked: list[str] = []

    def driver(name: str) -> object:
        asked.append(name)
        return type("NoRules", (), {"name": name})()

    with SharedPorts(run_dir=tmp_path, drivers=driver) as shares:  # type: ignore[arg-type]
        opener = shares.opener(open_register, add=True, driver_of=lambda _url: "atol")
        for _ in range(2):
            kkt = opener(kkt_emulator.pty_path or "")
            assert not isinstance(kkt, SharedKkt)
            kkt.close()
    assert asked == ["atol"]


def test_status_shows_the_shared_port_a_running_daemon_offers(kkt_emulator: Emulator,
                                                               tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kkt_bridge.cli.main import cli
    from kkt_bridge.share.service import STATE_FILE

    home = Path(os.environ["KKT_BRIDGE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    url = kkt_emulator.tcp_url or ""
    with SharedPorts(tcp=0, run_dir=tmp_path, state_file=home / STATE_FILE) as shares:
        info = shares.add(url)
        assert info is not None
        result = CliRunner().invoke(cli, ["status", "--device", url])
        assert result.exit_code == 0, result.output
        assert f"Общий порт для кассовой программы: {info.path} ({info.tcp_url})" in result.output
        result = CliRunner().invoke(cli, ["status", "--device", url, "--json"])
        assert json.loads(result.output)["shared_port"]["path"] == info.path
    assert not (home / STATE_FILE).exists()
    result = CliRunner().invoke(cli, ["status", "--device", url, "--json"])
    assert json.loads(result.output)["shared_port"] is None
