"""Where a command's dialogue runs: in the running daemon (through its local API), or here.

``kkt-bridge connect``, ``settings``, ``sync now``, ``status`` and ``goods`` call the same methods
either way (:class:`Dialogues`): a :class:`~kkt_bridge.web.client.DaemonClient` when a
daemon serves the store, so the register is reached only through its one owner, else
:class:`~kkt_bridge.bridge.actions.Actions` over the store and the port, as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from kkt_bridge.bridge import app
from kkt_bridge.bridge.actions import (
    CatalogView,
    Connected,
    GoodInput,
    GoodView,
    GroupInput,
    GroupView,
    PromptView,
    RegisterStatus,
    SettingsChange,
    SettingsPlan,
    SettingsSaved,
    SettingsView,
    SyncProgress,
    SyncResult,
)
from kkt_bridge.kkt import Kkt
from kkt_bridge.registers import answering, recorded_drivers, recorded_opener
from kkt_bridge.store import Store
from kkt_bridge.store.paths import data_dir, db_files, db_path


class Dialogues(Protocol):
    def check_backoffice(self, plugin: str | None,
                         endpoint: str | None) -> tuple[str, str | None]: ...

    def connect(self, device_url: str, code: str, *, plugin: str | None = None,
                endpoint: str | None = None) -> Connected: ...

    def choose_register(self, device: str | None = None) -> str: ...

    def prompts(self) -> list[PromptView]: ...

    def choose_device(self, device: str | None = None) -> str: ...

    def settings(self, register_key: str) -> SettingsView: ...

    def preview_settings(self, register_key: str, change: SettingsChange) -> SettingsPlan: ...

    def apply_settings(self, register_key: str, change: SettingsChange,
                       confirmation: str | None = None) -> SettingsSaved: ...

    def status(self, device_url: str | None = None, *, register_key: str | None = None,
               fresh: bool = False) -> RegisterStatus: ...

    def sync_now(self, register_key: str | None = None, *, device: str | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None) -> SyncResult: ...

    def catalog(self, register_key: str) -> CatalogView: ...

    def add_good(self, register_key: str, good: GoodInput) -> GoodView: ...

    def edit_good(self, register_key: str, good_id: str, good: GoodInput) -> GoodView: ...

    def delete_good(self, register_key: str, good_id: str) -> None: ...

    def add_group(self, register_key: str, group: GroupInput) -> GroupView: ...

    def edit_group(self, register_key: str, group_id: str, group: GroupInput) -> GroupView: ...

    def delete_group(self, register_key: str, group_id: str) -> None: ...


@contextmanager
def dialogues(*, keep_new_store: bool = True, transient: bool = False,
              opener: Callable[[str], Kkt] | None = None,
              driver: str | None = None,
              open_fn: Callable[..., Kkt] | None = None,
              name_wrong_driver: bool = False) -> Iterator[Dialogues]:
    """The running daemon's API, or the actions here. ``keep_new_store=False``: a store
    this command creates is removed again when the command fails (a failed ``connect``
    leaves nothing behind); ``transient``: removed in any case (``status`` of a register the
    bridge does not know creates no store just to say so). ``opener``: how this command
    opens a register when no daemon runs (default: ``open_fn``, else
    :func:`kkt_bridge.bridge.app.open_register`, through ``driver`` when given, else the
    driver that answers a probe, the one the store recorded for that URL asked first). A
    running daemon knows each register's driver itself. ``name_wrong_driver``: a register
    opened through ``driver`` that does not answer is refused at once with the protocol
    that does answer there (:func:`kkt_bridge.registers.answering`)."""
    from kkt_bridge.web.instance import running_daemon

    directory = data_dir()
    daemon = running_daemon(directory) if directory.is_dir() else None
    if daemon is not None:
        from kkt_bridge.web.client import DaemonClient

        with DaemonClient(daemon) as client:
            yield client
        return
    from kkt_bridge.bridge.access import DirectAccess
    from kkt_bridge.bridge.actions import Actions

    existed = db_path().exists()
    directory_existed = directory.exists()
    db = app.store()
    failed = False
    try:
        yield Actions(db, app.plugin_manager(),
                      DirectAccess(db.lock_dir, opener or _opener(driver, db, open_fn,
                                                                name_wrong_driver)))
    except BaseException:
        failed = True
        raise
    finally:
        db.close()
        if not existed and (transient or (failed and not keep_new_store)):
            if directory_existed:
                for file in db_files(db_path()):
                    file.unlink(missing_ok=True)
            else:
                shutil.rmtree(directory, ignore_errors=True)


def _opener(driver: str | None, db: Store,
            open_fn: Callable[..., Kkt] | None = None,
            name_wrong_driver: bool = False) -> Callable[[str], Kkt]:
    def do_open(url: str, **options: Any) -> Kkt:
        # looked up at each call: app.open_register is a seam the tests replace
        return (open_fn or app.open_register)(url, **options)

    if driver is not None and name_wrong_driver:
        return lambda url: answering(lambda: do_open(url, driver=driver), url, driver)
    if driver is not None:
        return lambda url: do_open(url, driver=driver)
    return recorded_opener(lambda: recorded_drivers(db.registers()), do_open)
