"""``kkt-bridge run``'s opener when the register on a port now speaks the other protocol
(a shop swapped a Shtrih-M register for an ATOL one on the same port, or back): the
recorded driver gets no answer, the other protocol is probed once, and the register that
answers is used when it is the one the store knows there, served as a new register (and
said so) when it is another one. Real emulators of both protocols, both orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kkt_bridge import registers
from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation import Emulator
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import using_language
from kkt_bridge.kkt import Kkt

#: (the driver the store recorded, the protocol the register on the port speaks now)
ORDERS = [("shtrih", "atol"), ("atol", "shtrih")]
#: a Shtrih-M driver facing an ATOL register gives up sooner than its default ten attempts
QUICK = {"shtrih": {"attempts": 2, "control_timeout": 0.3}, "atol": {}}


class Opened:
    """``open_register`` that notes which driver each open went through."""

    def __init__(self) -> None:
        self.drivers: list[str | None] = []

    def __call__(self, url: str, driver: str | None = None) -> Kkt:
        self.drivers.append(driver)
        return registers.open_register(url, driver=driver, **QUICK.get(driver or "", {}))


def known_register(driver: str, seed: int) -> registers.KnownRegister:
    """The store's record of the register an emulator of ``driver`` with ``seed`` is (a
    seed gives the same serial and ФН under either protocol)."""
    with Emulator(get_emulator(driver), pty=False, tcp=0, seed=seed) as emu:
        assert emu.tcp_url is not None
        kkt = registers.open_register(emu.tcp_url, driver=driver)
        try:
            ident = kkt.identity()
        finally:
            kkt.close()
    return registers.KnownRegister(ident.key, ident.serial, ident.fn_number or "",
                                   ident.model, driver)


@pytest.fixture
def register_on_port() -> Iterator[Any]:
    started: list[Emulator] = []

    def start(driver: str, seed: int) -> str:
        emu = Emulator(get_emulator(driver), pty=False, tcp=0, seed=seed).start()
        started.append(emu)
        assert emu.tcp_url is not None
        # this process must not know who answers there: the store's record is all it has
        registers._answered.pop(emu.tcp_url, None)
        return emu.tcp_url

    yield start
    for emu in started:
        emu.stop()


@pytest.mark.parametrize(("recorded", "now"), ORDERS)
def test_the_same_register_speaking_the_other_protocol_is_used_and_recorded(
        register_on_port: Any, recorded: str, now: str) -> None:
    known = known_register(recorded, seed=7)
    url = register_on_port(now, seed=7)
    drivers = registers.DriverMap({url: recorded})
    opened, switches = Opened(), []
    open_url = registers.fallback_opener(drivers, lambda u: [known] if u == url else [],
                                         open_fn=opened, on_switch=switches.append)

    kkt = open_url(url)
    try:
        ident = kkt.identity()
    finally:
        kkt.close()
    assert (ident.protocol, ident.serial) == (now, known.serial)
    assert opened.drivers == [recorded, now]
    assert drivers.get(url) == now
    [switch] = switches
    assert switch.same and (switch.old, switch.new) == (recorded, now)
    said = switch.message()
    assert known.serial in said.message and "подключение к бэк-офису сохраняется" in str(said)

    # the next reconnect goes straight to the protocol that answered: no probe, no notice
    open_url(url).close()
    assert opened.drivers == [recorded, now, now]
    assert len(switches) == 1


@pytest.mark.parametrize(("recorded", "now"), ORDERS)
def test_another_register_of_the_other_protocol_is_not_taken_for_the_paired_one(
        register_on_port: Any, recorded: str, now: str) -> None:
    old = known_register(recorded, seed=7)
    url = register_on_port(now, seed=8)
    switches: list[registers.ProtocolSwitch] = []
    open_url = registers.fallback_opener(registers.DriverMap({url: recorded}),
                                         lambda u: [old], open_fn=Opened(),
                                         on_switch=switches.append)

    kkt = open_url(url)
    try:
        ident = kkt.identity()
    finally:
        kkt.close()
    # served as the register it is (its own key: no pairing of the old one applies to it)
    assert ident.protocol == now and ident.key != old.register_key
    [switch] = switches
    assert not switch.same and switch.found.serial == ident.serial
    said = switch.message()
    for word in (old.serial, ident.serial, ident.model, "другая ККТ",
                 "принадлежит прежней ККТ", f"kkt-bridge connect --device {url}"):
        assert word in str(said), word
    with using_language("en"):
        english = str(switch.message())
    assert "another register" in english and old.serial in english
    assert "kkt-bridge connect --device" in english


def test_a_register_answering_its_recorded_driver_is_opened_without_a_probe(
        register_on_port: Any) -> None:
    url = register_on_port("atol", seed=7)
    opened, switches = Opened(), []
    open_url = registers.fallback_opener(registers.DriverMap({url: "atol"}), lambda u: [],
                                         open_fn=opened, on_switch=switches.append)
    open_url(url).close()
    assert opened.drivers == ["atol"] and switches == []


def test_when_no_protocol_answers_the_recorded_drivers_error_stands(
        register_on_port: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = register_on_port("atol", seed=7)
    probed: list[str] = []
    monkeypatch.setattr(registers, "other_driver_answering",
                        lambda u, d, **kw: probed.append(d))  # nothing else answers
    switches: list[registers.ProtocolSwitch] = []
    released: list[str] = []
    open_url = registers.fallback_opener(registers.DriverMap({url: "shtrih"}), lambda u: [],
                                         open_fn=Opened(), on_switch=switches.append,
                                         release=released.append)
    with pytest.raises(KktBridgeError) as caught:
        open_url(url)
    assert type(caught.value) in registers.NO_ANSWER
    assert probed == ["shtrih"] and released == [url] and switches == []


@pytest.mark.parametrize(("recorded", "now"), ORDERS)
def test_the_shared_port_follows_the_protocol_the_register_speaks_now(
        register_on_port: Any, tmp_path: Any, recorded: str, now: str) -> None:
    from kkt_bridge.cli.run import shared_open
    from kkt_bridge.share.service import SharedPorts

    known = known_register(recorded, seed=7)
    url = register_on_port(now, seed=7)
    drivers = registers.DriverMap({url: recorded})
    with SharedPorts(run_dir=tmp_path) as shares:
        assert shares.add(url, recorded) is not None
        driver_of = registers.driver_of(None, drivers)
        open_url = registers.fallback_opener(drivers, lambda u: [known],
                                             open_fn=shared_open(shares, driver_of),
                                             release=shares.reset)
        kkt = open_url(url)
        assert kkt.identity().protocol == now
        # the cash software's port speaks the register's protocol now, under the same name
        assert shares.driver_at(url) == now and driver_of(url) == now
        assert [info.device_url for info in shares.infos()] == [url]


@pytest.mark.parametrize("same", [True, False])
def test_run_says_the_switch_and_writes_it_to_the_registers_event_log(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], same: bool) -> None:
    from kkt_bridge.cli.run import announce_switch
    from kkt_bridge.kkt import Identity
    from kkt_bridge.store import Store

    old = registers.KnownRegister("45174838:9999", "45174838", "9999", "ШТРИХ-М-01Ф", "shtrih")
    serial = old.serial if same else "11112222"
    found = Identity(protocol="atol", model="АТОЛ 30Ф", model_code=61, serial=serial,
                     firmware="3", fn_number="9999" if same else "8888")
    switch = registers.ProtocolSwitch(url="/dev/ttyACM0", old="shtrih", new="atol",
                                      found=found, known=(old,), same=same)
    with Store(tmp_path / "store.sqlite3") as db:
        announce_switch(db, switch)
        [event] = db.events(old.register_key)
    assert event.kind == ("protocol_changed" if same else "register_replaced")
    assert event.data == {"url": "/dev/ttyACM0", "old": "shtrih", "new": "atol"}
    said = capsys.readouterr().out
    assert serial in said and "АТОЛ" in said and "/dev/ttyACM0" in said


def test_a_register_the_store_knows_speaks_this_protocol_is_not_announced_again(
        register_on_port: Any) -> None:
    """Two records at one URL (the register replaced, and its ATOL successor, paired since)
    and the old one's driver asked first: the successor answers, as recorded for it."""
    old = known_register("shtrih", seed=7)
    successor = known_register("atol", seed=8)
    url = register_on_port("atol", seed=8)
    drivers = registers.DriverMap({url: "shtrih"})
    switches: list[registers.ProtocolSwitch] = []
    open_url = registers.fallback_opener(drivers, lambda u: [old, successor],
                                         open_fn=Opened(), on_switch=switches.append)
    kkt = open_url(url)
    try:
        assert kkt.identity().key == successor.register_key
    finally:
        kkt.close()
    assert drivers.get(url) == "atol" and switches == []
