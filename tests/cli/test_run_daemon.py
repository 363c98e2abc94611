"""``kkt-bridge run`` as the service runs it (a child process, no terminal) and the commands
that talk to it: it starts with nothing paired, prints a one-time login address, refuses a
second daemon and an unknown plugin; ``connect``, ``settings``, ``sync now``, ``status`` and
``ui`` go through its API; no token reaches its log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.store import Store

pytestmark = pytest.mark.slow

SHOP = "Магазин на Ленина"
PROGRAM = [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()"]


class Running:
    """A ``kkt-bridge run`` child; its stdout and stderr are collected as they come."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        self.env = {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru",
                    "COLUMNS": "80"}
        self.process = subprocess.Popen(
            [*PROGRAM, "run", "--port", "0", "--no-discover", "--hotplug", "off",
             "--poll-interval", "0.2", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=self.env)
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def wait_for(self, condition: Callable[[], bool], seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    def login_url(self) -> str:
        assert self.wait_for(lambda: any(line.startswith("http://127.0.0.1:")
                                         for line in self.out)), self.text()
        return next(line.strip() for line in self.out if line.startswith("http://127.0.0.1:"))

    def text(self) -> str:
        return "".join(self.out) + "".join(self.err)

    def cli(self, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PROGRAM, *args], input=input, capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=120)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def office(tmp_path: Path) -> Iterator[ReferenceBackOffice]:
    bo = ReferenceBackOffice(tmp_path / "backoffice.sqlite3")
    bo.seed_demo()
    bo.serve_in_thread()
    yield bo
    bo.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def run(*args: str, home: Path | None = None) -> Running:
        daemon = Running(home or tmp_path / "home", *args)
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        daemon.stop()


def test_run_with_nothing_paired_serves_and_stops_cleanly(
        start: Callable[..., Running], tmp_path: Path) -> None:
    daemon = start("--log-level", "DEBUG")
    url = daemon.login_url()
    base = url.split("/login")[0]
    token = url.split("token=")[1]
    # the page opens with the printed address: a session cookie, the token used up
    with httpx.Client(base_url=base) as client:
        entered = client.get(url[len(base):], follow_redirects=False)
        assert entered.status_code == 303 and "kkt_session" in entered.headers["set-cookie"]
        assert client.get("/api/prompts").status_code == 200
    assert daemon.process.poll() is None  # nothing paired is no reason to exit
    # `kkt-bridge ui` asks the running daemon for a fresh address
    fresh = daemon.cli("ui")
    assert fresh.returncode == 0 and fresh.stdout.startswith(base + "/login?token=")
    assert fresh.stdout.strip() != url
    # the discovery file and the secret are private
    for name in ("daemon.json", "api-secret"):
        assert (daemon.home / name).stat().st_mode & 0o077 == 0, name
    assert daemon.stop() == 0
    assert not (daemon.home / "daemon.json").exists()
    # no token in the log, even at DEBUG, and none of the server's own access lines
    log = "".join(daemon.err)
    assert token not in log and fresh.stdout.split("token=")[1].strip() not in log
    assert "GET /login" not in log and "Traceback" not in log
    assert "page at " + base in log
    stale = daemon.cli("ui")  # the file is gone: no daemon to ask
    assert stale.returncode != 0 and "не запущен" in stale.stderr


def test_second_daemon_and_unknown_plugin_are_refused(start: Callable[..., Running],
                                                      tmp_path: Path) -> None:
    first = start()
    first.login_url()
    second = start()
    assert second.process.wait(timeout=60) == 2
    assert second.wait_for(lambda: "уже работает" in second.text(), 10), second.text()
    assert first.process.poll() is None
    nosuch = start("--plugin", "nosuch", home=tmp_path / "other")
    assert nosuch.process.wait(timeout=60) != 0
    assert nosuch.wait_for(lambda: "nosuch" in nosuch.text(), 10)
    assert "не установлен" in nosuch.text() and "Traceback" not in nosuch.text()
    assert not (tmp_path / "other").exists()  # refused before anything was created


def test_commands_go_through_the_running_daemon(
        start: Callable[..., Running], kkt_emulator_factory: Callable[..., Any],
        office: ReferenceBackOffice, tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0, latency_ms=20)
    daemon = start("--device", emu.tcp_url)
    daemon.login_url()
    # the register is unpaired: the service says how to pair it, in Russian
    assert daemon.wait_for(lambda: "Подключите ККТ на странице" in daemon.text()), daemon.text()
    code_file = tmp_path / "code"
    code_file.write_text(office.issue_sync_code(SHOP) + "\n")
    # no --device: the register the daemon asks to connect
    paired = daemon.cli("connect", "--plugin", "reference", "--backoffice", office.url,
                        "--code-file", str(code_file))
    assert paired.returncode == 0, paired.stderr
    assert "Соединение установлено" in paired.stdout
    # the daemon took the pairing at once: the receipts go out without a restart
    assert daemon.wait_for(lambda: office.count_documents() == len(emu.archive()))
    shown = daemon.cli("settings", "--goods", "15 мин")
    assert shown.returncode == 7 and "[ Подтверждение ]" in shown.stdout
    saved = daemon.cli("settings", "--goods", "15 мин", "--confirm")
    assert saved.returncode == 0, saved.stderr
    emu.sell([("Хлеб", 4990)])
    synced = daemon.cli("sync", "now")
    assert synced.returncode == 0, synced.stderr
    lines = synced.stdout.splitlines()
    assert "  экспорт товаров: готово" in lines and "Готово" in lines
    assert all(len(line) <= 80 for line in lines), synced.stdout
    assert "=" not in synced.stdout and "cursor" not in synced.stdout
    status = daemon.cli("status", "--json")  # no --device: the only paired register
    report = json.loads(status.stdout)
    assert report["backlog"]["unsent"] == 0 and report["link"]["state"] == "ok"
    assert "занята" not in daemon.text() + synced.stderr + status.stderr
    # doctor asks the daemon about its register instead of opening the port again
    checked = daemon.cli("doctor", "--device", emu.tcp_url, env={"COLUMNS": "400"})
    assert "обслуживает kkt-bridge run" in checked.stdout, checked.stdout + checked.stderr
    assert "kkt-bridge ui" in checked.stdout
    # paired once, by one code
    with Store(daemon.home / "kkt-bridge.sqlite3") as store:
        assert [e.kind for e in store.events(limit=500)].count("paired") == 1


def test_connect_takes_the_code_from_the_environment_and_a_failure_leaves_no_store(
        kkt_emulator_factory: Callable[..., Any], office: ReferenceBackOffice,
        tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    home = tmp_path / "fresh"
    env = {**os.environ, "KKT_BRIDGE_HOME": str(home), "KKT_BRIDGE_LANG": "ru"}
    args = [*PROGRAM, "connect", "--device", emu.tcp_url, "--plugin", "reference",
            "--backoffice", office.url]
    failed = subprocess.run(args, capture_output=True, text=True, timeout=120,
                            env={**env, "KKT_BRIDGE_CODE": "000000"})
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert not home.exists()
    code = office.issue_sync_code(SHOP)
    done = subprocess.run(args, capture_output=True, text=True, timeout=120,
                          env={**env, "KKT_BRIDGE_CODE": code})
    assert done.returncode == 0, done.stderr
    later = subprocess.run(args, capture_output=True, text=True, timeout=120, input="\n",
                           env=env)  # an empty line: later, nothing changed
    assert later.returncode == 1 and "ничего не сохранено" in later.stdout


def test_a_plugged_in_register_is_handed_over_to_the_running_daemon(
        start: Callable[..., Running], kkt_emulator_factory: Callable[..., Any]) -> None:
    """What udev's kkt-bridge@NAME.service does: the daemon watches one more register."""
    first = kkt_emulator_factory(pty=False, tcp=0)
    second = kkt_emulator_factory(pty=False, tcp=0)
    daemon = start("--device", first.tcp_url)
    daemon.login_url()
    handed = daemon.cli("run", "--device", second.tcp_url, "--hand-over")
    assert handed.returncode == 0, handed.stderr
    # the daemon watches the second register too, without a restart
    secret = (daemon.home / "api-secret").read_text().strip()
    base = daemon.login_url().split("/login")[0]
    listed = httpx.get(f"{base}/api/registers", headers={"Authorization": f"Bearer {secret}"},
                       timeout=60).json()
    assert {s["device_url"] for s in listed} == {first.tcp_url, second.tcp_url}


def test_under_systemd_the_login_token_stays_out_of_the_journal(tmp_path: Path) -> None:
    daemon = Running(tmp_path / "home")
    daemon.process.kill()
    daemon.process.wait()
    env = {**daemon.env, "JOURNAL_STREAM": "8:12345"}
    process = subprocess.Popen([*PROGRAM, "run", "--port", "0", "--no-discover", "--hotplug",
                                "off"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        line = ""
        deadline = time.monotonic() + 60
        while "Страница kkt-bridge" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[0]
    assert "Страница kkt-bridge: http://127.0.0.1:" in line and "kkt-bridge ui" in line
    assert "token=" not in line + rest


def test_doctor_names_the_service_store_and_how_to_use_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from kkt_bridge.cli import doctor
    from kkt_bridge.cli.main import cli

    service = tmp_path / "var-lib-kkt-bridge"
    service.mkdir()
    monkeypatch.setattr(doctor, "SERVICE_HOME", service)
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(tmp_path / "mine"))
    monkeypatch.setattr(doctor, "default_urls", list)
    result = CliRunner().invoke(cli, ["doctor"], env={"COLUMNS": "400"})
    assert f"sudo KKT_BRIDGE_HOME={service} kkt-bridge" in result.output, result.output
    monkeypatch.setenv("KKT_BRIDGE_HOME", str(service))
    same = CliRunner().invoke(cli, ["doctor"], env={"COLUMNS": "400"}).output
    assert "sudo KKT_BRIDGE_HOME" not in same


def test_a_failed_connect_promises_no_retry(kkt_emulator_factory: Callable[..., Any],
                                            tmp_path: Path) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    env = {**os.environ, "KKT_BRIDGE_HOME": str(tmp_path / "home"), "KKT_BRIDGE_LANG": "ru",
           "KKT_BRIDGE_CODE": "123456"}
    done = subprocess.run([*PROGRAM, "connect", "--device", emu.tcp_url, "--plugin",
                           "reference", "--backoffice", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "повторится автоматически" not in done.stderr
    assert "само оно не повторится" in done.stderr, done.stderr
    assert not (tmp_path / "home").exists()


def test_a_killed_daemon_leaves_a_stale_file_that_nobody_trusts(
        start: Callable[..., Running], kkt_emulator_factory: Callable[..., Any]) -> None:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    daemon = start("--device", emu.tcp_url)
    daemon.login_url()
    daemon.process.kill()  # no chance to clean up
    daemon.process.wait()
    assert (daemon.home / "daemon.json").exists()
    ui = daemon.cli("ui")
    assert ui.returncode != 0 and "не запущен" in ui.stderr
    alone = daemon.cli("status", "--device", emu.tcp_url)  # works on its own again
    assert alone.returncode == 0 and "Traceback" not in alone.stderr, alone.stderr
    again = start("--device", emu.tcp_url, home=daemon.home)  # and a new daemon starts
    assert again.login_url()
