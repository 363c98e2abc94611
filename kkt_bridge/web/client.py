"""The CLI's way to a running daemon: the local API, with the answers as the actions' types.

:class:`DaemonClient` offers the methods of :class:`~kkt_bridge.bridge.actions.Actions`
that the commands use, with the same arguments and the same result types, so a command
formats a result the same way whether it ran here or in the daemon. An error body becomes
the project's error of the same kind (same message, hint and exit code).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from kkt_bridge import errors
from kkt_bridge.bridge.actions import (
    CatalogView,
    Connected,
    ConnectOptions,
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
from kkt_bridge.bridge.actions.core import choose_from, pick_backoffice
from kkt_bridge.bridge.locks import LinkBusyError
from kkt_bridge.errors import KktBridgeError, LinkError
from kkt_bridge.i18n import _, language
from kkt_bridge.web.instance import RunningDaemon

T = TypeVar("T")

#: a request may wait behind the register's current job (an export batch on a slow line)
TIMEOUT = httpx.Timeout(10.0, read=600.0)


def _error_class(kind: str) -> type[KktBridgeError]:
    found = getattr(errors, kind, None)
    if isinstance(found, type) and issubclass(found, KktBridgeError):
        return found
    if kind == "LinkBusyError":
        return LinkBusyError
    return KktBridgeError


class DaemonClient:
    def __init__(self, daemon: RunningDaemon, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.daemon = daemon
        self._http = httpx.Client(
            base_url=daemon.url, timeout=TIMEOUT, transport=transport,
            headers={"Authorization": f"Bearer {daemon.secret}",
                     "Accept-Language": language()})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LinkError(
                _("kkt-bridge run ({url}) не отвечает: {error}").format(
                    url=self.daemon.url, error=type(exc).__name__),
                _("проверьте, что он работает (systemctl status kkt-bridge), или "
                  "остановите его, чтобы команда работала сама")) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> KktBridgeError:
        try:
            body = response.json()
            error = _error_class(str(body.get("kind", "")))(str(body["message"]),
                                                            body.get("hint"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return KktBridgeError(_("kkt-bridge run ответил ошибкой {status}").format(
                status=response.status_code), _("подробности в его журнале"))
        return error

    def _get(self, result: type[T], path: str, **params: Any) -> T:
        response = self._request("GET", path, params={k: v for k, v in params.items()
                                                      if v is not None})
        return TypeAdapter(result).validate_python(response.json())

    def _post(self, result: type[T], path: str, body: dict[str, Any]) -> T:
        response = self._request("POST", path, json=body)
        return TypeAdapter(result).validate_python(response.json())

    def _put(self, result: type[T], path: str, body: dict[str, Any]) -> T:
        response = self._request("PUT", path, json=body)
        return TypeAdapter(result).validate_python(response.json())

    # --- the actions the commands use ----------------------------------------------

    def login_url(self) -> str:
        return str(self._request("POST", "/api/login-tokens").json()["url"])

    def watch(self, device_url: str) -> list[str]:
        response = self._request("POST", "/api/registers/watch", json={"device_url": device_url})
        return list(response.json()["urls"])

    def connect_options(self) -> ConnectOptions:
        return self._get(ConnectOptions, "/api/backoffices")

    def check_backoffice(self, plugin: str | None, endpoint: str | None) -> tuple[str, str | None]:
        return pick_backoffice(self.connect_options(), plugin, endpoint)

    def connect(self, device_url: str, code: str, *, plugin: str | None = None,
                endpoint: str | None = None) -> Connected:
        return self._post(Connected, "/api/connect", {
            "device_url": device_url, "code": code, "plugin": plugin, "endpoint": endpoint})

    def prompts(self) -> list[PromptView]:
        return self._get(list[PromptView], "/api/prompts")

    def paired_registers(self, device: str | None = None) -> list[str]:
        return self._get(list[str], "/api/paired", device=device)

    def choose_register(self, device: str | None = None) -> str:
        return choose_from(self.paired_registers(device), device)

    def choose_device(self, device: str | None = None) -> str:
        if device:
            return device
        status = self.status(register_key=self.choose_register(None))
        if not status.device_url:
            raise errors.ConfigError(_("адрес ККТ {key} неизвестен").format(
                key=status.register_key), _("укажите его: --device URL"))
        return status.device_url

    def statuses(self) -> list[RegisterStatus]:
        """Every register the daemon serves."""
        return self._get(list[RegisterStatus], "/api/registers")

    def settings(self, register_key: str) -> SettingsView:
        return self._get(SettingsView, f"/api/registers/{register_key}/settings")

    def preview_settings(self, register_key: str, change: SettingsChange) -> SettingsPlan:
        return self._post(SettingsPlan, f"/api/registers/{register_key}/settings/preview",
                          asdict(change))

    def apply_settings(self, register_key: str, change: SettingsChange,
                       confirmation: str | None = None) -> SettingsSaved:
        return self._post(SettingsSaved, f"/api/registers/{register_key}/settings",
                          {**asdict(change), "confirmation": confirmation})

    # --- the catalog at the register (goods and groups added through the cash software)

    @staticmethod
    def _catalog_path(register_key: str, *parts: str) -> str:
        return "/".join([f"/api/registers/{quote(register_key, safe='')}/catalog",
                         *(quote(part, safe="") for part in parts)])

    def catalog(self, register_key: str) -> CatalogView:
        return self._get(CatalogView, self._catalog_path(register_key))

    def add_good(self, register_key: str, good: GoodInput) -> GoodView:
        return self._post(GoodView, self._catalog_path(register_key, "goods"), asdict(good))

    def edit_good(self, register_key: str, good_id: str, good: GoodInput) -> GoodView:
        return self._put(GoodView, self._catalog_path(register_key, "goods", good_id),
                         asdict(good))

    def delete_good(self, register_key: str, good_id: str) -> None:
        self._request("DELETE", self._catalog_path(register_key, "goods", good_id))

    def add_group(self, register_key: str, group: GroupInput) -> GroupView:
        return self._post(GroupView, self._catalog_path(register_key, "groups"), asdict(group))

    def edit_group(self, register_key: str, group_id: str, group: GroupInput) -> GroupView:
        return self._put(GroupView, self._catalog_path(register_key, "groups", group_id),
                         asdict(group))

    def delete_group(self, register_key: str, group_id: str) -> None:
        self._request("DELETE", self._catalog_path(register_key, "groups", group_id))

    def status(self, device_url: str | None = None, *, register_key: str | None = None,
               fresh: bool = False) -> RegisterStatus:
        if register_key is not None:
            return self._get(RegisterStatus, f"/api/registers/{register_key}/status",
                             fresh=fresh or None)
        return self._get(RegisterStatus, "/api/status", device=device_url, fresh=fresh or None)

    def sync_now(self, register_key: str | None = None, *, device: str | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None) -> SyncResult:
        """«Обновить сейчас» in the daemon; its progress events come back as they happen."""
        body = {"register_key": register_key, "device": device}
        if on_progress is None:
            return self._post(SyncResult, "/api/sync", body)
        progress = TypeAdapter(SyncProgress)
        results = TypeAdapter(SyncResult)
        try:
            with self._http.stream("GET", "/api/events") as stream:
                if stream.status_code >= 400:
                    stream.read()
                    raise self._error(stream)
                events = _events(stream.iter_lines())
                next(events)  # the current prompts: the stream is open, nothing is missed
                run_id = self._request("POST", "/api/sync",
                                       json={**body, "background": True}).json()["run_id"]
                for kind, data in events:
                    if data.get("run_id") != run_id:
                        continue
                    if kind == "sync_progress":
                        on_progress(progress.validate_python(data))
                    elif kind == "sync_finished":
                        if "error" in data:
                            raise _error_class(data["error"]["kind"])(
                                data["error"]["message"], data["error"].get("hint"))
                        return results.validate_python({"results": data["results"]})
        except httpx.HTTPError as exc:
            raise LinkError(_("связь с kkt-bridge run прервалась: {error}").format(
                error=type(exc).__name__), _("посмотрите результат: kkt-bridge status")) from None
        raise LinkError(_("kkt-bridge run остановился во время обмена"),
                        _("посмотрите результат после перезапуска: kkt-bridge status"))


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                payload = json.loads("\n".join(data))
                yield kind, payload if isinstance(payload, dict) else {"items": payload}
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
