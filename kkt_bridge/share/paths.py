"""Where the shared ports' stable names live: the bridge's run directory.

``$KKT_BRIDGE_RUN_DIR``; else ``$RUNTIME_DIRECTORY`` (systemd's ``RuntimeDirectory=``); else
``run/`` in ``$KKT_BRIDGE_HOME`` when that is set; else ``$XDG_RUNTIME_DIR/kkt-bridge``; else
``run/`` in the data directory. One symlink per register, named after its device.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kkt_bridge.store.paths import APP_NAME, HOME_ENV, data_dir

LOOPBACK = "127.0.0.1"
RUN_DIR_ENV = "KKT_BRIDGE_RUN_DIR"


def run_dir() -> Path:
    """The run directory (see the module text)."""
    for env in (RUN_DIR_ENV, "RUNTIME_DIRECTORY"):
        value = os.environ.get(env)
        if value:
            return Path(value.split(":")[0]).expanduser()
    if os.environ.get(HOME_ENV):
        return data_dir() / "run"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / APP_NAME
    return data_dir() / "run"


def port_name(text: str) -> str:
    """A file name made of a register's name ("shtrih-0042", a serial, a device path)."""
    if "://" in text:
        base = text.split("://", 1)[1]
    else:
        parts = text.rstrip("/").rsplit("/", 2)
        base = parts[-1]
        if base.isdigit() and len(parts) > 1:  # /dev/pts/3: "pts-3", not "3"
            base = f"{parts[-2]}-{base}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "kkt"
    return name[:64]


def link_path(name: str, directory: Path | None = None) -> Path:
    return (directory or run_dir()) / port_name(name)


__all__ = ["LOOPBACK", "RUN_DIR_ENV", "link_path", "port_name", "run_dir"]
