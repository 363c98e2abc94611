"""The bridge's back-office contract, run against the MoySklad plugin and the fake API."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from moysklad_helpers import FakeClock

from kkt_bridge.exchange import Credentials
from kkt_bridge.plugins.moysklad.fake import FakeMoySklad
from kkt_bridge.plugins.moysklad.plugin import MoySkladPlugin
from kkt_bridge.testing.contract import CHECKS, BackOfficeContract, BaseHarness, run_contract


class MoySkladHarness(BaseHarness):
    backoffice = "moysklad"
    many_documents = 1200  # more than one array of 1000
    # the "code" is the account's standing access token (plus the retail store): pairing
    # again with it is legal, e.g. after reinstalling the cash software
    one_time_codes = False

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.fake = FakeMoySklad(clock=self.clock.now)
        self.store = self.fake.seed_demo()
        self.plugin = MoySkladPlugin(transport=self.fake, clock=self.clock.now,
                                     sleep=self.clock.sleep, weight=1)

    def plugins(self) -> Sequence[object]:
        return [self.plugin]

    def issue_code(self) -> str:
        return f"{self.fake.token}@{self.store['name']}"

    def bad_code(self) -> str:
        return "f" * 40 + "@" + str(self.store["name"])

    def count_documents(self, credentials: Credentials) -> int:
        store_id = credentials.extra["retailstore_id"]
        return sum(1 for d in self.fake.rows("retaildemand")
                   if d["retailStore"]["meta"]["href"].endswith(store_id))

    def state(self) -> object:
        return {entity: len(rows) for entity, rows in self.fake.entities.items()}

    def close(self) -> None:
        self.plugin.close()


class TestMoySkladContract(BackOfficeContract):
    @pytest.fixture
    def backoffice_harness(self) -> MoySkladHarness:
        return MoySkladHarness()


def test_run_contract_outside_pytest_passes_every_check() -> None:
    results = run_contract(MoySkladHarness())
    assert set(results) == set(CHECKS)
    assert all(error is None for error in results.values()), results
