"""The typed schema every export acknowledgement is held to, whatever the plugin.

The export cursor moves on acknowledgements alone, so an answer the bridge cannot trust must
move nothing: ``accepted`` and ``duplicate`` are booleans (not ``"false"``, not ``1``), the
key is the key of the document sent at that place, there is exactly one per document, in the
order sent, and a duplicate is an accepted one. Anything else is an
:class:`~kkt_bridge.errors.AcknowledgementError` (a back-office error, retried later).

:func:`check_acks` holds a plugin's :class:`~kkt_bridge.exchange.Ack` list to it (the core
calls it on every plugin's answer); :func:`acks_from_json` reads the usual JSON shape of an
HTTP back office (``[{"key": ..., "accepted": true, "duplicate": false, "error": null}]``)
under the same rules, so a plugin need not write its own lenient parser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kkt_bridge.errors import AcknowledgementError
from kkt_bridge.exchange import Ack, ExportDocument
from kkt_bridge.i18n import _

#: an error text longer than this is cut (it is shown to people and logged)
MAX_ERROR = 500


def _refused(what: str) -> AcknowledgementError:
    return AcknowledgementError(
        _("бэк-офис прислал подтверждения, которым нельзя верить: {what}").format(what=what),
        _("документы не отмечены выгруженными и будут отправлены ещё раз; если это "
          "повторяется, сообщите в поддержку бэк-офиса"))


def check_acks(documents: Sequence[ExportDocument], acks: Any) -> list[Ack]:
    """``acks`` if it acknowledges ``documents`` one by one, in order, with typed fields;
    raises :class:`AcknowledgementError` otherwise."""
    if not isinstance(acks, list):
        raise _refused(_("ответ не список"))
    if len(acks) != len(documents):
        raise _refused(_("{got} подтверждений на {sent} документов").format(
            got=len(acks), sent=len(documents)))
    for index, (document, ack) in enumerate(zip(documents, acks, strict=True)):
        where = _("подтверждение №{n}").format(n=index + 1)
        if not isinstance(ack, Ack):
            raise _refused(_("{where} не Ack").format(where=where))
        if type(ack.key) is not str or ack.key != document.key:
            raise _refused(_("{where}: ключ {got!r} вместо {want}").format(
                where=where, got=ack.key, want=document.key))
        for name in ("accepted", "duplicate"):
            if type(getattr(ack, name)) is not bool:
                raise _refused(_("{where}: поле {name} не логическое ({value!r})").format(
                    where=where, name=name, value=getattr(ack, name)))
        if ack.error is not None and type(ack.error) is not str:
            raise _refused(_("{where}: поле error не строка").format(where=where))
        if ack.duplicate and not ack.accepted:
            raise _refused(_("{where}: повтор документа не отмечен как принятый").format(
                where=where))
    return acks


def acks_from_json(documents: Sequence[ExportDocument], answer: Any) -> list[Ack]:
    """The acknowledgements in an HTTP back office's JSON answer (a list of objects, or an
    object with that list under ``"acks"``), checked by :func:`check_acks`."""
    items = answer.get("acks") if isinstance(answer, Mapping) else answer
    if not isinstance(items, list):
        raise _refused(_("в ответе нет списка acks"))
    acks: list[Ack] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _refused(_("подтверждение №{n} не объект").format(n=index + 1))
        error = item.get("error")
        if isinstance(error, str):
            error = error[:MAX_ERROR]
        # fields go in as they came: check_acks refuses anything but the declared types
        key: Any = item.get("key")
        accepted: Any = item.get("accepted")
        acks.append(Ack(key=key, accepted=accepted, duplicate=item.get("duplicate", False),
                        error=error))
    return check_acks(documents, acks)
