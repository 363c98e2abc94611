"""``kkt-bridge doctor``: what stands between this computer and a working register.

Each check is a small function returning :class:`Finding` s (level, title, what to do),
fed with plain values or injectable callables so every check is testable without
hardware. :func:`run_checks` strings them together for the CLI.

Back-office reachability is a hook: :func:`check_backoffice` takes a callable that tries
the paired back office with the stored credentials. The CLI builds one per paired register
from the store (:class:`PairedBackOffice`, checked by :func:`check_paired_backoffices`);
:func:`set_backoffice_ping` wires a single one in by hand. Without any, the check says it
was not run.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from kkt_bridge.driverapi import ProbeResult
from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    ConfigError,
    KktBridgeError,
    LinkError,
)
from kkt_bridge.filelocks import lock, unlock
from kkt_bridge.i18n import _
from kkt_bridge.kkt import FnLifecycle, FnStatus, Kkt, OfdQueue
from kkt_bridge.link.access import NodeAccess, current_user, node_access
from kkt_bridge.link.failures import INSTALL_UDEV_HINT, available_ports, port_permission
from kkt_bridge.link.holders import Holder, find_holders
from kkt_bridge.link.udev_rules import parse_rules
from kkt_bridge.link.urls import LinkKind, has_speed, link_kind

#: device groups, udev rules and the /dev nodes they make are Linux's; elsewhere (Windows,
#: where pyserial opens COM3) those checks say they were skipped
LINUX = sys.platform.startswith("linux")
GROUP = "kkt"
RULES_NAME = "70-kkt-bridge.rules"
RULES_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d", "/usr/lib/udev/rules.d",
              "/lib/udev/rules.d")
#: the rules file shipped with the source tree (absent in a wheel install)
PACKAGED_RULES = Path(__file__).resolve().parent.parent / "udev" / RULES_NAME

CLOCK_TOLERANCE = timedelta(minutes=2)
FN_EXPIRY_WARNING = timedelta(days=30)
#: the ФН blocks fiscal documents when one waits for the OFD this long (54-ФЗ)
OFD_BLOCK_AFTER = timedelta(days=30)
OFD_LATE_AFTER = timedelta(days=1)


class Level(enum.IntEnum):
    OK = 0
    INFO = 1  # a fact, or a check that could not run: nothing to fix
    WARNING = 2  # works now, will not for long, or works by luck
    ERROR = 3  # does not work

    @property
    def is_problem(self) -> bool:
        return self >= Level.WARNING


@dataclass(frozen=True)
class Finding:
    level: Level
    title: str
    what_to_do: str | None = None
    check: str = ""  # which check said it: "port-access", "fn-expiry" ...

    def as_json(self) -> dict[str, str | None]:
        return {"level": self.level.name.lower(), "check": self.check, "title": self.title,
                "what_to_do": self.what_to_do}


def has_problems(findings: Iterable[Finding]) -> bool:
    return any(f.level.is_problem for f in findings)


# --- the computer -------------------------------------------------------------------------


def check_group_membership(group: str = GROUP, *, user: str | None = None,
                           groups_now: Sequence[int] | None = None,
                           uid: int | None = None) -> list[Finding]:
    """The group exists and the current user (or root) is in it, in this login too."""
    if not LINUX:
        return [Finding(Level.INFO, _("группы доступа к портам есть только в Linux: "
                                      "проверка пропущена"), check="group")]
    import grp

    uid = os.geteuid() if uid is None else uid
    user = user or current_user()
    if uid == 0:
        return [Finding(Level.OK, _("работа от root: доступ к портам есть"), check="group")]
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return [Finding(Level.WARNING, _("группы {group} нет").format(group=group),
                        _("установите правила udev: {cmd}").format(cmd=INSTALL_UDEV_HINT),
                        check="group")]
    now = set(os.getgroups() if groups_now is None else groups_now)
    if entry.gr_gid in now:
        return [Finding(Level.OK, _("пользователь {user} в группе {group}").format(
            user=user, group=group), check="group")]
    if user in entry.gr_mem:
        return [Finding(Level.WARNING, _("пользователь {user} добавлен в группу {group}, но "
                                         "вход в систему был раньше").format(
                                             user=user, group=group),
                        _("выйдите из системы и войдите снова"), check="group")]
    return [Finding(Level.ERROR, _("пользователь {user} не в группе {group}").format(
        user=user, group=group),
        _("sudo usermod -aG {group} {user}, затем войдите заново").format(
            group=group, user=user), check="group")]


def find_installed_rules(dirs: Iterable[str | os.PathLike[str]] = RULES_DIRS,
                         name: str = RULES_NAME) -> Path | None:
    for directory in dirs:
        path = Path(directory) / name
        if path.is_file():
            return path
    return None


def check_udev_rules(dirs: Iterable[str | os.PathLike[str]] = RULES_DIRS, *,
                     packaged: Path | None = PACKAGED_RULES) -> list[Finding]:
    """The rules are installed, parse, and match the ones this version ships."""
    if not LINUX:
        return [Finding(Level.INFO, _("правила udev есть только в Linux: проверка пропущена"),
                        check="udev")]
    installed = find_installed_rules(dirs)
    if installed is None:
        return [Finding(Level.WARNING, _("правила udev kkt-bridge не установлены"),
                        _("выполните {cmd}, затем переподключите ККТ").format(
                            cmd=INSTALL_UDEV_HINT), check="udev")]
    try:
        text = installed.read_text(encoding="utf-8")
        parse_rules(text)
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        return [Finding(Level.ERROR, _("правила udev {path} повреждены: {reason}").format(
            path=installed, reason=exc), _("установите их заново: {cmd}").format(
                cmd=INSTALL_UDEV_HINT), check="udev")]
    if packaged is not None and packaged.is_file() and \
            packaged.read_text(encoding="utf-8") != text:
        return [Finding(Level.WARNING, _("правила udev {path} устарели").format(path=installed),
                        _("обновите их: {cmd}").format(cmd=INSTALL_UDEV_HINT), check="udev")]
    return [Finding(Level.OK, _("правила udev установлены: {path}").format(path=installed),
                    check="udev")]


# --- the port ---------------------------------------------------------------------------


def check_port_access(url: str, *,
                      access: Callable[[str], NodeAccess] = node_access,
                      can_open: Callable[[str], bool] | None = None,
                      ports: Callable[[], list[str]] = available_ports) -> list[Finding]:
    """The node exists, this user may open it, and it is not open to everybody."""
    if link_kind(url) is not LinkKind.DEVICE or not LINUX:
        return []  # elsewhere a port has no group or mode: opening it is the check
    try:
        info = access(url)
    except OSError:
        known = ports()
        hint = (_("доступные порты: {ports}").format(ports=", ".join(known)) if known
                else _("подключите ККТ и проверьте кабель"))
        return [Finding(Level.ERROR, _("порт {url} не найден").format(url=url), hint,
                        check="port-access")]
    can_open = can_open or (lambda path: os.access(path, os.R_OK | os.W_OK))
    findings: list[Finding] = []
    if not can_open(url):
        err = port_permission(url, os.path.realpath(url))
        findings.append(Finding(Level.ERROR, err.message, err.hint, check="port-access"))
    else:
        findings.append(Finding(Level.OK, _("доступ к порту {url} есть (группа {group}, "
                                            "права {mode:o})").format(
                                                url=url, group=info.group, mode=info.mode),
                                check="port-access"))
    if info.other_can_write:
        findings.append(Finding(Level.WARNING, _("порт {url} открыт на запись всем "
                                                 "(права {mode:o})").format(
                                                     url=url, mode=info.mode),
                                _("установите правила udev, они дают доступ только группе "
                                  "kkt: {cmd}").format(cmd=INSTALL_UDEV_HINT),
                                check="port-access"))
    elif info.group != GROUP and not url.startswith("/dev/pts/"):
        findings.append(Finding(Level.INFO, _("порт {url} принадлежит группе {group}, "
                                              "а не kkt").format(url=url, group=info.group),
                                _("правила udev kkt-bridge к нему не применились: "
                                  "{cmd}").format(cmd=INSTALL_UDEV_HINT),
                                check="port-access"))
    return findings


def port_locked(path: str) -> bool:
    """Whether another program holds the port's exclusive lock (as pyserial takes it on
    POSIX; Windows opens a COM port for one program only, so there an open fails instead and
    the speed check reports it)."""
    if os.name != "posix":
        return False
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False  # missing or forbidden: the access check reports that
    try:
        if not lock(fd, blocking=False):
            return True
        unlock(fd)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def check_port_busy(url: str, *, holders: Callable[[str], list[Holder]] | None = None,
                    locked: Callable[[str], bool] = port_locked,
                    own_pid: int | None = None) -> list[Finding]:
    """Nobody else has the port open (a second program garbles both conversations).

    A pseudo-terminal's slave is routinely held open by the program on its master side
    (an emulator); there only a held lock means "busy"."""
    if link_kind(url) is not LinkKind.DEVICE:
        return []
    own_pid = os.getpid() if own_pid is None else own_pid
    found = (holders or (lambda path: find_holders(path)))(url)
    others = [h for h in found if h.pid != own_pid]
    is_locked = locked(url)
    if not others and not is_locked:
        return [Finding(Level.OK, _("порт {url} свободен").format(url=url), check="port-busy")]
    names = ", ".join(str(h) for h in others) or _("другим процессом")
    if not is_locked and os.path.realpath(url).startswith("/dev/pts/"):
        return [Finding(Level.INFO, _("псевдотерминал {url} открыт и процессом {holders} "
                                      "(другая сторона)").format(url=url, holders=names),
                        check="port-busy")]
    title = _("порт {url} занят процессом {holders}").format(url=url, holders=names)
    if others and all(h.name.startswith("kkt-bridge") for h in others):
        hint = _("это служба kkt-bridge; для проверки ККТ остановите её: "
                 "sudo systemctl stop kkt-bridge")
    elif others:
        hint = _("закройте эту программу (kill {pid}): с ККТ может работать только "
                 "одна программа").format(pid=others[0].pid)
    else:
        hint = _("закройте программу, которая работает с ККТ (найти её: sudo fuser -v "
                 "{url})").format(url=url)
    return [Finding(Level.ERROR, title, hint, check="port-busy")]


def check_speed(url: str, configured: int | None,
                probe: Callable[[str], ProbeResult | None]) -> tuple[list[Finding],
                                                                     ProbeResult | None]:
    """Find the register's speed; a configured speed that differs is a problem."""
    try:
        found = probe(url)
    except LinkError as exc:
        return [Finding(Level.ERROR, exc.message, exc.hint, check="speed")], None
    if found is None:
        return [Finding(Level.ERROR, _("на {url} ККТ не отвечает").format(url=url),
                        _("проверьте, что ККТ включена и это её порт; kkt-bridge devices "
                          "покажет найденные"), check="speed")], None
    what = _("{model} № {serial}").format(model=found.model, serial=found.serial or "?")
    if not has_speed(url) or found.baudrate is None:
        return [Finding(Level.OK, _("ККТ отвечает: {what}").format(what=what),
                        check="speed")], found
    if configured is not None and configured != found.baudrate:
        return [Finding(Level.ERROR, _("ККТ отвечает на скорости {found}, а настроена "
                                       "{configured}").format(found=found.baudrate,
                                                              configured=configured),
                        _("укажите скорость {found} в настройках или переключите ККТ на "
                          "{configured}").format(found=found.baudrate, configured=configured),
                        check="speed")], found
    return [Finding(Level.OK, _("ККТ отвечает на скорости {speed}: {what}").format(
        speed=found.baudrate, what=what), check="speed")], found


