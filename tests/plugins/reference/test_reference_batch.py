"""The one-pass batch decoder (plugins/reference/batch.py) is never looser than the typed
route: what it accepts, the typed route accepts with the same values; what the typed route
refuses, it hands back (None) for the typed route to refuse with its documented errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kkt_bridge.plugins.reference import models
from kkt_bridge.plugins.reference.app import ApiError, _incoming, parse_json
from kkt_bridge.plugins.reference.batch import decode_batch
from kkt_bridge.plugins.reference.storage import IncomingDocument
from kkt_bridge.testing.contract import sample_receipt

TYPED = TypeAdapter(list[models.DocumentIn])


def typed(body: bytes) -> list[IncomingDocument] | None:
    """What the typed route makes of a body; None when it refuses it."""
    try:
        docs = TYPED.validate_python(parse_json(body))
        if len(docs) > models.MAX_BATCH:
            return None
        return [_incoming(i, d) for i, d in enumerate(docs)]
    except (ApiError, ValidationError):
        return None


def doc(fd: int = 1, **changes: Any) -> dict[str, Any]:
    d = sample_receipt("9999078900000001", fd, items=1 + fd % 5)
    return {"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
            "document_type": d.document_type, "fns": dict(d.fns),
            "raw_b64": base64.b64encode(d.raw).decode(), **changes}


def body(*docs: dict[str, Any], ascii_only: bool = False) -> bytes:
    return json.dumps(list(docs), ensure_ascii=ascii_only).encode()


def same(fast: list[IncomingDocument], slow: list[IncomingDocument]) -> None:
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow, strict=True):
        assert (f.key, f.fn_number, f.fd_number, f.document_type, f.raw) == \
            (s.key, s.fn_number, s.fd_number, s.document_type, s.raw)
        assert json.loads(f.fns_json()) == json.loads(s.fns_json()) == s.fns


def check(raw: bytes) -> list[IncomingDocument] | None:
    fast = decode_batch(raw)
    slow = typed(raw)
    if fast is not None:
        assert slow is not None, "the fast path accepted what the typed route refuses"
        same(fast, slow)
    return fast


def test_a_bridges_batch_takes_the_fast_path() -> None:
    fast = check(body(*(doc(fd) for fd in range(1, 51))))
    assert fast is not None and len(fast) == 50
    assert check(b"[]") == []


def test_a_batch_of_escaped_text_is_judged_by_the_typed_route_alike() -> None:
    """The bridge sends UTF-8 text; \\uXXXX escapes (hex digits next to an "e") are the typed
    route's, with the same result."""
    raw = body(*(doc(fd) for fd in range(1, 51)), ascii_only=True)
    assert check(raw) is None and typed(raw) is not None


def nested(depth: int) -> list[Any]:
    inner: list[Any] = []
    for _level in range(depth - 1):
        inner = [inner]
    return inner


GOOD = body(doc(1))


