from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kkt_bridge.link.holders import Holder, find_holders


@pytest.fixture
def pty_slave() -> Iterator[str]:
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


def test_finds_a_process_holding_a_pty_but_not_the_one_serving_it(pty_slave: str) -> None:
    """This process holds the master (as an emulator does, with the slave open too):
    it is the device, and naming it to be killed would take the register away."""
    fd = os.open(pty_slave, os.O_RDWR | os.O_NOCTTY)
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys; os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY); "
         "print('open', flush=True); sys.stdin.read()", pty_slave],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "open\n"
        holders = [h.pid for h in find_holders(pty_slave)]
    finally:
        child.communicate("", timeout=30)
        os.close(fd)
    assert child.pid in holders
    assert os.getpid() not in holders


def test_nobody_holds_a_closed_node(tmp_path: Path) -> None:
    node = tmp_path / "ttyFAKE"
    node.write_bytes(b"")
    assert find_holders(str(node)) == []


def test_fake_proc_tree_with_symlink_and_unreadable_entries(tmp_path: Path) -> None:
    node = tmp_path / "ttyACM0"
    node.write_bytes(b"")
    proc = tmp_path / "proc"
    (proc / "1234" / "fd").mkdir(parents=True)
    (proc / "1234" / "comm").write_text("python3\n")
    (proc / "1234" / "fd" / "3").symlink_to(node)
    (proc / "99" / "fd").mkdir(parents=True)  # holds something else
    (proc / "99" / "fd" / "0").symlink_to(tmp_path / "other")
    (proc / "self").mkdir()  # not a pid
    (proc / "77").mkdir()  # no fd dir: unreadable process, skipped
    alias = tmp_path / "kkt-alias"
    alias.symlink_to(node)
    assert find_holders(str(alias), proc_root=proc) == [Holder(1234, "python3")]
    assert find_holders(str(node), proc_root=proc, exclude_pid=1234) == []
    assert str(Holder(1, "init")) == "1 (init)"


def test_missing_proc_root_means_no_holders(tmp_path: Path) -> None:
    assert find_holders("/dev/null", proc_root=tmp_path / "absent") == []
