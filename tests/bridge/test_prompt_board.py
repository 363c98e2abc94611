"""The prompt board and the event bus: every window gets each prompt once, a late window
gets the current ones, a slow subscriber is told to read the state again, and a prompt
stays until the register is paired (through any window)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder

from kkt_bridge.bridge.actions import BackOfficePreset
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.bridge.events import PROMPT, PROMPT_RESOLVED, QUEUE_SIZE, RESYNC, EventBus
from kkt_bridge.bridge.prompts import PromptBoard
from kkt_bridge.bridge.watcher import NOT_PAIRED, REREGISTERED, Prompt
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import Store


def _prompt(key: str = "0001:99", reason: str = NOT_PAIRED) -> Prompt:
    serial, _sep, fn = key.partition(":")
    return Prompt(url="fake://1", register_key=key, reason=reason,
                  register=RegisterIdentity(serial=serial, fn_number=fn, model="FAKE"))


def test_a_prompt_is_raised_once_and_resolved_once() -> None:
    board = PromptBoard()
    with board.bus.subscribe() as window:
        first = board.raise_prompt(_prompt())
        assert first is not None and board.raise_prompt(_prompt()) is None  # not twice
        assert board.resolve("0001:99") and not board.resolve("0001:99")
        kinds = [event.kind for event in window.drain()]
    assert kinds == [PROMPT, PROMPT_RESOLVED]
    assert board.current() == []
    again = board.raise_prompt(_prompt())  # raised anew after it went
    assert again is not None and again.id > first.id


def test_a_late_window_reads_the_current_prompts() -> None:
    board = PromptBoard()
    board.raise_prompt(_prompt("0001:1"))
    board.raise_prompt(_prompt("0002:2"))
    with board.bus.subscribe() as late:
        assert [p.register_key for p in board.current()] == ["0001:1", "0002:2"]
        assert list(late.drain()) == []


def test_a_slow_subscriber_is_told_to_resync_and_others_lose_nothing() -> None:
    bus = EventBus()
    slow, fast = bus.subscribe(), bus.subscribe()
    seen = []
    for number in range(QUEUE_SIZE + 10):
        bus.publish("n", {"n": number})
        seen += [e.data["n"] for e in fast.drain()]
    assert seen == list(range(QUEUE_SIZE + 10))
    first = slow.get(timeout=0)
    assert first is not None and first.kind == RESYNC
    bus.publish("n", {"n": -1})
    assert [e.data["n"] for e in slow.drain()] == [-1]  # back in step after the resync


@pytest.fixture
def daemon(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> Daemon:
    return Daemon(store, pm, ["fake://1"], opener=lambda url: kkt, hotplug="off",
                  decoder=fake_decoder, preset=BackOfficePreset("fake"))


def test_a_reregistration_prompt_stays_until_paired_again(
        daemon: Daemon, kkt: FakeKkt, backoffice: FakeBackOffice, home: Path) -> None:
    (link,) = daemon.links
    daemon.tick(link)
    (prompt,) = daemon.board.current()
    assert prompt.reason == NOT_PAIRED
    daemon.actions.connect("fake://1", "123456")
    assert daemon.board.current() == []
    kkt.register(inn="7700000001")  # re-registered with the same ФН: paired, but asked
    daemon.tick(link)
    daemon.tick(link)  # the daemon's rounds go on: the prompt stays
    assert [p.reason for p in daemon.board.current()] == [REREGISTERED]
    backoffice.codes["654321"] = "shop-1"
    daemon.actions.connect("fake://1", "654321")
    assert daemon.board.current() == []


def test_discovered_registers_are_watched_while_running(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> None:
    found = ["fake://1"]
    daemon = Daemon(store, pm, [], opener=lambda url: kkt, hotplug="off",
                    decoder=fake_decoder, discover=lambda: list(found))
    assert daemon.urls == []  # nothing given, nothing paired: it starts all the same
    assert daemon.discover_now() == ["fake://1"] and daemon.urls == ["fake://1"]
    assert daemon.discover_now() == []  # once
    daemon.tick(daemon.links[0])
    assert [p.reason for p in daemon.board.current()] == [NOT_PAIRED]
