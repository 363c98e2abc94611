"""What the bridge reads off a register to know it: identity, registration, the key."""

from __future__ import annotations

from dataclasses import dataclass

from kkt_bridge.errors import KktBridgeError
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Identity, Kkt, Registration
from kkt_bridge.store import RegisterRecord


@dataclass(frozen=True)
class Observation:
    """One look at a register (the watcher's poll, the pairing's identity)."""

    identity: Identity
    registration: Registration | None
    last_fd_number: int | None

    @property
    def key(self) -> str:
        return self.identity.key

    @property
    def registered(self) -> bool:
        return self.registration is not None and self.identity.fn_number is not None

    def register_identity(self, installation_id: str | None) -> RegisterIdentity:
        reg = self.registration
        return RegisterIdentity(serial=self.identity.serial,
                                fn_number=self.identity.fn_number or "",
                                model=self.identity.model,
                                inn=reg.inn if reg else None, rnm=reg.rnm if reg else None,
                                installation_id=installation_id)

    def record(self, device_url: str | None) -> RegisterRecord:
        reg = self.registration
        return RegisterRecord(register_key=self.key, serial=self.identity.serial,
                              fn_number=self.identity.fn_number or "",
                              model=self.identity.model, device_url=device_url,
                              inn=reg.inn if reg else None, rnm=reg.rnm if reg else None,
                              registration_fd=reg.fd_number if reg else None,
                              last_fd_number=self.last_fd_number,
                              driver=self.identity.protocol)


def observe(kkt: Kkt) -> Observation:
    identity = kkt.identity()
    registration = kkt.registration()
    last_fd = kkt.fn_status().last_fd_number if identity.fn_number else None
    return Observation(identity=identity, registration=registration, last_fd_number=last_fd)


def require_registered(observation: Observation) -> None:
    if observation.identity.fn_number is None:
        raise KktBridgeError(
            _("в ККТ {serial} не установлен ФН").format(serial=observation.identity.serial),
            _("установите фискальный накопитель и зарегистрируйте ККТ"))
    if observation.registration is None:
        raise KktBridgeError(
            _("ККТ {serial} не зарегистрирована").format(serial=observation.identity.serial),
            _("зарегистрируйте ККТ, затем подключите её к бэк-офису"))
