"""The FF3B answer's fast path (about 25 blocks a document) is the declaration's reading:
``tlv_block_data`` returns what ``READ_TLV_BLOCK.parse_answer`` gives as ``data`` and raises
what it raises, for any answer body."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.commands.fn import READ_TLV_BLOCK, tlv_block_data, tlv_block_size

PREFIX = READ_TLV_BLOCK.code_bytes

BODIES = st.one_of(
    st.binary(max_size=8),
    st.tuples(st.sampled_from([0, 0, 8, 1, 0x33]), st.binary(max_size=60))
    .map(lambda t: PREFIX + bytes((t[0],)) + t[1]),
    st.binary(max_size=60).map(lambda data: READ_TLV_BLOCK.build_answer(data=data)),
    st.binary(max_size=4).map(lambda tail: PREFIX[:1] + tail),
)


def _outcome(read: object, body: bytes) -> tuple[str, object]:
    try:
        return "data", read(body)  # type: ignore[operator]
    except Exception as exc:  # the same class and message on both paths
        return type(exc).__name__, str(exc)


def _declared(body: bytes) -> bytes:
    return bytes(READ_TLV_BLOCK.parse_answer(body).data)


@given(BODIES)
@example(b"")
@example(PREFIX)
@example(PREFIX + b"\x00")
@example(PREFIX + b"\x00\x01")
@example(PREFIX + b"\x08")
@example(b"\xff\x3a\x00\x01")
def test_tlv_block_data_reads_what_the_declaration_reads(body: bytes) -> None:
    assert _outcome(tlv_block_data, body) == _outcome(_declared, body)


@given(BODIES)
@example(b"")
@example(PREFIX + b"\x00")
@example(PREFIX + b"\x00\x01")
@example(PREFIX + b"\x08\x01")
def test_tlv_block_size_is_the_size_of_a_block_the_read_goes_on_after(body: bytes) -> None:
    """Non-zero exactly when the declaration reads a block of data from the answer (the
    document read goes on after it), and then its size."""
    kind, data = _outcome(_declared, body)
    expected = len(data) if kind == "data" and data else 0  # type: ignore[arg-type]
    assert tlv_block_size(body) == expected
