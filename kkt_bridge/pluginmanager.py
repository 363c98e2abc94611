"""Loading back-office plugins and calling them so that one broken plugin harms nobody.

Plugins come from the entry-point group ``kkt_bridge.backoffice`` (the built-in ``reference``
and ``moysklad`` ones too) or are passed in directly (tests). An entry point names a module
or an object; a module that has a ``plugin`` attribute registers that object instead, so a
plugin can keep state (an HTTP client) in an instance.

A plugin that cannot be imported, raises while loading, declares a hookimpl matching no spec,
or whose ``backoffice_info`` fails is logged, listed as ``broken`` with the reason, and left
out; the daemon goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from kkt_bridge import hookspecs
from kkt_bridge.acks import check_acks
from kkt_bridge.errors import (
    BackOfficeUnavailableError,
    KktBridgeError,
    PluginError,
)
from kkt_bridge.exchange import BackOfficeInfo, Credentials
from kkt_bridge.i18n import _
from kkt_bridge.redaction import redact_urls

log = logging.getLogger(__name__)

GROUP = hookspecs.PROJECT  # the entry-point group is the marker's project name

OK = "ok"
BROKEN = "broken"


@dataclass(frozen=True)
class PluginRecord:
    """One installed plugin as ``kkt-bridge plugins`` shows it."""

    name: str  # entry-point name (or the name given when registered directly)
    package: str  # distribution that installed it, "-" when registered directly
    version: str
    status: str  # OK | BROKEN
    reason: str = ""  # why it is broken
    backoffices: tuple[BackOfficeInfo, ...] = ()


class BackOfficePluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers what was loaded and what was skipped."""

    def __init__(self) -> None:
        super().__init__(GROUP)
        self.records: list[PluginRecord] = []
        #: back-office name -> the plugin object that answers for it
        self.owners: dict[str, object] = {}


def get_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Sequence[object] = ()
) -> BackOfficePluginManager:
    """Build the back-office plugin manager.

    ``plugins`` are registered first (objects or modules with hookimpls; tests use this with
    ``load_entrypoints=False``); then every entry point of ``kkt_bridge.backoffice``.
    """
    pm = BackOfficePluginManager()
    pm.add_hookspecs(hookspecs)
    for index, obj in enumerate(plugins):
        name = _object_name(obj, index)
        _admit(pm, name, "-", "-", lambda obj=obj: obj)  # type: ignore[misc]
    if load_entrypoints:
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            package, version = _distribution(ep)
            _admit(pm, ep.name, package, version, lambda ep=ep: _load(ep))  # type: ignore[misc]
    pm.check_pending()  # every admitted plugin passed it alone, so this cannot fail now
    return pm


def list_plugins(pm: BackOfficePluginManager | None = None) -> list[PluginRecord]:
    """Every plugin found, loaded or broken, sorted by name."""
    if pm is None:
        pm = get_plugin_manager()
    return sorted(pm.records, key=lambda r: r.name)


def backoffices(pm: BackOfficePluginManager) -> dict[str, BackOfficeInfo]:
    """Back-office name -> its description, for every working plugin."""
    found: dict[str, BackOfficeInfo] = {}
    for record in pm.records:
        for info in record.backoffices:
            found[info.name] = info
    return found


def require_backoffice(pm: BackOfficePluginManager, name: str) -> BackOfficeInfo:
    known = backoffices(pm)
    if name not in known:
        names = ", ".join(sorted(known)) or _("нет установленных")
        raise PluginError(
            _("модуль бэк-офиса «{name}» не установлен или не загрузился (есть: {names})")
            .format(name=name, names=names),
            _("посмотрите список: kkt-bridge plugins"),
        )
    return known[name]


# --- calling hooks -------------------------------------------------------------------------


def call_backoffice(pm: BackOfficePluginManager, hook: str, *, backoffice: str,
                    **kwargs: Any) -> Any:
    """Call an answer hook of one back office and return its (checked) answer.

    Only the plugin that owns ``backoffice`` is called, so another plugin's bug cannot get in
    the way. Errors from :mod:`kkt_bridge.errors` pass through; anything else a plugin raises
    becomes :class:`BackOfficeUnavailableError` (network trouble) or :class:`PluginError`.
    Any token in ``credentials`` is scrubbed from every message.
    """
    require_backoffice(pm, backoffice)
    owner = pm.owners[backoffice]
    others = [p for p in pm.get_plugins() if p is not owner]
    caller = pm.subset_hook_caller(hook, remove_plugins=others)
    secrets = _secrets(kwargs)
    try:
        result = caller(backoffice=backoffice, **kwargs)
    except KktBridgeError as exc:
        raise _scrubbed(exc, secrets) from None
    except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not stop us
        raise _wrap(exc, backoffice, secrets) from None
    if result is None:
        raise PluginError(
            _("модуль бэк-офиса «{backoffice}» не ответил на {hook}").format(
                backoffice=backoffice, hook=hook),
            _("модуль не реализует эту функцию: обновите его"),
        )
    _check_answer(hook, backoffice, result, kwargs)
    return result


