"""The MoySklad «код синхронизации»: an access token plus the retail store (точка продаж).

Accepted forms (docs/moysklad.md):

- ``<token>@<retail store name or id>`` — what a user pastes;
- ``<token>`` alone — when the account has exactly one active retail store;
- JSON ``{"token": "...", "retailStore": "..."}`` — for scripts.

Pairing only reads (GET retailstore, organization), so a wrong code changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from kkt_bridge.errors import AuthenticationError, PairingError
from kkt_bridge.exchange import Credentials
from kkt_bridge.i18n import _
from kkt_bridge.plugins.moysklad import mapping
from kkt_bridge.plugins.moysklad.client import MoySkladClient, RequestRefusedError

NAME = "moysklad"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._\-]{16,512}$")



def _hint() -> str:
    return _("Введите токен МойСклад и точку продаж в виде ТОКЕН@Название точки продаж")


@dataclass(frozen=True)
class SyncCode:
    token: str = field(repr=False)
    retail_store: str = ""


def parse_sync_code(code: str) -> SyncCode:
    text = code.strip()
    token, store = "", ""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            token = str(data.get("token") or data.get("access_token") or "").strip()
            store = str(data.get("retailStore") or data.get("retailstore") or "").strip()
    else:
        token, _sep, store = text.partition("@")
        token, store = token.strip(), store.strip()
    if not _TOKEN.match(token):
        raise PairingError(_("Неверный код синхронизации МойСклад"), _hint())
    return SyncCode(token=token, retail_store=store)


def _pick_store(client: MoySkladClient, wanted: str) -> dict[str, object]:
    if wanted and _UUID.match(wanted):
        try:
            store = client.get(f"entity/retailstore/{wanted}")
        except RequestRefusedError as exc:
            if exc.status == 404:
                raise PairingError(_("Точка продаж не найдена в МойСклад"), _hint()) from exc
            raise
        if isinstance(store, dict):
            return store
    stores = [s for s in client.iter_rows("entity/retailstore") if not s.get("archived")]
    if wanted:
        matches = [s for s in stores
                   if str(s.get("name", "")).casefold() == wanted.casefold()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise PairingError(_("Точка продаж не найдена в МойСклад") + f": «{wanted}»",
                               _("Проверьте название в МойСклад: Розница -> Точки продаж"))
        raise PairingError(_("Несколько точек продаж с таким названием") + f": «{wanted}»",
                           _("Укажите id точки продаж вместо названия"))
    active = [s for s in stores if s.get("active", True)]
    if len(active) == 1:
        return active[0]
    names = ", ".join(f"«{s.get('name', '')}»" for s in active[:10])
    raise PairingError(_("Укажите точку продаж МойСклад") + (f": {names}" if names else ""),
                       _hint())


def pair(client: MoySkladClient, endpoint: str, code: SyncCode) -> Credentials:
    """Validate the token and the retail store by reading them; nothing is written."""
    try:
        store = _pick_store(client, code.retail_store)
        org_id = mapping.ref_id(store.get("organization"))
        organization = client.get(f"entity/organization/{org_id}") if org_id else {}
    except AuthenticationError as exc:
        raise PairingError(_("МойСклад не принял токен доступа"),
                           _("Проверьте токен: МойСклад -> Настройки -> Токены")) from exc
    if store.get("active") is False:
        raise PairingError(_("Точка продаж МойСклад отключена") + f": «{store.get('name')}»",
                           _("Включите её в МойСклад: Розница -> Точки продаж"))
    extra = {"retailstore_id": str(store["id"]), "organization_id": str(org_id or "")}
    store_id = mapping.ref_id(store.get("store"))
    if store_id:
        extra["store_id"] = store_id
    price_type = store.get("priceType")
    if isinstance(price_type, dict) and price_type.get("id"):
        extra["price_type_id"] = str(price_type["id"])
    return Credentials(
        backoffice=NAME,
        endpoint=endpoint,
        token=code.token,
        account=str((organization or {}).get("name", "")),
        shop=str(store.get("name", "")),
        extra=extra,
    )