# --- the register -------------------------------------------------------------------------


def _naive_local(moment: datetime) -> datetime:
    # registers keep wall-clock time without a zone; compare in the host's local time
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _minutes(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes >= 48 * 60:
        return _("{days} дн {hours} ч").format(days=minutes // 1440,
                                              hours=minutes % 1440 // 60)
    if minutes >= 120:
        return _("{hours} ч {minutes} мин").format(hours=minutes // 60, minutes=minutes % 60)
    return _("{minutes} мин").format(minutes=minutes)


def check_clock(register_clock: datetime | None, now: datetime,
                tolerance: timedelta = CLOCK_TOLERANCE) -> list[Finding]:
    if register_clock is None:
        return [Finding(Level.INFO, _("ККТ не сообщает время"), check="clock")]
    skew = _naive_local(register_clock) - _naive_local(now)
    if abs(skew) <= tolerance:
        return [Finding(Level.OK, _("часы ККТ верны"), check="clock")]
    title = (_("часы ККТ спешат на {delta}") if skew > timedelta(0)
             else _("часы ККТ отстают на {delta}")).format(delta=_minutes(skew))
    return [Finding(Level.WARNING, title,
                    _("время в чеках должно быть верным: установите время ККТ после "
                      "закрытия смены и проверьте часы компьютера"), check="clock")]


#: the ФН's own warning flags (FnStatus.warnings); the ФН is the same for every vendor
FN_URGENT_REPLACEMENT = 0x01  # the crypto key expires within 3 days
FN_RESOURCE_EXHAUSTED = 0x02  # ... within 30 days
FN_MEMORY_FULL = 0x04  # the archive is 90 % full
FN_OFD_TIMEOUT = 0x08  # the OFD has not answered in time


def check_fn(fn: FnStatus, now: datetime,
             warn_before: timedelta = FN_EXPIRY_WARNING) -> list[Finding]:
    """ФН lifecycle, expiry date and the ФН's own warnings (fullness, replacement)."""
    findings: list[Finding] = []
    if fn.lifecycle in (FnLifecycle.CLOSED, FnLifecycle.ARCHIVE):
        findings.append(Finding(Level.ERROR, _("фискальный режим ФН {fn} закрыт").format(
            fn=fn.fn_number), _("замените ФН и перерегистрируйте ККТ"), check="fn"))
    elif not fn.fiscal:
        findings.append(Finding(Level.INFO, _("ФН {fn} ещё не зарегистрирован").format(
            fn=fn.fn_number), check="fn"))
    if fn.valid_until is not None:
        left = _naive_local(fn.valid_until) - _naive_local(now)
        until = fn.valid_until.date().isoformat()
        if left <= timedelta(0):
            findings.append(Finding(Level.ERROR, _("срок ФН истёк {date}").format(date=until),
                                    _("замените ФН и перерегистрируйте ККТ"), check="fn"))
        elif left <= warn_before:
            findings.append(Finding(
                Level.WARNING, _("срок ФН истекает {date}, осталось дней: {days}").format(
                    date=until, days=left.days),
                _("закажите новый ФН и запланируйте замену"), check="fn"))
        else:
            findings.append(Finding(Level.OK, _("ФН действителен до {date}").format(
                date=until), check="fn"))
    flags = [
        (FN_URGENT_REPLACEMENT, Level.ERROR, _("ФН требует срочной замены (осталось до 3 "
                                               "дней)"), _("замените ФН")),
        (FN_RESOURCE_EXHAUSTED, Level.WARNING, _("ресурс ФН заканчивается (до 30 дней)"),
         _("закажите новый ФН")),
        (FN_MEMORY_FULL, Level.WARNING, _("память ФН заполнена на 90%"),
         _("закажите новый ФН; проверьте, что документы уходят в ОФД")),
        (FN_OFD_TIMEOUT, Level.WARNING, _("ОФД долго не отвечает ФН"),
         _("проверьте интернет на ККТ и договор с ОФД")),
    ]
    for bit, level, title, hint in flags:
        if fn.warnings & bit:
            findings.append(Finding(level, title, hint, check="fn"))
    return findings


def check_ofd_queue(queue: OfdQueue, now: datetime) -> list[Finding]:
    """Documents waiting for the OFD; the ФН stops selling after 30 days of waiting."""
    if queue.unsent == 0:
        return [Finding(Level.OK, _("все документы переданы в ОФД"), check="ofd")]
    title = _("документов не передано в ОФД: {count}").format(count=queue.unsent)
    if queue.first_unsent_fd is not None:
        title += _(" (первый ФД {fd})").format(fd=queue.first_unsent_fd)
    hint = _("проверьте интернет на ККТ и настройки ОФД (адрес, порт)")
    if queue.first_unsent_at is None:
        return [Finding(Level.WARNING, title, hint, check="ofd")]
    age = _naive_local(now) - _naive_local(queue.first_unsent_at)
    if age >= OFD_BLOCK_AFTER:
        return [Finding(Level.ERROR, title + _(", ждут с {date}").format(
            date=queue.first_unsent_at.date().isoformat()),
            _("ФН блокирует продажи, если документ не передан в ОФД 30 дней: ") + hint,
            check="ofd")]
    if age >= OFD_LATE_AFTER:
        return [Finding(Level.WARNING, title + _(", ждут с {date}").format(
            date=queue.first_unsent_at.date().isoformat()), hint, check="ofd")]
    return [Finding(Level.OK, title + _(": обычная очередь"), check="ofd")]


def check_register(kkt: Kkt, now: datetime) -> list[Finding]:
    """Clock, ФН and OFD queue of an open register; a failing question is a finding."""
    findings: list[Finding] = []
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("clock", lambda: check_clock(kkt.status().clock, now)),
        ("fn", lambda: check_fn(kkt.fn_status(), now)),
        ("ofd", lambda: check_ofd_queue(kkt.ofd_queue(), now)),
    ]
    for name, step in steps:
        try:
            findings += step()
        except KktBridgeError as exc:
            findings.append(Finding(Level.ERROR, exc.message, exc.hint, check=name))
    return findings


# --- the back office (hook) -------------------------------------------------------------------

#: tries the paired back office with the stored credentials; raises BackOfficeError
BackOfficePing = Callable[[], object]
_backoffice_ping: BackOfficePing | None = None


def set_backoffice_ping(ping: BackOfficePing | None) -> None:
    """Wire the back-office check: ``ping()`` must use the stored pairing (plugin,
    endpoint, credentials) and raise BackOfficeError subclasses on failure."""
    global _backoffice_ping
    _backoffice_ping = ping


def backoffice_ping() -> BackOfficePing | None:
    return _backoffice_ping


def check_backoffice(ping: BackOfficePing | None) -> list[Finding]:
    """Reachability and credentials of the paired back office, through ``ping``."""
    if ping is None:
        return [Finding(Level.INFO, _("проверка бэк-офиса не подключена"), check="backoffice")]
    try:
        ping()
    except AuthenticationError as exc:
        return [Finding(Level.ERROR, exc.message,
                        exc.hint or _("подключите ККТ заново: «Подключить ККТ»"),
                        check="backoffice")]
    except BackOfficeError as exc:
        return [Finding(Level.ERROR, exc.message,
                        exc.hint or _("проверьте интернет и адрес бэк-офиса"),
                        check="backoffice")]
    except KktBridgeError as exc:  # not paired yet, no plugin
        return [Finding(Level.WARNING, exc.message, exc.hint, check="backoffice")]
    return [Finding(Level.OK, _("бэк-офис доступен, ключ принят"), check="backoffice")]


@dataclass(frozen=True)
class PairedBackOffice:
    """One paired register as the store knows it, with a ping of its back office."""

    label: str  # "ШТРИХ-М-01Ф № 0042 → reference (Магазин на Ленина)"
    ping: BackOfficePing
    #: ФД the ФН had when the bridge last looked minus those the back office acknowledged
    unsent: int = 0
    #: the receipts job's last error, when its last run failed
    export_error: str | None = None


def check_paired_backoffices(paired: Sequence[PairedBackOffice]) -> list[Finding]:
    """Reachability and credentials of every paired register's back office, and the
    receipts it has not acknowledged yet."""
    if not paired:
        return [Finding(Level.INFO, _("ни одна ККТ не подключена к бэк-офису"),
                        _("подключите: kkt-bridge connect --device URL --plugin ИМЯ"),
                        check="backoffice")]
    findings: list[Finding] = []
    for register in paired:
        for finding in check_backoffice(register.ping):
            findings.append(replace(finding, title=f"{register.label}: {finding.title}"))
        if register.export_error is not None:
            findings.append(Finding(
                Level.WARNING, _("{label}: не выгружено в бэк-офис ФД: {count}; последняя "
                                 "ошибка: {error}").format(label=register.label,
                                                           count=register.unsent,
                                                           error=register.export_error),
                _("выгрузка продолжится сама; сразу: kkt-bridge sync now"),
                check="backoffice-queue"))
        elif register.unsent:
            findings.append(Finding(
                Level.INFO, _("{label}: ждут выгрузки в бэк-офис ФД: {count}").format(
                    label=register.label, count=register.unsent),
                check="backoffice-queue"))
    return findings


# --- all together ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorEnv:
    """What :func:`run_checks` reaches out to; tests replace any part."""

    probe: Callable[[str], ProbeResult | None]
    open_register: Callable[[str, ProbeResult], Kkt]
    now: Callable[[], datetime] = datetime.now
    rules_dirs: tuple[str, ...] = RULES_DIRS
    holders: Callable[[str], list[Holder]] | None = None
    locked: Callable[[str], bool] = port_locked
    access: Callable[[str], NodeAccess] = node_access
    can_open: Callable[[str], bool] | None = None
    backoffice: BackOfficePing | None = None
    #: every paired register's back office (from the store); None: use ``backoffice``
    paired: Sequence[PairedBackOffice] | None = None


def run_checks(urls: Sequence[str], env: DoctorEnv, *,
               baudrate: int | None = None) -> list[Finding]:
    """Every check: the computer, then each register at ``urls``, then the back office."""
    findings = check_group_membership() + check_udev_rules(env.rules_dirs)
    if not urls:
        findings.append(Finding(Level.WARNING, _("ККТ не найдены"),
                                _("подключите ККТ или укажите --device"), check="devices"))
    from kkt_bridge.share import doctor as share  # it builds on this module

    for url in urls:
        port = check_port_access(url, access=env.access, can_open=env.can_open) + \
            check_port_busy(url, holders=env.holders,
                                                         locked=env.locked)
        port, served = share.review(url, port, holders=env.holders)
        findings += port
        if served:
            continue
        if any(f.level is Level.ERROR for f in port):
            findings.append(Finding(Level.INFO, _("проверки ККТ на {url} пропущены: порт "
                                                  "недоступен").format(url=url),
                                    check="register"))
            continue
        speed, found = check_speed(url, baudrate, env.probe)
        findings += speed
        if found is None:
            continue
        try:
            kkt = env.open_register(url, found)
        except KktBridgeError as exc:
            findings.append(Finding(Level.ERROR, exc.message, exc.hint, check="register"))
            continue
        try:
            findings += check_register(kkt, env.now())
        finally:
            kkt.close()
    if env.paired is not None:
        return findings + check_paired_backoffices(env.paired)
    return findings + check_backoffice(env.backoffice)