def notify(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> None:
    """Broadcast an event to every plugin; a plugin that raises is logged and skipped."""
    for impl in getattr(pm.hook, hook).get_hookimpls():
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except (Exception, SystemExit) as exc:
            log.warning(_("модуль %s: ошибка при обработке события %s: %s"),
                        impl.plugin_name, hook, _scrub(f"{type(exc).__name__}: {exc}",
                                                       _secrets(kwargs)))


# --- internals -----------------------------------------------------------------------------


def _object_name(obj: object, index: int) -> str:
    if isinstance(obj, ModuleType):
        return obj.__name__
    return f"{type(obj).__module__}.{type(obj).__qualname__}#{index}"


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "-", "-"
    return dist.metadata["Name"] or dist.name, dist.version


def _load(ep: EntryPoint) -> object:
    loaded = ep.load()
    if isinstance(loaded, ModuleType) and hasattr(loaded, "plugin"):
        return loaded.plugin
    return loaded


def _admit(pm: BackOfficePluginManager, name: str, package: str, version: str,
           load: Callable[[], object]) -> None:
    def broken(reason: str) -> None:
        log.error(_("модуль бэк-офиса %s (%s %s) пропущен: %s"), name, package, version, reason)
        pm.records.append(PluginRecord(name, package, version, BROKEN, reason))

    try:
        obj = load()
    except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not stop us
        broken(_("не загружается: {error}").format(error=f"{type(exc).__name__}: {exc}"))
        return
    if pm.is_registered(obj):
        return  # the same object reached us twice (given directly and by entry point)
    try:
        pm.register(obj, name=name)
    except Exception as exc:  # PluginValidationError, or a name already taken
        broken(_("не подходит к API: {error}").format(error=exc))
        return
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(obj)
        broken(_("функция без спецификации: {error}").format(error=exc))
        return
    try:
        infos = _infos(pm, obj)
    except (Exception, SystemExit) as exc:
        pm.unregister(obj)
        broken(f"backoffice_info: {type(exc).__name__}: {exc}")
        return
    taken = [info.name for info in infos if info.name in pm.owners]
    if taken:
        pm.unregister(obj)
        broken(_("бэк-офис {names} уже обслуживает другой модуль").format(names=", ".join(taken)))
        return
    for info in infos:
        pm.owners[info.name] = obj
    pm.records.append(PluginRecord(name, package, version, OK, "", tuple(infos)))


def _infos(pm: pluggy.PluginManager, obj: object) -> list[BackOfficeInfo]:
    infos: list[BackOfficeInfo] = []
    for impl in pm.hook.backoffice_info.get_hookimpls():
        if impl.plugin is obj:
            info = impl.function()
            if not isinstance(info, BackOfficeInfo) or not info.name:
                raise TypeError(_("ожидался BackOfficeInfo, получено {answer}").format(
                    answer=repr(info)))
            infos.append(info)
    return infos


def _secrets(kwargs: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for value in kwargs.values():
        if isinstance(value, Credentials) and value.token:
            found.append(value.token)
    return found


def _scrub(text: str, secrets: Iterable[str]) -> str:
    text = redact_urls(text)  # a password in the endpoint URL is a secret too
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _scrubbed(exc: KktBridgeError, secrets: list[str]) -> KktBridgeError:
    message = _scrub(exc.message, secrets)
    hint = _scrub(exc.hint, secrets) if exc.hint else exc.hint
    if message == exc.message and hint == exc.hint:
        exc.__traceback__ = None  # frames may hold the token in their locals
        return exc
    exc.message, exc.hint = message, hint
    exc.args = (message,)
    exc.__traceback__ = None
    return exc


def _wrap(exc: BaseException, backoffice: str, secrets: list[str]) -> KktBridgeError:
    detail = _scrub(f"{type(exc).__name__}: {exc}", secrets)
    if isinstance(exc, OSError | TimeoutError) or _is_httpx_transport_error(exc):
        return BackOfficeUnavailableError(
            _("бэк-офис «{backoffice}» недоступен ({detail})").format(
                backoffice=backoffice, detail=detail),
            _("проверьте сеть; обмен повторится автоматически"),
        )
    log.error(_("модуль бэк-офиса %s упал: %s"), backoffice, detail)
    return PluginError(_("модуль бэк-офиса «{backoffice}» упал ({detail})").format(
                           backoffice=backoffice, detail=detail),
                       _("сообщите разработчику модуля; подробности в журнале"))


def _is_httpx_transport_error(exc: BaseException) -> bool:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        return False
    return isinstance(exc, httpx.TransportError)


def _check_answer(hook: str, backoffice: str, result: Any, kwargs: Mapping[str, Any]) -> None:
    """Hold the plugin to the hookspec, so the bridge never acts on a malformed answer."""

    def violation(what: str) -> PluginError:
        return PluginError(_("модуль бэк-офиса «{backoffice}» нарушил контракт: {what}").format(
                               backoffice=backoffice, what=what),
                           _("сообщите разработчику модуля"))

    if hook == "backoffice_pair":
        if not isinstance(result, Credentials) or not result.token:
            raise violation(_("pair вернул не Credentials или пустой токен"))
    elif hook == "backoffice_export_documents":
        # the cursor moves on these: a back-office error when untrustworthy, for every plugin
        check_acks(kwargs["documents"], result)
    elif hook == "backoffice_check" and not isinstance(result, bool):
        raise violation(_("check вернул не bool"))


__all__ = [
    "BROKEN",
    "GROUP",
    "OK",
    "BackOfficePluginManager",
    "PluginRecord",
    "backoffices",
    "call_backoffice",
    "get_plugin_manager",
    "list_plugins",
    "notify",
    "require_backoffice",
]
