"""Shared test settings: hypothesis profiles (CI runs the default, bounded one), and
isolation: no test reads or writes the user's real data directory, and every test starts
with the Russian UI whatever an earlier ``--lang en`` test switched to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kkt_bridge import i18n, registers

settings.register_profile("default", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


#: every driver with an emulator: tests that take ``driver`` run once for each (the seed
#: flow end to end, the acceptance reads); a new protocol adds its name here
DRIVERS = ("shtrih", "atol")


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    """The register's protocol, for tests that are the same for every driver."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _isolated_home_and_language(tmp_path_factory: pytest.TempPathFactory,
                                monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("kkt-bridge-home")
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(home))
    monkeypatch.delenv("KKT_BRIDGE_LANG", raising=False)
    # which driver answered at a URL is remembered per process; pty paths are reused from
    # test to test by other registers, so each test starts with nothing remembered
    monkeypatch.setattr(registers, "_answered", {})
    i18n.set_language("ru")
    yield home
    i18n.set_language("ru")
