"""A network address that turns one protocol away is still asked by the others.

Without a port in the URL each driver asks at its own usual port (7778 Shtrih-M, 5555
ATOL): an ATOL register at 5555 used to be reported as «отказала в соединении» at 7778,
because the Shtrih probe's refusal ended the probe before ATOL was asked."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from kkt_bridge.driverapi import Driver, load_drivers
from kkt_bridge.errors import ConnectionRefusedLinkError
from kkt_bridge.i18n import using_language
from kkt_bridge.link.discovery import probe
from kkt_bridge.link.urls import network_address


class AtPort:
    """A real driver whose registers usually listen at ``port`` (a free one in a test)."""

    def __init__(self, driver: Driver, port: int) -> None:
        self._driver = driver
        self.default_tcp_port = port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed: a connection there is refused


@pytest.mark.parametrize("found", ["shtrih", "atol"])
def test_a_register_at_its_usual_port_is_found_when_the_other_port_refuses(
        found: str, kkt_emulator_factory: Callable[..., Any]) -> None:
    drivers = load_drivers()
    (other,) = [name for name in drivers if name != found]
    emu = kkt_emulator_factory(driver=found, pty=False, tcp=0)
    _host, port = network_address(emu.tcp_url)
    assert port is not None
    # the refusing protocol is asked first, as Shtrih is before ATOL
    ordered: dict[str, Any] = {other: AtPort(drivers[other], refused_port()),
                               found: AtPort(drivers[found], port)}
    result = probe("socket://127.0.0.1", ordered, timeout=2)
    assert result is not None and result.driver == found
    assert result.url == emu.tcp_url


@pytest.mark.parametrize(("lang", "words"), [
    ("ru", ("отказала в соединении", "7778 у Штрих-М, 5555 у АТОЛ")),
    ("en", ("refused the connection", "7778 for Shtrih-M, 5555 for ATOL")),
])
def test_a_port_that_refuses_every_protocol_names_each_ones_usual_port(
        lang: str, words: tuple[str, ...]) -> None:
    port = refused_port()
    with using_language(lang), pytest.raises(ConnectionRefusedLinkError) as caught:
        probe(f"socket://127.0.0.1:{port}", timeout=1)
    text = f"{caught.value} {caught.value.hint}"
    assert f"127.0.0.1:{port}" in text
    for word in words:
        assert word in text, text


def test_without_a_port_every_protocol_s_port_is_named() -> None:
    drivers = load_drivers()
    ports = {name: refused_port() for name in drivers}
    ordered: dict[str, Any] = {name: AtPort(driver, ports[name])
                               for name, driver in drivers.items()}
    with using_language("ru"), pytest.raises(ConnectionRefusedLinkError) as caught:
        probe("socket://127.0.0.1", ordered, timeout=1)
    assert f"127.0.0.1 (порты {', '.join(str(p) for p in ports.values())})" in str(caught.value)
