from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.daemon import Daemon, paired_urls
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.scheduler import RegisterLink
from kkt_bridge.bridge.status import bridge_status, format_status
from kkt_bridge.bridge.watcher import NEW_FN, NOT_PAIRED, REGISTERED, REREGISTERED, Prompt, Watcher
from kkt_bridge.errors import LinkTimeoutError
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import Store


class Listener:
    def __init__(self) -> None:
        self.prompts: list[tuple[str, str]] = []
        self.registered: list[str] = []
        self.finished: list[str] = []

    @hookimpl
    def kkt_connect_prompt(self, register: RegisterIdentity, reason: str) -> None:
        self.prompts.append((register.fn_number, reason))

    @hookimpl
    def kkt_registered(self, register: RegisterIdentity) -> None:
        self.registered.append(register.serial)

    @hookimpl
    def kkt_job_finished(self, register: RegisterIdentity, job: str,
                         summary: dict[str, int]) -> None:
        self.finished.append(job)


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def pm2(backoffice: FakeBackOffice, listener: Listener):  # type: ignore[no-untyped-def]
    return get_plugin_manager(load_entrypoints=False, plugins=[backoffice, listener])


def test_prompt_when_the_register_becomes_registered(store: Store, pm2, listener: Listener,  # type: ignore[no-untyped-def]
                                                     home: Path) -> None:
    kkt = FakeKkt(registered=False)
    link = RegisterLink("fake://1", lambda url: kkt, home / "locks")
    seen: list[Prompt] = []
    watcher = Watcher(store, pm2, on_prompt=seen.append)
    assert watcher.poll(link) is not None
    assert listener.prompts == []
    kkt.register()
    watcher.poll(link)
    watcher.poll(link)
    assert listener.prompts == [("9999000011112222", REGISTERED)]
    assert listener.registered == ["0001"]
    assert [p.reason_text for p in seen] == ["ККТ зарегистрирована"]


def test_prompt_for_an_unpaired_register_once_then_none_when_paired(  # type: ignore[no-untyped-def]
        store: Store, pm2, listener: Listener, home: Path) -> None:
    kkt = FakeKkt()
    link = RegisterLink("fake://1", lambda url: kkt, home / "locks")
    Watcher(store, pm2).poll(link)
    assert listener.prompts == [("9999000011112222", NOT_PAIRED)]
    pair(store, pm2, kkt, plugin="fake", code="123456")
    watcher = Watcher(store, pm2)  # a restart
    watcher.poll(link)
    assert len(listener.prompts) == 1


def test_prompt_for_a_new_fn_and_for_reregistration(store: Store, pm2,  # type: ignore[no-untyped-def]
                                                    listener: Listener, home: Path) -> None:
    kkt = FakeKkt()
    link = RegisterLink("fake://1", lambda url: kkt, home / "locks")
    pair(store, pm2, kkt, plugin="fake", code="123456")
    watcher = Watcher(store, pm2)
    watcher.poll(link)
    assert listener.prompts == []
    kkt.register(inn="7700000001")  # re-registration with the same ФН
    watcher.poll(link)
    assert listener.prompts == [("9999000011112222", REREGISTERED)]
    kkt.new_fn("8888000011112222")
    kkt.register()
    Watcher(store, pm2).poll(link)  # even across a restart
    assert listener.prompts[-1] == ("8888000011112222", NEW_FN)


def test_an_unreachable_register_is_no_prompt(store: Store, pm2, home: Path) -> None:  # type: ignore[no-untyped-def]
    def opener(url: str) -> FakeKkt:
        raise LinkTimeoutError("нет ответа", "проверьте кабель")

    assert Watcher(store, pm2).poll(RegisterLink("fake://9", opener, home / "locks")) is None


def test_daemon_round_exports_and_status_reports(store: Store, pm2, listener: Listener,  # type: ignore[no-untyped-def]
                                                 backoffice: FakeBackOffice, clock: FakeClock,
                                                 kkt: FakeKkt) -> None:
    pair(store, pm2, kkt, plugin="fake", code="123456", device_url="fake://1")
    assert paired_urls(store) == ["fake://1"]
    daemon = Daemon(store, pm2, ["fake://1"], opener=lambda url: kkt, clock=clock,
                    rng=random.Random(1), decoder=fake_decoder)
    kkt.sell()
    (link,) = daemon.links
    daemon.run_link(link, max_rounds=3)
    assert len(backoffice.stored) == 2 and "documents" in listener.finished
    assert kkt.closed  # the link is let go when the worker ends
    kkt.sell()
    status = bridge_status(store, kkt.identity().key)
    assert status["pairing"]["shop"] == "shop-1" and "token" not in str(status)
    assert status["settings"]["goods"] == "Никогда"
    assert status["jobs"]["documents"]["next_run"] is not None
    assert status["export"]["unsent"] == 0  # the bridge has not looked since the sale
    assert bridge_status(store, kkt.identity().key, last_fd_number=3)["export"]["unsent"] == 1
    text = "\n".join(format_status(status))
    assert "shop-1" in text and "Экспорт чеков настроен автоматически" in text


def test_daemon_stops_on_request(store: Store, pm2, kkt: FakeKkt) -> None:  # type: ignore[no-untyped-def]
    pair(store, pm2, kkt, plugin="fake", code="123456", device_url="fake://1")
    daemon = Daemon(store, pm2, ["fake://1"], opener=lambda url: kkt, decoder=fake_decoder,
                    poll_interval=0.01)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    daemon.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_one_daemon_serves_several_registers(store: Store, pm2, backoffice: FakeBackOffice,  # type: ignore[no-untyped-def]
                                             clock: FakeClock) -> None:
    first, second = FakeKkt(serial="0001"), FakeKkt(serial="0002", fn_number="7777000011112222")
    registers = {"fake://1": first, "fake://2": second}
    pair(store, pm2, first, plugin="fake", code="123456", device_url="fake://1")
    backoffice.codes["654321"] = "shop-2"
    pair(store, pm2, second, plugin="fake", code="654321", device_url="fake://2")
    assert paired_urls(store) == ["fake://1", "fake://2"]
    first.sell()
    second.sell()
    second.sell()
    daemon = Daemon(store, pm2, paired_urls(store), opener=registers.__getitem__, clock=clock,
                    rng=random.Random(1), decoder=fake_decoder)
    for link in daemon.links:
        daemon.run_link(link, max_rounds=2)
    assert sorted(backoffice.stored) == sorted(
        ["9999000011112222:1", "9999000011112222:2",
         "7777000011112222:1", "7777000011112222:2", "7777000011112222:3"])
    assert store.get_cursor("7777000011112222") == 3
