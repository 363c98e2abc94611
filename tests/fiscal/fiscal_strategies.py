"""Hypothesis strategies for FFD tag values and whole documents (what the decoder returns)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import strategies as st

from kkt_bridge.fiscal import DOCUMENT_TYPES, TAGS, Tags, TagValue, WireType, tag_spec

CP866_ALPHABET = bytes(range(256)).decode("cp866")

UNKNOWN_TAGS = st.integers(0, 0xFFFF).filter(lambda tag: tag not in TAGS)
LEAF_TAGS = sorted(tag for tag, spec in TAGS.items() if spec.type is not WireType.STLV)
STLV_TAGS = sorted(tag for tag, spec in TAGS.items() if spec.type is WireType.STLV)


def _fvln() -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda mantissa, scale: Decimal(mantissa).scaleb(-scale),
        st.integers(0, (1 << 56) - 1), st.integers(0, 12))


def leaf_value(tag: int, parent: int) -> st.SearchStrategy[TagValue]:
    spec = tag_spec(tag, parent)
    assert spec is not None
    wire = spec.type
    if wire is WireType.BYTE:
        return st.integers(0, 0xFF)
    if wire is WireType.U16:
        return st.integers(0, 0xFFFF)
    if wire is WireType.U32:
        return st.integers(0, 0xFFFF_FFFF)
    if wire is WireType.UNIXTIME:
        return st.datetimes(min_value=datetime(1970, 1, 1),
                            max_value=datetime(2106, 2, 7)).map(
            lambda moment: moment.replace(microsecond=0, fold=0))
    if wire is WireType.VLN:
        return st.integers(0, (1 << 64) - 1)
    if wire is WireType.FVLN:
        return _fvln()
    if wire is WireType.STRING:
        return st.text(CP866_ALPHABET, max_size=min(spec.max_length, 40))
    if wire is WireType.FISCAL_SIGN:
        return st.binary(min_size=6, max_size=6)
    return st.binary(max_size=min(spec.max_length, 40))


def tag_pairs(parent: int, depth: int = 0) -> st.SearchStrategy[Tags]:
    """A run of TLVs under ``parent``: known leaves, unknown tags, and (shallow) STLVs."""
    leaf = st.sampled_from(LEAF_TAGS).flatmap(
        lambda tag: leaf_value(tag, parent).map(lambda value: (tag, value)))
    unknown = st.tuples(UNKNOWN_TAGS, st.binary(max_size=20))
    options = [leaf, unknown]
    if depth < 2:
        options.append(st.sampled_from(STLV_TAGS).flatmap(
            lambda tag: tag_pairs(tag, depth + 1).map(lambda children: (tag, children))))
    return st.lists(st.one_of(*options), max_size=8 if depth else 14).map(tuple)


document_types = st.one_of(st.sampled_from(sorted(DOCUMENT_TYPES)), st.integers(0, 0xFFFF))

documents = document_types.flatmap(
    lambda doc_type: tag_pairs(doc_type).map(lambda tags: (doc_type, tags)))
"""(document type, tags) as the decoder returns them."""
