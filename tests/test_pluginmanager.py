"""kkt_bridge.pluginmanager: loading, isolating broken plugins, calling hooks safely, and the
``kkt-bridge plugins`` command."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import tomllib
import traceback
import types
from collections.abc import Iterator, Sequence
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kkt_bridge import pluginmanager
from kkt_bridge.cli.main import cli
from kkt_bridge.errors import (
    AcknowledgementError,
    AuthenticationError,
    BackOfficeUnavailableError,
    PluginError,
)
from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    ExportDocument,
    RegisterIdentity,
)
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.pluginmanager import (
    BROKEN,
    OK,
    call_backoffice,
    get_plugin_manager,
    list_plugins,
    notify,
)
from kkt_bridge.testing.contract import CHECKS, run_contract

TOKEN = "tok-SECRET-0123456789"
CREDS = Credentials(backoffice="fake", endpoint="http://x", token=TOKEN)
REGISTER = RegisterIdentity(serial="1", fn_number="9999", model="m")


class FakePlugin:
    """A well-behaved plugin whose answers the tests can spoil."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.raise_on: dict[str, BaseException] = {}
        self.acks: list[Ack] | None = None
        self.events: list[tuple[str, Any]] = []

    def _maybe_raise(self, hook: str) -> None:
        if hook in self.raise_on:
            raise self.raise_on[hook]

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name=self.name, title="Фейк")

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != self.name:
            return None
        self._maybe_raise("pair")
        return Credentials(backoffice=self.name, endpoint="http://x", token=TOKEN)

    @hookimpl
    def backoffice_check(self, backoffice: str, credentials: Credentials) -> bool | None:
        if backoffice != self.name:
            return None
        self._maybe_raise("check")
        return True

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        return None  # a plugin that does not implement the catalog

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != self.name:
            return None
        self._maybe_raise("export")
        if self.acks is not None:
            return self.acks
        return [Ack(d.key, True) for d in documents]

    @hookimpl
    def kkt_registered(self, register: RegisterIdentity) -> None:
        self._maybe_raise("event")
        self.events.append(("registered", register))


class NoSpecPlugin:
    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name="nospec", title="x")

    @hookimpl
    def backoffice_teleport(self) -> None:  # no such hookspec
        return None


class WrongArgsPlugin:
    @hookimpl
    def backoffice_check(self, backoffice: str, password: str) -> bool:
        return True


class BadInfoPlugin:
    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        raise RuntimeError("boom")


def docs(n: int) -> list[ExportDocument]:
    return [ExportDocument("9999", fd, 3, {}) for fd in range(1, n + 1)]


# --- loading -------------------------------------------------------------------------------


def test_good_plugins_load_and_answer() -> None:
    plugin = FakePlugin()
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin])
    [record] = list_plugins(pm)
    assert record.status == OK and record.backoffices[0].name == "fake"
    assert pluginmanager.backoffices(pm)["fake"].title == "Фейк"
    creds = call_backoffice(pm, "backoffice_pair", backoffice="fake", endpoint=None, current=None,
                            code="1", register=REGISTER)
    assert creds.token == TOKEN


@pytest.mark.parametrize(("plugin", "reason"), [
    (NoSpecPlugin(), "без спецификации"),
    (WrongArgsPlugin(), "не подходит"),
    (BadInfoPlugin(), "boom"),
])
def test_broken_plugins_are_listed_and_skipped(plugin: object, reason: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    good = FakePlugin()
    with caplog.at_level(logging.ERROR):
        pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin, good])
    records = {r.status: r for r in list_plugins(pm)}
    assert reason in records[BROKEN].reason
    assert records[OK].backoffices[0].name == "fake"
    assert not pm.is_registered(plugin) and pm.is_registered(good)
    assert "пропущен" in caplog.text
    pm.check_pending()  # what is left keeps the spec


