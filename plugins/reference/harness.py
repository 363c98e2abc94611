"""The contract-test harness for the reference back office (see kkt_bridge.testing.contract):
a real server on a free loopback port, seeded with the demo data."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from kkt_bridge.exchange import Credentials
from kkt_bridge.plugins.reference.demo import SHOPS
from kkt_bridge.plugins.reference.plugin import NAME, ReferencePlugin
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.contract import BaseHarness


class ReferenceHarness(BaseHarness):
    backoffice = NAME
    many_documents = 1200  # three requests at the plugin's 500 per batch

    def __init__(self, db_path: str | os.PathLike[str], *, shop: str = SHOPS[0],
                 **plugin_options: Any) -> None:
        self.shop = shop
        self.office = ReferenceBackOffice(db_path)
        self.office.seed_demo()
        self.endpoint = self.office.serve_in_thread()
        self.plugin = ReferencePlugin(**plugin_options)

    def plugins(self) -> Sequence[object]:
        return [self.plugin]

    def issue_code(self) -> str:
        return self.office.issue_sync_code(self.shop)

    def count_documents(self, credentials: Credentials) -> int:
        return self.office.count_documents(self.register.fn_number)

    def state(self) -> object:
        return (tuple(self.office.registers()), tuple(map(tuple, (
            sorted(c.items()) for c in self.office.db.sync_codes()))))

    def close(self) -> None:
        self.plugin.close()
        self.office.stop()
