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
    """The stable name of the shared port of the register at ``url``: the one a running
    daemon published (its run directory may not be this process's: systemd gives it
    one), else the one ``kkt-bridge run`` would give it here."""
    if run_dir is None:
        from kkt_bridge.store.paths import data_dir

        from .service import published

        for info in published(data_dir(), url):
            return Path(info.path)
    return link_path(url, run_dir)


def other_holders(url: str, *, holders: Callable[[str], list[Holder]] | None = None,
                  own_pid: int | None = None) -> list[Holder]:
    """Programs other than kkt-bridge that have the register's real port open."""
    if link_kind(url) is not LinkKind.DEVICE:
        return []
    own_pid = os.getpid() if own_pid is None else own_pid
    found = (holders or find_holders)(url)
    return [h for h in found if h.pid != own_pid and not h.name.startswith(BRIDGE_NAMES)]


def bridge_holders(url: str, *, holders: Callable[[str], list[Holder]] | None = None,
                   own_pid: int | None = None) -> list[Holder]:
    """kkt-bridge processes (not this one) that have the register's real port open."""
    if link_kind(url) is not LinkKind.DEVICE:
        return []
    own_pid = os.getpid() if own_pid is None else own_pid
    return [h for h in (holders or find_holders)(url)
            if h.pid != own_pid and h.name.startswith(BRIDGE_NAMES)]


def review(url: str, port: list[Finding], *,
           holders: Callable[[str], list[Holder]] | None = None, own_pid: int | None = None,
           run_dir: Path | None = None) -> tuple[list[Finding], bool]:
    """The port findings of ``url`` seen with the shared port in mind, and whether the
    register checks are to be skipped because a running kkt-bridge serves the register.

    While ``kkt-bridge run`` serves a register it holds the real port for good: that is
    not "busy" but the normal state, and the cash software belongs on the shared port."""
    path = shared_path(url, run_dir)
    served = (path.is_symlink() and path.exists()
              and not other_holders(url, holders=holders, own_pid=own_pid)
              and bool(bridge_holders(url, holders=holders, own_pid=own_pid)))
    if not served:
        return port + check_shared_port(url, holders=holders, own_pid=own_pid,
                                        run_dir=run_dir), False
    kept = [f for f in port if f.check != "port-busy"]
    return [
        *kept,
        Finding(Level.INFO, _("ККТ {url} обслуживает kkt-bridge; кассовая программа работает "
                              "через общий порт {path}").format(url=url, path=path),
                check=CHECK),
        Finding(Level.INFO, _("проверки ККТ на {url} пропущены: её состояние показывает "
                              "«kkt-bridge status»").format(url=url), check="register"),
    ], True


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


__all__ = ["CHECK", "bridge_holders", "check_shared_port", "other_holders", "review",
           "shared_path"]
