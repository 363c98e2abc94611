"""The reference back office's HTTP API over a real loopback socket: pairing, catalog,
employees, documents, isolation between registers and shops, and the OpenAPI description."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec
from reference_support import (
    OTHER_SHOP,
    SHOP,
    FakeClock,
    pair,
    register_identity,
    register_json,
)

from kkt_bridge.plugins.reference.app import OPENAPI_PATH, PAIR_FAILURES
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.plugins.reference.service import hash_token
from kkt_bridge.testing.contract import sample_receipt

SPEC: dict[str, Any] = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def conforms(response: httpx.Response, path: str, method: str) -> Any:
    """The answer's status is documented for the operation and its body fits the schema."""
    operation = SPEC["paths"][path][method.lower()]
    documented = operation["responses"]
    assert str(response.status_code) in documented, \
        f"{method} {path}: статус {response.status_code} не описан"
    content = documented[str(response.status_code)].get("content")
    if content is None:
        return None
    body = response.json()
    schema = {**content["application/json"]["schema"], "components": SPEC["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    return body


def doc_json(fn_number: str, fd: int) -> dict[str, Any]:
    d = sample_receipt(fn_number, fd)
    return {"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
            "document_type": d.document_type, "fns": dict(d.fns),
            "raw_b64": base64.b64encode(d.raw).decode()}


FN1 = register_identity(1).fn_number
FN2 = register_identity(2).fn_number


def test_openapi_document_is_valid_and_served(http: httpx.Client) -> None:
    validate_spec(SPEC)
    served = http.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == SPEC


def test_pairing_flow_and_me(http: httpx.Client, office: ReferenceBackOffice) -> None:
    code = office.issue_sync_code(SHOP)
    assert len(code) == 9 and code[4] == "-" and code.replace("-", "").isdigit()
    # what a cashier types: spaces instead of the dash
    answer = http.post("/api/v1/pair", json={"code": code.replace("-", " "),
                                             "register": register_json(1)})
    body = conforms(answer, "/api/v1/pair", "POST")
    assert answer.status_code == 200 and body["shop"] == SHOP and body["account"]
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    info = conforms(me, "/api/v1/me", "GET")
    assert info["register"]["serial"] == register_json(1)["serial"]
    assert info["register"]["revoked"] is False


def test_code_works_once(http: httpx.Client, office: ReferenceBackOffice) -> None:
    code = office.issue_sync_code(SHOP)
    first = http.post("/api/v1/pair", json={"code": code, "register": register_json(1)})
    assert first.status_code == 200
    again = http.post("/api/v1/pair", json={"code": code, "register": register_json(2)})
    assert conforms(again, "/api/v1/pair", "POST")["error"]["code"] == "sync_code_used"
    assert again.status_code == 409
    assert [r.serial for r in office.registers()] == [register_json(1)["serial"]]


def test_code_expires_on_the_injected_clock(http: httpx.Client, office: ReferenceBackOffice,
                                            clock: FakeClock) -> None:
    code = office.issue_sync_code(SHOP)
    clock.advance(hours=23, minutes=59)
    still = office.issue_sync_code(SHOP)
    clock.advance(minutes=2)  # the first code is now 24 h 1 min old, the second 2 min
    expired = http.post("/api/v1/pair", json={"code": code, "register": register_json(1)})
    assert expired.status_code == 410
    assert conforms(expired, "/api/v1/pair", "POST")["error"]["code"] == "sync_code_expired"
    assert office.registers() == []
    ok = http.post("/api/v1/pair", json={"code": still, "register": register_json(1)})
    assert ok.status_code == 200


def test_unknown_code_and_malformed_request_change_nothing(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    office.issue_sync_code(SHOP)
    before = office.db.sync_codes()
    unknown = http.post("/api/v1/pair", json={"code": "0000-0000",
                                              "register": register_json(1)})
    assert unknown.status_code == 404
    conforms(unknown, "/api/v1/pair", "POST")
    bads: list[Any] = [{"code": "1"}, {"register": register_json(1)}, [],
                       {"code": 5, "register": register_json(1)},
                       {"code": "1", "register": {"serial": "", "fn_number": "1", "model": "m"}}]
    for bad in bads:
        answer = http.post("/api/v1/pair", json=bad)
        assert answer.status_code == 422, bad
        conforms(answer, "/api/v1/pair", "POST")
    json_type = {"Content-Type": "application/json"}
    assert http.post("/api/v1/pair", content=b"{not json", headers=json_type).status_code == 400
    assert http.post("/api/v1/pair", content=b"{}").status_code == 415
    assert office.db.sync_codes() == before and office.registers() == []


def test_guessing_codes_is_rate_limited(http: httpx.Client, office: ReferenceBackOffice,
                                        clock: FakeClock) -> None:
    code = office.issue_sync_code(SHOP)
    for n in range(PAIR_FAILURES):
        assert http.post("/api/v1/pair", json={"code": f"{n:08d}",
                                               "register": register_json(1)}).status_code == 404
    limited = http.post("/api/v1/pair", json={"code": code, "register": register_json(1)})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    conforms(limited, "/api/v1/pair", "POST")
    clock.advance(minutes=1, seconds=1)
    assert http.post("/api/v1/pair", json={"code": code,
                                           "register": register_json(1)}).status_code == 200


def test_catalog_is_the_shops_own_with_a_group_hierarchy(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    catalog = conforms(http.get("/api/v1/catalog", headers=auth), "/api/v1/catalog", "GET")
    assert catalog["complete"] is True
    groups = {g["id"]: g for g in catalog["groups"]}
    assert any(g["parent_id"] and groups[g["parent_id"]]["parent_id"] for g in groups.values())
    assert all(g["parent_id"] is None or g["parent_id"] in groups for g in groups.values())
    assert any(g["weighed"] and g["measure"] == "кг" for g in catalog["goods"])
    assert any(g["barcodes"] for g in catalog["goods"])
    # another shop's goods are out of reach: ids of the second demo shop end in "-2"
    assert not any(g["id"].endswith("-2") for g in catalog["goods"])
    other = pair(http, office, 2, shop=OTHER_SHOP)
    theirs = http.get("/api/v1/catalog", headers=other).json()
    assert {g["id"] for g in theirs["goods"]}.isdisjoint({g["id"] for g in catalog["goods"]})


def test_catalog_since_returns_changes_or_everything_after_a_deletion(
        http: httpx.Client, office: ReferenceBackOffice, clock: FakeClock) -> None:
    auth = pair(http, office)
    clock.advance(minutes=1)  # since is inclusive: step past the seeding instant
    first = http.get("/api/v1/catalog", headers=auth).json()
    clock.advance(minutes=5)
    office.db.upsert_good(SHOP, "p-new", "Хлеб", 5500, group_id="g-food")
    delta = http.get("/api/v1/catalog", headers=auth, params={"since": first["as_of"]}).json()
    assert delta["complete"] is False and [g["id"] for g in delta["goods"]] == ["p-new"]
    clock.advance(minutes=5)
    office.db.archive_good(SHOP, "p-milk")
    after = http.get("/api/v1/catalog", headers=auth, params={"since": delta["as_of"]}).json()
    assert after["complete"] is True and "p-milk" not in {g["id"] for g in after["goods"]}
    bad = http.get("/api/v1/catalog", headers=auth, params={"since": "вчера"})
    assert bad.status_code == 422
    conforms(bad, "/api/v1/catalog", "GET")


def test_employees(http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    body = conforms(http.get("/api/v1/employees", headers=auth), "/api/v1/employees", "GET")
    assert {e["role"] for e in body["employees"]} == {"cashier", "admin"}


def test_documents_are_idempotent_and_acked_in_order(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    batch = [doc_json(FN1, fd) for fd in (1, 2, 3)]
    first = conforms(http.post("/api/v1/documents", headers=auth, json=batch),
                     "/api/v1/documents", "POST")
    assert [(a["key"], a["accepted"], a["duplicate"]) for a in first["acks"]] == \
        [(f"{FN1}:{fd}", True, False) for fd in (1, 2, 3)]
    again = http.post("/api/v1/documents", headers=auth,
                      json=[batch[1], doc_json(FN1, 4), batch[1]]).json()
    assert [(a["accepted"], a["duplicate"]) for a in again["acks"]] == \
        [(True, True), (True, False), (True, True)]
    assert office.count_documents() == 4
    stored = office.documents()
    assert [d.fd_number for d in stored] == [1, 2, 3, 4]
    assert stored[0].fns == batch[0]["fns"]
    assert stored[0].raw == base64.b64decode(batch[0]["raw_b64"])
    # ids are arrival numbers, not counters: PostgreSQL's leave gaps (see storage/sql.py)
    listed = conforms(http.get("/api/v1/documents", headers=auth,
                               params={"after": stored[1].id}),
                      "/api/v1/documents", "GET")
    assert [d["fd_number"] for d in listed["documents"]] == [3, 4]


def test_a_malformed_batch_stores_nothing(http: httpx.Client,
                                          office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    good = doc_json(FN1, 1)
    for bad in ({**good, "fd_number": 0}, {**good, "fns": []}, {**good, "fd_number": "1"},
                {**good, "fd_number": 1.5}, {**good, "raw_b64": "abc"},
                {**good, "raw_b64": "not base64!"}, {**good, "fd_number": True}, "doc"):
        answer = http.post("/api/v1/documents", headers=auth, json=[good, bad])
        assert answer.status_code == 422, bad
        conforms(answer, "/api/v1/documents", "POST")
    assert http.post("/api/v1/documents", headers=auth, json={"a": 1}).status_code == 422
    too_many = http.post("/api/v1/documents", headers=auth, json=[good] * 1001)
    assert too_many.status_code == 422  # the schema's maxItems
    conforms(too_many, "/api/v1/documents", "POST")
    assert office.count_documents() == 0


def test_concurrent_duplicate_posts_store_each_document_once(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    batch = [doc_json(FN1, fd) for fd in range(1, 21)]
    assert office.url is not None

    def post(_: int) -> list[dict[str, Any]]:
        with httpx.Client(base_url=office.url or "", timeout=30) as own:
            answer = own.post("/api/v1/documents", headers=auth, json=batch)
            assert answer.status_code == 200
            return list(answer.json()["acks"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(post, range(6)))
    assert office.count_documents() == 20
    for index in range(20):  # exactly one of the six posts stored each document
        flags = [acks[index]["duplicate"] for acks in results]
        assert all(acks[index]["accepted"] for acks in results)
        assert flags.count(False) == 1


# --- isolation ---------------------------------------------------------------------------


def test_no_token_and_wrong_token_are_refused(http: httpx.Client,
                                              office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    wrong = {"Authorization": auth["Authorization"][:-2] + "xx"}
    for headers in ({}, wrong, {"Authorization": "Basic Zm9vOmJhcg=="},
                    {"Authorization": "Bearer"}):
        for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/catalog"),
                             ("GET", "/api/v1/employees"), ("GET", "/api/v1/documents"),
                             ("POST", "/api/v1/documents")):
            answer = http.request(method, path, headers=headers,
                                  json=[doc_json(FN1, 1)] if method == "POST" else None)
            assert answer.status_code == 401, (headers, path)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            conforms(answer, path, method)
    assert office.count_documents() == 0


def test_other_registers_documents_are_out_of_reach(http: httpx.Client,
                                                    office: ReferenceBackOffice) -> None:
    mine = pair(http, office, 1)
    theirs = pair(http, office, 2)
    http.post("/api/v1/documents", headers=theirs, json=[doc_json(FN2, 1)])
    # listing, fetching, and posting under their ФН all fail for me
    assert http.get("/api/v1/documents", headers=mine).json()["documents"] == []
    fetched = http.get(f"/api/v1/documents/{FN2}/1", headers=mine)
    assert fetched.status_code == 404
    conforms(fetched, "/api/v1/documents/{fn_number}/{fd_number}", "GET")
    claim = http.post("/api/v1/documents", headers=mine,
                      json=[doc_json(FN2, 1), doc_json(FN2, 2)]).json()["acks"]
    assert [(a["accepted"], a["duplicate"]) for a in claim] == [(False, False), (False, False)]
    assert all(a["error"] for a in claim)
    assert office.count_documents() == 1 and office.documents()[0].serial.endswith("00002")
    own = http.get(f"/api/v1/documents/{FN2}/1", headers=theirs)
    assert own.status_code == 200 and own.json()["fd_number"] == 1


def _pair_body(office: ReferenceBackOffice, n: int = 1, shop: str = SHOP,
               **extra: Any) -> dict[str, Any]:
    return {"code": office.issue_sync_code(shop), "register": register_json(n), **extra}


def test_repairing_with_the_current_token_replaces_it_and_keeps_one_row(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    old = pair(http, office, 1)
    again = http.post("/api/v1/pair", json=_pair_body(
        office, current_token=old["Authorization"].split()[1]))
    assert again.status_code == 200, again.text
    new = {"Authorization": f"Bearer {again.json()['token']}"}
    assert http.get("/api/v1/me", headers=old).status_code == 401
    assert http.get("/api/v1/me", headers=new).status_code == 200
    assert len(office.registers()) == 1  # re-pairing updates the row
    register_id = http.get("/api/v1/me", headers=new).json()["register"]["id"]
    admin = {"Authorization": f"Bearer {office.admin_token}"}
    revoked = http.post(f"/api/v1/admin/registers/{register_id}/revoke", headers=admin)
    assert revoked.status_code == 204
    assert http.get("/api/v1/me", headers=new).status_code == 401


def test_a_code_does_not_take_over_a_paired_register(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    """An impostor with a code for any shop and the register's serial and ФН (printed on
    every receipt) is refused; the real register keeps working; the code stays unused."""
    real = pair(http, office, 1)
    http.post("/api/v1/documents", headers=real, json=[doc_json(FN1, 1)])
    body = _pair_body(office, 1, OTHER_SHOP)
    for token in (None, "guessed-token"):
        attempt = http.post("/api/v1/pair", json={**body, "current_token": token})
        assert attempt.status_code == 409, attempt.text
        assert attempt.json()["error"]["code"] == "register_paired"
        conforms(attempt, "/api/v1/pair", "POST")
    assert http.get("/api/v1/me", headers=real).status_code == 200
    states = {c["code"]: c["used_at"] for c in office.db.sync_codes()}
    assert states[body["code"].replace("-", "")] is None  # a refused pairing spends nothing
    acks = http.post("/api/v1/documents", headers=real,
                     json=[doc_json(FN1, 1), doc_json(FN1, 2)]).json()["acks"]
    assert [a["duplicate"] for a in acks] == [True, False]


def test_reinstall_re_pairs_with_the_administrators_consent(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    """The seed's "reinstall needs a new pairing": the reinstalled bridge has no token; the
    administrator allows re-pairing in «Мои Кассы», then a new code works once."""
    old = pair(http, office, 1)
    http.post("/api/v1/documents", headers=old, json=[doc_json(FN1, 1)])
    register_id = office.registers()[0].id
    admin = {"Authorization": f"Bearer {office.admin_token}"}
    assert http.post("/api/v1/pair", json=_pair_body(office)).status_code == 409
    allowed = http.post(f"/api/v1/admin/registers/{register_id}/allow-repair", headers=admin)
    assert allowed.status_code == 204
    listed = http.get("/api/v1/admin/registers", headers=admin).json()["registers"]
    assert listed[0]["repair_allowed"] is True
    again = http.post("/api/v1/pair", json=_pair_body(office))
    assert again.status_code == 200 and again.json()["register_id"] == register_id
    new = {"Authorization": f"Bearer {again.json()['token']}"}
    assert http.get("/api/v1/me", headers=old).status_code == 401
    # the consent is spent: the next code without a token is refused again
    assert http.post("/api/v1/pair", json=_pair_body(office)).status_code == 409
    acks = http.post("/api/v1/documents", headers=new, json=[doc_json(FN1, 1)]).json()["acks"]
    assert acks[0]["accepted"] and acks[0]["duplicate"]  # its own earlier copy
    assert len(office.registers()) == 1


def test_an_impostors_copies_never_make_the_real_documents_duplicates(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    """Someone pairs first, claiming the real register's ФН under another serial: the real
    register pairs too, and its documents are its own, never "duplicates" of the fake."""
    fake = dict(register_json(1), serial="FAKE-SERIAL")
    answer = http.post("/api/v1/pair", json={"code": office.issue_sync_code(OTHER_SHOP),
                                             "register": fake})
    impostor = {"Authorization": f"Bearer {answer.json()['token']}"}
    http.post("/api/v1/documents", headers=impostor, json=[doc_json(FN1, 1)])
    real = pair(http, office, 1)
    acks = http.post("/api/v1/documents", headers=real, json=[doc_json(FN1, 1)]).json()["acks"]
    assert acks[0]["accepted"] and not acks[0]["duplicate"]
    mine = http.get("/api/v1/documents", headers=real).json()["documents"]
    assert [(d["fd_number"], d["shop"]) for d in mine] == [(1, SHOP)]


def test_only_token_hashes_are_stored(http: httpx.Client, office: ReferenceBackOffice) -> None:
    token = pair(http, office)["Authorization"].split()[1]
    with office.db.storage.read() as tx:
        stored = repr([dict(r) for r in [*tx._all("SELECT * FROM registers"),
                                         *tx._all("SELECT * FROM meta")]])
    assert token not in stored and hash_token(token) in stored
    path = getattr(office.db.storage, "path", None)
    office.db.close()
    if path is not None:
        for file in path.parent.iterdir():
            assert token.encode() not in file.read_bytes(), file.name


def test_admin_endpoints(http: httpx.Client, office: ReferenceBackOffice,
                         clock: FakeClock) -> None:
    register = pair(http, office)
    for path in ("/api/v1/admin/shops", "/api/v1/admin/registers", "/api/v1/admin/documents"):
        refused = http.get(path, headers=register)  # a register token is not an admin token
        assert refused.status_code == 401
        conforms(refused, path, "GET")
    odd = http.get("/api/v1/admin/shops", headers={b"Authorization": "Bearer ключ".encode()})
    assert odd.status_code == 401  # a non-ASCII token is refused, not a crash
    admin = {"Authorization": f"Bearer {office.admin_token}"}
    shops = conforms(http.get("/api/v1/admin/shops", headers=admin), "/api/v1/admin/shops",
                     "GET")
    assert {s["name"] for s in shops["shops"]} == {SHOP, OTHER_SHOP}
    issued = http.post("/api/v1/admin/sync-codes", headers=admin, json={"shop": OTHER_SHOP})
    code = conforms(issued, "/api/v1/admin/sync-codes", "POST")["code"]
    assert http.post("/api/v1/pair", json={"code": code, "register": register_json(3)}
                     ).json()["shop"] == OTHER_SHOP
    listed = conforms(http.get("/api/v1/admin/registers", headers=admin),
                      "/api/v1/admin/registers", "GET")
    assert len(listed["registers"]) == 2
    conforms(http.get("/api/v1/admin/documents", headers=admin), "/api/v1/admin/documents",
             "GET")
    missing = http.post("/api/v1/admin/registers/999/revoke", headers=admin)
    assert missing.status_code == 404
    codes = conforms(http.get("/api/v1/admin/sync-codes", headers=admin),
                     "/api/v1/admin/sync-codes", "GET")["sync_codes"]
    assert [c["state"] for c in codes] == ["used", "used"]
    unused = office.issue_sync_code(SHOP)
    clock.advance(hours=25)
    codes = http.get("/api/v1/admin/sync-codes", headers=admin).json()["sync_codes"]
    assert codes[-1] == {**codes[-1], "code": unused, "state": "expired"}


def test_health_needs_no_token(http: httpx.Client) -> None:
    assert http.get("/api/v1/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/nothing"])
def test_unknown_paths_are_404(http: httpx.Client, path: str) -> None:
    assert http.get(path).status_code == 404
