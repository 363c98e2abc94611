"""The seed's "reinstall needs a new pairing", against the reference back office on each
storage: a reinstalled bridge has lost its token, so a new code alone does not take the
register over; once the administrator allows re-pairing in «Мои Кассы», it does, the old
installation's token stops working, and the register keeps one row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import open_home_store, pair_with_office

from kkt_bridge.errors import AuthenticationError, PairingError
from kkt_bridge.plugins.reference import plugin as reference
from kkt_bridge.store import Store

pytestmark = pytest.mark.slow


def test_reinstall_needs_the_administrators_consent(
        kkt_emulator_factory: Callable[..., Any], office: Any, home: Path,
        tmp_path: Path) -> None:
    url = kkt_emulator_factory(pty=False, tcp=0).tcp_url
    first = open_home_store(home)
    old = pair_with_office(first, url, office)
    # the reinstall: a new store, which never held the token
    again = Store(tmp_path / "reinstalled" / "kkt-bridge.sqlite3")
    try:
        with pytest.raises(PairingError) as refused:
            pair_with_office(again, url, office)
        assert "Разрешить переподключение" in (refused.value.hint or "")
        (register,) = office.registers()
        assert office.allow_repair(register.id)
        new = pair_with_office(again, url, office)
        assert new.credentials.token != old.credentials.token
        assert [r.id for r in office.registers()] == [register.id]
        with pytest.raises(AuthenticationError):
            reference.plugin.backoffice_check(reference.NAME, old.credentials)
        assert reference.plugin.backoffice_check(reference.NAME, new.credentials)
    finally:
        first.close()
        again.close()


def test_re_pairing_from_the_same_bridge_proves_itself_with_its_token(
        kkt_emulator_factory: Callable[..., Any], office: Any, home: Path) -> None:
    url = kkt_emulator_factory(pty=False, tcp=0).tcp_url
    store = open_home_store(home)
    try:
        old = pair_with_office(store, url, office)
        # the plugin keeps nothing between calls: the token is the store's, so this holds
        # after the bridge restarted too
        new = pair_with_office(store, url, office)
        assert new.credentials.token != old.credentials.token
        assert len(office.registers()) == 1
        with pytest.raises(AuthenticationError):
            reference.plugin.backoffice_check(reference.NAME, old.credentials)
    finally:
        store.close()
