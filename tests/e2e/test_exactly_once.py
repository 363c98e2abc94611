"""No document lost or duplicated, whatever happens: the back office's own count decides.

The bridge exports a backlog while the back office fails (500, 429, time-outs, answers lost
after the work was done), while the link corrupts and drops bytes, and while the bridge
itself is killed with SIGKILL at random moments. Every scenario is bounded in rounds and
seeded, so a failure reproduces.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import child_env, cli_command, open_home_store, pair_with_office

from kkt_bridge.bridge.scheduler import RegisterLink, Scheduler
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.plugins.reference.plugin import ReferencePlugin
from kkt_bridge.registers import open_register
from kkt_bridge.store import Store

pytestmark = pytest.mark.slow


def paired_store(home: Path, url: str, office: Any) -> tuple[Store, str]:
    store = open_home_store(home)
    return store, pair_with_office(store, url, office).register_key


def assert_exactly_once(office: Any, emu: Any) -> None:
    archive = len(emu.archive())
    assert office.count_documents() == archive
    keys = Counter((d.fn_number, d.fd_number) for d in office.documents())
    assert len(keys) == archive and max(keys.values()) == 1
    assert sorted(fd for _, fd in keys) == list(range(1, archive + 1))


def export_until_done(store: Store, key: str, url: str, rounds: int,
                      batch_size: int = 10, plugins: tuple[object, ...] = ()) -> list[bool]:
    pm = (get_plugin_manager(load_entrypoints=False, plugins=plugins) if plugins
          else get_plugin_manager())
    scheduler = Scheduler(store, pm, rng=random.Random(1), batch_size=batch_size)
    record = store.get_register(key)  # opened with its recorded driver, as sync now does
    link = RegisterLink(url, partial(open_register, driver=record.driver if record else None),
                        store.lock_dir)
    results = []
    try:
        for _ in range(rounds):
            outcome = scheduler.run_job(link, key, "documents")
            results.append(outcome.ok)
            if outcome.ok and outcome.summary["unsent"] == 0:
                break
    finally:
        link.drop()
    return results


@pytest.mark.parametrize("faults", [
    "500:every=2",
    "429:every=2:retry_after=0",
    "drop-after:every=3",
    "drop:every=3",
    "slow:every=3:delay=2",  # beyond the plugin's time-out below
])
def test_back_office_failures(kkt_emulator_factory: Callable[..., Any], office: Any,
                              home: Path, faults: str, driver: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=False, tcp=0)
    for n in range(40):
        emu.sell([("Товар", 100 + n)])
    store, key = paired_store(home, emu.tcp_url, office)
    office.set_faults(faults)
    plugin = ReferencePlugin(timeout=0.5)
    try:
        results = export_until_done(store, key, emu.tcp_url, rounds=40, plugins=(plugin,))
    finally:
        plugin.close()
    office.set_faults(None)
    assert False in results  # the faults did bite
    if not results[-1]:
        export_until_done(store, key, emu.tcp_url, rounds=1)
    assert_exactly_once(office, emu)
    store.close()


def test_noisy_link(kkt_emulator_factory: Callable[..., Any], office: Any, home: Path,
                    driver: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=False, tcp=0, seed=7)
    for n in range(20):
        emu.sell([("Товар", 100 + n)])
    store, key = paired_store(home, emu.tcp_url, office)
    # about one frame in three damaged: the driver's retries and the job's rounds recover
    emu.inject("corrupt=0.0005,drop=0.0005")
    export_until_done(store, key, emu.tcp_url, rounds=10)
    emu.clear_faults()
    export_until_done(store, key, emu.tcp_url, rounds=2)
    assert_exactly_once(office, emu)
    store.close()


def test_sigkill_at_random_points_of_an_export(kkt_emulator_factory: Callable[..., Any],
                                               office: Any, home: Path, driver: str) -> None:
    emu = kkt_emulator_factory(driver=driver, pty=False, tcp=0)
    for n in range(400):
        emu.sell([("Товар", 100 + n)])
    store, _key = paired_store(home, emu.tcp_url, office)
    store.close()
    rng = random.Random(20261124)
    total = len(emu.archive())
    mid_export = 0
    for round_ in range(6):  # bounded: six killed runs at seeded random points
        child = subprocess.Popen(cli_command("sync", "now"), env=child_env(home),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done_before = office.count_documents()
        if round_ % 2:
            # a random moment: start-up, reading the ФН, sending, acknowledging
            time.sleep(rng.uniform(0.2, 2.0))
        else:
            # once the back office holds a random number of documents more
            target = done_before + rng.randint(1, max(1, (total - done_before) // 2))
            deadline = time.monotonic() + 60
            while (office.count_documents() < target and child.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.01)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            if done_before < office.count_documents() < total:
                mid_export += 1
        child.wait(timeout=30)
    final = subprocess.run(cli_command("sync", "now"), env=child_env(home), timeout=300,
                           capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr
    assert mid_export >= 2  # the kills did land in the middle of exports
    assert_exactly_once(office, emu)
