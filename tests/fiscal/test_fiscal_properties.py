"""Properties: round trips, fast path == construct declarations, only DocumentError on junk."""

from __future__ import annotations

import contextlib
import json

import pytest
from fiscal_samples import RECEIPT_12, RECEIPT_105, REGISTRATION, SHIFT_CLOSE
from fiscal_strategies import documents
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.errors import DocumentError
from kkt_bridge.fiscal import (
    Tags,
    decode_document,
    encode_document,
    parse_document,
    to_fns_json,
    to_tree,
)
from kkt_bridge.fiscal.wire import MAX_DEPTH, parse_with_construct

REAL_DOCUMENTS = [
    encode_document(3, RECEIPT_105),
    encode_document(3, RECEIPT_12),
    encode_document(1, REGISTRATION),
    encode_document(5, SHIFT_CLOSE),
]


@given(documents)
def test_decode_encode_round_trip_and_fast_path_agreement(doc: tuple[int, Tags]) -> None:
    doc_type, tags = doc
    data = encode_document(doc_type, tags)
    parsed = parse_document(data)
    assert parsed == doc
    assert repr(parsed) == repr(doc)  # Decimal scale and value types preserved
    assert encode_document(*parsed) == data
    assert decode_document(data).tags == tags
    # the hand-written fast path and the construct declarations read the same values
    assert repr(parse_with_construct(data)) == repr(parsed)


@given(documents)
def test_both_json_shapes_serialize_any_document(doc: tuple[int, Tags]) -> None:
    data = encode_document(*doc)
    json.dumps(to_fns_json(decode_document(data)))
    tree = to_tree(data)
    json.dumps(tree)
    assert tree["tag"] == doc[0]
    assert len(tree["children"]) == len(doc[1])


def _outcome(parse: object, data: bytes) -> object:
    try:
        return repr(parse(data))  # type: ignore[operator]
    except DocumentError:
        return DocumentError


def _check_junk(data: bytes) -> None:
    """Anything but DocumentError escaping is a bug; both decoders must agree."""
    fast = _outcome(parse_document, data)
    assert fast == _outcome(parse_with_construct, data)
    for function in (decode_document, to_tree):
        try:
            function(data)
        except DocumentError as exc:
            assert exc.message and exc.hint
    with contextlib.suppress(DocumentError):
        to_fns_json(decode_document(data))


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_document_error(data: bytes) -> None:
    _check_junk(data)


@given(st.sampled_from(REAL_DOCUMENTS), st.data())
def test_mutated_real_documents_raise_only_document_error(base: bytes, data: st.DataObject
                                                           ) -> None:
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    _check_junk(bytes(mutated))


@given(st.binary(min_size=0, max_size=200))
def test_arbitrary_body_with_a_valid_header(body: bytes) -> None:
    # a correct document header gets the junk past the first check into the TLV walk
    _check_junk(b"\x03\x00" + len(body).to_bytes(2, "little") + body)


@pytest.mark.parametrize("base", REAL_DOCUMENTS, ids=["receipt105", "receipt12", "reg", "z"])
def test_truncation_at_every_offset_raises_document_error(base: bytes) -> None:
    for cut in range(len(base)):
        for function in (parse_document, decode_document, to_tree, parse_with_construct):
            with pytest.raises(DocumentError):
                function(base[:cut])


@pytest.mark.parametrize("base", REAL_DOCUMENTS[:2], ids=["receipt105", "receipt12"])
def test_truncated_body_with_patched_length(base: bytes) -> None:
    """A cut inside the body, with the header made to agree: an inner TLV is cut."""
    original = parse_document(base)[1]
    for cut in range(4, len(base)):
        data = base[:2] + (cut - 4).to_bytes(2, "little") + base[4:cut]
        try:
            _, tags = parse_document(data)
        except DocumentError as exc:
            assert "смещение" in exc.message
            continue
        # only a cut on a top-level TLV boundary decodes, and then to a prefix
        assert tags == original[:len(tags)]


def test_error_names_the_offset() -> None:
    data = bytes.fromhex("0300 0700 FC03 0500 E92D06")  # 1020 claims 5 bytes, has 3
    with pytest.raises(DocumentError) as info:
        parse_document(data)
    assert "1020" in info.value.message
    assert "смещение 4" in info.value.message


def test_trailing_bytes_are_an_error() -> None:
    data = encode_document(3, [(1020, 1)]) + b"\x00"
    with pytest.raises(DocumentError, match="лишние"):
        parse_document(data)


def test_nesting_is_bounded() -> None:
    inner: Tags = ((1030, "x"),)
    for _ in range(MAX_DEPTH + 2):
        inner = ((1059, inner),)
    data = encode_document(3, inner)
    with pytest.raises(DocumentError, match="вложенность"):
        parse_document(data)
    with pytest.raises(DocumentError):
        parse_with_construct(data)
    with pytest.raises(DocumentError, match="вложенность"):
        to_tree(data)


def test_non_bytes_input_is_a_document_error() -> None:
    with pytest.raises(DocumentError):
        decode_document("03 00")  # type: ignore[arg-type]
    with pytest.raises(DocumentError):
        to_tree(None)  # type: ignore[arg-type]


_ANY_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70), st.text(max_size=8),
              st.binary(max_size=8), st.floats(allow_nan=True), st.decimals(),
              st.datetimes()),
    lambda inner: st.lists(st.one_of(st.tuples(st.integers(-5, 70000), inner), inner),
                           max_size=4),
    max_leaves=12)


@given(st.integers(-5, 70000), _ANY_VALUE)
def test_encoder_raises_only_document_error(document_type: int, value: object) -> None:
    """Whatever an emulator hands the encoder: bytes that decode, or DocumentError."""
    tags = value if isinstance(value, list) else [(1030, value)]
    try:
        data = encode_document(document_type, tags)  # type: ignore[arg-type]
    except DocumentError:
        return
    parse_document(data)
