from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kkt_bridge.i18n import set_language
from kkt_bridge.plugins.reference.server import ReferenceBackOffice


@pytest.fixture
def office(tmp_path: Path) -> Iterator[ReferenceBackOffice]:
    """The reference back office, seeded with the demo shops' goods and employees."""
    bo = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    bo.seed_demo()
    bo.serve_in_thread()
    yield bo
    bo.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "bridge-home"
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(path))
    monkeypatch.delenv("KKT_BRIDGE_LANG", raising=False)
    yield path
    set_language("ru")