def test_two_plugins_claiming_one_backoffice() -> None:
    pm = get_plugin_manager(load_entrypoints=False, plugins=[FakePlugin(), FakePlugin()])
    assert [r.status for r in pm.records] == [OK, BROKEN]
    assert "уже обслуживает" in pm.records[1].reason


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points the test chooses, including broken ones, backed by a fake module."""
    module = types.ModuleType("kkt_fake_backoffice")
    module.plugin = FakePlugin("ep-fake")  # type: ignore[attr-defined]
    exploding = types.ModuleType("kkt_fake_exploding")
    sys.modules["kkt_fake_backoffice"] = module
    found: list[EntryPoint] = [
        EntryPoint("good", "kkt_fake_backoffice", pluginmanager.GROUP),
        EntryPoint("missing", "kkt_no_such_module_anywhere", pluginmanager.GROUP),
        EntryPoint("exits", "kkt_fake_exploding:exit_now", pluginmanager.GROUP),
    ]

    def exit_now() -> None:
        raise SystemExit(3)

    exploding.__getattr__ = lambda name: exit_now()  # type: ignore[attr-defined,method-assign]
    sys.modules["kkt_fake_exploding"] = exploding

    def select(*, group: str) -> list[EntryPoint]:
        return found if group == pluginmanager.GROUP else []

    monkeypatch.setattr(pluginmanager, "entry_points", select)
    try:
        yield found
    finally:
        sys.modules.pop("kkt_fake_backoffice", None)
        sys.modules.pop("kkt_fake_exploding", None)


def test_entry_points_load_and_broken_ones_never_stop_the_others(
        fake_entry_points: list[EntryPoint]) -> None:
    pm = get_plugin_manager()
    records = {r.name: r for r in list_plugins(pm)}
    assert records["good"].status == OK
    assert records["good"].backoffices[0].name == "ep-fake"  # the module's ``plugin`` object
    assert records["missing"].status == BROKEN and "ModuleNotFoundError" in \
        records["missing"].reason
    assert records["exits"].status == BROKEN and "SystemExit" in records["exits"].reason
    assert records["good"].package == "-"  # a fake entry point has no distribution


def test_real_entry_points_include_the_reference_plugin() -> None:
    records = {r.name: r for r in list_plugins()}
    assert records["reference"].status == OK
    assert records["reference"].package == "kkt-bridge"
    assert records["reference"].version



@pytest.fixture
def installed_vendor_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two vendor distributions really installed on sys.path (a ``*.dist-info`` with
    ``entry_points.txt``, as pip leaves it): one whose module fails to import, one whose
    module calls ``sys.exit`` while loading. Nothing is monkeypatched in kkt_bridge."""
    site = tmp_path / "site"
    site.mkdir()
    for dist, version, module, body in (
            ("kkt-vendor-broken", "1.2.3", "kkt_vendor_broken",
             "import kkt_no_such_dependency_anywhere\n"),
            ("kkt-vendor-exits", "0.9", "kkt_vendor_exits", "import sys\nsys.exit(7)\n")):
        info = site / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(
            f"[{pluginmanager.GROUP}]\n{module.removeprefix('kkt_vendor_')} = {module}\n",
            encoding="utf-8")
        (site / f"{module}.py").write_text(body, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    try:
        yield site
    finally:
        for name in ("kkt_vendor_broken", "kkt_vendor_exits"):
            sys.modules.pop(name, None)


def test_a_broken_installed_distribution_is_reported_with_its_package_and_skipped(
        installed_vendor_dists: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        pm = get_plugin_manager()
    records = {r.name: r for r in list_plugins(pm)}
    broken, exits = records["broken"], records["exits"]
    assert (broken.status, broken.package, broken.version) == \
        (BROKEN, "kkt-vendor-broken", "1.2.3")
    assert "ModuleNotFoundError" in broken.reason
    assert (exits.status, exits.package, exits.version) == (BROKEN, "kkt-vendor-exits", "0.9")
    assert "SystemExit" in exits.reason
    # the built-in plugins, found through the same entry points, still work
    assert records["reference"].status == OK and records["moysklad"].status == OK
    assert records["reference"].package == "kkt-bridge"
    assert set(pluginmanager.backoffices(pm)) >= {"reference", "moysklad"}
    assert "kkt-vendor-broken" in caplog.text
    # and the command lists all of them and exits 0
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in map(json.loads, result.output.splitlines())}
    assert rows["broken"]["package"] == "kkt-vendor-broken"
    assert rows["broken"]["status"] == BROKEN and rows["reference"]["status"] == OK



def test_marker_project_is_the_entry_point_group_and_every_hook_is_documented() -> None:
    from importlib.metadata import distribution

    from kkt_bridge import driverapi, hookspecs

    assert hookspecs.hookspec.project_name == hookspecs.hookimpl.project_name == \
        pluginmanager.GROUP == "kkt_bridge.backoffice"
    assert driverapi.GROUP == "kkt_bridge.drivers"
    # the installed kkt-bridge declares its built-in plugins in those same groups
    declared = {(ep.group, ep.name) for ep in distribution("kkt-bridge").entry_points}
    assert {(pluginmanager.GROUP, "reference"), (pluginmanager.GROUP, "moysklad"),
            (driverapi.GROUP, "shtrih")} <= declared
    hooks = [name for name in dir(hookspecs) if name.startswith(("backoffice_", "kkt_"))]
    assert {"backoffice_pair", "backoffice_check", "backoffice_fetch_catalog",
            "backoffice_fetch_employees", "backoffice_export_documents", "kkt_connect_prompt",
            "kkt_registered", "kkt_job_finished", "kkt_job_failed"} <= set(hooks)
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.split()) >= 8, f"{name} is not documented where it is declared"


