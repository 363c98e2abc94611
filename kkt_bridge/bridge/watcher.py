"""The watcher: looks at each register and raises the connect prompt when pairing is due.

Each poll reads identity, registration, ФН number and last ФД. The prompt
(``kkt_connect_prompt``, and «Подключить ККТ» in the interactive CLI) is raised when
- the register becomes registered (also ``kkt_registered``);
- a registered register is found that is not paired;
- a new ФН appears, or the register is re-registered.
What the watcher saw is kept in the store, so a restart recognises a change that happened
while the bridge was down and does not prompt again for one already handled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kkt_bridge.bridge.registers import Observation, observe
from kkt_bridge.bridge.scheduler import RegisterLink
from kkt_bridge.errors import KktBridgeError, LinkError
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.i18n import _
from kkt_bridge.pluginmanager import BackOfficePluginManager, notify
from kkt_bridge.store import Store

log = logging.getLogger(__name__)

REGISTERED = "registered"
NOT_PAIRED = "not_paired"
NEW_FN = "new_fn"
REREGISTERED = "reregistered"

REASON_TEXT = {
    REGISTERED: "ККТ зарегистрирована",
    NOT_PAIRED: "ККТ не подключена к бэк-офису",
    NEW_FN: "в ККТ новый ФН",
    REREGISTERED: "ККТ перерегистрирована",
}


@dataclass(frozen=True)
class Prompt:
    """«Подключить ККТ»: the register at ``url`` needs pairing, and why."""

    url: str
    register_key: str
    register: RegisterIdentity
    reason: str

    @property
    def reason_text(self) -> str:
        return _(REASON_TEXT[self.reason])


class Watcher:
    def __init__(self, store: Store, pm: BackOfficePluginManager, *,
                 on_prompt: Callable[[Prompt], None] | None = None) -> None:
        self.store = store
        self.pm = pm
        self.on_prompt = on_prompt
        self._last: dict[str, Observation] = {}
        self._errors: dict[str, str] = {}
        # one prompt per register key and registration, whatever the reason
        self._prompted: set[tuple[str, int | None]] = set()

    def last(self, url: str) -> Observation | None:
        return self._last.get(url)

    def last_error(self, url: str) -> str | None:
        """Why the last poll of ``url`` saw nothing (None when it saw the register)."""
        return self._errors.get(url)

    def poll(self, link: RegisterLink) -> Observation | None:
        """Look at the register once; None when it cannot be reached right now."""
        try:
            observation = observe(link.kkt())
        except LinkError as exc:
            log.info("register at %s not reachable: %s", link.url, exc)
            self._errors[link.url] = str(exc)
            link.drop()
            return None
        except KktBridgeError as exc:
            log.warning("register at %s: %s", link.url, exc)
            self._errors[link.url] = str(exc)
            return None
        self._errors.pop(link.url, None)
        previous = self._last.get(link.url)
        self._last[link.url] = observation
        reason = self._reason(previous, observation)
        record = observation.record(link.url)
        if observation.identity.fn_number is not None and record != self.store.get_register(
                observation.key):
            self.store.save_register(record)
        if reason is not None:
            self._raise(link.url, observation, reason)
        return observation

    def _reason(self, previous: Observation | None, now: Observation) -> str | None:
        if not now.registered or now.registration is None:
            return None
        stored = self.store.get_register(now.key)
        if previous is not None and not previous.registered:
            return REGISTERED
        if stored is not None and stored.registration_fd is None:
            return REGISTERED  # seen unregistered before the bridge restarted
        if stored is not None and stored.registration_fd != now.registration.fd_number:
            return REREGISTERED
        if previous is not None and previous.key != now.key:
            return NEW_FN
        if stored is None and any(r.serial == now.identity.serial
                                  for r in self.store.registers()):
            return NEW_FN
        if self.store.get_pairing(now.key) is None:
            return NOT_PAIRED
        return None

    def _raise(self, url: str, observation: Observation, reason: str) -> None:
        registration_fd = observation.registration.fd_number if observation.registration else None
        marker = (observation.key, registration_fd)
        if marker in self._prompted:
            return
        self._prompted.add(marker)
        register = observation.register_identity(self.store.installation_id)
        prompt = Prompt(url=url, register_key=observation.key, register=register, reason=reason)
        self.store.log_event(observation.key, "connect_prompt", prompt.reason_text, reason=reason)
        log.info("connect prompt for %s at %s: %s", observation.key, url, reason)
        if reason == REGISTERED:
            notify(self.pm, "kkt_registered", register=register)
        notify(self.pm, "kkt_connect_prompt", register=register, reason=reason)
        if self.on_prompt is not None:
            self.on_prompt(prompt)
