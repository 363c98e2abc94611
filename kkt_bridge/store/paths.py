"""Where the store lives: the platform data directory, or ``KKT_BRIDGE_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from kkt_bridge.errors import StoreError
from kkt_bridge.i18n import _

APP_NAME = "kkt-bridge"
DB_NAME = "kkt-bridge.sqlite3"
HOME_ENV = "KKT_BRIDGE_HOME"


def data_dir() -> Path:
    """The data directory: ``$KKT_BRIDGE_HOME`` when set, else the platform's user data dir."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def db_path(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / DB_NAME


def db_files(path: Path) -> tuple[Path, ...]:
    """The database and the journal files SQLite keeps beside it in WAL mode."""
    return (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))


def _hint() -> str:
    return _("укажите в {env} каталог, куда этот пользователь может писать (он будет создан), "
             "или уберите переменную, чтобы взять каталог по умолчанию").format(env=HOME_ENV)


def prepare_dir(directory: Path) -> None:
    """Create the store's directory (0700) or say plainly why it cannot be used: a file in
    its place, no permission, a read-only disk. Raises :class:`StoreError`."""
    if directory.exists() and not directory.is_dir():
        raise StoreError(_("каталог данных {path} — это файл, а не каталог").format(
            path=directory), _hint())
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StoreError(_("каталог данных {path} не создаётся: {error}").format(
            path=directory, error=exc.strerror or type(exc).__name__), _hint()) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(_("в каталог данных {path} нельзя писать").format(path=directory),
                         _hint())


def unusable(directory: Path, exc: OSError) -> StoreError:
    """The error for an OSError met while opening the store in ``directory``."""
    return StoreError(_("хранилище в каталоге {path} не открывается: {error}").format(
        path=directory, error=exc.strerror or type(exc).__name__), _hint())
