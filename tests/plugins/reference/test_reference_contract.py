"""The bridge's contract tests, run against the reference plugin and a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from kkt_bridge.plugins.reference.harness import ReferenceHarness
from kkt_bridge.testing.contract import CHECKS, BackOfficeContract, run_contract


class TestReferenceContract(BackOfficeContract):
    @pytest.fixture
    def backoffice_harness(self, backoffice_db: str) -> ReferenceHarness:
        return ReferenceHarness(backoffice_db)


def test_run_contract_outside_pytest_reports_every_check(tmp_path: Path) -> None:
    results = run_contract(ReferenceHarness(tmp_path / "bo.sqlite3"))
    assert set(results) == set(CHECKS)
    assert all(error is None for error in results.values()), results
