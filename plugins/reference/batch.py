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

import base64
import binascii
import re
from typing import Annotated

import msgspec

from kkt_bridge.plugins.reference import models
from kkt_bridge.plugins.reference.storage import IncomingDocument


def _exact(pattern: str) -> str:
    # Python's "$" also matches before a final newline; the typed route's regex does not
    return pattern.removesuffix("$") + r"\Z"


_FnNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=32,
                                        pattern=_exact(models._VISIBLE))]
_Base64 = Annotated[str, msgspec.Meta(pattern=_exact(models.BASE64))]


class _Document(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(max_length=100)]
    fn_number: _FnNumber
    fd_number: Annotated[int, msgspec.Meta(ge=1, le=models.FD_MAX)]
    document_type: Annotated[int, msgspec.Meta(ge=0, le=models.TYPE_MAX)]
    fns: msgspec.Raw
    raw_b64: _Base64 = ""


_DECODER = msgspec.json.Decoder(list[_Document])
#: a JSON escape of a UTF-16 surrogate: the typed route's parser judges those
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
#: a number that may not fit a float (an exponent, or very many digits): Raw keeps numbers
#: as text, the typed route's parser turns such a one into an infinity and refuses it
_HUGE = re.compile(rb"[0-9][eE]|[0-9]{100}")
#: an ``fns`` object with fewer brackets than this cannot be nested deeper than the typed
#: route's parser allows (it stops at app.MAX_DEPTH = 200, the batch and the document
#: taking two levels)
_BRACKETS = 190


def decode_batch(body: bytes) -> list[IncomingDocument] | None:
    """The batch in ``body``, or None when the typed route must judge it."""
    if _SURROGATE.search(body):
        return None
    try:
        docs = _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if len(docs) > models.MAX_BATCH:
        return None
    batch: list[IncomingDocument] = []
    # every bracket of the body but the batch's and the documents' own is inside an fns:
    # otherwise an ignored field (or a string) holds some, and the typed route judges
    brackets = len(docs) + 1
    for doc in docs:
        fns = bytes(doc.fns)
        inside = fns.count(b"[") + fns.count(b"{")
        brackets += inside
        if fns[:1] != b"{" or inside >= _BRACKETS or _HUGE.search(fns):
            return None
        try:
            raw = base64.b64decode(doc.raw_b64, validate=True)
            text = fns.decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        batch.append(IncomingDocument(doc.key, doc.fn_number, doc.fd_number,
                                      doc.document_type, None, raw, text))
    if body.count(b"[") + body.count(b"{") != brackets:
        return None
    return batch


_ACKS = msgspec.json.Encoder()


def encode_acks(acks: list[dict[str, object]]) -> bytes:
    return _ACKS.encode({"acks": acks})
