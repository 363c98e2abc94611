"""A batch of documents (``POST /api/v1/documents``) decoded and validated in one pass.

The typed route (:class:`.models.DocumentIn` through FastAPI) builds every receipt's FNS
JSON as Python objects, validates them, and encodes them back to text for the database:
three quarters of a loaded server's time per document. Here msgspec validates the batch
against the same rules in one pass over the raw body and keeps each ``fns`` object as the
exact JSON text it arrived as (``msgspec.Raw``: checked, never built), which is what the
database stores.

Never looser than the typed route: whatever this decoder is not sure of (any error, a
float where an integer goes, an escaped surrogate, deep nesting, more than MAX_BATCH
documents) makes it answer None, and the typed route decides, with its documented errors.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from kkt_bridge.plugins.reference import models
from kkt_bridge.plugins.reference.storage import DocumentAck, IncomingDocument


def _exact(pattern: str) -> str:
    # Python's "$" also matches before a final newline; the typed route's regex does not
    return pattern.removesuffix("$") + r"\Z"


_FnNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=32,
                                        pattern=_exact(models._VISIBLE))]


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    """DocumentIn's fields and limits; an unknown field (which the typed route ignores)
    sends the batch there, so that every bracket outside ``fns`` is the batch's own."""

    key: Annotated[str, msgspec.Meta(max_length=100)]
    fn_number: _FnNumber
    fd_number: Annotated[int, msgspec.Meta(ge=1, le=models.FD_MAX)]
    document_type: Annotated[int, msgspec.Meta(ge=0, le=models.TYPE_MAX)]
    fns: msgspec.Raw
    #: msgspec decodes base64 into bytes itself and accepts exactly models.BASE64 (whole
    #: quads of the standard alphabet, "=" padding only at the end, nothing else);
    #: tests/plugins/reference/test_reference_batch.py holds it to the regex. A regex over a
    #: kilobyte, or binascii in Python, costs more than the rest of the document.
    raw_b64: bytes = b""


_DECODER = msgspec.json.Decoder(list[_Document])
#: digits as "0", the exponent letters as "e", brackets as "[", anything else as a space:
#: the numbers that may not fit a float (an exponent, or 309 digits and more) become plain
#: substrings. Raw keeps numbers as text; the typed route's parser makes such a one an
#: infinity, which it refuses.
#: The batch's ``fns`` objects are joined by NUL (which valid JSON never holds raw) and
#: shaped in one pass: NUL becomes "|", so the shape splits back into documents when needed.
_NUMBERS = bytes(ord("0") if 48 <= c <= 57 else ord("e") if c in b"eE"
                 else ord("[") if c in b"[{" else ord("|") if c == 0 else ord(" ")
                 for c in range(256))
_FLOAT_DIGITS = b"0" * 309

#: an ``fns`` object with fewer brackets than this cannot be nested deeper than the typed
#: route's parser allows (it stops at app.MAX_DEPTH = 200, the batch and the document
#: taking two levels)
_BRACKETS = 190


def decode_batch(body: bytes) -> list[IncomingDocument] | None:
    """The batch in ``body``, or None when the typed route must judge it. msgspec refuses
    lone surrogates (escaped or not) and NaN/Infinity inside a Raw value as the typed
    route's parser does (tests/plugins/reference/test_reference_batch.py holds it to that)."""
    try:
        docs = _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if len(docs) > models.MAX_BATCH:
        return None
    # the number and depth checks over the whole batch at once: per document they cost as
    # much as the decode itself (a call per check per document)
    shape = b"\x00".join([doc.fns for doc in docs]).translate(_NUMBERS)
    if b"0e" in shape or _FLOAT_DIGITS in shape:
        return None
    if shape.count(b"[") >= _BRACKETS and any(
            part.count(b"[") >= _BRACKETS for part in shape.split(b"|")):
        return None
    batch: list[IncomingDocument] = []
    for doc in docs:
        try:
            text = str(doc.fns, "utf-8")
        except ValueError:
            return None
        if text[:1] != "{":
            return None
        batch.append(IncomingDocument(doc.key, doc.fn_number, doc.fd_number,
                                      doc.document_type, None, doc.raw_b64, text))
    return batch


_ACKS = msgspec.json.Encoder()


def encode_acks(acks: list[DocumentAck]) -> bytes:
    """The answer's body: DocumentAck is a msgspec Struct, encoded as the object
    ``{"key", "accepted", "duplicate", "error"}`` without a dict per document."""
    return _ACKS.encode({"acks": acks})