@pytest.mark.parametrize("raw", [
    GOOD.replace(b'"totalSum":', b'"x": NaN, "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": -Infinity, "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": "\\ud800", "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": "\\udc00", "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": "\\ud800\\u0041", "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"\\udfff": 1, "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": [-1E400], "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": 1' + b"0" * 400 + b'.0, "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": ' + b"[" * 250 + b"]" * 250 + b', "totalSum":'),
    GOOD.replace(b'"totalSum":', b'"x": "\xff", "totalSum":'),
    GOOD.replace(b'"fns": {', b'"fns": [{').replace(b'}, "raw_b64"', b'}], "raw_b64"'),
    body(doc(1, fd_number=1.0)), body(doc(1, fd_number=True)), body(doc(1, fd_number="1")),
    body(doc(1, fd_number=0)), body(doc(1, fd_number=2**32)), body(doc(1, document_type=-1)),
    body(doc(1, fn_number="")), body(doc(1, fn_number=" ")), body(doc(1, fn_number="\n")),
    body(doc(1, fn_number="1" * 33)), body(doc(1, fn_number="1\x00")),
    body(doc(1, key="k" * 101)), body(doc(1, raw_b64="QUJ")), body(doc(1, raw_b64="QUJD\n")),
    body(doc(1, raw_b64="QQ==QQ==")), body(doc(1, raw_b64="Q===")),
    body(doc(1, extra=[[[1]]])), body(doc(1, fns=None)), body(doc(1, key=None)),
    body(*(doc(fd) for fd in range(1, models.MAX_BATCH + 2))),
    b"{}", b"[1]", b"[", b"",
    # what is wrong only in a later document of a batch
    body(doc(1), doc(2, fn_number=" ")), body(doc(1), doc(2), doc(3, fn_number="1" * 33)),
    body(doc(1), doc(2, fns={**doc(2)["fns"], "x": nested(200)}), doc(3)),
    b"%s, %s" % (body(doc(1))[:-1], body(doc(2))[1:].replace(
        b'"totalSum":', b'"x": "\xff", "totalSum":')),
], ids=lambda raw: str(len(raw)))
def test_whatever_is_unusual_goes_to_the_typed_route(raw: bytes) -> None:
    assert check(raw) is None


def test_brackets_are_counted_per_document_not_per_batch() -> None:
    """Fifty documents nested 60 deep hold 6,000 brackets between them, none too deep."""
    fast = check(body(*(doc(fd, fns={**doc(fd)["fns"], "x": nested(60)})
                        for fd in range(1, 51))))
    assert fast is not None and len(fast) == 50


def test_the_fns_text_is_kept_as_it_arrived() -> None:
    raw = body(doc(1), doc(2))
    fast = decode_batch(raw)
    assert fast is not None
    for document in fast:
        text = document.fns_json()
        assert not isinstance(text, str) and bytes(text) in raw  # the request's own slice
        assert bytes(text).startswith(b"{")


def test_an_unknown_field_goes_to_the_typed_route_which_ignores_it() -> None:
    raw = body(doc(1, comment="касса 1"))
    assert decode_batch(raw) is None and typed(raw) is not None


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                     | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(["key", "fn_number", "fd_number", "document_type", "fns",
                              "raw_b64"]), value=_json)
def test_no_value_is_accepted_by_the_fast_path_alone(field: str, value: Any) -> None:
    check(body(doc(1, **{field: value})))


@settings(max_examples=300, deadline=None)
@given(at=st.integers(0, len(GOOD) - 1), junk=st.binary(min_size=1, max_size=4))
def test_no_damaged_body_is_accepted_by_the_fast_path_alone(at: int, junk: bytes) -> None:
    check(GOOD[:at] + junk + GOOD[at + len(junk):])


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="AQgz09+/=-_ \n.", max_size=14))
def test_raw_b64_is_decoded_by_msgspec_exactly_as_the_schema_says(text: str) -> None:
    """msgspec decodes ``raw_b64`` into bytes itself: it must accept exactly what
    models.BASE64 allows (whole quads, "=" only as the last one or two, no whitespace, no
    URL-safe alphabet) and give the bytes the typed route gives."""
    fast = check(body(doc(1, raw_b64=text)))
    assert (fast is not None) == (typed(body(doc(1, raw_b64=text))) is not None)
    if fast is not None:
        assert fast[0].raw == base64.b64decode(text, validate=True)


@pytest.mark.parametrize("value", ["deep", "exponent", "digits"])
def test_one_unusual_document_in_a_full_batch_sends_the_batch_to_the_typed_route(
        value: str) -> None:
    """The number and depth checks run over the whole batch at once: one document deep in
    the middle, or with a number a float cannot hold, is still found."""
    docs = [doc(fd) for fd in range(1, 51)]
    docs[24]["fns"]["x"] = "@placeholder@"
    extra = {"deep": b"[" * 195 + b"]" * 195, "exponent": b"1E5",
             "digits": b"1" + b"0" * 320}[value]
    raw = body(*docs).replace(b'"@placeholder@"', extra)
    assert check(body(*docs)) is not None
    assert check(raw) is None
