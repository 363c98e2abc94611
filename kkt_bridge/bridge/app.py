"""What the bridge's commands share: the store, the plugins, registers by URL. The
module-level functions are the seams tests replace; which paired register a command means
is :meth:`kkt_bridge.bridge.actions.Actions.choose_register`."""

from __future__ import annotations

from kkt_bridge.pluginmanager import BackOfficePluginManager, get_plugin_manager
from kkt_bridge.registers import open_register as open_register  # a seam the tests replace
from kkt_bridge.store import Store, open_store


def plugin_manager() -> BackOfficePluginManager:
    return get_plugin_manager()


def store() -> Store:
    return open_store()
