"""``kkt-bridge doctor`` asks every paired register's back office, through its plugin,
whether it is reachable and still accepts the stored credentials (the reference back
office, live on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge import doctor
from kkt_bridge.cli import doctor as doctor_cli
from kkt_bridge.cli.main import cli
from kkt_bridge.doctor import Level
from kkt_bridge.exchange import Credentials, RegisterIdentity
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.plugins.reference.plugin import NAME
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.store import JobRun, RegisterRecord, Store, db_path

SHOP = "Магазин на Ленина"
REGISTER = RegisterIdentity(serial="0042", fn_number="9999078900001234", model="ШТРИХ-М-01Ф",
                            inn="7700000000", rnm="0000000001012345")
KEY = f"{REGISTER.serial}:{REGISTER.fn_number}"


@pytest.fixture
def office(tmp_path: Path) -> Iterator[ReferenceBackOffice]:
    bo = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    bo.serve_in_thread()
    try:
        yield bo
    finally:
        bo.stop()


def pair_in_store(office: ReferenceBackOffice, *, last_fd: int = 7, cursor: int = 7) -> str:
    pm = get_plugin_manager()
    credentials = pm.hook.backoffice_pair(backoffice=NAME, endpoint=office.url,
                                          code=office.issue_sync_code(SHOP), register=REGISTER,
                                          current=None)
    with Store(db_path()) as db:
        db.save_register(RegisterRecord(register_key=KEY, serial=REGISTER.serial,
                                        fn_number=REGISTER.fn_number, model=REGISTER.model,
                                        device_url=None, last_fd_number=last_fd))
        db.save_pairing(KEY, credentials)
        db.acknowledge(REGISTER.fn_number, cursor)
    return str(credentials.token)


def findings() -> list[doctor.Finding]:
    return doctor.check_paired_backoffices(doctor_cli.paired_backoffices())


def test_nothing_paired_and_no_store_created() -> None:
    assert doctor_cli.paired_backoffices() == []
    assert not db_path().exists()
    (only,) = doctor.check_paired_backoffices([])
    assert only.level is Level.INFO and "kkt-bridge connect" in (only.what_to_do or "")


def test_reachable_then_revoked_then_down(office: ReferenceBackOffice) -> None:
    token = pair_in_store(office)
    (ok,) = findings()
    assert ok.level is Level.OK and ok.check == "backoffice"
    assert ok.title.startswith(f"ШТРИХ-М-01Ф № 0042 → {NAME} ({SHOP}): ")

    (register,) = office.registers()
    assert office.revoke(register.id)
    (revoked,) = findings()
    assert revoked.level is Level.ERROR and "учётные данные" in revoked.title
    assert revoked.what_to_do and token not in revoked.title + revoked.what_to_do

    office.stop()
    (down,) = findings()
    assert down.level is Level.ERROR and down.what_to_do
    assert token not in down.title + down.what_to_do


def test_receipts_waiting_for_the_back_office(office: ReferenceBackOffice) -> None:
    pair_in_store(office, last_fd=12, cursor=9)
    queue = [f for f in findings() if f.check == "backoffice-queue"]
    assert [(f.level, f.title.endswith("ФД: 3")) for f in queue] == [(Level.INFO, True)]
    with Store(db_path()) as db:
        db.save_job_run(JobRun(register_key=KEY, job="documents", failures=2,
                               last_error="бэк-офис недоступен"))
    (failing,) = [f for f in findings() if f.check == "backoffice-queue"]
    assert failing.level is Level.WARNING and "бэк-офис недоступен" in failing.title
    assert "sync now" in (failing.what_to_do or "")


def test_cli_reports_revoked_credentials(office: ReferenceBackOffice,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pair_in_store(office)
    (register,) = office.registers()
    office.revoke(register.id)
    monkeypatch.setattr(doctor_cli, "default_urls", lambda: [])
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 1
    data: dict[str, Any] = json.loads(result.output)
    (bo,) = [f for f in data["findings"] if f["check"] == "backoffice"]
    assert bo["level"] == "error" and bo["what_to_do"]


def test_paired_register_port_is_among_the_default_targets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = tmp_path / "ttyACM0"
    node.touch()
    link = tmp_path / "shtrih-0042"
    link.symlink_to(node)
    with Store(db_path()) as db:
        db.save_register(RegisterRecord(register_key=KEY, serial="0042",
                                        fn_number=REGISTER.fn_number, device_url=str(link)))
        db.save_pairing(KEY, Credentials(backoffice=NAME, endpoint="http://127.0.0.1:1",
                                         token="t0k3n-value"))
    monkeypatch.setattr(doctor_cli, "list_candidates", lambda drivers: [
        type("C", (), {"url": str(node), "confidence": doctor_cli.Confidence.USB_ID})()])
    assert doctor_cli.default_urls() == [str(link)]  # the symlink and its node count once
