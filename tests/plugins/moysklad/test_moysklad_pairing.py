"""The sync code: a MoySklad token plus the retail store; bad codes change nothing."""

from __future__ import annotations

import json

import pytest
from moysklad_helpers import REGISTER, FakeClock

from kkt_bridge.errors import PairingError
from kkt_bridge.plugins.moysklad.fake import FakeMoySklad
from kkt_bridge.plugins.moysklad.pairing import parse_sync_code
from kkt_bridge.plugins.moysklad.plugin import MoySkladPlugin

TOKEN = "0cbfc512618efa7d5fa306250bca064c1169b37c"


def setup(stores: int = 1) -> tuple[FakeMoySklad, MoySkladPlugin, list[dict[str, object]]]:
    clock = FakeClock()
    fake = FakeMoySklad(TOKEN, clock=clock.now)
    org = fake.add_organization("ООО «Ромашка»")
    made = [fake.add_retailstore(f"Магазин {n + 1}", org) for n in range(stores)]
    plugin = MoySkladPlugin(transport=fake, clock=clock.now, sleep=clock.sleep, weight=1)
    return fake, plugin, made


def pair(plugin: MoySkladPlugin, code: str):  # type: ignore[no-untyped-def]
    return plugin.backoffice_pair(backoffice="moysklad", endpoint=None, code=code,
                                  register=REGISTER)


@pytest.mark.parametrize("code, store", [
    (f"{TOKEN}@Магазин 2", "Магазин 2"),
    (f"  {TOKEN} @ магазин 2 \n", "магазин 2"),
    (json.dumps({"token": TOKEN, "retailStore": "Магазин 2"}), "Магазин 2"),
    (TOKEN, ""),
])
def test_the_forms_users_paste(code: str, store: str) -> None:
    parsed = parse_sync_code(code)
    assert parsed.token == TOKEN
    assert parsed.retail_store == store
    assert TOKEN not in repr(parsed)


@pytest.mark.parametrize("code", ["", "@Магазин", "short@Магазин", "{not json",
                                  "токен с пробелами@Магазин"])
def test_malformed_codes_are_refused_in_russian(code: str) -> None:
    with pytest.raises(PairingError) as info:
        parse_sync_code(code)
    assert "код синхронизации" in str(info.value)


def test_pairing_by_store_name_returns_credentials_for_that_store() -> None:
    fake, plugin, stores = setup(stores=2)
    creds = pair(plugin, f"{TOKEN}@магазин 2")
    assert creds.backoffice == "moysklad"
    assert creds.endpoint == "https://api.moysklad.ru/api/remap/1.2/"
    assert creds.token == TOKEN
    assert (creds.account, creds.shop) == ("ООО «Ромашка»", "Магазин 2")
    assert creds.extra["retailstore_id"] == stores[1]["id"]
    assert creds.extra["organization_id"] == fake.rows("organization")[0]["id"]
    assert TOKEN not in repr(creds)
    assert {m for m, p, q in fake.log} == {"GET"}  # pairing only reads


def test_pairing_by_store_id_and_with_a_single_store() -> None:
    _fake, plugin, stores = setup(stores=1)
    assert pair(plugin, f"{TOKEN}@{stores[0]['id']}").shop == "Магазин 1"
    assert pair(plugin, TOKEN).shop == "Магазин 1"


def test_several_stores_and_no_name_asks_for_the_store() -> None:
    _fake, plugin, _stores = setup(stores=3)
    with pytest.raises(PairingError) as info:
        pair(plugin, TOKEN)
    assert "Укажите точку продаж" in str(info.value)
    assert "«Магазин 3»" in str(info.value)


@pytest.mark.parametrize("suffix", ["@Склад на Луне", "@00000000-0000-4000-8000-000000000000"])
def test_an_unknown_store_is_a_pairing_error(suffix: str) -> None:
    _fake, plugin, _stores = setup(stores=2)
    with pytest.raises(PairingError) as info:
        pair(plugin, TOKEN + suffix)
    assert "Точка продаж не найдена" in str(info.value)


def test_a_wrong_token_is_refused_without_showing_it_and_nothing_is_written() -> None:
    fake, plugin, _stores = setup()
    wrong = "a" * 40
    with pytest.raises(PairingError) as info:
        pair(plugin, f"{wrong}@Магазин 1")
    assert "МойСклад не принял токен" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value.args)
    assert info.value.hint and "Настройки" in info.value.hint
    assert fake.rejected == {401: 1}
    assert plugin._clients == {}  # the bad token is not kept
    assert {m for m, p, q in fake.log} <= {"GET"}


def test_a_switched_off_store_cannot_be_paired() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(TOKEN, clock=clock.now)
    fake.add_retailstore("Закрытая", fake.add_organization(), active=False)
    plugin = MoySkladPlugin(transport=fake, clock=clock.now, sleep=clock.sleep, weight=1)
    with pytest.raises(PairingError) as info:
        pair(plugin, f"{TOKEN}@Закрытая")
    assert "отключена" in str(info.value)


def test_check_accepts_live_credentials_and_ignores_other_back_offices() -> None:
    _fake, plugin, _stores = setup()
    creds = pair(plugin, TOKEN)
    assert plugin.backoffice_check(backoffice="moysklad", credentials=creds) is True
    assert plugin.backoffice_check(backoffice="reference", credentials=creds) is None
    assert plugin.backoffice_pair(backoffice="reference", endpoint=None, code=TOKEN,
                                  register=REGISTER) is None
