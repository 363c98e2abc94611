from __future__ import annotations

import grp
import os
from pathlib import Path

import pytest

from kkt_bridge.link.access import node_access


def _foreign_group() -> grp.struct_group:
    mine = set(os.getgroups()) | {os.getegid()}
    for entry in grp.getgrall():
        if entry.gr_gid not in mine:
            return entry
    pytest.skip("every group on this machine is one of ours")


def test_own_group_node(tmp_path: Path) -> None:
    node = tmp_path / "tty"
    node.write_bytes(b"")
    node.chmod(0o660)
    access = node_access(str(node))
    assert access.in_group_now and access.in_group_db
    assert access.mode == 0o660 and not access.other_can_write


def test_foreign_group_node(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's group to a foreign one needs root")
    group = _foreign_group()
    node = tmp_path / "tty"
    node.write_bytes(b"")
    os.chown(node, -1, group.gr_gid)
    node.chmod(0o662)
    access = node_access(str(node))
    assert access.group == group.gr_name
    assert not access.in_group_now
    assert access.other_can_write


def test_missing_node_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        node_access(str(tmp_path / "absent"))
