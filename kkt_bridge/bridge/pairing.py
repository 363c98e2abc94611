"""«Подключить ККТ» / «Настроить подключение»: a sync code becomes a stored pairing.

Nothing is written until the back office accepted the code, and the new pairing replaces the
old one in the same transaction, so a failed re-pairing leaves the working one in place.
"""

from __future__ import annotations

import logging

from kkt_bridge.bridge.backoffice import BackOffice
from kkt_bridge.bridge.registers import observe, require_registered
from kkt_bridge.errors import KktBridgeError, PairingError
from kkt_bridge.exchange import Credentials
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import Pairing, Store

log = logging.getLogger(__name__)

CONNECTED = "Соединение установлено"


def pair(store: Store, pm: BackOfficePluginManager, kkt: Kkt, *, plugin: str,
         code: str, endpoint: str | None = None, device_url: str | None = None) -> Pairing:
    """Pair the register with back office ``plugin`` by the one-time ``code``.

    Raises PairingError (wrong, expired or used code) with nothing stored."""
    code = code.strip()
    if not code:
        raise PairingError(_("код синхронизации не введён"),
                           _("получите код синхронизации для кассы в бэк-офисе и введите его"))
    backoffice = BackOffice(pm, plugin)
    info = backoffice.check_installed()
    observation = observe(kkt)
    require_registered(observation)
    register = observation.register_identity(store.installation_id)
    key = observation.key
    credentials = backoffice.pair(endpoint or info.default_endpoint, code, register,
                                  current_credentials(store, key, plugin))
    with store.transaction():
        store.save_register(observation.record(device_url))
        store.save_pairing(key, credentials)
        store.log_event(key, "paired", _(CONNECTED), backoffice=plugin,
                        account=credentials.account, shop=credentials.shop)
    log.info("register %s paired with %s (%s / %s)", key, plugin, credentials.account,
             credentials.shop)
    pairing = store.get_pairing(key)
    assert pairing is not None
    return pairing


def current_credentials(store: Store, key: str, plugin: str) -> Credentials | None:
    """The credentials an earlier pairing of this register with ``plugin`` left, as proof
    for the back office that this bridge is the one re-pairing; None when there are none or
    the stored row cannot be read (the user is re-pairing to mend exactly that)."""
    try:
        pairing = store.get_pairing(key)
    except KktBridgeError:
        return None
    if pairing is None or pairing.credentials.backoffice != plugin:
        return None
    return pairing.credentials
