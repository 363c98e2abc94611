"""Tables 1, 2, 17, 18, 19 through 0x1E / 0x1F / 0x2D / 0x2E."""

from __future__ import annotations

from emulated_device_helpers import SYSADMIN, cmd, device, error_of, ok

from kkt_bridge.drivers.shtrih.emulator.tables import TABLES

#: table 18 field sizes of a real device (reference §10)
TABLE_18_SIZES = {1: 21, 2: 17, 3: 21, 4: 17, 5: 1, 6: 1, 7: 128, 8: 64, 9: 128, 10: 128,
                  11: 64, 12: 17, 14: 128, 23: 13, 25: 1}


def test_table_structures() -> None:
    dev = device()
    for number, rows, fields in ((1, 1, 30), (2, 30, 2), (17, 1, 36), (18, 1, 25), (19, 1, 4)):
        answer = ok(dev, cmd(0x2D), password=SYSADMIN, table=number)
        assert (answer.rows, answer.fields) == (rows, fields)
        assert answer.name == TABLES[number].name
    for field, size in TABLE_18_SIZES.items():
        answer = ok(dev, cmd(0x2E), password=SYSADMIN, table=18, field=field)
        assert answer.size == size
    password = ok(dev, cmd(0x2E), password=SYSADMIN, table=2, field=1)
    assert (password.type, password.size, password.limits.min, password.limits.max) == (
        0, 4, 0, 99999999)
    assert ok(dev, cmd(0x2E), password=SYSADMIN, table=2, field=2).type == 1
    assert error_of(dev, cmd(0x2D), password=SYSADMIN, table=99) == 0x5D
    assert error_of(dev, cmd(0x2E), password=SYSADMIN, table=18, field=26) == 0x33


def test_cashier_table_defaults() -> None:
    dev = device(registered=False)
    for row in range(1, 31):
        value = ok(dev, cmd(0x1F), password=SYSADMIN, table=2, row=row, field=1).value
        assert int.from_bytes(value, "little") == row and len(value) == 4
    name = lambda row: ok(dev, cmd(0x1F), password=SYSADMIN, table=2, row=row,  # noqa: E731
                          field=2).value.rstrip(b"\x00").decode("cp1251")
    assert (name(1), name(29), name(30)) == ("КАССИР 1", "АДМИНИСТРАТОР", "СИСТ. АДМИН.")


def test_writes_are_checked_and_read_back() -> None:
    dev = device()
    ok(dev, cmd(0x1E), password=SYSADMIN, table=1, row=1, field=7, value=b"\x02")
    assert ok(dev, cmd(0x1F), password=SYSADMIN, table=1, row=1, field=7).value == b"\x02"
    assert error_of(dev, cmd(0x1E), password=SYSADMIN, table=1, row=1, field=7,
                    value=b"\x03") == 0x33  # above the field's maximum
    assert error_of(dev, cmd(0x1E), password=SYSADMIN, table=18, row=1, field=2,
                    value=b"7701234560") == 0x33  # INN is set by registration only
    assert error_of(dev, cmd(0x1E), password=SYSADMIN, table=18, row=1, field=7,
                    value=b"x" * 129) == 0x33
    assert error_of(dev, cmd(0x1E), password=SYSADMIN, table=2, row=31, field=1,
                    value=b"\x01") == 0x33
    assert error_of(dev, cmd(0x1F), password=SYSADMIN, table=42, row=1, field=1) == 0x5D
    assert ok(dev, cmd(0x1F), password=SYSADMIN, table=1, row=1, field=7).value == b"\x02"
    value = ok(dev, cmd(0x1F), password=SYSADMIN, table=18, row=1, field=3).value
    assert len(value) == 21 and value.rstrip(b"\x00").decode() == dev.profile.rnm
