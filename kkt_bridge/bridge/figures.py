"""The figures every window shows, computed once: paired registers, unsent documents.

``status``, the page, ``doctor`` and the metrics all read these functions, so "unsent" is
the same number on the page, in ``kkt-bridge status`` and in ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kkt_bridge.store import RegisterRecord, Store


def paired_registers(store: Store, device: str | None = None) -> list[str]:
    """Keys of paired registers (at ``device`` when given), in the store's order."""
    keys: list[str] = []
    for pairing in store.pairings():
        record = store.get_register(pairing.register_key)
        if device is None or (record is not None and record.device_url == device):
            keys.append(pairing.register_key)
    return keys


def paired_urls(store: Store) -> list[str]:
    """Device URLs of every paired register, each once."""
    urls: list[str] = []
    for key in paired_registers(store):
        record = store.get_register(key)
        if record and record.device_url and record.device_url not in urls:
            urls.append(record.device_url)
    return urls


@dataclass(frozen=True)
class Backlog:
    """Documents of one ФН not yet acknowledged by the back office.

    ``unsent`` counts from the export cursor to the ФН's last ФД (as just read, or as last
    seen); documents already in the outbox are among them, so it is never below ``outbox``.
    """

    fn_number: str
    cursor: int
    last_fd: int | None
    outbox: int
    unsent: int


def backlog(store: Store, fn_number: str, last_fd: int | None = None) -> Backlog:
    cursor = store.get_cursor(fn_number)
    outbox = store.outbox_count(fn_number)
    unsent = max(outbox, (last_fd - cursor) if last_fd is not None else 0, 0)
    return Backlog(fn_number=fn_number, cursor=cursor, last_fd=last_fd, outbox=outbox,
                   unsent=unsent)


def register_backlog(store: Store, record: RegisterRecord,
                     last_fd: int | None = None) -> Backlog:
    """The backlog of a register's current ФН; ``last_fd`` overrides the stored one."""
    return backlog(store, record.fn_number,
                   last_fd if last_fd is not None else record.last_fd_number)


@dataclass(frozen=True)
class Rejection:
    """The document the back office refuses while the export cursor waits at it."""

    fd_number: int
    attempts: int
    error: str | None
    at: float


def rejection(store: Store, register_key: str, fn_number: str,
              cursor: int) -> Rejection | None:
    from kkt_bridge.bridge.export import REJECTED

    event = store.last_event(register_key, REJECTED)
    if event is None or event.data.get("fn_number") != fn_number:
        return None
    fd = int(event.data.get("fd_number", 0))
    if fd <= cursor:
        return None  # accepted since
    return Rejection(fd_number=fd, attempts=int(event.data.get("attempts", 1)),
                     error=event.data.get("error"), at=event.at)


@dataclass(frozen=True)
class ReplacedBacklog:
    """An earlier ФН of a register with documents not yet in the back office."""

    fn_number: str
    cursor: int
    last_fd: int
    outbox: int
    unsent: int
    #: not even read from the ФН yet
    unread: int


def replaced_backlogs(store: Store, record: RegisterRecord) -> list[ReplacedBacklog]:
    out: list[ReplacedBacklog] = []
    for other in store.registers():
        if other.serial != record.serial or other.fn_number == record.fn_number:
            continue
        log = register_backlog(store, other)
        last = max(other.last_fd_number or 0, log.cursor)
        if log.outbox or (last > log.cursor
                          and store.get_pairing(other.register_key) is not None):
            out.append(ReplacedBacklog(fn_number=other.fn_number, cursor=log.cursor,
                                       last_fd=last, outbox=log.outbox,
                                       unsent=last - log.cursor,
                                       unread=max(0, last - log.cursor - log.outbox)))
    return out
