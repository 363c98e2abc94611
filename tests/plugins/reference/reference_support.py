"""Helpers shared by the reference back office tests (a unique module name: every test
folder has a conftest.py, so importing from "conftest" would be ambiguous)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.plugins.reference.server import ReferenceBackOffice

SHOP = "Магазин на Ленина"
OTHER_SHOP = "Магазин на Садовой"


class FakeClock:
    """A clock the tests move by hand: sync-code expiry without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def register_identity(n: int = 1) -> RegisterIdentity:
    return RegisterIdentity(serial=f"00123456789{n:05d}", fn_number=f"99990789000{n:05d}",
                            model="ШТРИХ-М-01Ф", inn="7700000000", rnm=f"00000000010{n:05d}")


def register_json(n: int = 1) -> dict[str, str | None]:
    r = register_identity(n)
    return {"serial": r.serial, "fn_number": r.fn_number, "model": r.model, "inn": r.inn,
            "rnm": r.rnm}


def pair(http: httpx.Client, office: ReferenceBackOffice, n: int = 1,
         shop: str = SHOP) -> dict[str, str]:
    """Pair register ``n`` to ``shop``; the Authorization header for it."""
    code = office.issue_sync_code(shop)
    answer = http.post("/api/v1/pair", json={"code": code, "register": register_json(n)})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}
