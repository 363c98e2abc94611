"""Turn what the OS and pyserial say into errors a cashier's integrator can act on.

Each builder returns (does not raise) a :mod:`kkt_bridge.errors` LinkError with a Russian
message saying what happened and a hint saying what to do. Drivers use
:func:`link_timeout` and :func:`not_a_register` so those read the same for every vendor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from serial.tools import list_ports

from kkt_bridge.errors import (
    ConnectionRefusedLinkError,
    LinkError,
    LinkTimeoutError,
    NotARegisterError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from kkt_bridge.i18n import _
from kkt_bridge.link.access import node_access
from kkt_bridge.link.holders import find_holders
from kkt_bridge.link.urls import LinkKind, link_kind, network_address

#: where the udev rules put stable names
KKT_DEV_DIR = "/dev/kkt"
LINUX = sys.platform.startswith("linux")
POSIX = os.name == "posix"
INSTALL_UDEV_HINT = "sudo tools/install-udev"

_BUSY = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}
_DENIED = {errno.EACCES, errno.EPERM}
_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO}
#: nothing listens there, or it turned the connection away
REFUSED = {errno.ECONNREFUSED, errno.ECONNRESET}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT}


def available_ports(kkt_dir: str = KKT_DEV_DIR) -> list[str]:
    """Serial ports that exist now, plus the stable /dev/kkt names, for "try one of these"."""
    ports = sorted(p.device for p in list_ports.comports())
    with contextlib.suppress(OSError):  # no udev rules installed: no /dev/kkt
        ports += sorted(str(p) for p in Path(kkt_dir).iterdir())
    return ports


def port_not_found(url: str, ports: list[str] | None = None) -> PortNotFoundError:
    ports = available_ports() if ports is None else ports
    if ports:
        hint = _("доступные порты: {ports}; проверьте кабель и адрес").format(
            ports=", ".join(ports))
    else:
        hint = _("последовательных портов не найдено: подключите ККТ, включите её и "
                 "проверьте кабель; kkt-bridge devices покажет найденные")
    return PortNotFoundError(_("порт {url} не найден").format(url=url), hint)


def port_busy(url: str, node: str | None = None) -> PortBusyError:
    # this process may hold the port itself (an emulator in-process, a second open): the
    # hint names the others, never the program that prints it
    holders = find_holders(node or url, exclude_pid=os.getpid())
    if holders:
        first = holders[0]
        names = ", ".join(map(str, holders))
        return PortBusyError(
            _("порт {url} занят процессом {holders}").format(url=url, holders=names),
            _("закройте кассовую программу или остановите процесс (kill {pid}), "
              "затем повторите").format(pid=first.pid),
            pid=first.pid, process=first.name)
    if not LINUX:  # no /proc to ask, no fuser to suggest
        return PortBusyError(_("порт {url} занят другим процессом").format(url=url),
                             _("закройте программу, которая работает с ККТ, затем повторите"))
    return PortBusyError(
        _("порт {url} занят другим процессом").format(url=url),
        _("закройте программу, которая работает с ККТ (найти её: sudo fuser -v {node}), "
          "затем повторите").format(node=node or url))


def port_permission(url: str, node: str | None = None) -> PortPermissionError:
    path = node or url
    message = _("нет прав на порт {url}").format(url=url)
    try:
        access = node_access(path)
    except OSError:
        return PortPermissionError(message, _("установите правила udev: {cmd}, затем "
                                              "sudo usermod -aG kkt $USER").format(
                                                  cmd=INSTALL_UDEV_HINT))
    if access.in_group_now:
        hint = _("пользователь {user} уже в группе {group}, но прав нет: проверьте режим "
                 "{mode:o} и установите правила udev: {cmd}").format(
                     user=access.user, group=access.group, mode=access.mode,
                     cmd=INSTALL_UDEV_HINT)
    elif access.in_group_db:
        hint = _("пользователь {user} добавлен в группу {group}, но ещё не вошёл заново: "
                 "выйдите из системы и войдите снова").format(user=access.user,
                                                              group=access.group)
    else:
        hint = _("порт принадлежит группе {group}, пользователь {user} в ней не состоит: "
                 "установите правила udev ({cmd}) и выполните sudo usermod -aG kkt $USER, "
                 "затем войдите заново").format(group=access.group, user=access.user,
                                               cmd=INSTALL_UDEV_HINT)
    return PortPermissionError(message, hint)


def link_timeout(url: str, seconds: float, what: str | None = None) -> LinkTimeoutError:
    """Nothing (or not enough) arrived in time. ``what`` names the awaited answer."""
    subject = what or _("ответа")
    return LinkTimeoutError(
        _("не дождались {what} от {url} за {seconds:g} с").format(
            what=subject, url=url, seconds=seconds),
        _("проверьте, что ККТ включена и кабель подключён; если скорость порта задана "
          "вручную, проверьте её (kkt-bridge devices найдёт верную)"))


def not_a_register(url: str, detail: str | None = None) -> NotARegisterError:
    message = _("на {url} отвечает не ККТ").format(url=url)
    if detail:
        message += f" ({detail})"
    return NotARegisterError(
        message,
        _("укажите порт ККТ: kkt-bridge devices покажет найденные регистраторы"))


def tcp_failure(url: str, exc: BaseException | None,
                default_port: int | None = None) -> LinkError:
    """``default_port``: the port the driver's registers usually listen on, for the hint."""
    host, port = network_address(url)
    where = f"{host}:{port}" if port is not None else host
    if in_chain(exc, socket.gaierror):
        return LinkError(_("имя {host} не найдено").format(host=host),
                         _("проверьте имя ККТ в сети или укажите её IP-адрес"))
    code = errno_of(exc)
    if code in REFUSED:
        if default_port is not None and default_port != port:
            hint = _("проверьте адрес и порт (обычно {port}) и что ККТ не занята другой "
                     "программой").format(port=default_port)
        else:
            hint = _("проверьте адрес и порт и что ККТ не занята другой программой")
        return ConnectionRefusedLinkError(
            _("ККТ {where} отказала в соединении").format(where=where), hint)
    if code in _UNREACHABLE or in_chain(exc, TimeoutError):
        # pyserial re-raises a connect time-out as a SerialException in English, with the
        # TimeoutError as its context: found there, not shown to the user as is
        return LinkError(_("ККТ {where} недоступна по сети").format(where=where),
                         _("проверьте, что ККТ включена и подключена к сети, её IP-адрес и "
                           "что с ней не работает другая программа (сетевая ККТ часто "
                           "принимает одно подключение)"))
    return LinkError(_("не удалось подключиться к ККТ {where}: {reason}").format(
        where=where, reason=_reason(exc)), _("проверьте адрес и сеть"))


