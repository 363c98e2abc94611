"""Prove the plugin keeps kkt-bridge's contract (pairing, catalog, employees, idempotent
export), against the fake API. ``BackOfficeContract`` comes with kkt-bridge."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from kkt_backoffice_example.fake_server import FakeExampleCloud
from kkt_backoffice_example.plugin import NAME, ExamplePlugin

from kkt_bridge.errors import RateLimitedError
from kkt_bridge.exchange import Credentials, RegisterIdentity
from kkt_bridge.testing.contract import BackOfficeContract, BaseHarness


class ExampleHarness(BaseHarness):
    backoffice = NAME
    endpoint = "https://api.example-cloud.invalid"
    many_documents = 250  # three requests at the vendor's 100 per request

    def __init__(self) -> None:
        self.cloud = FakeExampleCloud()
        self.plugin = ExamplePlugin(transport=self.cloud.transport)

    def plugins(self) -> Sequence[object]:
        return [self.plugin]

    def issue_code(self) -> str:
        return self.cloud.new_code()

    def count_documents(self, credentials: Credentials) -> int:
        return len(self.cloud.receipts)

    def state(self) -> object:
        return sorted(self.cloud.codes), sorted(self.cloud.keys.values())

    def close(self) -> None:
        self.plugin.close()


class TestExampleContract(BackOfficeContract):
    @pytest.fixture
    def backoffice_harness(self) -> ExampleHarness:
        return ExampleHarness()


def test_429_becomes_a_retryable_error_with_retry_after() -> None:
    harness = ExampleHarness()
    credentials = harness.plugin.backoffice_pair(
        NAME, None, harness.issue_code(), RegisterIdentity("1", "2", "m"))
    assert credentials is not None
    harness.cloud.rate_limit_every = 1
    with pytest.raises(RateLimitedError) as info:
        harness.plugin.backoffice_check(NAME, credentials)
    assert info.value.retryable and info.value.retry_after == 2
