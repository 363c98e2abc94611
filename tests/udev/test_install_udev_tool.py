"""tools/install-udev in dry-run and into a temporary root; the systemd units it installs."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "install-udev"
UNITS = REPO / "systemd"


def run_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_tool_is_executable() -> None:
    assert TOOL.stat().st_mode & stat.S_IXUSR
    assert TOOL.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3")


def test_dry_run_prints_every_step_and_writes_nothing(tmp_path: Path) -> None:
    done = run_tool("--dry-run", "--prefix", str(tmp_path), "--with-systemd",
                    "--user", "cashier")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"{tmp_path}/etc/udev/rules.d/70-kkt-bridge.rules" in out
    assert "groupadd --system kkt" in out
    assert "usermod -aG kkt cashier" in out
    assert "udevadm control --reload" in out and "udevadm trigger" in out
    assert "kkt-bridge@.service" in out and "systemctl daemon-reload" in out
    assert list(tmp_path.iterdir()) == []


def test_dry_run_on_the_live_system_needs_no_root() -> None:
    done = run_tool("--dry-run")
    assert done.returncode == 0, done.stderr
    assert "/etc/udev/rules.d/70-kkt-bridge.rules" in done.stdout


def test_prefix_install_writes_rules_and_skips_system_commands(tmp_path: Path) -> None:
    done = run_tool("--prefix", str(tmp_path))
    assert done.returncode == 0, done.stderr
    target = tmp_path / "etc/udev/rules.d/70-kkt-bridge.rules"
    assert target.read_bytes() == (REPO / "udev/70-kkt-bridge.rules").read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert "пропущено (--prefix): выполнить: udevadm control --reload" in done.stdout
    assert not (tmp_path / "etc/systemd").exists()
    again = run_tool("--prefix", str(tmp_path))  # idempotent
    assert again.returncode == 0 and target.read_bytes() == (
        REPO / "udev/70-kkt-bridge.rules").read_bytes()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp leftovers


def test_prefix_install_with_systemd_points_exec_at_kkt_bridge(tmp_path: Path) -> None:
    exe = "/opt/kkt/bin/kkt-bridge"
    done = run_tool("--prefix", str(tmp_path), "--with-systemd", "--kkt-bridge", exe)
    assert done.returncode == 0, done.stderr
    for name in ("kkt-bridge@.service", "kkt-bridge.service"):
        text = (tmp_path / "etc/systemd/system" / name).read_text(encoding="utf-8")
        assert f"ExecStart={exe} run" in text and "/usr/local/bin" not in text


def load_tool(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    loader = SourceFileLoader("install_udev_tool", str(TOOL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, loader.name, module)  # dataclasses look it up
    loader.exec_module(module)
    return module


def test_live_install_without_root_refuses(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    tool = load_tool(monkeypatch)
    monkeypatch.setattr(tool.os, "geteuid", lambda: 1000)
    ran: list[list[str]] = []
    monkeypatch.setattr(tool, "run", ran.append)
    monkeypatch.setattr(tool, "write_file", lambda *a, **k: ran.append(["write"]))
    assert tool.main([]) == 1
    assert "sudo" in capsys.readouterr().err and ran == []


def test_live_install_as_root_runs_commands_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    tool = load_tool(monkeypatch)
    monkeypatch.setattr(tool.os, "geteuid", lambda: 0)
    monkeypatch.setattr(tool, "group_exists", lambda name: False)
    monkeypatch.delenv("SUDO_USER", raising=False)
    done: list[list[str]] = []
    monkeypatch.setattr(tool, "run", done.append)
    monkeypatch.setattr(tool, "write_file", lambda path, text, mode=0o644: done.append(
        ["write", str(path)]))
    assert tool.main(["--user", "cashier"]) == 0
    assert done == [
        ["write", "/etc/udev/rules.d/70-kkt-bridge.rules"],
        ["groupadd", "--system", "kkt"],
        ["usermod", "-aG", "kkt", "cashier"],
        ["udevadm", "control", "--reload"],
        ["udevadm", "trigger", "--action=add", "--subsystem-match=tty",
         "--subsystem-match=usb"],
    ]


# --- the units themselves ------------------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name", ["kkt-bridge@.service", "kkt-bridge.service"])
def test_units_are_hardened(name: str) -> None:
    service = unit(name)["Service"]
    dynamic = service.get("DynamicUser") == "yes"
    assert dynamic or service.get("User") == "kkt-bridge"
    assert service.get("SupplementaryGroups") == "kkt"
    assert service.get("ProtectSystem") == "strict"
    assert service.get("ProtectHome") in ("yes", "read-only", "tmpfs")
    assert service.get("NoNewPrivileges") == "yes"
    assert service.get("PrivateTmp") == "yes"
    assert service.get("StateDirectory") == "kkt-bridge"
    assert service.get("Environment") == "KKT_BRIDGE_HOME=%S/kkt-bridge"
    assert service.get("Restart") == "on-failure"
    assert service.get("UMask") == "0077"
    assert service.get("CapabilityBoundingSet") == ""


def test_template_hands_its_device_to_the_one_daemon() -> None:
    template = unit("kkt-bridge@.service")
    single = unit("kkt-bridge.service")["Service"]
    # one daemon per store: the instance udev starts makes it run and gives it the register
    assert template["Service"]["ExecStart"].endswith(
        "kkt-bridge run --device /dev/kkt/%i --hand-over")
    assert template["Service"]["Type"] == "oneshot"
    assert template["Unit"]["Wants"] == template["Unit"]["After"] == "kkt-bridge.service"
    assert single["ExecStart"].endswith("kkt-bridge run")


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the parsing tests above cover units")
    exe = shutil.which("kkt-bridge") or str(Path(sys.executable).with_name("kkt-bridge"))
    if not Path(exe).exists():
        pytest.skip("kkt-bridge is not installed, ExecStart would not verify")
    done = run_tool("--prefix", str(tmp_path), "--with-systemd", "--kkt-bridge", exe)
    assert done.returncode == 0, done.stderr
    units = tmp_path / "etc/systemd/system"
    checked = subprocess.run(
        [analyze, "verify", "--man=no", "./kkt-bridge.service", "./kkt-bridge@.service",
         "./kkt-bridge@shtrih-0042.service"],
        cwd=units, capture_output=True, text=True, timeout=60)
    ours = [line for line in (checked.stdout + checked.stderr).splitlines()
            if "kkt-bridge" in line]
    assert checked.returncode == 0 and not ours, "\n".join(ours)
