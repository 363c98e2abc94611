"""Fixtures of the shared-port tests: an emulated register behind a link owner and its
shared port (pty + TCP on 127.0.0.1, port 0), and a backlog of documents to catch up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kkt_bridge.driverapi import exchange_rules_of, get_driver
from kkt_bridge.share import LinkOwner, SharedPort

#: short link timeouts for the bridge's side: a fault test stays at a few seconds
FAST_REOPEN = 0.2


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Callable[..., tuple[LinkOwner, SharedPort]]]:
    """``shared(url, tcp=0, driver="shtrih")``: a started shared port in front of the register
    at ``url``, shared by the rules the driver declares."""
    made: list[tuple[LinkOwner, SharedPort]] = []

    def make(url: str, *, tcp: int | None = 0, name: str = "kkt-test", driver: str = "shtrih",
             **owner_options: float) -> tuple[LinkOwner, SharedPort]:
        owner_options.setdefault("reopen_interval", FAST_REOPEN)
        rules = exchange_rules_of(get_driver(driver))
        assert rules is not None, f"{driver} declares no exchange rules"
        owner = LinkOwner(url, rules, **owner_options)
        port = SharedPort(owner, name, run_dir=tmp_path / "run", tcp=tcp).start()
        made.append((owner, port))
        return owner, port

    yield make
    for owner, port in reversed(made):
        port.stop()
        owner.close()
