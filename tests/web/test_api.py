"""The local JSON API over a running daemon, an emulated register and the reference back
office: every action, bad input (a clear error, nothing changed), and who may call it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import AUTH, BASE, SHOP, Bridge, error_kind, running_bridge

from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.share.service import STATE_FILE, SharedPorts
from kkt_bridge.store import ORIGIN_REGISTER, ExchangeSettings
from kkt_bridge.store.paths import data_dir

pytestmark = pytest.mark.slow

#: every route, with a body that would be valid: no secret means 401 for all of them
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/health", None),
    ("GET", "/api/backoffices", None),
    ("POST", "/api/connect", {"device_url": "socket://127.0.0.1:1", "code": "1"}),
    ("GET", "/api/prompts", None),
    ("GET", "/api/paired", None),
    ("GET", "/api/registers", None),
    ("GET", "/api/status", None),
    ("GET", "/api/registers/K/status", None),
    ("GET", "/api/registers/K/settings", None),
    ("POST", "/api/registers/K/settings/preview", {"goods_period": 900}),
    ("POST", "/api/registers/K/settings", {"goods_period": 900}),
    ("POST", "/api/sync", {}),
    ("POST", "/api/registers/K/exports/retry", None),
    ("GET", "/api/registers/K/catalog", None),
    ("POST", "/api/registers/K/catalog/goods", {"name": "x", "price": 1}),
    ("PUT", "/api/registers/K/catalog/goods/g", {"name": "x", "price": 1}),
    ("DELETE", "/api/registers/K/catalog/goods/g", None),
    ("POST", "/api/registers/K/catalog/groups", {"name": "x"}),
    ("PUT", "/api/registers/K/catalog/groups/g", {"name": "x"}),
    ("DELETE", "/api/registers/K/catalog/groups/g", None),
    ("GET", "/api/events", None),
    ("POST", "/api/login-tokens", None),
]


@pytest.fixture
def bridge(tmp_path: Path, kkt_emulator_factory: Callable[..., Any],
           office: ReferenceBackOffice) -> Iterator[Bridge]:
    emu = kkt_emulator_factory(pty=False, tcp=0)
    with running_bridge(tmp_path / "home", emu.tcp_url, office.url) as running:
        yield running


@pytest.fixture
def paired(bridge: Bridge, office: ReferenceBackOffice) -> str:
    key = bridge.prompt_key()
    response = bridge.client.post("/api/connect", headers=AUTH, json={
        "device_url": bridge.url, "code": office.issue_sync_code(SHOP)})
    assert response.status_code == 200, response.text
    return key


def _call(bridge: Bridge, method: str, path: str, body: dict[str, Any] | None,
          **headers: str) -> Any:
    return bridge.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_wants_the_secret(bridge: Bridge, method: str, path: str,
                                      body: dict[str, Any] | None) -> None:
    response = _call(bridge, method, path, body)
    assert response.status_code == 401 and error_kind(response) == "AccessDenied"
    wrong = _call(bridge, method, path, body, Authorization="Bearer not-the-secret")
    assert wrong.status_code == 401
    assert bridge.store.pairings() == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES[:4])
@pytest.mark.parametrize(("headers", "status", "kind"), [
    ({"Host": "evil.example:8765"}, 421, "WrongHost"),  # DNS rebinding
    ({"Host": "127.0.0.1:9999"}, 421, "WrongHost"),
    ({"Origin": "http://evil.example"}, 403, "ForeignOrigin"),  # a page of another site
    ({"Origin": "http://127.0.0.1:9999"}, 403, "ForeignOrigin"),
    ({"Origin": "null"}, 403, "ForeignOrigin"),
])
def test_host_and_origin_are_checked_before_anything(
        bridge: Bridge, method: str, path: str, body: dict[str, Any] | None,
        headers: dict[str, str], status: int, kind: str) -> None:
    response = _call(bridge, method, path, body, **AUTH, **headers)
    assert response.status_code == status and error_kind(response) == kind


def test_openapi_is_generated_from_the_types(bridge: Bridge) -> None:
    from openapi_spec_validator import validate

    spec = bridge.client.get("/api/openapi.json").json()
    validate(spec)
    schemas = spec["components"]["schemas"]
    for name in ("RegisterStatus", "SettingsPlan", "Confirmation", "SyncResult", "ErrorBody",
                 "CatalogView", "Connected", "PromptView"):
        assert name in schemas, sorted(schemas)
    assert {"/api/connect", "/api/sync", "/api/events"} <= set(spec["paths"])


def test_connect_options_offer_the_preset(bridge: Bridge) -> None:
    options = bridge.client.get("/api/backoffices", headers=AUTH).json()
    names = {b["name"]: b for b in options["backoffices"]}
    assert names["reference"]["needs_address"] and not names["moysklad"]["needs_address"]
    assert options["preset_plugin"] == "reference" and options["code_only"]


def test_connect_wrong_used_and_right_code(bridge: Bridge,
                                           office: ReferenceBackOffice) -> None:
    key = bridge.prompt_key()
    prompts = bridge.client.get("/api/prompts", headers=AUTH).json()
    assert [p["reason"] for p in prompts] == ["not_paired"] and prompts[0]["reason_text"]
    wrong = bridge.client.post("/api/connect", headers=AUTH,
                               json={"device_url": bridge.url, "code": "000000"})
    assert wrong.status_code == 400 and error_kind(wrong) == "PairingError"
    assert bridge.store.pairings() == [] and bridge.daemon.board.current()
    used = office.issue_sync_code(SHOP)
    other = office.issue_sync_code(SHOP)
    first = bridge.client.post("/api/connect", headers=AUTH,
                               json={"device_url": bridge.url, "code": used})
    assert first.status_code == 200, first.text
    connected = first.json()
    assert connected["message"] == "Соединение установлено" and connected["shop"] == SHOP
    assert connected["register_key"] == key and not connected["replaced"]
    assert bridge.daemon.board.current() == []  # the prompt went away everywhere
    token = bridge.store.get_pairing(key).credentials.token  # type: ignore[union-attr]
    again = bridge.client.post("/api/connect", headers=AUTH,
                               json={"device_url": bridge.url, "code": used})
    assert again.status_code == 400 and error_kind(again) == "PairingError"
    assert bridge.store.get_pairing(key).credentials.token == token  # type: ignore[union-attr]
    assert token not in first.text
    # re-pairing with a new code replaces the pairing
    replaced = bridge.client.post("/api/connect", headers=AUTH,
                                  json={"device_url": bridge.url, "code": other})
    assert replaced.status_code == 200 and replaced.json()["replaced"]


@pytest.mark.parametrize(("body", "status", "kind"), [
    ({"device_url": "socket://127.0.0.1:1"}, 422, "ValidationError"),  # no code
    ({"device_url": "", "code": "1"}, 422, "ValidationError"),
    ({"device_url": "x", "code": "1", "extra": 1}, 422, "ValidationError"),
    ({"device_url": "x", "code": "1", "plugin": "nosuch"}, 400, "PluginError"),
    ({"device_url": "x", "code": "   "}, 400, "PairingError"),
])
def test_connect_bad_input_changes_nothing(bridge: Bridge, body: dict[str, Any], status: int,
                                           kind: str) -> None:
    bridge.prompt_key()
    response = bridge.client.post("/api/connect", headers=AUTH, json=body)
    assert response.status_code == status and error_kind(response) == kind, response.text
    assert bridge.store.pairings() == [] and bridge.daemon.board.current()


def test_settings_confirmation_the_seed_way(bridge: Bridge, paired: str) -> None:
    key, client = paired, bridge.client
    base = f"/api/registers/{key}"
    good = client.post(f"{base}/catalog/goods", headers=AUTH,
                       json={"name": "Пирожок", "price": 5000, "code": "77"})
    assert good.status_code == 201, good.text
    wish = {"goods_period": 900, "employees_period": 3600}
    plan = client.post(f"{base}/settings/preview", headers=AUTH, json=wish).json()
    confirmation = plan["confirmation"]
    assert confirmation["kind"] == "first_setup" and confirmation["button"] == "Подтверждение"
    assert [g["name"] for g in confirmation["goods"]] == ["Пирожок"]
    # without a token, with a mistyped one, with a stale one: 409, nothing changes
    refused = client.post(f"{base}/settings", headers=AUTH, json=wish)
    assert refused.status_code == 409 and error_kind(refused) == "ConfirmationRequiredError"
    assert refused.json()["plan"]["confirmation"]["token"] == confirmation["token"]
    typo = confirmation["token"][:-1] + ("1" if confirmation["token"][-1] == "0" else "0")
    mistyped = client.post(f"{base}/settings", headers=AUTH, json={**wish, "confirmation": typo})
    assert error_kind(mistyped) == "ConfirmationMismatchError"
    client.post(f"{base}/catalog/goods", headers=AUTH, json={"name": "Ватрушка", "price": 1})
    stale = client.post(f"{base}/settings", headers=AUTH,
                        json={**wish, "confirmation": confirmation["token"]})
    assert stale.status_code == 409 and error_kind(stale) == "ConfirmationStaleError"
    shown_again = stale.json()["plan"]["confirmation"]
    assert {g["name"] for g in shown_again["goods"]} == {"Пирожок", "Ватрушка"}
    assert bridge.store.get_settings(key) == ExchangeSettings()
    saved = client.post(f"{base}/settings", headers=AUTH,
                        json={**wish, "confirmation": shown_again["token"]})
    assert saved.status_code == 200, saved.text
    assert saved.json()["confirmed"] == "Подтверждение" and saved.json()["goods_pending"]
    assert bridge.store.goods(key, ORIGIN_REGISTER) == []
    # goods sync on: the catalog is the back office's, edits are refused with the reason
    locked = client.post(f"{base}/catalog/goods", headers=AUTH, json={"name": "x", "price": 1})
    assert locked.status_code == 409 and error_kind(locked) == "CatalogLockedError"
    catalog = client.get(f"{base}/catalog", headers=AUTH).json()
    assert not catalog["editable"] and catalog["locked_reason"]
    # changed later: the seed's «Отключить синхронизацию»
    off = client.post(f"{base}/settings/preview", headers=AUTH, json={"goods_period": 0}).json()
    assert off["confirmation"]["kind"] == "sync_off"
    assert off["confirmation"]["button"] == "Отключить синхронизацию"


@pytest.mark.parametrize(("body", "status", "kind"), [
    ({"goods_period": 420}, 400, "ConfigError"),  # not in the seed's list
    ({"receipts_interval": 1}, 400, "ConfigError"),
    ({"goods_period": -5}, 422, "ValidationError"),
    ({"goods_period": "often"}, 422, "ValidationError"),
    ({"colour": "red"}, 422, "ValidationError"),
])
def test_settings_bad_input_changes_nothing(bridge: Bridge, paired: str, body: dict[str, Any],
                                            status: int, kind: str) -> None:
    response = bridge.client.post(f"/api/registers/{paired}/settings", headers=AUTH,
                                  json=body)
    assert response.status_code == status and error_kind(response) == kind, response.text
    assert bridge.store.get_settings(paired) == ExchangeSettings()


@pytest.mark.parametrize(("method", "path", "body", "status", "kind"), [
    ("GET", "/api/registers/nosuch:1/settings", None, 404, "NotPairedError"),
    ("GET", "/api/registers/nosuch:1/catalog", None, 404, "NotPairedError"),
    ("POST", "/api/sync", {"register_key": "nosuch:1"}, 404, "NotPairedError"),
    ("POST", "/api/registers/{key}/catalog/goods", {"name": "", "price": 1}, 422,
     "ValidationError"),
    ("POST", "/api/registers/{key}/catalog/goods", {"name": "x", "price": -1}, 422,
     "ValidationError"),
    ("POST", "/api/registers/{key}/catalog/goods", {"name": "x", "price": 1,
                                                    "group_id": "none"}, 400, "ConfigError"),
    ("PUT", "/api/registers/{key}/catalog/goods/none", {"name": "x", "price": 1}, 400,
     "ConfigError"),
    ("DELETE", "/api/registers/{key}/catalog/groups/none", None, 400, "ConfigError"),
    ("GET", "/api/nowhere", None, 404, "NotFound"),
])
def test_bad_requests_get_a_clear_error_and_change_nothing(
        bridge: Bridge, paired: str, method: str, path: str, body: dict[str, Any] | None,
        status: int, kind: str) -> None:
    before = (bridge.store.goods(paired), bridge.store.groups(paired),
              bridge.store.get_settings(paired))
    response = _call(bridge, method, path.format(key=paired), body, **AUTH)
    assert response.status_code == status and error_kind(response) == kind, response.text
    assert (bridge.store.goods(paired), bridge.store.groups(paired),
            bridge.store.get_settings(paired)) == before


def test_errors_follow_the_request_language(bridge: Bridge) -> None:
    english = bridge.client.post("/api/connect?lang=en", headers=AUTH,
                                 json={"device_url": "x", "code": "1", "plugin": "nosuch"})
    assert "not installed" in english.json()["message"]
    by_header = bridge.client.get("/api/registers/nosuch:1/settings",
                                  headers={**AUTH, "Accept-Language": "en-GB,en;q=0.9"})
    assert "is not connected" in by_header.json()["message"]
    russian = bridge.client.get("/api/registers/nosuch:1/settings", headers=AUTH)
    assert "не подключена" in russian.json()["message"]
    # words the daemon's worker made in its own round come in the request's language too
    bridge.prompt_key()
    english_status = bridge.client.get("/api/status", headers=AUTH,
                                       params={"device": bridge.url, "lang": "en"}).json()
    assert english_status["link"]["text"] == "online"
    assert english_status["facts"]["shift_text"].isascii()
    russian_status = bridge.client.get("/api/status", headers=AUTH,
                                       params={"device": bridge.url}).json()
    assert russian_status["link"]["text"] == "на связи"


def test_sync_now_status_and_metrics_agree(bridge: Bridge, paired: str,
                                           office: ReferenceBackOffice) -> None:
    result = bridge.client.post("/api/sync", headers=AUTH,
                                json={"register_key": paired}).json()
    assert [r["job"] for r in result["results"]] == ["documents"]
    assert all(r["ok"] for r in result["results"]), result
    documents = result["results"][0]
    assert "=" not in documents["text"] and "выгружено" in documents["text"]
    status = bridge.client.get(f"/api/registers/{paired}/status", headers=AUTH).json()
    assert status["facts"]["serial"] and status["facts"]["fn_valid_until"]
    assert status["link"]["state"] == "ok" and status["pairing"]["shop"] == SHOP
    assert status["backlog"]["unsent"] == 0
    assert office.count_documents() == status["backlog"]["cursor"]
    metrics = bridge.client.get("/metrics").text
    assert f'kkt_bridge_documents_unsent{{register="{paired}"}} 0.0' in metrics
    assert "kkt_bridge_registers_paired 1.0" in metrics
    listing = bridge.client.get("/api/registers", headers=AUTH).json()
    assert [s["register_key"] for s in listing] == [paired]
    only = bridge.client.get("/api/status", headers=AUTH).json()  # the only paired one
    assert only["register_key"] == paired
    # «Повторить»: the receipts exchange again, now
    emu_sold = office.count_documents()
    retried = bridge.client.post(f"/api/registers/{paired}/exports/retry", headers=AUTH)
    assert retried.status_code == 200 and retried.json()["job"] == "documents"
    assert retried.json()["ok"] and office.count_documents() == emu_sold


def test_login_token_session_and_same_origin(bridge: Bridge) -> None:
    client = bridge.client
    url = client.post("/api/login-tokens", headers=AUTH).json()["url"]
    assert url.startswith(f"{BASE}/login?token=")
    path = url[len(BASE):]
    entered = client.get(path, follow_redirects=False)
    assert entered.status_code == 303 and entered.headers["location"] == "/"
    cookie = entered.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    again = client.get(path, follow_redirects=False)  # one time only
    assert again.status_code == 403 and error_kind(again) == "LoginTokenInvalid"
    # the session reads; a state change must show it comes from this server's page
    assert client.get("/api/prompts").status_code == 200
    blind = client.post("/api/sync", json={})
    assert blind.status_code == 403 and error_kind(blind) == "AccessDenied"
    same = client.post("/api/registers/nosuch:1/settings/preview", json={},
                       headers={"Origin": BASE})
    assert same.status_code == 404  # past the guard: the register is not paired
    # a session cannot mint login tokens: only the secret can
    assert client.post("/api/login-tokens", headers={"Origin": BASE}).status_code == 401


def test_catalog_at_the_register_while_goods_sync_is_off(bridge: Bridge, paired: str) -> None:
    base, client = f"/api/registers/{paired}/catalog", bridge.client
    group = client.post(f"{base}/groups", headers=AUTH, json={"name": "Выпечка"})
    assert group.status_code == 201 and group.json()["origin"] == "register"
    group_id = group.json()["id"]
    good = client.post(f"{base}/goods", headers=AUTH, json={
        "name": "Пирожок", "price": 4500, "group_id": group_id, "barcodes": ["4600000000017"]})
    assert good.status_code == 201, good.text
    good_id = good.json()["id"]
    edited = client.put(f"{base}/goods/{good_id}", headers=AUTH, json={
        "name": "Пирожок с капустой", "price": 5000, "group_id": group_id})
    assert edited.status_code == 200 and edited.json()["price"] == 5000
    renamed = client.put(f"{base}/groups/{group_id}", headers=AUTH, json={"name": "Пироги"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Пироги"
    busy = client.delete(f"{base}/groups/{group_id}", headers=AUTH)  # it still has a good
    assert busy.status_code == 400 and error_kind(busy) == "ConfigError"
    listing = client.get(base, headers=AUTH).json()
    assert listing["editable"] and [g["name"] for g in listing["goods"]] == [
        "Пирожок с капустой"]
    assert client.delete(f"{base}/goods/{good_id}", headers=AUTH).status_code == 204
    assert client.delete(f"{base}/groups/{group_id}", headers=AUTH).status_code == 204
    assert client.get(base, headers=AUTH).json()["goods"] == []


def test_the_status_carries_the_shared_port(bridge: Bridge, tmp_path: Path) -> None:
    home = data_dir()  # the daemon's: where ``kkt-bridge run`` publishes its shared ports
    home.mkdir(parents=True, exist_ok=True)
    (tmp_path / "run").mkdir()
    with SharedPorts(tcp=0, run_dir=tmp_path / "run", state_file=home / STATE_FILE) as shares:
        info = shares.add(bridge.url)
        assert info is not None
        status = bridge.client.get("/api/status", headers=AUTH,
                                   params={"device": bridge.url}).json()
        # the keys of ``status --json``'s shared_port: one shape for the API and the CLI
        assert status["shared_port"] == info.as_json()
        assert status["port_holders"] == []  # a TCP register has no port to hold
    status = bridge.client.get("/api/status", headers=AUTH, params={"device": bridge.url}).json()
    assert status["shared_port"] is None