# --- calling -------------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakePlugin:
    return FakePlugin()


@pytest.fixture
def pm(fake: FakePlugin) -> pluginmanager.BackOfficePluginManager:
    return get_plugin_manager(load_entrypoints=False, plugins=[fake, FakePlugin("other")])


def test_unknown_backoffice_is_a_plugin_error(pm: pluginmanager.BackOfficePluginManager) -> None:
    with pytest.raises(PluginError, match="не установлен"):
        call_backoffice(pm, "backoffice_check", backoffice="nope", credentials=CREDS)


def test_only_the_owner_is_called(pm: pluginmanager.BackOfficePluginManager) -> None:
    other = pm.owners["other"]
    assert isinstance(other, FakePlugin)
    other.raise_on["check"] = RuntimeError("other plugin's bug")
    assert call_backoffice(pm, "backoffice_check", backoffice="fake", credentials=CREDS)


def test_a_hook_the_plugin_lacks_is_a_plugin_error(
        pm: pluginmanager.BackOfficePluginManager) -> None:
    with pytest.raises(PluginError, match="не ответил"):
        call_backoffice(pm, "backoffice_fetch_catalog", backoffice="fake", credentials=CREDS,
                        since=None)


def test_unexpected_exceptions_become_plugin_errors_without_the_token(
        pm: pluginmanager.BackOfficePluginManager, fake: FakePlugin) -> None:
    fake.raise_on["check"] = KeyError(f"token={TOKEN}")
    with pytest.raises(PluginError) as info:
        call_backoffice(pm, "backoffice_check", backoffice="fake", credentials=CREDS)
    assert TOKEN not in str(info.value) and "KeyError" in str(info.value)
    # the original exception is not chained into a printed traceback
    assert TOKEN not in "".join(traceback.format_exception(info.value))


def test_a_plugin_calling_sys_exit_in_a_hook_or_event_does_not_stop_the_caller(
        pm: pluginmanager.BackOfficePluginManager, fake: FakePlugin) -> None:
    fake.raise_on["check"] = SystemExit(2)
    with pytest.raises(PluginError, match="SystemExit"):
        call_backoffice(pm, "backoffice_check", backoffice="fake", credentials=CREDS)
    other = pm.owners["other"]
    assert isinstance(other, FakePlugin)
    other.raise_on["event"] = SystemExit(3)
    notify(pm, "kkt_registered", register=REGISTER)  # returns: the others still hear it
    assert fake.events == [("registered", REGISTER)]


