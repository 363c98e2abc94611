from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.scheduler import RegisterLink, Scheduler
from kkt_bridge.pluginmanager import BackOfficePluginManager, get_plugin_manager
from kkt_bridge.store import Store


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(home: Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(home / "kkt-bridge.sqlite3", now=clock.now)
    yield s
    s.close()


@pytest.fixture
def backoffice() -> FakeBackOffice:
    return FakeBackOffice()


@pytest.fixture
def pm(backoffice: FakeBackOffice) -> BackOfficePluginManager:
    return get_plugin_manager(load_entrypoints=False, plugins=[backoffice])


@pytest.fixture
def kkt() -> FakeKkt:
    return FakeKkt()


@pytest.fixture
def link(kkt: FakeKkt, home: Path) -> RegisterLink:
    return RegisterLink("fake://1", lambda url: kkt, home / "locks")


@pytest.fixture
def scheduler(store: Store, pm: BackOfficePluginManager, clock: FakeClock) -> Scheduler:
    return Scheduler(store, pm, clock=clock, rng=random.Random(7), decoder=fake_decoder,
                     batch_size=3)
