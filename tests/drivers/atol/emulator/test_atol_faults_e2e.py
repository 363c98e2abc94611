"""A catch-up of the archive from the ATOL emulator over a real pty and TCP, under each kind
of line fault, several seeds: every document byte for byte (the in-process property test
of the same rules is ``tests/drivers/atol/test_atol_transport_faults.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kkt_bridge.drivers.atol.plugin import driver as atol_driver

DOCUMENTS = 12

CASES = [
    ("nak=0.05", 1), ("nak=0.05", 2), ("nak=0.05", 3),
    ("corrupt=0.002", 4),
    ("drop=0.002", 5),
    ("silent_after=40,silent_for=0.5", 6),
]


@pytest.mark.parametrize("line", ["pty", "tcp"])
@pytest.mark.parametrize(("faults", "seed"), CASES)
def test_a_catch_up_under_faults_reads_every_document(
        kkt_emulator_factory: Callable[..., Any], line: str, faults: str, seed: int) -> None:
    emu = kkt_emulator_factory(driver="atol", pty=line == "pty",
                               tcp=0 if line == "tcp" else None, seed=seed)
    while len(emu.archive()) < DOCUMENTS:
        emu.sell([("Товар", 100 + len(emu.archive())), ("Пакет", 500)])
    archive = emu.archive()
    kkt = atol_driver.open(emu.urls[0], poll_interval=0.1)
    try:
        emu.inject(faults)
        read = dict(kkt.iter_documents(1, len(archive)))
    finally:
        kkt.close()
    assert [read[n] for n in range(1, len(archive) + 1)] == archive
    assert sum(emu.fault_stats.values()) > 0 or faults.startswith("silent")
