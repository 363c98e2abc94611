"""The back-office plugin API: pluggy hookspecs, documented where they are declared.

A back-office plugin is any module or object with ``@hookimpl`` functions, registered under
the entry-point group ``kkt_bridge.backoffice`` (the marker's project name is the same).
The built-in ``reference`` and ``moysklad`` plugins register exactly that way.

Answer hooks are ``firstresult``: the bridge passes the chosen back office's name as
``backoffice`` and every plugin that is not that back office returns ``None``. This is the
pytest convention (``pytest_pycollect_makeitem``) and lets one process hold several back
offices. Event hooks are broadcast to every plugin and their results are ignored.

Errors: raise :class:`kkt_bridge.errors.PairingError` for a bad sync code,
:class:`~kkt_bridge.errors.AuthenticationError` for revoked credentials, and
:class:`~kkt_bridge.errors.BackOfficeError` (``retryable=True`` and ``retry_after`` where the
server said so) for everything else. Never put a token into an exception message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pluggy

from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    RegisterIdentity,
)

PROJECT = "kkt_bridge.backoffice"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- description -------------------------------------------------------------------------


@hookspec
def backoffice_info() -> BackOfficeInfo:  # type: ignore[empty-body]
    """Describe this back office: its ``name`` (what users pass as ``--plugin``), a title
    and the default endpoint URL if it has one. Every plugin answers; the bridge collects
    the list for ``kkt-bridge plugins`` and to check a ``--plugin`` name."""


# --- answers (firstresult) ---------------------------------------------------------------


@hookspec(firstresult=True)
def backoffice_pair(  # type: ignore[empty-body]
    backoffice: str, endpoint: str | None, code: str, register: RegisterIdentity,
    current: Credentials | None,
) -> Credentials | None:
    """Exchange a one-time sync code for credentials.

    ``code`` is what the user typed (strip it, compare case-insensitively where the vendor
    allows). ``register`` identifies the register, so the back office binds the pairing to
    it. Return the credentials to store; raise ``PairingError`` when the code is unknown,
    expired or already used. Must not change anything on the back office when it fails.

    ``current`` is what this installation holds from an earlier pairing of the same
    register with the same back office («Настроить подключение»), else None (a first
    pairing, or a reinstall, which lost them). A back office that refuses to let a code take
    over a paired register takes them as proof that the bridge re-pairing is the one that
    paired it. An implementation that has no use for them simply leaves the argument out.
    """


@hookspec(firstresult=True)
def backoffice_check(  # type: ignore[empty-body]
    backoffice: str, credentials: Credentials
) -> bool | None:
    """Return True when the credentials are still accepted; raise ``AuthenticationError``
    when they were revoked and ``BackOfficeError`` when the back office cannot be reached."""


@hookspec(firstresult=True)
def backoffice_fetch_catalog(  # type: ignore[empty-body]
    backoffice: str, credentials: Credentials, since: datetime | None
) -> Catalog | None:
    """Fetch goods and goods groups for the paired shop.

    With ``since=None`` return the whole catalog (``complete=True``). With a timestamp, a
    plugin whose vendor supports it may return only what changed (``complete=False``);
    one that cannot returns the whole catalog. Prices in kopecks; group parents refer to ids
    of groups in the same answer or already known.
    """


@hookspec(firstresult=True)
def backoffice_fetch_employees(  # type: ignore[empty-body]
    backoffice: str, credentials: Credentials
) -> list[Employee] | None:
    """Fetch the employees (cashiers) of the paired shop, all of them."""


@hookspec(firstresult=True)
def backoffice_export_documents(  # type: ignore[empty-body]
    backoffice: str, credentials: Credentials, documents: Sequence[ExportDocument]
) -> list[Ack] | None:
    """Deliver a batch of fiscal documents, in ФД order, and acknowledge each one.

    Return one :class:`Ack` per document, in the same order. The back office must be
    idempotent on ``document.key`` (ФН number + ФД number): a document it already stored is
    acknowledged with ``duplicate=True`` and not stored again. The bridge moves its export
    cursor only past the longest accepted prefix, so acknowledge honestly. Raise
    ``BackOfficeError`` when nothing could be delivered.

    The core holds every answer to a typed schema (:func:`kkt_bridge.acks.check_acks`):
    a list of exactly one ``Ack`` per document, in order, ``key`` equal to the key sent,
    ``accepted`` and ``duplicate`` real booleans (not ``"false"``, not ``1``), ``error`` a
    string or None, a duplicate always accepted. Anything else is an
    :class:`~kkt_bridge.errors.AcknowledgementError`: a back-office error that moves no
    cursor, retried later. A plugin reading JSON acknowledgements can use
    :func:`kkt_bridge.acks.acks_from_json`, and :func:`kkt_bridge.httpjson.fetch` /
    :func:`~kkt_bridge.httpjson.loads` to read answers within a size and depth cap.
    """


# --- events (broadcast) ------------------------------------------------------------------


@hookspec
def kkt_connect_prompt(register: RegisterIdentity, reason: str) -> None:
    """The register needs pairing: it just became registered, it is registered but not
    paired, a new ФН appeared, or it was re-registered. UIs show «Подключить ККТ»."""


@hookspec
def kkt_registered(register: RegisterIdentity) -> None:
    """The register went from not registered to registered (fiscalized)."""


@hookspec
def kkt_job_finished(register: RegisterIdentity, job: str, summary: dict[str, int]) -> None:
    """A sync job (``goods``, ``employees``, ``documents``) finished successfully."""


@hookspec
def kkt_job_failed(register: RegisterIdentity, job: str, error: str) -> None:
    """A sync job failed; ``error`` is the user-facing message (no secrets)."""


@hookspec
def kkt_link_changed(url: str, present: bool, register_key: str | None) -> None:
    """The register's port at ``url`` was plugged in (``present``) or unplugged (hot-plug);
    ``register_key`` is the register last seen there, None when none was seen yet."""
