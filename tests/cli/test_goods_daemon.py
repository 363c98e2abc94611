"""``kkt-bridge goods`` while ``kkt-bridge run`` serves the store: the daemon makes every
change (through its local API), the command only asks; refusals come back as they are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_run_daemon
from test_run_daemon import SHOP, Running

from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.store import ORIGIN_REGISTER, Store

pytestmark = pytest.mark.slow

# the daemon and back-office fixtures of the ``run`` tests
office = test_run_daemon.office
start = test_run_daemon.start


def test_goods_go_through_the_running_daemon(
        start: Callable[..., Running], kkt_emulator_factory: Callable[..., Any],
        office: ReferenceBackOffice, tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    daemon = start("--device", emu.tcp_url, "--plugin", "reference", "--backoffice", office.url)
    daemon.login_url()
    code_file = tmp_path / "code"
    code_file.write_text(office.issue_sync_code(SHOP) + "\n")
    assert daemon.cli("connect", "--code-file", str(code_file)).returncode == 0
    assert (daemon.home / "daemon.json").exists()  # what sends the commands to the daemon
    added = daemon.cli("goods", "groups", "add", "Выпечка")
    assert added.returncode == 0, added.stderr
    added = daemon.cli("goods", "add", "Ватрушка", "--price", "39,90", "--group", "Выпечка")
    assert added.returncode == 0 and "39,90\u00a0₽" in added.stdout, added.stderr
    wrong = daemon.cli("goods", "add", "Ватрушка", "--price", "39,999")
    assert wrong.returncode == 2 and "не сумма в рублях" in wrong.stderr
    listed = daemon.cli("--lang", "en", "goods")
    assert "Ватрушка" in listed.stdout and "RUB 39.90" in listed.stdout, listed.stderr
    # goods sync on, through the daemon as well: the register's goods go, edits are refused
    assert daemon.cli("settings", "--goods", "15 мин", "--confirm").returncode == 0
    refused = daemon.cli("goods", "add", "Сушка", "--price", "5")
    assert refused.returncode != 0 and "пока включена синхронизация товаров" in refused.stderr
    assert "kkt-bridge settings --goods" in refused.stderr
    assert "Traceback" not in daemon.text() + refused.stderr
    assert daemon.stop() == 0
    with Store(daemon.home / "kkt-bridge.sqlite3") as store:
        (key,) = [p.register_key for p in store.pairings()]
        assert store.goods(key, ORIGIN_REGISTER) == []
        kinds = [e.kind for e in store.events(limit=500)]
    assert "paired" in kinds
