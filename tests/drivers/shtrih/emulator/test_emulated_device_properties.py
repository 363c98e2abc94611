"""Property: no sequence of commands makes handle() raise or corrupts the ФН archive."""

from __future__ import annotations

from datetime import timedelta

from emulated_device_helpers import (
    CASHIER,
    SYSADMIN,
    close_fields,
    cmd,
    device,
    read_document_tlv,
    sale_line,
    v2_close,
    v2_line,
)
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.emulator.dispatch import HANDLERS
from kkt_bridge.drivers.shtrih.emulator.profile import DEMO_PROFILE
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.fiscal import decode_document, parse_document

PASSWORDS = [CASHIER.to_bytes(4, "little"), SYSADMIN.to_bytes(4, "little")]
_REGISTRATION = {"password": SYSADMIN, "inn": DEMO_PROFILE.inn, "rnm": DEMO_PROFILE.rnm,
                 "work_mode": 0}


def _code_bytes(code: int) -> bytes:
    return code.to_bytes(2 if code > 0xFF else 1, "big")


# a well-formed command with plausible values: these drive the device deep into its states
_good = st.one_of(
    st.builds(lambda q, p, t: cmd(0x80).build_request(**sale_line(quantity=q, price=p,
                                                                   taxes=[t, 0, 0, 0])),
              st.integers(0, 5000), st.integers(0, 100000), st.integers(0, 7)),
    st.builds(lambda q, p, o, bit: cmd(0xFF46).build_request(**v2_line(
        quantity=q, price=p, operation=o, tax_rate=bit)),
        st.integers(0, 3_000_000), st.integers(0, 100000), st.integers(0, 5),
        st.sampled_from([0, 1, 2, 4, 8, 16, 32, 3])),
    st.builds(lambda c, e, pct: cmd(0x85).build_request(**close_fields(
        cash=c, electronic=e, discount_percent=pct)),
        st.integers(0, 400000), st.integers(0, 200000), st.integers(-10000, 10000)),
    st.builds(lambda c, e, r: cmd(0xFF45).build_request(**v2_close(cash=c, electronic=e,
                                                                   rounding=r)),
              st.integers(0, 400000), st.integers(0, 200000), st.integers(0, 120)),
    st.builds(lambda t: cmd(0x8D).build_request(password=CASHIER, receipt_type=t),
              st.integers(0, 5)),
    st.builds(lambda a: cmd(0x86).build_request(password=CASHIER, amount=a, taxes=[0] * 4,
                                                text=""), st.integers(0, 20000)),
    st.builds(lambda d, s: cmd(0xFF4B).build_request(password=SYSADMIN, discount=d,
                                                     surcharge=s, tax=0, text=""),
              st.integers(0, 20000), st.integers(0, 20000)),
    st.builds(lambda a, code: cmd(code).build_request(password=CASHIER, amount=a),
              st.integers(0, 50000), st.sampled_from([0x50, 0x51])),
    st.builds(lambda raw: cmd(0xFF0C).build_request(password=SYSADMIN, tlv=raw),
              st.binary(max_size=40)),
    st.builds(lambda n: cmd(0xFF3A).build_request(password=SYSADMIN, fd_number=n),
              st.integers(0, 12)),
    st.builds(lambda a, o: cmd(0xFF36).build_request(password=SYSADMIN, amount=a, operation=o),
              st.integers(0, 10000), st.integers(0, 4)),
    st.builds(lambda t: cmd(0xFF05).build_request(password=SYSADMIN, report_type=t),
              st.integers(0, 3)),
    st.builds(lambda tax, reason: cmd(0xFF34).build_request(**_REGISTRATION, reason=reason,
                                                            tax_systems=tax),
              st.integers(0, 70), st.integers(0, 5)),
    st.sampled_from([
        cmd(0xE0).build_request(password=CASHIER),
        cmd(0x41).build_request(password=SYSADMIN),
        cmd(0x40).build_request(password=SYSADMIN),
        cmd(0x88).build_request(password=CASHIER),
        cmd(0xFF3B).build_request(password=SYSADMIN),
        cmd(0xFF01).build_request(password=SYSADMIN),
        cmd(0x10).build_request(password=CASHIER),
        cmd(0x11).build_request(password=CASHIER),
        cmd(0xFF35).build_request(password=SYSADMIN),
        cmd(0xFF06).build_request(**_REGISTRATION, tax_systems=1),
    ]),
)

# a known command with random data after a valid password, or anything at all
_noise = st.one_of(
    st.builds(lambda code, pwd, tail: _code_bytes(code) + pwd + tail,
              st.sampled_from(sorted(HANDLERS)), st.sampled_from(PASSWORDS),
              st.binary(max_size=60)),
    st.binary(min_size=1, max_size=80),
)

# whole receipts, so that random sessions fill the archive with every kind of document
_receipts = st.one_of(
    st.builds(lambda p, t, o: [cmd(0x80 + o).build_request(**sale_line(price=p,
                                                                      taxes=[t, 0, 0, 0])),
                               cmd(0x85).build_request(**close_fields(cash=0, electronic=p))],
              st.integers(1, 100000), st.integers(0, 6), st.integers(0, 3)),
    st.builds(lambda p, o: [cmd(0xFF46).build_request(**v2_line(price=p, operation=o)),
                            cmd(0xFF45).build_request(**v2_close(cash=p))],
              st.integers(1, 100000), st.sampled_from([1, 4])),
    st.just([cmd(0xFF35).build_request(password=SYSADMIN),
             cmd(0xFF36).build_request(password=SYSADMIN, amount=100, operation=1)]),
    st.just([cmd(0x88).build_request(password=CASHIER),
             cmd(0x41).build_request(password=SYSADMIN)]),
)

_events = st.one_of(
    _good.map(lambda body: ("send", [body])),
    _noise.map(lambda body: ("send", [body])),
    _receipts.map(lambda bodies: ("send", bodies)),
    st.sampled_from([("power", []), ("paper", []), ("day", [])]),
)


@given(st.lists(_events, max_size=30), st.booleans())
def test_random_sessions_never_raise_nor_corrupt_the_archive(
        events: list[tuple[str, list[bytes]]], registered: bool) -> None:
    clock = ManualClock()
    dev = device(clock=clock, registered=registered)
    for kind, bodies in events:
        if kind == "power":
            dev.power_cycle()
        elif kind == "paper":
            dev.faults.paper_out = not dev.faults.paper_out
        elif kind == "day":
            clock.advance(timedelta(hours=13))
        for body in bodies:
            answer = dev.handle(body)
            echo = body[:2] if body[0] == 0xFF and len(body) > 1 else body[:1]
            assert answer.startswith(echo)
            assert len(answer) > len(echo)
            if answer[len(echo)] != 0:
                assert len(answer) == len(echo) + 1
            assert len(answer) <= 255
        status = cmd(0x10).answer.parse(dev.handle(cmd(0x10).build_request(
            password=CASHIER))[2:])
        assert status.submode <= 5  # pyshtrih raises on anything else
    assert dev.internal_errors == []
    documents = dev.archive()
    for number, document in enumerate(documents, start=1):
        _doc_type, tags = parse_document(document)
        assert dict(tags)[1040] == number
        decode_document(document)
    dev.power_cycle()
    if documents:
        assert read_document_tlv(dev, len(documents)) == documents[-1]
