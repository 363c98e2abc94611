"""The chosen back office, reached by name through :mod:`kkt_bridge.pluginmanager`
(which calls only the owning plugin, checks its answer and scrubs tokens from errors)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    RegisterIdentity,
)
from kkt_bridge.pluginmanager import (
    BackOfficePluginManager,
    call_backoffice,
    require_backoffice,
)


class BackOffice:
    """One back office by its plugin name (``--plugin``)."""

    def __init__(self, pm: BackOfficePluginManager, name: str) -> None:
        self.pm = pm
        self.name = name

    def check_installed(self) -> BackOfficeInfo:
        return require_backoffice(self.pm, self.name)

    def pair(self, endpoint: str | None, code: str, register: RegisterIdentity,
             current: Credentials | None = None) -> Credentials:
        credentials: Credentials = call_backoffice(
            self.pm, "backoffice_pair", backoffice=self.name, endpoint=endpoint, code=code,
            register=register, current=current)
        return credentials

    def check(self, credentials: Credentials) -> bool:
        """Whether the back office still accepts ``credentials`` (it raises when not)."""
        answer: bool = call_backoffice(self.pm, "backoffice_check", backoffice=self.name,
                                       credentials=credentials)
        return answer

    def fetch_catalog(self, credentials: Credentials, since: datetime | None) -> Catalog:
        catalog: Catalog = call_backoffice(
            self.pm, "backoffice_fetch_catalog", backoffice=self.name,
            credentials=credentials, since=since)
        return catalog

    def fetch_employees(self, credentials: Credentials) -> list[Employee]:
        employees: list[Employee] = call_backoffice(
            self.pm, "backoffice_fetch_employees", backoffice=self.name,
            credentials=credentials)
        return list(employees)

    def export_documents(self, credentials: Credentials,
                         documents: Sequence[ExportDocument]) -> list[Ack]:
        acks: list[Ack] = call_backoffice(
            self.pm, "backoffice_export_documents", backoffice=self.name,
            credentials=credentials, documents=documents)
        return list(acks)
