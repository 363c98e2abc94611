"""udev/70-kkt-bridge.rules: parsed and played against described devices (no udev needed),
and checked by ``udevadm test`` where udev exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kkt_bridge.errors import ConfigError
from kkt_bridge.link.udev_rules import Device, Rule, evaluate, parse_rules

RULES_FILE = Path(__file__).resolve().parents[2] / "udev" / "70-kkt-bridge.rules"

#: the reference's USB table (shtrih-m.md §6): (vid, pid or None for any, vendor, register?)
REFERENCE_IDS = [
    ("1fc9", "0083", "shtrih", True),
    ("abcd", "1980", "shtrih", True),
    ("04d9", "b534", "shtrih", True),
    ("2912", None, "atol", True),
    ("0483", "3405", "mercury", True),
    ("1fc9", "0089", None, False),  # Shtrih in DFU mode: not a register
]


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return parse_rules(RULES_FILE.read_text(encoding="utf-8"))


def tty(vid: str, pid: str, serial: str | None = "0042", interface: str = "00",
        id_serial: str = "VENDOR_KKT") -> Device:
    usb_env = {"ID_SERIAL": id_serial if serial is None else f"{id_serial}_{serial}",
               "ID_USB_INTERFACE_NUM": interface, "ID_BUS": "usb"}
    if serial is not None:
        usb_env["ID_SERIAL_SHORT"] = serial
    return Device("tty", "ttyACM0",
                  parents_attrs=({"bInterfaceNumber": interface},
                                 {"idVendor": vid, "idProduct": pid}),
                  builtins={"usb_id": usb_env})


def usb_node(vid: str, pid: str) -> Device:
    return Device("usb", "1-1", devtype="usb_device",
                  attrs={"idVendor": vid, "idProduct": pid})


# --- the file, statically ------------------------------------------------------------------


def test_every_mode_is_group_only(rules: list[Rule]) -> None:
    modes = [t.value for r in rules for t in r.get("MODE")]
    assert modes
    for mode in modes:
        assert int(mode, 8) & 0o007 == 0, f"MODE {mode} grants 'other' permissions"


def test_every_group_is_kkt_and_nobody_is_owner(rules: list[Rule]) -> None:
    groups = {t.value for r in rules for t in r.get("GROUP")}
    assert groups == {"kkt"}
    assert not [t for r in rules for t in r.get("OWNER")]
    assert not [t for r in rules for t in r.tokens if t.key == "TAG" and t.value == "uaccess"]


def test_symlinks_live_under_kkt(rules: list[Rule]) -> None:
    links = [t.value for r in rules for t in r.get("SYMLINK")]
    assert links and all(v.startswith("kkt/") for v in links)


def test_systemd_tag_and_wants_the_template(rules: list[Rule]) -> None:
    tags = [t for r in rules for t in r.get("TAG") if t.op == "+="]
    assert [t.value for t in tags] == ["systemd"]
    wants = [t.value for r in rules for t in r.get("ENV", "SYSTEMD_WANTS")]
    assert wants == ["kkt-bridge@$env{KKT_NAME}.service"]


def test_every_reference_id_is_matched_in_the_file(rules: list[Rule]) -> None:
    def pairs(key: str) -> set[tuple[str, str | None]]:
        found: set[tuple[str, str | None]] = set()
        for rule in rules:
            vids = [t.value for t in rule.get(key, "idVendor")]
            pids: list[str | None] = [t.value for t in rule.get(key, "idProduct")]
            pids = pids or [None]
            found |= {(v, p) for v in vids for p in pids}
        return found

    usb_level, tty_level = pairs("ATTR"), pairs("ATTRS")
    for vid, pid, _vendor, register in REFERENCE_IDS:
        assert (vid, pid) in usb_level
        assert ((vid, pid) in tty_level) is register


def test_parser_rejects_garbage_and_reads_continuations() -> None:
    with pytest.raises(ConfigError, match="строка 2"):
        parse_rules('# c\nSUBSYSTEM=="tty" MODE="0660"\n')
    [rule] = parse_rules('SUBSYSTEM=="tty", \\\n  MODE="0660"\n')
    assert [t.key for t in rule.tokens] == ["SUBSYSTEM", "MODE"]
    with pytest.raises(ConfigError):
        parse_rules('SUBSYSTEM=="tty", MODE=0660\n')


# --- the file, played against devices -------------------------------------------------------


@pytest.mark.parametrize(("vid", "pid", "vendor"), [
    (v, p or "0005", name) for v, p, name, register in REFERENCE_IDS if register])
def test_register_tty_gets_group_name_and_service(rules: list[Rule], vid: str, pid: str,
                                                  vendor: str) -> None:
    out = evaluate(rules, tty(vid, pid, serial="0042"))
    assert (out.mode, out.group) == ("0660", "kkt")
    assert out.symlinks == [f"kkt/{vendor}-0042"]
    assert "systemd" in out.tags
    assert out.env["SYSTEMD_WANTS"] == f"kkt-bridge@{vendor}-0042.service"


def test_register_without_serial_gets_by_id_name(rules: list[Rule]) -> None:
    out = evaluate(rules, tty("2912", "0005", serial=None, id_serial="ATOL_KKT"))
    assert out.symlinks == ["kkt/atol-ATOL_KKT"]
    assert out.env["SYSTEMD_WANTS"] == "kkt-bridge@atol-ATOL_KKT.service"


def test_second_interface_gets_own_name_and_no_service(rules: list[Rule]) -> None:
    out = evaluate(rules, tty("2912", "0005", serial="77", interface="02"))
    assert out.symlinks == ["kkt/atol-77-if02"]
    assert (out.mode, out.group) == ("0660", "kkt")
    assert "SYSTEMD_WANTS" not in out.env and "systemd" not in out.tags


def test_dfu_mode_is_no_register(rules: list[Rule]) -> None:
    out = evaluate(rules, tty("1fc9", "0089"))
    assert out.mode is None and out.symlinks == [] and "SYSTEMD_WANTS" not in out.env
    node = evaluate(rules, usb_node("1fc9", "0089"))
    assert (node.mode, node.group) == ("0660", "kkt") and "SYSTEMD_WANTS" not in node.env


@pytest.mark.parametrize(("vid", "pid"), [(v, p or "0001") for v, p, _n, _r in REFERENCE_IDS])
def test_raw_usb_node_is_group_kkt(rules: list[Rule], vid: str, pid: str) -> None:
    out = evaluate(rules, usb_node(vid, pid))
    assert (out.mode, out.group) == ("0660", "kkt")
    assert out.symlinks == [] and "systemd" not in out.tags


@pytest.mark.parametrize("device", [
    tty("0403", "6001"),  # an FTDI cable: not ours
    tty("1fc9", "0084"),  # NXP, another product
    usb_node("046d", "c52b"),
    Device("block", "sda"),
])
def test_other_devices_untouched(rules: list[Rule], device: Device) -> None:
    out = evaluate(rules, device)
    assert (out.mode, out.group, out.symlinks, out.tags) == (None, None, [], [])


def test_remove_events_do_nothing(rules: list[Rule]) -> None:
    removed = Device("tty", "ttyACM0", action="remove",
                     parents_attrs=({"idVendor": "1fc9", "idProduct": "0083"},))
    out = evaluate(rules, removed)
    assert (out.mode, out.symlinks, out.tags) == (None, [], [])


# --- the real udev, where there is one -------------------------------------------------------


def test_udevadm_verifies_the_file() -> None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed here; the parser tests above cover the file")
    help_text = subprocess.run([udevadm, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
    if "verify" not in help_text:
        pytest.skip("this udevadm has no 'verify' (systemd < 250)")
    done = subprocess.run([udevadm, "verify", "--no-style", str(RULES_FILE)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def _plugged_register_tty() -> Path | None:
    """A /sys tty whose USB parent has a register's id, when one is plugged in here."""
    ids = {(v, p) for v, p, _n, register in REFERENCE_IDS if register}
    for node in sorted(Path("/sys/class/tty").glob("ttyACM*")):
        usb_dev = node.resolve().parent.parent.parent  # ttyACMn -> tty -> interface -> device
        try:
            vid = (usb_dev / "idVendor").read_text().strip()
            pid = (usb_dev / "idProduct").read_text().strip()
        except OSError:
            continue
        if (vid, pid) in ids or (vid, None) in ids:
            return node
    return None


def test_udevadm_test_on_a_plugged_register() -> None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed here; the parser tests above cover the file")
    if not Path("/etc/udev/rules.d/70-kkt-bridge.rules").exists():
        pytest.skip("rules not installed (sudo tools/install-udev); udevadm test reads only "
                    "the installed rules")
    node = _plugged_register_tty()
    if node is None:
        pytest.skip("no register plugged in to run 'udevadm test' against")
    done = subprocess.run([udevadm, "test", "--action=add", str(node)],
                          capture_output=True, text=True, timeout=30)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "kkt/" in output  # udevadm test prints the symlinks it would create
