"""Which of the daemon's registers are plugged in: port events matched to device URLs.

A link is watched when its URL names a serial node (``/dev/ttyACM0``,
``/dev/kkt/shtrih-123``). The kernel reports nodes (``/dev/ttyACM0``), the daemon is
configured with the stable udev symlink, so a URL is matched by resolving it: it is present
while the node it resolves to is among the ports the kernel has. The symlink is resolved
again on every look, because a re-plugged register may come back as ``/dev/ttyACM1`` and
udev re-points the symlink (a little after the kernel announced the node: a poll that saw
the node but not yet the symlink is corrected by the next :meth:`PortPresence.refresh`).

Nodes that are never listed (a pseudo-terminal, a port the lister does not know) are not
watched: they count as always present and link errors alone say when they fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports

from kkt_bridge.link.hotplug import PortAction, PortEvent
from kkt_bridge.link.urls import LinkKind, link_kind


@dataclass(frozen=True)
class LinkChange:
    """The register at ``url`` was plugged in (``present``) or unplugged, at ``node``."""

    url: str
    present: bool
    node: str


def device_path(url: str) -> str | None:
    """The filesystem path a URL opens, when it is a node hot-plug can report."""
    if link_kind(url) is not LinkKind.DEVICE:
        return None
    path = url.split("?", 1)[0]
    if path.startswith("/dev/pts/"):
        return None  # pseudo-terminals come and go with their program, not with a cable
    return path


class PortPresence:
    """Keeps the set of port nodes the kernel has and says which watched URL changed.

    ``list_fn`` is ``serial.tools.list_ports.comports`` or a stand-in returning objects with
    a ``device`` attribute; ``resolve`` and ``exists`` are the filesystem (injectable)."""

    def __init__(self, urls: Sequence[str], *,
                 list_fn: Callable[[], Iterable[Any]] | None = None,
                 resolve: Callable[[str], str] = os.path.realpath,
                 exists: Callable[[str], bool] = os.path.exists) -> None:
        self._resolve = resolve
        self._lock = threading.Lock()
        paths = {url: path for url in urls if (path := device_path(url)) is not None}
        self._nodes: set[str] = set()
        if paths:
            self._nodes = {resolve(str(port.device)) for port in (list_fn or list_ports.comports)()}
        # a node that exists but is not listed is nothing the lister will ever report
        self._paths = {url: path for url, path in paths.items()
                       if resolve(path) in self._nodes or not exists(path)}
        self._present = {url: resolve(path) in self._nodes for url, path in self._paths.items()}
        self._where = {url: resolve(path) for url, path in self._paths.items()}

    def watch(self, url: str) -> bool:
        """Watch one more URL (a register added while the daemon runs); False when it is
        not a serial node or is watched already."""
        path = device_path(url)
        with self._lock:
            if path is None or url in self._paths:
                return False
            node = self._resolve(path)
            self._paths[url] = path
            self._where[url] = node
            # a node not yet listed is taken as present: the link itself will tell
            self._present[url] = node in self._nodes or os.path.exists(path)
        return True

    @property
    def watched(self) -> list[str]:
        return sorted(self._paths)

    def is_present(self, url: str) -> bool:
        with self._lock:
            return self._present.get(url, True)

    def node(self, url: str) -> str | None:
        with self._lock:
            return self._where.get(url)

    def handle(self, event: PortEvent) -> list[LinkChange]:
        """Take one port event; return the watched URLs it plugged in or unplugged."""
        node = self._resolve(event.device)
        with self._lock:
            if event.action is PortAction.ADDED:
                self._nodes.add(node)
            else:
                self._nodes.discard(node)
        return self.refresh()

    def refresh(self) -> list[LinkChange]:
        """Resolve every watched URL again and report the ones whose presence changed."""
        changes: list[LinkChange] = []
        with self._lock:
            for url, path in sorted(self._paths.items()):
                node = self._resolve(path)
                present = node in self._nodes
                if present:
                    self._where[url] = node
                if present != self._present[url]:
                    self._present[url] = present
                    changes.append(LinkChange(url, present, self._where[url]))
        return changes
