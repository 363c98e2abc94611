"""doctor: a program holding the register's real port is named, with the shared port to use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kkt_bridge import doctor
from kkt_bridge.doctor import DoctorEnv, Level
from kkt_bridge.link.holders import Holder
from kkt_bridge.share.doctor import CHECK, check_shared_port, review, shared_path

URL = "/dev/kkt/shtrih-0042"


def test_a_cash_program_on_the_real_port_is_named_with_the_line_to_change(
        tmp_path: Path) -> None:
    findings = check_shared_port(URL, holders=lambda _p: [Holder(4242, "frontol")],
                                 own_pid=1, run_dir=tmp_path)
    assert [(f.level, f.check) for f in findings] == [(Level.WARNING, CHECK)]
    assert "4242 (frontol)" in findings[0].title and URL in findings[0].title
    assert str(tmp_path / "shtrih-0042") in (findings[0].what_to_do or "")


@pytest.mark.parametrize("holders", [
    [], [Holder(10, "kkt-bridge")], [Holder(1, "python3")]], ids=["nobody", "bridge", "us"])
def test_nothing_to_say_when_only_the_bridge_holds_it(tmp_path: Path,
                                                      holders: list[Holder]) -> None:
    assert check_shared_port(URL, holders=lambda _p: holders, own_pid=1,
                             run_dir=tmp_path) == []


def test_a_running_shared_port_is_shown(tmp_path: Path) -> None:
    target = tmp_path / "pts"
    target.touch()
    shared_path(URL, tmp_path).symlink_to(target)
    findings = check_shared_port(URL, holders=lambda _p: [], own_pid=1, run_dir=tmp_path)
    assert [f.level for f in findings] == [Level.OK]
    assert str(tmp_path / "shtrih-0042") in findings[0].title


def test_network_registers_have_no_holder_to_name() -> None:
    assert check_shared_port("socket://10.0.0.5:7778",
                             holders=lambda _p: [Holder(5, "kassa")]) == []


def test_doctor_runs_the_check(tmp_path: Path) -> None:
    env = DoctorEnv(probe=lambda url: None, open_register=lambda url, found: None,  # type: ignore[arg-type,return-value]
                    rules_dirs=(str(tmp_path),), holders=lambda _p: [Holder(77, "kassa")],
                    locked=lambda _p: True, can_open=lambda _p: True)
    findings = doctor.run_checks([URL], env)
    shared = [f for f in findings if f.check == CHECK]
    assert len(shared) == 1 and "77 (kassa)" in shared[0].title


def test_a_register_served_by_the_running_bridge_is_not_busy(tmp_path: Path) -> None:
    target = tmp_path / "pts"
    target.touch()
    shared_path(URL, tmp_path).symlink_to(target)
    busy = doctor.check_port_busy(URL, holders=lambda _p: [Holder(10, "kkt-bridge")],
                                  locked=lambda _p: True, own_pid=1)
    assert [f.level for f in busy] == [Level.ERROR]
    findings, skip = review(URL, busy, holders=lambda _p: [Holder(10, "kkt-bridge")],
                            own_pid=1, run_dir=tmp_path)
    assert skip and not doctor.has_problems(findings)
    assert any(str(tmp_path / "shtrih-0042") in f.title for f in findings)


def test_without_a_shared_port_a_held_port_stays_busy(tmp_path: Path) -> None:
    busy = doctor.check_port_busy(URL, holders=lambda _p: [Holder(10, "kkt-bridge")],
                                  locked=lambda _p: True, own_pid=1)
    findings, skip = review(URL, busy, holders=lambda _p: [Holder(10, "kkt-bridge")],
                            own_pid=1, run_dir=tmp_path)
    assert not skip and findings == busy


def test_the_name_a_running_daemon_published_wins(tmp_path: Path) -> None:
    import json
    import os

    from kkt_bridge.share.service import STATE_FILE

    home = Path(os.environ["KKT_BRIDGE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "systemd-run" / "shtrih-0042"
    elsewhere.parent.mkdir()
    (tmp_path / "pts").touch()
    elsewhere.symlink_to(tmp_path / "pts")
    (home / STATE_FILE).write_text(json.dumps([{
        "register": "shtrih-0042", "device": URL, "path": str(elsewhere),
        "pty": str(tmp_path / "pts"), "tcp": None}]), encoding="utf-8")
    assert shared_path(URL) == elsewhere
    findings = check_shared_port(URL, holders=lambda _p: [Holder(4242, "frontol")], own_pid=1)
    assert str(elsewhere) in (findings[0].what_to_do or "")
