"""The rules through udev's own parser, where ``udevadm verify`` is missing (systemd < 250).

``udevadm test`` reads only the system's rules directories and, on systemd 252, acts on the
device (permissions, /dev/char links, /run/udev). So it runs in a private mount namespace
where /etc/udev/rules.d is a copy holding our file and /dev and /run are empty tmpfs: the
real parser reads the file, nothing outside the namespace changes. Needs root, unshare and
udevadm; skipped otherwise (the parser tests in test_udev_rules_file.py cover the file).
No register is plugged in here, so this proves the syntax, not a match: that takes a real
device in sysfs (see test_udevadm_test_on_a_plugged_register).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES_FILE = Path(__file__).resolve().parents[2] / "udev" / "70-kkt-bridge.rules"
INSTALLED = "/etc/udev/rules.d/"
#: any tty the kernel has; the rules are parsed whatever device is tested
DEVICES = ("/sys/class/tty/ttyS0", "/sys/class/tty/tty0", "/sys/class/tty/console")


def udevadm_test(rules_dir: Path) -> str:
    udevadm, unshare = shutil.which("udevadm"), shutil.which("unshare")
    if udevadm is None or unshare is None:
        pytest.skip("udevadm or unshare is not installed here")
    if os.geteuid() != 0:
        pytest.skip("a private mount namespace needs root")
    device = next((d for d in DEVICES if os.path.exists(d)), None)
    if device is None:
        pytest.skip("no tty in /sys to run udevadm test on")
    script = (f"mount --bind {rules_dir} /etc/udev/rules.d && mount -t tmpfs tmpfs /run && "
              f"mount -t tmpfs tmpfs /dev && exec {udevadm} test --action=add {device}")
    done = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    if "Reading rules file: /etc/udev/rules.d/" not in out:
        pytest.skip(f"the sandbox did not come up here: {out[-500:]}")
    return out


def complaints(out: str, name: str) -> list[str]:
    """What udev said about our file, less the group this test machine lacks."""
    return [line for line in out.splitlines()
            if line.startswith(INSTALLED + name + ":") and "Unknown group 'kkt'" not in line]


def test_udev_parses_the_rules_without_a_complaint(tmp_path: Path) -> None:
    shutil.copy(RULES_FILE, tmp_path / RULES_FILE.name)
    out = udevadm_test(tmp_path)
    assert f"Reading rules file: {INSTALLED}{RULES_FILE.name}" in out
    assert complaints(out, RULES_FILE.name) == []


def test_the_sandbox_sees_a_broken_rule(tmp_path: Path) -> None:
    broken = RULES_FILE.read_text(encoding="utf-8").replace('MODE="0660", GROUP="kkt"\n',
                                                            'MODE=="0660" GRUOP="kkt"\n', 1)
    (tmp_path / RULES_FILE.name).write_text(broken, encoding="utf-8")
    out = udevadm_test(tmp_path)
    assert complaints(out, RULES_FILE.name) != []
