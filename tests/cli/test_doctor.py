"""kkt-bridge doctor: every check with fakes, a real pty held by another process, the CLI."""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge import doctor
from kkt_bridge.cli import doctor as doctor_cli
from kkt_bridge.cli.main import cli
from kkt_bridge.doctor import DoctorEnv, Finding, Level
from kkt_bridge.driverapi import ProbeResult
from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeUnavailableError,
    LinkTimeoutError,
    NotPairedError,
    PortNotFoundError,
)
from kkt_bridge.kkt import FnStatus, KktStatus, OfdQueue, ShiftState
from kkt_bridge.link import open_link
from kkt_bridge.link.access import NodeAccess
from kkt_bridge.link.holders import Holder

NOW = datetime(2026, 11, 24, 12, 0, 0)
RULES = Path(__file__).resolve().parents[2] / "udev" / "70-kkt-bridge.rules"


def levels(findings: list[Finding]) -> list[Level]:
    return [f.level for f in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# --- group membership -------------------------------------------------------------------------


def _some_group() -> grp.struct_group:
    for entry in grp.getgrall():
        return entry
    pytest.skip("no groups on this machine")


def test_root_needs_no_group() -> None:
    assert only(doctor.check_group_membership(uid=0)).level is Level.OK


def test_missing_group_points_to_install_udev() -> None:
    f = only(doctor.check_group_membership("kkt-no-such-group-xyz", uid=1000, user="cashier"))
    assert f.level is Level.WARNING and "install-udev" in (f.what_to_do or "")


def test_user_in_group_now() -> None:
    group = _some_group()
    f = only(doctor.check_group_membership(group.gr_name, uid=1000, user="cashier",
                                           groups_now=[group.gr_gid]))
    assert f.level is Level.OK and "cashier" in f.title


def test_user_added_but_not_logged_in_again(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = grp.struct_group(("kkt", "x", 4242, ["cashier"]))
    monkeypatch.setattr(grp, "getgrnam", lambda name: fake)
    f = only(doctor.check_group_membership("kkt", uid=1000, user="cashier", groups_now=[100]))
    assert f.level is Level.WARNING and "войдите снова" in (f.what_to_do or "")


def test_user_not_in_group(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = grp.struct_group(("kkt", "x", 4242, ["someone"]))
    monkeypatch.setattr(grp, "getgrnam", lambda name: fake)
    f = only(doctor.check_group_membership("kkt", uid=1000, user="cashier", groups_now=[100]))
    assert f.level is Level.ERROR and "usermod -aG kkt cashier" in (f.what_to_do or "")


# --- udev rules -------------------------------------------------------------------------------


def test_rules_not_installed(tmp_path: Path) -> None:
    f = only(doctor.check_udev_rules([tmp_path / "a", tmp_path / "b"], packaged=RULES))
    assert f.level is Level.WARNING and "install-udev" in (f.what_to_do or "")


def test_rules_installed_and_current(tmp_path: Path) -> None:
    shutil.copy(RULES, tmp_path / RULES.name)
    f = only(doctor.check_udev_rules([tmp_path / "missing", tmp_path], packaged=RULES))
    assert f.level is Level.OK and str(tmp_path) in f.title


def test_rules_outdated(tmp_path: Path) -> None:
    (tmp_path / RULES.name).write_text('SUBSYSTEM=="tty", GROUP="kkt"\n', encoding="utf-8")
    assert only(doctor.check_udev_rules([tmp_path], packaged=RULES)).level is Level.WARNING


def test_rules_corrupt(tmp_path: Path) -> None:
    (tmp_path / RULES.name).write_text("SUBSYSTEM== tty\n", encoding="utf-8")
    f = only(doctor.check_udev_rules([tmp_path], packaged=RULES))
    assert f.level is Level.ERROR and "повреждены" in f.title


# --- port access ------------------------------------------------------------------------------


def access(group: str = "kkt", mode: int = 0o660, in_now: bool = True,
           in_db: bool = True) -> Any:
    return lambda path: NodeAccess(path, group, mode, "cashier", in_now, in_db)


def test_missing_port_lists_others(tmp_path: Path) -> None:
    f = only(doctor.check_port_access(str(tmp_path / "ttyACM0"),
                                      ports=lambda: ["/dev/ttyUSB0"]))
    assert f.level is Level.ERROR and "/dev/ttyUSB0" in (f.what_to_do or "")


def test_port_without_permission(mocker: Any) -> None:
    mocker.patch("kkt_bridge.link.failures.node_access", access(in_now=False, in_db=False))
    f = doctor.check_port_access("/dev/ttyACM0", access=access(in_now=False, in_db=False),
                                 can_open=lambda path: False)
    assert levels(f) == [Level.ERROR]
    assert "kkt" in (f[0].what_to_do or "") and "install-udev" in (f[0].what_to_do or "")


def test_world_writable_port_is_a_warning() -> None:
    f = doctor.check_port_access("/dev/ttyACM0", access=access(group="dialout", mode=0o666),
                                 can_open=lambda path: True)
    assert levels(f) == [Level.OK, Level.WARNING]


def test_port_of_another_group_is_noted() -> None:
    f = doctor.check_port_access("/dev/ttyACM0", access=access(group="dialout"),
                                 can_open=lambda path: True)
    assert levels(f) == [Level.OK, Level.INFO] and "dialout" in f[1].title


def test_real_pty_access_ok_and_network_urls_skipped() -> None:
    master, slave = os.openpty()
    try:
        f = doctor.check_port_access(os.ttyname(slave))
    finally:
        os.close(slave)
        os.close(master)
    assert levels(f)[0] is Level.OK
    assert doctor.check_port_access("socket://10.0.0.5:7778") == []
    assert doctor.check_port_busy("socket://10.0.0.5:7778") == []


# --- busy port: a real pty, a real second process ---------------------------------------------


@pytest.fixture
def pty_path() -> Iterator[str]:
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
if sys.argv[2] == "lock":
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(pty_path: str) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, pty_path, mode],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def test_port_locked_by_another_process(pty_path: str, holder: Any) -> None:
    proc = holder("lock")
    f = only(doctor.check_port_busy(pty_path))
    assert f.level is Level.ERROR
    assert f"занят процессом {proc.pid} (" in f.title
    assert f"kill {proc.pid}" in (f.what_to_do or "")


def test_pty_held_without_lock_is_the_other_side(pty_path: str, holder: Any) -> None:
    proc = holder("hold")
    f = only(doctor.check_port_busy(pty_path))
    assert f.level is Level.INFO and str(proc.pid) in f.title


def test_port_locked_by_a_second_descriptor_of_this_process(pty_path: str) -> None:
    link = open_link(pty_path)
    try:
        f = only(doctor.check_port_busy(pty_path))
    finally:
        link.close()
    assert f.level is Level.ERROR and "fuser" in (f.what_to_do or "")
    assert only(doctor.check_port_busy(pty_path)).level is Level.OK


def test_busy_by_the_service_says_stop_it() -> None:
    f = only(doctor.check_port_busy("/dev/ttyACM0", holders=lambda p: [Holder(9, "kkt-bridge")],
                                    locked=lambda p: True, own_pid=1))
    assert f.level is Level.ERROR and "systemctl stop kkt-bridge" in (f.what_to_do or "")


def test_real_tty_held_without_lock_is_still_busy() -> None:
    f = only(doctor.check_port_busy("/dev/ttyACM0", holders=lambda p: [Holder(9, "wine")],
                                    locked=lambda p: False, own_pid=1))
    assert f.level is Level.ERROR and "9 (wine)" in f.title


# --- speed ----------------------------------------------------------------------------------


def found(url: str = "/dev/ttyUSB0", speed: int | None = 9600) -> Any:
    return lambda u: ProbeResult("fake", url, speed, "ФЕЙК-01Ф", "0042")


def test_speed_mismatch() -> None:
    findings, result = doctor.check_speed("/dev/ttyUSB0", 115200, found())
    f = only(findings)
    assert f.level is Level.ERROR and "9600" in f.title and "115200" in f.title
    assert result is not None and result.baudrate == 9600


def test_speed_matches_or_not_configured() -> None:
    assert only(doctor.check_speed("/dev/ttyUSB0", 9600, found())[0]).level is Level.OK
    f = only(doctor.check_speed("/dev/ttyUSB0", None, found())[0])
    assert f.level is Level.OK and "9600" in f.title and "0042" in f.title


def test_speed_on_tcp_is_not_a_thing() -> None:
    f = only(doctor.check_speed("socket://h:7778", 9600, found("socket://h:7778", None))[0])
    assert f.level is Level.OK


def test_nothing_answers_or_link_fails() -> None:
    findings, result = doctor.check_speed("/dev/ttyS0", None, lambda u: None)
    assert only(findings).level is Level.ERROR and result is None

    def broken(url: str) -> ProbeResult | None:
        raise PortNotFoundError("порт /dev/ttyS0 не найден", "подключите")

    f = only(doctor.check_speed("/dev/ttyS0", None, broken)[0])
    assert f.level is Level.ERROR and f.title == "порт /dev/ttyS0 не найден"


# --- clock, ФН, OFD -----------------------------------------------------------------------------


def test_clock() -> None:
    assert only(doctor.check_clock(None, NOW)).level is Level.INFO
    assert only(doctor.check_clock(NOW + timedelta(seconds=90), NOW)).level is Level.OK
    ahead = only(doctor.check_clock(NOW + timedelta(minutes=7), NOW))
    assert ahead.level is Level.WARNING and "спешат на 7 мин" in ahead.title
    behind = only(doctor.check_clock(NOW - timedelta(hours=3, minutes=5), NOW))
    assert "отстают на 3 ч 5 мин" in behind.title
    days = only(doctor.check_clock(NOW - timedelta(days=3, hours=2), NOW))
    assert "3 дн 2 ч" in days.title


def test_clock_with_time_zones() -> None:
    aware_now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    local_wall = aware_now.astimezone().replace(tzinfo=None)
    assert only(doctor.check_clock(local_wall, aware_now)).level is Level.OK


def fn(**changes: Any) -> FnStatus:
    base: dict[str, Any] = {"fn_number": "9999078900001234", "lifecycle": 3,
                            "shift_open": False, "last_fd_number": 10,
                            "last_document_at": NOW, "warnings": 0,
                            "valid_until": NOW + timedelta(days=400)}
    base.update(changes)
    return FnStatus(**base)


def test_fn_valid() -> None:
    f = only(doctor.check_fn(fn(), NOW))
    assert f.level is Level.OK and "2027-12-29" in f.title


def test_fn_expiring_and_expired() -> None:
    soon = only(doctor.check_fn(fn(valid_until=NOW + timedelta(days=12, hours=1)), NOW))
    assert soon.level is Level.WARNING and "12" in soon.title
    gone = only(doctor.check_fn(fn(valid_until=NOW - timedelta(days=1)), NOW))
    assert gone.level is Level.ERROR
    assert doctor.check_fn(fn(valid_until=None), NOW) == []


def test_fn_lifecycle() -> None:
    assert levels(doctor.check_fn(fn(lifecycle=7), NOW)) == [Level.ERROR, Level.OK]
    assert levels(doctor.check_fn(fn(lifecycle=1, valid_until=None), NOW)) == [Level.INFO]


@pytest.mark.parametrize(("bit", "level", "word"), [
    (0x01, Level.ERROR, "срочной замены"),
    (0x02, Level.WARNING, "ресурс"),
    (0x04, Level.WARNING, "90%"),
    (0x08, Level.WARNING, "ОФД"),
])
def test_fn_warning_flags(bit: int, level: Level, word: str) -> None:
    findings = doctor.check_fn(fn(warnings=bit), NOW)
    assert findings[1].level is level and word in findings[1].title


def test_ofd_queue() -> None:
    empty = only(doctor.check_ofd_queue(OfdQueue(0, None, None), NOW))
    assert empty.level is Level.OK
    fresh = only(doctor.check_ofd_queue(OfdQueue(2, 41, NOW - timedelta(hours=1)), NOW))
    assert fresh.level is Level.OK and "2" in fresh.title and "41" in fresh.title
    late = only(doctor.check_ofd_queue(OfdQueue(5, 41, NOW - timedelta(days=3)), NOW))
    assert late.level is Level.WARNING
    blocked = only(doctor.check_ofd_queue(OfdQueue(5, 41, NOW - timedelta(days=31)), NOW))
    assert blocked.level is Level.ERROR and "30 дней" in (blocked.what_to_do or "")
    unknown = only(doctor.check_ofd_queue(OfdQueue(1, None, None), NOW))
    assert unknown.level is Level.WARNING


class FakeKkt:
    def __init__(self, clock: datetime | None = NOW, fail: str | None = None) -> None:
        self.clock = clock
        self.fail = fail
        self.closed = False

    def _maybe_fail(self, name: str) -> None:
        if self.fail == name:
            raise LinkTimeoutError("не дождались ответа от /dev/ttyACM0 за 3 с", "проверьте")

    def status(self) -> KktStatus:
        self._maybe_fail("status")
        return KktStatus(2, 0, "открытая смена", ShiftState.OPEN, False, True, 30,
                         clock=self.clock)

    def fn_status(self) -> FnStatus:
        self._maybe_fail("fn_status")
        return fn()

    def ofd_queue(self) -> OfdQueue:
        self._maybe_fail("ofd_queue")
        return OfdQueue(0, None, None)

    def close(self) -> None:
        self.closed = True


def test_check_register_all_well() -> None:
    assert levels(doctor.check_register(FakeKkt(), NOW)) == [Level.OK] * 3  # type: ignore[arg-type]


def test_check_register_one_question_fails() -> None:
    findings = doctor.check_register(FakeKkt(fail="fn_status"), NOW)  # type: ignore[arg-type]
    assert levels(findings) == [Level.OK, Level.ERROR, Level.OK]
    assert findings[1].check == "fn" and "не дождались" in findings[1].title


# --- back office hook -------------------------------------------------------------------------


def test_backoffice_not_wired() -> None:
    assert only(doctor.check_backoffice(None)).level is Level.INFO


def raising(exc: Exception) -> Any:
    def ping() -> None:
        raise exc
    return ping


@pytest.mark.parametrize(("exc", "level"), [
    (AuthenticationError("бэк-офис не принял ключ"), Level.ERROR),
    (BackOfficeUnavailableError("бэк-офис недоступен", "проверьте сеть"), Level.ERROR),
    (NotPairedError("ККТ не подключена к бэк-офису", "«Подключить ККТ»"), Level.WARNING),
])
def test_backoffice_failures(exc: Exception, level: Level) -> None:
    f = only(doctor.check_backoffice(raising(exc)))
    assert f.level is level and f.title == str(exc).split(". ")[0] and f.what_to_do


def test_backoffice_ok_and_hook_wiring() -> None:
    calls: list[int] = []
    ping = lambda: calls.append(1)  # noqa: E731
    assert doctor.backoffice_ping() is None
    doctor.set_backoffice_ping(ping)
    try:
        assert doctor.backoffice_ping() is ping
        assert only(doctor.check_backoffice(doctor.backoffice_ping())).level is Level.OK
    finally:
        doctor.set_backoffice_ping(None)
    assert calls == [1]


# --- run_checks and the CLI --------------------------------------------------------------------


def fake_env(tmp_path: Path, kkt: FakeKkt, *, probe_speed: int | None = 115200,
             backoffice: Any = None) -> DoctorEnv:
    shutil.copy(RULES, tmp_path / RULES.name)
    return DoctorEnv(
        probe=lambda url: ProbeResult("fake", url, probe_speed, "ФЕЙК-01Ф", "0042"),
        open_register=lambda url, found: kkt,  # type: ignore[arg-type,return-value]
        now=lambda: NOW, rules_dirs=(str(tmp_path),), holders=lambda p: [],
        locked=lambda p: False, access=access(), can_open=lambda p: True,
        backoffice=backoffice)


def test_run_checks_healthy_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "PACKAGED_RULES", RULES)
    kkt = FakeKkt()
    findings = doctor.run_checks(["/dev/ttyACM0"], fake_env(tmp_path, kkt,
                                                            backoffice=lambda: None))
    assert not doctor.has_problems(findings), findings
    assert {f.check for f in findings} >= {"group", "udev", "port-access", "port-busy",
                                           "speed", "clock", "fn", "ofd", "backoffice"}
    assert kkt.closed


def test_run_checks_skips_register_when_port_is_busy(tmp_path: Path) -> None:
    kkt = FakeKkt()
    env = fake_env(tmp_path, kkt)
    env = DoctorEnv(**{**env.__dict__, "holders": lambda p: [Holder(77, "kassa")],
                       "locked": lambda p: True})
    findings = doctor.run_checks(["/dev/ttyACM0"], env)
    assert doctor.has_problems(findings)
    assert "speed" not in {f.check for f in findings} and not kkt.closed


def test_run_checks_without_registers(tmp_path: Path) -> None:
    findings = doctor.run_checks([], fake_env(tmp_path, FakeKkt()))
    assert any(f.check == "devices" and f.level is Level.WARNING for f in findings)


def test_cli_exit_codes_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "PACKAGED_RULES", RULES)
    monkeypatch.setattr(doctor, "check_group_membership", lambda: [])
    healthy = fake_env(tmp_path, FakeKkt(), backoffice=lambda: None)
    monkeypatch.setattr(doctor_cli, "environment", lambda: healthy)
    result = CliRunner().invoke(cli, ["doctor", "--device", "/dev/ttyACM0"])
    assert result.exit_code == 0, result.output
    assert "Проблем не найдено" in result.output

    skewed = fake_env(tmp_path, FakeKkt(clock=NOW - timedelta(minutes=30)),
                      backoffice=lambda: None)
    monkeypatch.setattr(doctor_cli, "environment", lambda: skewed)
    result = CliRunner().invoke(cli, ["doctor", "--device", "/dev/ttyACM0",
                                      "--baudrate", "9600"])
    assert result.exit_code == 1
    assert "отстают на 30 мин" in result.output and "→" in result.output
    assert "Найдено проблем: 2" in result.output

    result = CliRunner().invoke(cli, ["doctor", "--device", "/dev/ttyACM0", "--json"])
    data = json.loads(result.output)
    assert result.exit_code == 1 and data["ok"] is False
    [clock] = [f for f in data["findings"] if f["check"] == "clock"]
    assert (clock["level"], clock["title"]) == ("warning", "часы ККТ отстают на 30 мин")
    assert clock["what_to_do"]


def test_cli_uses_discovered_registers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    env = fake_env(tmp_path, FakeKkt())
    monkeypatch.setattr(doctor_cli, "environment", lambda: DoctorEnv(
        **{**env.__dict__, "probe": lambda url: seen.append(url)}))
    monkeypatch.setattr(doctor_cli, "default_urls", lambda: ["/dev/ttyACM3"])
    result = CliRunner().invoke(cli, ["doctor"])
    assert seen == ["/dev/ttyACM3"] and result.exit_code == 1


def test_cli_against_the_emulator(kkt_emulator: Any) -> None:
    """The whole road with the real Shtrih driver: probe, open, ask, close."""
    result = CliRunner().invoke(cli, ["doctor", "--json", "--device", kkt_emulator.tcp_url])
    data = json.loads(result.output)
    checks = {f["check"]: f for f in data["findings"]}
    assert checks["speed"]["level"] == "ok" and "№" in checks["speed"]["title"]
    assert {"clock", "fn", "ofd"} <= set(checks)
    assert result.exit_code == (0 if data["ok"] else 1)
