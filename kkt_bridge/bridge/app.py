"""What the bridge's commands share: the store, the plugins, registers by URL, and which
paired register a command means. The module-level functions are the seams tests replace."""

from __future__ import annotations

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _
from kkt_bridge.pluginmanager import BackOfficePluginManager, get_plugin_manager
from kkt_bridge.registers import open_register as open_register  # a seam the tests replace
from kkt_bridge.store import Store, open_store


def plugin_manager() -> BackOfficePluginManager:
    return get_plugin_manager()


def store() -> Store:
    return open_store()


def paired_keys(db: Store, device: str | None = None) -> list[str]:
    """Keys of paired registers (at ``device`` when given), in a stable order."""
    keys = []
    for pairing in db.pairings():
        record = db.get_register(pairing.register_key)
        if device is None or (record is not None and record.device_url == device):
            keys.append(pairing.register_key)
    return keys


def choose_register(db: Store, device: str | None) -> str:
    """The one paired register a command is about: the only one, or the one at ``device``."""
    keys = paired_keys(db, device)
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise ConfigError(
            _("нет ККТ, подключённой к бэк-офису") if device is None else
            _("ККТ на {device} не подключена к бэк-офису").format(device=device),
            _("сначала выполните «kkt-bridge connect --device URL --plugin ИМЯ»"))
    raise ConfigError(_("к бэк-офису подключено несколько ККТ: {keys}").format(
        keys=", ".join(keys)), _("укажите нужную: --device URL"))
