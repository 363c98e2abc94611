"""The error builders: each says what happened and what to do."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest
import serial
from pytest_mock import MockerFixture

from kkt_bridge.errors import (
    LinkError,
    LinkTimeoutError,
    NotARegisterError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from kkt_bridge.link import open_link
from kkt_bridge.link.access import NodeAccess
from kkt_bridge.link.failures import (
    available_ports,
    link_timeout,
    not_a_register,
    port_busy,
    port_permission,
    tcp_failure,
    translate_open_error,
)


def test_link_timeout_names_url_and_seconds() -> None:
    err = link_timeout("/dev/ttyACM0", 3.0, "ответа на 0x10")
    assert isinstance(err, LinkTimeoutError)
    assert err.message == "не дождались ответа на 0x10 от /dev/ttyACM0 за 3 с"
    assert err.hint and "kkt-bridge devices" in err.hint
    assert "ответа от socket://h:1 за 0.05 с" in link_timeout("socket://h:1", 0.05).message


def test_not_a_register() -> None:
    err = not_a_register("/dev/ttyUSB0", "ответ 0x41 0x54")
    assert isinstance(err, NotARegisterError)
    assert err.message == "на /dev/ttyUSB0 отвечает не ККТ (ответ 0x41 0x54)"
    assert err.hint and not_a_register("/dev/ttyUSB0").message.endswith("не ККТ")


def test_busy_without_visible_holder_suggests_fuser(tmp_path: Path,
                                                    mocker: MockerFixture) -> None:
    mocker.patch("kkt_bridge.link.failures.find_holders", return_value=[])
    err = port_busy("/dev/kkt/shtrih-1", "/dev/ttyACM0")
    assert isinstance(err, PortBusyError) and err.pid is None
    assert "fuser -v /dev/ttyACM0" in (err.hint or "")


def _access(in_now: bool, in_db: bool) -> NodeAccess:
    return NodeAccess("/dev/ttyACM0", "kkt", 0o660, "cashier", in_now, in_db)


def test_permission_when_already_in_group(mocker: MockerFixture) -> None:
    mocker.patch("kkt_bridge.link.failures.node_access", return_value=_access(True, True))
    err = port_permission("/dev/ttyACM0")
    assert "уже в группе kkt" in (err.hint or "") and "660" in (err.hint or "")


def test_permission_when_node_vanished(tmp_path: Path) -> None:
    err = port_permission(str(tmp_path / "gone"))
    assert isinstance(err, PortPermissionError) and "install-udev" in (err.hint or "")


@pytest.mark.parametrize("code", [errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT])
def test_tcp_unreachable(code: int) -> None:
    # pyserial wraps the socket's OSError without its errno; the chain still has it
    outer = serial.SerialException("Could not open port socket://10.9.9.9:7778")
    outer.__context__ = OSError(code, "no route")
    err = tcp_failure("socket://10.9.9.9:7778", outer)
    assert err.message == "ККТ 10.9.9.9:7778 недоступна по сети"


def test_tcp_other_failure_and_socket_timeout() -> None:
    err = tcp_failure("rfc2217://kassa.local:2217", socket.gaierror(-2, "Name not known"))
    assert err.message == "имя kassa.local не найдено" and err.hint
    other = tcp_failure("socket://h:1", OSError(errno.EPROTO, "protocol error"))
    assert "h:1" in other.message and os.strerror(errno.EPROTO) in other.message
    assert "недоступна" in tcp_failure("socket://h:1", TimeoutError()).message


def test_tcp_refused_hint_names_the_drivers_default_port_not_a_vendor() -> None:
    refused = OSError(errno.ECONNREFUSED, "refused")
    err = tcp_failure("socket://10.0.0.5:9100", refused, default_port=7778)
    assert err.message == "ККТ 10.0.0.5:9100 отказала в соединении"
    assert err.hint and "обычно 7778" in err.hint and "Штрих" not in err.hint
    # already on the usual port, or no driver default: no port advice
    for url, default in (("socket://10.0.0.5:7778", 7778), ("socket://10.0.0.5:9100", None)):
        hint = tcp_failure(url, refused, default_port=default).hint or ""
        assert "обычно" not in hint and "проверьте адрес и порт" in hint


def test_open_link_passes_the_default_port_to_the_refusal_hint() -> None:
    with socket.socket() as sock:  # bound, not listening: connect is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(LinkError) as info:
            open_link("socket://127.0.0.1", timeout=0.2, default_port=port)
    assert f"127.0.0.1:{port}" in info.value.message
    assert "обычно" not in (info.value.hint or "")  # the default was the port tried
    with pytest.raises(LinkError) as other:
        open_link(f"socket://127.0.0.1:{port}", timeout=0.2, default_port=1)
    assert "обычно 1)" in (other.value.hint or "")


def test_rfc2217_refused_names_host_and_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(LinkError) as info:
            open_link(f"rfc2217://127.0.0.1:{port}", timeout=0.2)
    assert f"127.0.0.1:{port}" in info.value.message


def test_unknown_errno_keeps_the_reason() -> None:
    err = translate_open_error("/dev/ttyACM0", serial.SerialException(errno.EIO, "I/O error"))
    assert type(err) is LinkError and "ttyACM0" in err.message and err.hint
    assert os.strerror(errno.EIO) in err.message


def test_missing_device_and_busy_from_errno(mocker: MockerFixture) -> None:
    mocker.patch("kkt_bridge.link.failures.available_ports", return_value=[])
    assert isinstance(translate_open_error("/dev/x", serial.SerialException(
        errno.ENOENT, "nope")), PortNotFoundError)
    mocker.patch("kkt_bridge.link.failures.find_holders", return_value=[])
    assert isinstance(translate_open_error("/dev/x", serial.SerialException(
        errno.EAGAIN, "Could not exclusively lock port /dev/x")), PortBusyError)


def test_available_ports_include_kkt_names(tmp_path: Path, mocker: MockerFixture) -> None:
    mocker.patch("serial.tools.list_ports.comports",
                 return_value=[mocker.Mock(device="/dev/ttyACM0")])
    (tmp_path / "shtrih-0042").touch()
    assert available_ports(str(tmp_path)) == ["/dev/ttyACM0", str(tmp_path / "shtrih-0042")]


def test_a_connect_time_out_wrapped_by_pyserial_is_said_in_russian() -> None:
    try:
        try:
            raise TimeoutError("timed out")
        except TimeoutError as inner:
            raise serial.SerialException(
                f"Could not open port socket://10.9.9.9:5555: {inner}") from None
    except serial.SerialException as wrapped:
        wrapped.__context__ = TimeoutError("timed out")  # what pyserial's raise leaves
        err = tcp_failure("socket://10.9.9.9:5555", wrapped)
    assert err.message == "ККТ 10.9.9.9:5555 недоступна по сети"
    assert "Could not open" not in str(err) and "другая программа" in (err.hint or "")
