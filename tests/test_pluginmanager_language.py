"""The plugin manager's messages follow the UI language in effect (``--lang en``, or a
request's scope), like every other message the user can see."""

from __future__ import annotations

import re

import pytest

from kkt_bridge.errors import BackOfficeUnavailableError, KktBridgeError, PluginError
from kkt_bridge.exchange import BackOfficeInfo, Credentials, RegisterIdentity
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.i18n import using_language
from kkt_bridge.pluginmanager import call_backoffice, get_plugin_manager, require_backoffice

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
REGISTER = RegisterIdentity(serial="1", fn_number="9999", model="m")


class Failing:
    """A plugin whose pairing fails the way the test asks, and which is «Фейк» by title."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name="fake", title="Фейк")

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if self.error is not None:
            raise self.error
        return Credentials(backoffice="fake", endpoint="http://x", token="")


class Unloadable:
    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        raise RuntimeError("boom")


def _pair_error(error: BaseException | None) -> KktBridgeError:
    pm = get_plugin_manager(load_entrypoints=False, plugins=[Failing(error)])
    with pytest.raises(KktBridgeError) as raised:
        call_backoffice(pm, "backoffice_pair", backoffice="fake", endpoint=None, current=None,
                        code="1", register=REGISTER)
    return raised.value


@pytest.mark.parametrize(("make", "kind", "english", "russian"), [
    (lambda: _pair_error(ConnectionError("refused")), BackOfficeUnavailableError,
     "back office “fake” is unavailable (ConnectionError: refused)",
     "бэк-офис «fake» недоступен (ConnectionError: refused)"),
    (lambda: _pair_error(ValueError("bug")), PluginError,
     "back-office plugin “fake” crashed (ValueError: bug)",
     "модуль бэк-офиса «fake» упал (ValueError: bug)"),
    (lambda: _pair_error(None), PluginError,
     "broke the contract: pair returned something other than Credentials",
     "нарушил контракт: pair вернул не Credentials"),
    (lambda: _catch(lambda: require_backoffice(
        get_plugin_manager(load_entrypoints=False), "nosuch")), PluginError,
     "back-office plugin “nosuch” is not installed or did not load (available: none installed)",
     "модуль бэк-офиса «nosuch» не установлен или не загрузился (есть: нет установленных)"),
], ids=["unavailable", "crashed", "contract", "not installed"])
def test_errors_in_both_languages(make: object, kind: type, english: str, russian: str) -> None:
    for lang, expected in (("en", english), ("ru", russian)):
        with using_language(lang):
            error = make()  # type: ignore[operator]
        assert isinstance(error, kind)
        assert expected in error.message
        if lang == "en":
            assert not CYRILLIC.search(f"{error.message} {error.hint}"), error


def _catch(call: object) -> KktBridgeError:
    with pytest.raises(KktBridgeError) as raised:
        call()  # type: ignore[operator]
    return raised.value


def test_a_broken_plugins_reason_in_english() -> None:
    with using_language("en"):
        pm = get_plugin_manager(load_entrypoints=False, plugins=[Unloadable()])
    [record] = pm.records
    assert record.status == "broken"
    assert record.reason == "backoffice_info: RuntimeError: boom"
    with using_language("en"):
        pm = get_plugin_manager(load_entrypoints=False, plugins=[Failing(None), Failing(None)])
    assert "is already served by another plugin" in pm.records[1].reason
