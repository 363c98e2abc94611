from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.errors import ConfigError
from kkt_bridge.link.urls import LinkKind, has_speed, link_kind, with_default_port


@pytest.mark.parametrize(("url", "kind"), [
    ("/dev/ttyACM0", LinkKind.DEVICE),
    ("COM3", LinkKind.DEVICE),
    ("/dev/kkt/shtrih-0042", LinkKind.DEVICE),
    ("socket://10.0.0.5:7778", LinkKind.SOCKET),
    ("SOCKET://10.0.0.5", LinkKind.SOCKET),
    ("rfc2217://host:2217", LinkKind.RFC2217),
    ("loop://", LinkKind.LOOP),
    ("usb://1FC9:0083/123", LinkKind.USB),
    ("spy:///dev/ttyUSB0", LinkKind.OTHER),
])
def test_link_kind(url: str, kind: LinkKind) -> None:
    assert link_kind(url) is kind


def test_speed_matters_only_on_serial_lines() -> None:
    assert has_speed("/dev/ttyUSB0") and has_speed("rfc2217://h:1")
    assert not has_speed("socket://h:1") and not has_speed("usb://1:2")


def test_default_port_completes_socket_url() -> None:
    assert with_default_port("socket://10.0.0.5", 7778) == "socket://10.0.0.5:7778"
    assert with_default_port("socket://10.0.0.5/logging=debug", 7778) == \
        "socket://10.0.0.5:7778/logging=debug"
    assert with_default_port("socket://10.0.0.5:9000", 7778) == "socket://10.0.0.5:9000"
    assert with_default_port("/dev/ttyACM0", 7778) == "/dev/ttyACM0"


def test_socket_url_without_port_or_host_is_config_error() -> None:
    with pytest.raises(ConfigError, match="не указан порт"):
        with_default_port("socket://10.0.0.5", None)
    with pytest.raises(ConfigError, match="не указан хост"):
        with_default_port("socket://:7778", 7778)
    with pytest.raises(ConfigError, match="записан неверно"):
        with_default_port("socket://h:99999", 7778)


@given(st.text(max_size=40))
def test_any_socket_url_either_completes_or_says_why(tail: str) -> None:
    try:
        url = with_default_port("socket://" + tail, 7778)
    except ConfigError as exc:
        assert exc.hint
    else:
        assert url.startswith("socket://")
