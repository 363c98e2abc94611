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

import re
from itertools import accumulate, repeat
from operator import add, attrgetter
from typing import Annotated

import msgspec

from kkt_bridge.plugins.reference import models
from kkt_bridge.plugins.reference.storage import DocumentAck, IncomingDocument


def _exact(pattern: str) -> str:
    # Python's "$" also matches before a final newline; the typed route's regex does not
    return pattern.removesuffix("$") + r"\Z"


#: checked once per distinct ФН of a batch (a bridge's batch has one or two), not per
#: document: msgspec's pattern check per field costs about 1 us a document
_FN_NUMBER = re.compile(_exact(models._VISIBLE))
_FN_MAX = 32


class _Document(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """DocumentIn's fields and limits; an unknown field (which the typed route ignores)
    sends the batch there, so that every bracket outside ``fns`` is the batch's own.
    ``fn_number``'s limits (1 to 32 characters, a visible one, no NUL) are checked by
    :func:`decode_batch` per distinct value. Not tracked by the garbage collector: its
    fields are strings, integers and bytes, which cannot make a cycle."""

    key: Annotated[str, msgspec.Meta(max_length=100)]
    fn_number: str
    fd_number: Annotated[int, msgspec.Meta(ge=1, le=models.FD_MAX)]
    document_type: Annotated[int, msgspec.Meta(ge=0, le=models.TYPE_MAX)]
    fns: msgspec.Raw
    #: msgspec decodes base64 into bytes itself and accepts exactly models.BASE64 (whole
    #: quads of the standard alphabet, "=" padding only at the end, nothing else);
    #: tests/plugins/reference/test_reference_batch.py holds it to the regex. A regex over a
    #: kilobyte, or binascii in Python, costs more than the rest of the document.
    #: A bytearray: sqlite3 binds one as it is, while for bytes it first looks for an
    #: adapter and a ``__conform__`` method (an AttributeError built and dropped, about
    #: 1 us a value).
    raw_b64: bytearray = bytearray()


_DECODER = msgspec.json.Decoder(list[_Document])
#: the batch-wide steps go through map() with these: no Python frame per document, and
#: no comprehension's function object per request (which a batch of one would pay for)
_FN_NUMBER_OF = attrgetter("fn_number")
_FNS_OF = attrgetter("fns")
#: digits as "0", the exponent letters as "e", brackets as "[", anything else as a space:
#: the numbers that may not fit a float (an exponent, or 309 digits and more) become plain
#: substrings. Raw keeps numbers as text; the typed route's parser makes such a one an
#: infinity, which it refuses.
#: The batch's ``fns`` objects are joined by NUL (which valid JSON never holds raw) and
#: shaped in one pass: NUL becomes "|", between documents.
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
    route's parser does (tests/plugins/reference/test_reference_batch.py holds it to that).

    Each document's ``fns`` is kept as the UTF-8 bytes it arrived as (``fns_text``, a
    bytearray for the reason ``raw_b64`` is one): the storages write those bytes as the
    column's text, so the text is neither decoded into a str nor encoded back (about 1 us a
    document each way)."""
    try:
        docs = _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if len(docs) > models.MAX_BATCH:
        return None
    for fn_number in set(map(_FN_NUMBER_OF, docs)):
        if len(fn_number) > _FN_MAX or _FN_NUMBER.search(fn_number) is None:
            return None
    # every check over the whole batch at once: per document they cost as much as the
    # decode itself (a call per check per document)
    texts = list(map(bytearray, map(_FNS_OF, docs)))
    joined = b"\x00".join(texts)
    try:  # msgspec checks UTF-8 in the strings it builds, not inside a Raw value
        joined.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shape = joined.translate(_NUMBERS)
    if b"0e" in shape or _FLOAT_DIGITS in shape:
        return None
    if len(texts) > 1:  # each document's brackets counted in place, in one pass:
        # document i is shape[bounds[i]:bounds[i + 1]], its separator included
        bounds = list(accumulate(map(add, map(len, texts), repeat(1)), initial=0))
        brackets = max(map(shape.count, repeat(b"["), bounds, bounds[1:]))
    else:
        brackets = shape.count(b"[")
    if brackets >= _BRACKETS:
        return None
    if not all(map(bytearray.startswith, texts, repeat(b"{"))):
        return None
    return [IncomingDocument(doc.key, doc.fn_number, doc.fd_number, doc.document_type, None,
                             doc.raw_b64, text) for doc, text in zip(docs, texts, strict=True)]


_ACKS = msgspec.json.Encoder()


def encode_acks(acks: list[DocumentAck]) -> bytes:
    """The answer's body: DocumentAck is a msgspec Struct, encoded as the object
    ``{"key", "accepted", "duplicate", "error"}`` without a dict per document."""
    return _ACKS.encode({"acks": acks})
