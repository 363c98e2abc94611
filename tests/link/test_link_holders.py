from __future__ import annotations

import os
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


def test_finds_this_process_holding_a_pty(pty_slave: str) -> None:
    fd = os.open(pty_slave, os.O_RDWR | os.O_NOCTTY)
    try:
        holders = find_holders(pty_slave)
    finally:
        os.close(fd)
    assert os.getpid() in [h.pid for h in holders]


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
