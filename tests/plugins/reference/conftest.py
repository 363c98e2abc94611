"""Fixtures for the reference back office: a real server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from reference_support import FakeClock

from kkt_bridge.plugins.reference.server import ReferenceBackOffice


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def office(backoffice_db: str, clock: FakeClock) -> Iterator[ReferenceBackOffice]:
    """The back office on each storage (SQLite, PostgreSQL), seeded and serving."""
    bo = ReferenceBackOffice(backoffice_db, clock=clock)
    bo.seed_demo()
    bo.serve_in_thread()
    try:
        yield bo
    finally:
        bo.stop()


@pytest.fixture
def http(office: ReferenceBackOffice) -> Iterator[httpx.Client]:
    assert office.url is not None
    with httpx.Client(base_url=office.url, timeout=10) as client:
        yield client
