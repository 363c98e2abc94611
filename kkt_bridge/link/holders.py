"""Which processes hold a device node open: the answer to "port busy, by whom?".

Linux only: every open descriptor is a symlink under /proc/<pid>/fd. Processes of other
users are unreadable without privileges; they are skipped, not guessed. Elsewhere the answer
is "nobody known", and the callers' hints do not name anyone. (psutil is no help here: it
lists only regular files among a process's open ones, never a device node.)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

LINUX = sys.platform.startswith("linux")


@dataclass(frozen=True)
class Holder:
    pid: int
    name: str

    def __str__(self) -> str:
        return f"{self.pid} ({self.name})"


def _process_name(proc: Path) -> str:
    try:
        return (proc / "comm").read_text(encoding="utf-8", errors="replace").strip() or "?"
    except OSError:
        return "?"


def _same_node(target: str, target_stat: os.stat_result | None, fd_path: Path) -> bool:
    try:
        if os.readlink(fd_path) == target:
            return True
    except OSError:
        return False
    if target_stat is None:
        return False
    try:
        st = os.stat(fd_path)
    except OSError:
        return False
    # device nodes reached through a symlink (/dev/kkt/...) compare by inode, not by name
    return (st.st_dev, st.st_ino, st.st_rdev) == (
        target_stat.st_dev, target_stat.st_ino, target_stat.st_rdev)


def _pty_index(target: str) -> int | None:
    """N of a pseudo-terminal ``/dev/pts/N``, None for any other device."""
    head, _sep, tail = target.rpartition("/")
    return int(tail) if head == "/dev/pts" and tail.isdigit() else None


def _serves_pty(proc: Path, fds: list[Path], index: int) -> bool:
    """Whether the process holds the master side of pty ``index``: it is the device behind
    the pty (an emulator, a port sharer), not a program competing for it."""
    for fd in fds:
        try:
            if os.readlink(fd) not in ("/dev/ptmx", "/dev/pts/ptmx"):
                continue
            info = (proc / "fdinfo" / fd.name).read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for line in info.splitlines():
            key, _sep, value = line.partition(":")
            if key == "tty-index" and value.strip() == str(index):
                return True
    return False


def find_holders(device: str, *, proc_root: str | os.PathLike[str] = "/proc",
                 exclude_pid: int | None = None) -> list[Holder]:
    """Processes with ``device`` open, sorted by pid, but for a pty not the process that
    serves it (holds its master). Unreadable processes are skipped; on a system other than
    Linux none is found."""
    if not LINUX:
        return []
    target = os.path.realpath(device)
    pty = _pty_index(target)
    try:
        target_stat: os.stat_result | None = os.stat(target)
    except OSError:
        target_stat = None
    holders: list[Holder] = []
    root = Path(proc_root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for proc in entries:
        if not proc.name.isdigit():
            continue
        pid = int(proc.name)
        if pid == exclude_pid:
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        if any(_same_node(target, target_stat, fd) for fd in fds):
            if pty is not None and _serves_pty(proc, fds, pty):
                continue  # "kill" it and the register is gone: not a holder to name
            holders.append(Holder(pid, _process_name(proc)))
    return sorted(holders, key=lambda h: h.pid)