def refused_everywhere(url: str, tried: Iterable[tuple[str, str, int | None]]
                       ) -> ConnectionRefusedLinkError:
    """Every protocol asked at ``url`` was turned away. ``tried``: each protocol's title,
    the URL it tried and the port its registers usually listen on. Without a port in
    ``url`` each tried its own, and the message names them all."""
    tried = list(tried)
    host, port = network_address(url)
    if port is not None:
        where = f"{host}:{port}"
    else:
        ports = ", ".join(dict.fromkeys(str(network_address(target)[1]) for _t, target, _p
                                        in tried))
        where = _("{host} (порты {ports})").format(host=host, ports=ports)
    usual = ", ".join(_("{port} у {protocol}").format(port=usual_port, protocol=_(title))
                      for title, _target, usual_port in tried if usual_port is not None)
    hint = (_("проверьте адрес и порт (обычно {ports}) и что ККТ не занята другой "
              "программой").format(ports=usual) if usual and port is not None
            else _("проверьте адрес и что ККТ не занята другой программой"))
    return ConnectionRefusedLinkError(
        _("ККТ {where} отказала в соединении").format(where=where), hint)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what caused it, at most 10 deep: a cyclic ``__context__`` must not hang."""
    for _depth in range(10):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__


def in_chain(exc: BaseException | None, kind: type[BaseException]) -> bool:
    return any(isinstance(link, kind) for link in _chain(exc))


def errno_of(exc: BaseException | None) -> int | None:
    """The first errno in the exception chain: pyserial often wraps the OSError it got."""
    for link in _chain(exc):
        code = getattr(link, "errno", None)
        if isinstance(code, int):
            return code
        if isinstance(link, OSError) and link.args and isinstance(link.args[0], int):
            return link.args[0]
    return None


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "?"
    code = errno_of(exc)
    return os.strerror(code) if code is not None else str(exc)


def translate_open_error(url: str, exc: BaseException,
                         default_port: int | None = None) -> LinkError:
    """The LinkError for a failed open of ``url`` (``default_port``: see :func:`tcp_failure`)."""
    kind = link_kind(url)
    if kind in (LinkKind.SOCKET, LinkKind.RFC2217):
        return tcp_failure(url, exc, default_port)
    code = errno_of(exc)
    node = os.path.realpath(url) if kind is LinkKind.DEVICE else None
    if code in _MISSING:
        return port_not_found(url)
    if code in _DENIED:
        # Windows opens a COM port for one program only: "access denied" means "in use"
        return port_permission(url, node) if POSIX else port_busy(url, node)
    if code in _BUSY or "exclusively lock" in str(exc):
        return port_busy(url, node)
    return LinkError(_("не удалось открыть порт {url}: {reason}").format(
        url=url, reason=_reason(exc)),
        _("проверьте адрес порта; kkt-bridge devices покажет найденные ККТ"))
