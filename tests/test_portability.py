"""The core runs where pyserial runs (the README's ``COM3``): no module imports a POSIX-only
library at import time, locks are portalocker's, and what only Linux has (groups, udev,
/proc) is skipped elsewhere with a message that says so, not a traceback."""

from __future__ import annotations

import ast
import contextlib
import errno
import getpass
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kkt_bridge import doctor, filelocks
from kkt_bridge.doctor import Level
from kkt_bridge.errors import PortBusyError
from kkt_bridge.link import access, failures, holders
from kkt_bridge.store.holders import HOLDER_PREFIX, _holder_name

ROOT = Path(__file__).resolve().parents[1]
POSIX_ONLY = {"fcntl", "grp", "pwd", "termios", "tty", "pty", "resource", "posix", "syslog"}


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: its body's imports, not a function's."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_a_posix_only_library_at_import_time() -> None:
    found = {f"{path.relative_to(ROOT)}: {sorted(_top_level_imports(path) & POSIX_ONLY)}"
             for top in ("kkt_bridge", "drivers", "plugins")
             for path in sorted((ROOT / top).rglob("*.py"))
             if _top_level_imports(path) & POSIX_ONLY}
    assert not found, "import these where they are used, behind a platform check:\n" + \
        "\n".join(sorted(found))


def test_the_import_scan_sees_imports() -> None:
    probe = ROOT / "kkt_bridge" / "link" / "holders.py"
    assert {"os", "sys", "dataclasses", "pathlib"} <= _top_level_imports(probe)


# --- locks ---------------------------------------------------------------------------------


@pytest.fixture
def two_fds(tmp_path: Path) -> Iterator[tuple[int, int]]:
    path = tmp_path / "lock"
    first = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    second = os.open(path, os.O_RDWR)
    yield first, second
    for fd in (first, second):
        with contextlib.suppress(OSError):  # a test may have closed it already
            os.close(fd)


def test_shared_locks_coexist_and_keep_out_an_exclusive_one(two_fds: tuple[int, int]) -> None:
    first, second = two_fds
    assert filelocks.lock(first, shared=True)
    assert filelocks.lock(second, shared=True, blocking=False)
    filelocks.unlock(second)
    assert filelocks.lock(second, blocking=False) is False
    filelocks.unlock(first)
    assert filelocks.lock(second, blocking=False)
    assert filelocks.lock(first, shared=True, blocking=False) is False


def test_closing_the_file_releases_its_lock(two_fds: tuple[int, int]) -> None:
    first, second = two_fds
    assert filelocks.lock(first)
    os.close(first)
    assert filelocks.lock(second, blocking=False)


def test_another_process_lock_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; from kkt_bridge.filelocks import lock; "
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); lock(fd); "
         "print('held', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        fd = os.open(path, os.O_RDWR)
        try:
            assert filelocks.lock(fd, shared=True, blocking=False) is False
        finally:
            os.close(fd)
    finally:
        holder.communicate(input="", timeout=10)
    fd = os.open(path, os.O_RDWR)
    try:
        assert filelocks.lock(fd, blocking=False)  # the holder is gone, so is its lock
    finally:
        os.close(fd)


def test_a_failed_lock_is_an_oserror() -> None:
    with pytest.raises(OSError):
        filelocks.lock(987654, blocking=False)  # not an open file


def test_a_holder_whose_file_cannot_be_read_is_named_by_its_pid(tmp_path: Path) -> None:
    # on Windows a holder's lock covers its file's bytes: the name is all there is to read
    path = tmp_path / f"{HOLDER_PREFIX}4321-abcdef12"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert _holder_name(fd, path) == "4321"
    finally:
        os.close(fd)


# --- what only Linux has ---------------------------------------------------------------------


@pytest.fixture
def not_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (doctor, failures, holders):
        monkeypatch.setattr(module, "LINUX", False)
    for module in (failures, access):
        monkeypatch.setattr(module, "POSIX", False)


@pytest.mark.usefixtures("not_linux")
def test_doctor_skips_the_linux_checks_and_says_so() -> None:
    [group] = doctor.check_group_membership()
    [udev] = doctor.check_udev_rules()
    assert (group.level, udev.level) == (Level.INFO, Level.INFO)
    assert "только в Linux" in group.title and "только в Linux" in udev.title
    assert doctor.check_port_access("COM3") == []


@pytest.mark.usefixtures("not_linux")
def test_the_busy_port_hint_names_nobody_and_no_linux_tool() -> None:
    assert holders.find_holders("/dev/null") == []
    err = failures.port_busy("COM3")
    assert err.pid is None
    assert "fuser" not in (err.hint or "") and "sudo" not in (err.hint or "")


@pytest.mark.usefixtures("not_linux")
def test_access_denied_on_a_com_port_means_busy() -> None:
    denied = PermissionError(errno.EACCES, "Access is denied.")
    assert isinstance(failures.translate_open_error("COM3", denied), PortBusyError)


@pytest.mark.usefixtures("not_linux")
def test_no_groups_without_posix() -> None:
    assert access.current_user() == getpass.getuser()
    with pytest.raises(OSError):
        access.node_access("/dev/null")


def test_on_linux_access_denied_is_still_a_permission_problem() -> None:
    if not failures.POSIX:
        pytest.skip("POSIX behaviour")
    denied = PermissionError(errno.EACCES, "Permission denied")
    assert not isinstance(failures.translate_open_error("/dev/ttyACM0", denied), PortBusyError)
