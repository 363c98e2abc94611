"""Where the store lives: the platform data directory, or ``KKT_BRIDGE_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

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