def test_network_exceptions_become_retryable_errors(
        pm: pluginmanager.BackOfficePluginManager, fake: FakePlugin) -> None:
    for exc in (httpx.ConnectError("refused"), ConnectionResetError("reset"), TimeoutError()):
        fake.raise_on["check"] = exc
        with pytest.raises(BackOfficeUnavailableError) as info:
            call_backoffice(pm, "backoffice_check", backoffice="fake", credentials=CREDS)
        assert info.value.retryable


def test_plugin_errors_pass_through_with_the_token_scrubbed(
        pm: pluginmanager.BackOfficePluginManager, fake: FakePlugin) -> None:
    fake.raise_on["check"] = AuthenticationError(f"bad {TOKEN}", f"hint {TOKEN}")
    with pytest.raises(AuthenticationError) as info:
        call_backoffice(pm, "backoffice_check", backoffice="fake", credentials=CREDS)
    assert TOKEN not in str(info.value) and "***" in info.value.message


@pytest.mark.parametrize("acks", [
    [Ack("9999:1", True)],  # too few
    [Ack("9999:2", True), Ack("9999:1", True)],  # out of order
    [Ack("9999:1", True), Ack("9999:2", False, duplicate=True)],  # a duplicate not accepted
    [Ack("9999:1", True), Ack("9999:2", "false")],  # not a boolean  # type: ignore[arg-type]
])
def test_acks_that_break_the_contract_are_refused(
        pm: pluginmanager.BackOfficePluginManager, fake: FakePlugin, acks: list[Ack]) -> None:
    fake.acks = acks
    with pytest.raises(AcknowledgementError, match="нельзя верить"):
        call_backoffice(pm, "backoffice_export_documents", backoffice="fake",
                        credentials=CREDS, documents=docs(2))


def test_notify_survives_a_failing_listener(pm: pluginmanager.BackOfficePluginManager,
                                            fake: FakePlugin,
                                            caplog: pytest.LogCaptureFixture) -> None:
    other = pm.owners["other"]
    assert isinstance(other, FakePlugin)
    other.raise_on["event"] = RuntimeError("listener bug")
    with caplog.at_level(logging.WARNING):
        notify(pm, "kkt_registered", register=REGISTER)
    assert fake.events == [("registered", REGISTER)]
    assert "listener bug" in caplog.text


# --- the command ---------------------------------------------------------------------------


def test_plugins_command_lists_broken_ones(fake_entry_points: list[EntryPoint]) -> None:
    result = CliRunner().invoke(cli, ["plugins"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "ep-fake" in result.output and "missing" in result.output
    assert "не загружен" in result.output
    as_json = CliRunner().invoke(cli, ["plugins", "--json"])
    rows = {row["name"]: row for row in map(json.loads, as_json.output.splitlines())}
    assert rows["good"]["status"] == OK and rows["missing"]["status"] == BROKEN


# --- the template package a vendor copies --------------------------------------------------

TEMPLATE = Path(__file__).resolve().parents[1] / "plugins" / "template"


def test_template_declares_its_entry_point() -> None:
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    group = project["project"]["entry-points"][pluginmanager.GROUP]
    assert group == {"example": "kkt_backoffice_example.plugin"}
    assert not (TEMPLATE / "__init__.py").exists()  # never part of the kkt_bridge package


def test_template_plugin_passes_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TEMPLATE))
    # loaded under a unique name: "test_contract" may be another folder's module
    spec = importlib.util.spec_from_file_location("kkt_template_contract_test",
                                                  TEMPLATE / "tests" / "test_contract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        results = run_contract(module.ExampleHarness())
    finally:
        for name in [m for m in sys.modules if m.startswith("kkt_backoffice_example")]:
            del sys.modules[name]
    assert set(results) == set(CHECKS)
    assert all(error is None for error in results.values()), results
