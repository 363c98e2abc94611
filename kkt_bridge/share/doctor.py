"""What ``kkt-bridge doctor`` (and the register's page) say about the shared port.

When another program holds the register's real port, the cash software is talking to the
register directly, around the bridge: the bridge cannot read the ФН meanwhile, and the two
take turns by luck. The finding names that program and the one line to change in it: the
port, from the register's device to the shared port.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kkt_bridge.doctor import Finding, Level
from kkt_bridge.i18n import _
from kkt_bridge.link.holders import Holder, find_holders
from kkt_bridge.link.urls import LinkKind, link_kind

from .paths import link_path

CHECK = "shared-port"
#: how a running bridge shows up in /proc/<pid>/comm
BRIDGE_NAMES = ("kkt-bridge",)


def shared_path(url: str, run_dir: Path | None = None) -> Path:
    """The stable name ``kkt-bridge run`` gives the shared port of the register at ``url``."""
    return link_path(url, run_dir)


def other_holders(url: str, *, holders: Callable[[str], list[Holder]] | None = None,
                  own_pid: int | None = None) -> list[Holder]:
    """Programs other than kkt-bridge that have the register's real port open."""
    if link_kind(url) is not LinkKind.DEVICE:
        return []
    own_pid = os.getpid() if own_pid is None else own_pid
    found = (holders or find_holders)(url)
    return [h for h in found if h.pid != own_pid and not h.name.startswith(BRIDGE_NAMES)]


def check_shared_port(url: str, *, holders: Callable[[str], list[Holder]] | None = None,
                      own_pid: int | None = None, run_dir: Path | None = None) -> list[Finding]:
    """A program holding the real port is named, with the shared port to point it at."""
    path = shared_path(url, run_dir)
    others = other_holders(url, holders=holders, own_pid=own_pid)
    if not others:
        if path.is_symlink() and path.exists():
            return [Finding(Level.OK, _("общий порт для кассовой программы: {path}").format(
                path=path), check=CHECK)]
        return []
    names = ", ".join(str(h) for h in others)
    return [Finding(
        Level.WARNING,
        _("кассовая программа {holders} работает с ККТ напрямую через {url}: kkt-bridge не "
          "может читать ФН, пока она держит порт").format(holders=names, url=url),
        _("в настройках кассовой программы укажите порт {path} вместо {url} и перезапустите "
          "её; общий порт открывает «kkt-bridge run»").format(path=path, url=url),
        check=CHECK)]


__all__ = ["CHECK", "check_shared_port", "other_holders", "shared_path"]
