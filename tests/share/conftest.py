"""Fixtures of the shared-port tests: an emulated register behind a link owner and its
shared port (pty + TCP on 127.0.0.1, port 0), and a backlog of documents to catch up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from share_helpers import READ_BOUND, SHARING_DRIVERS, Reader, rules_of

from kkt_bridge.share import LinkOwner, SharedKkt, SharedPort
from kkt_bridge.share.rules import ExchangeRules

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
        owner = LinkOwner(url, rules_of(driver), **owner_options)
        port = SharedPort(owner, name, run_dir=tmp_path / "run", tcp=tcp).start()
        made.append((owner, port))
        return owner, port

    yield make
    for owner, port in reversed(made):
        port.stop()
        owner.close()


@pytest.fixture(params=SHARING_DRIVERS)
def register(request: pytest.FixtureRequest,
             kkt_emulator_factory: Callable[..., Any]) -> tuple[Any, ExchangeRules]:
    """An emulated register of each driver that shares its link (pty and TCP), with the
    driver's exchange rules."""
    driver = str(request.param)
    return kkt_emulator_factory(driver=driver), rules_of(driver)


@pytest.fixture
def reader_for() -> Iterator[Callable[..., Reader]]:
    """``reader_for(kkt, hold_at=None)``: a started backlog :class:`~share_helpers.Reader`,
    stopped at teardown."""
    started: list[Reader] = []

    def start(kkt: SharedKkt, hold_at: int | None = None) -> Reader:
        reader = Reader(kkt, hold_at)
        started.append(reader)
        reader.start()
        return reader

    yield start
    for reader in started:
        reader.resume.set()
        reader.finish.set()
        reader.join(READ_BOUND)
