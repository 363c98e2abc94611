"""The virtual ФН's archive: numbered, signed fiscal documents, stored as FFD TLV.

Every document is encoded once through :func:`kkt_bridge.fiscal.wire.encode_document` and
kept as those bytes; a protocol front end hands them out unchanged. The fiscal sign is an
HMAC of the document, keyed by the ФН number and the emulator's seed, so the same run gives
the same signs (a real ФН signs with its own key; nobody can check either without the key).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kkt_bridge.fiscal.facts import TAG_FD_NUMBER, TAG_FISCAL_SIGN, TAG_FN_NUMBER
from kkt_bridge.fiscal.fastparse import parse_document
from kkt_bridge.fiscal.wire import TagValue, encode_document


@dataclass
class StoredDocument:
    number: int
    doc_type: int
    created_at: datetime  # minute precision, as the ФН keeps it
    fiscal_sign: int  # u32, as command answers carry it
    tlv: bytes  # the whole document: type u16, length u16, body
    #: what FF0A shows besides the common part (see the FF0A declaration)
    details: dict[str, Any] = field(default_factory=dict)
    ofd_acknowledged: bool = False

    @property
    def body(self) -> bytes:
        return self.tlv[4:]

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "type": self.doc_type,
            "created_at": self.created_at.isoformat(), "fiscal_sign": self.fiscal_sign,
            "tlv": self.tlv.hex(), "details": self.details, "ofd": self.ofd_acknowledged,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredDocument:
        document = cls(
            number=int(data["number"]), doc_type=int(data["type"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            fiscal_sign=int(data["fiscal_sign"]), tlv=bytes.fromhex(data["tlv"]),
            details=dict(data["details"]), ofd_acknowledged=bool(data["ofd"]),
        )
        parse_document(document.tlv)  # a stored document must still decode
        return document


class Archive:
    """The documents of one ФН, in ФД order (ФД numbers start at 1)."""

    def __init__(self, fn_number: str, key: bytes) -> None:
        self.fn_number = fn_number
        self._key = key
        self.documents: list[StoredDocument] = []

    @property
    def last_number(self) -> int:
        return self.documents[-1].number if self.documents else 0

    @property
    def last(self) -> StoredDocument | None:
        return self.documents[-1] if self.documents else None

    def get(self, number: int) -> StoredDocument | None:
        if 1 <= number <= len(self.documents):
            return self.documents[number - 1]
        return None

    def sign(self, unsigned: bytes) -> int:
        digest = hmac.new(self._key, unsigned, hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big")

    def prepare(self, doc_type: int, tags: Sequence[tuple[int, TagValue]],
                created_at: datetime, details: dict[str, Any]) -> StoredDocument:
        """Number, sign and encode a document without storing it yet.

        Encoding errors surface here, before anything changed; :meth:`commit` then only
        appends, so the archive never holds half a document.
        """
        number = self.last_number + 1
        numbered = [*tags, (TAG_FD_NUMBER, number), (TAG_FN_NUMBER, self.fn_number)]
        sign = self.sign(encode_document(doc_type, numbered))
        tlv = encode_document(doc_type, [*numbered, (TAG_FISCAL_SIGN, sign)])
        return StoredDocument(number, doc_type, created_at.replace(second=0, microsecond=0),
                              sign, tlv, details)

    def commit(self, document: StoredDocument) -> None:
        if document.number != self.last_number + 1:
            raise AssertionError("ФД numbers must follow each other")
        self.documents.append(document)

    @property
    def acknowledged_up_to(self) -> int:
        """The last ФД of the unbroken run of documents the OFD confirmed (0: none)."""
        number = 0
        for document in self.documents:
            if not document.ofd_acknowledged:
                break
            number = document.number
        return number

    def unacknowledged(self) -> list[StoredDocument]:
        return [d for d in self.documents if not d.ofd_acknowledged]

    def acknowledge(self, up_to: int | None = None) -> int:
        """Mark documents as confirmed by the OFD (all, or up to ФД ``up_to``)."""
        count = 0
        for document in self.documents:
            if up_to is not None and document.number > up_to:
                break
            if not document.ofd_acknowledged:
                document.ofd_acknowledged = True
                count += 1
        return count
