"""The shared-port facts of a register's status: where cash software opens the register
beside the bridge, and who holds its real port around it.

Read from what a running ``kkt-bridge run`` publishes in the data directory (so the page,
the API and ``kkt-bridge status`` say the same whether asked in the daemon or not) and from
/proc (another program with the real port open).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kkt_bridge.bridge.actions.models import PortHolderView, SharedPortView
from kkt_bridge.link.holders import Holder

SharedFacts = tuple[SharedPortView | None, tuple[PortHolderView, ...]]
SharedSource = Callable[[str], SharedFacts]


@dataclass(frozen=True)
class SharedPortLookup:
    """``directory``: the daemon's data directory (None: :func:`data_dir` at each call);
    ``holders``: who has a device open (None: /proc)."""

    directory: Path | None = None
    holders: Callable[[str], list[Holder]] | None = None

    def __call__(self, url: str) -> SharedFacts:
        # imported here: the share package builds on the bridge, not the other way round
        from kkt_bridge.share.doctor import other_holders
        from kkt_bridge.share.service import published
        from kkt_bridge.store.paths import data_dir

        found = published(self.directory or data_dir(), url)
        view = None if not found else SharedPortView(
            register=found[0].register, device=found[0].device_url, path=found[0].path,
            pty=found[0].pty, tcp=found[0].tcp_url)
        others = other_holders(url, holders=self.holders)
        return view, tuple(PortHolderView(pid=h.pid, name=h.name) for h in others)


__all__ = ["SharedFacts", "SharedPortLookup", "SharedSource"]
