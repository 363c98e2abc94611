"""Shtrih-M error codes (the byte after the command echo) as typed errors.

Each code of the protocol gets its own :class:`~kkt_bridge.errors.DeviceError` subclass, so
callers catch what they can handle (``FnNoDataError`` ends an FF3B read, ``FnWrongStateError``
means "not registered" for FF09) and show the rest as a Russian message with a hint.
"""

from __future__ import annotations

from typing import NoReturn

from kkt_bridge.errors import DeviceError
from kkt_bridge.i18n import _


class ShtrihDeviceError(DeviceError):
    """The register answered a command with a non-zero error code."""

    #: the protocol's error code; 0 for the base classes
    error_code: int = 0
    #: what the code means (Russian source text, translated when raised)
    meaning: str = "ошибка ККТ"
    hint_text: str = "повторите операцию; если ошибка повторяется, обратитесь в сервисный центр"


class FnError(ShtrihDeviceError):
    """Errors the fiscal storage (ФН) reports through the register (codes < 0x20, 0xA0..0xB2)."""

    meaning = "ошибка ФН"


class ModeError(ShtrihDeviceError):
    """The register is in a mode or state where the command is not allowed."""


class PrinterError(ShtrihDeviceError):
    """Printing hardware: paper, the previous print job."""


class FnUnknownCommandError(FnError):
    error_code = 0x01
    meaning = "ФН: неизвестная команда или неверный формат"
    hint_text = "обновите прошивку ККТ или драйвер; обратитесь в сервисный центр"


class FnWrongStateError(FnError):
    error_code = 0x02
    meaning = "ФН: неверное состояние ФН"
    hint_text = "проверьте, что ККТ зарегистрирована и ФН в фискальном режиме"


class FnFailureError(FnError):
    error_code = 0x03
    meaning = "отказ ФН"
    hint_text = "ФН неисправен: обратитесь в сервисный центр"


class FnExpiredError(FnError):
    error_code = 0x05
    meaning = "ФН: срок действия истёк или параметры не соответствуют сроку"
    hint_text = "замените ФН и перерегистрируйте ККТ"


class FnArchiveFullError(FnError):
    error_code = 0x06
    meaning = "архив ФН переполнен"
    hint_text = "закройте фискальный режим, замените ФН и перерегистрируйте ККТ"


class FnDateTimeError(FnError):
    error_code = 0x07
    meaning = "ФН: неверные дата или время"
    hint_text = "проверьте часы ККТ: время не может быть раньше последнего документа"


class FnNoDataError(FnError):
    error_code = 0x08
    meaning = "ФН: нет запрошенных данных"
    hint_text = "проверьте номер документа: такого документа в ФН нет"


class FnBadParameterError(FnError):
    error_code = 0x09
    meaning = "ФН: некорректное значение параметров команды"
    hint_text = "проверьте значения, переданные в команде"


class TlvTooLargeError(FnError):
    error_code = 0x10
    meaning = "превышен размер TLV-данных"
    hint_text = "сократите данные документа (названия, реквизиты)"


class NoTransportConnectionError(FnError):
    error_code = 0x11
    meaning = "нет транспортного соединения с ОФД"
    hint_text = "проверьте подключение ККТ к интернету и настройки ОФД (таблица 19)"


class FnResourceExhaustedError(FnError):
    error_code = 0x12
    meaning = "исчерпан ресурс ФН"
    hint_text = "замените ФН и перерегистрируйте ККТ"


class FnShiftOver24hError(FnError):
    error_code = 0x16
    meaning = "ФН: смена длится больше 24 часов"
    hint_text = "закройте смену (Z-отчёт) и откройте новую"


class BadParametersError(ShtrihDeviceError):
    error_code = 0x33
    meaning = "некорректные параметры в команде"
    hint_text = "проверьте значения, переданные в команде"


class NoDataError(ShtrihDeviceError):
    error_code = 0x34
    meaning = "нет данных"
    hint_text = "запрошенных данных в ККТ нет"


class NotSupportedError(ShtrihDeviceError):
    error_code = 0x37
    meaning = "команда не поддерживается этой ККТ"
    hint_text = "обновите прошивку ККТ или выберите другую модель в настройках"


class PaymentsLessThanTotalError(ModeError):
    error_code = 0x45
    meaning = "сумма оплат меньше итога чека"
    hint_text = "добавьте оплату на недостающую сумму"


class NotEnoughCashError(ModeError):
    error_code = 0x46
    meaning = "не хватает наличности в кассе"
    hint_text = "внесите наличные или уменьшите сумму выплаты"


class ReceiptTotalOverflowError(ModeError):
    error_code = 0x48
    meaning = "переполнение итога чека"
    hint_text = "сумма не помещается в денежные поля ККТ: разделите покупку на несколько чеков"


class ReceiptOpenError(ModeError):
    error_code = 0x4A
    meaning = "открыт чек, операция невозможна"
    hint_text = "закройте или отмените открытый чек"


class ShiftOver24hError(ModeError):
    error_code = 0x4E
    meaning = "смена превысила 24 часа"
    hint_text = "закройте смену (Z-отчёт) и откройте новую"


class WrongPasswordError(ShtrihDeviceError):
    error_code = 0x4F
    meaning = "неверный пароль"
    hint_text = "проверьте пароль кассира или администратора в настройках подключения"


class PrintingInProgressError(PrinterError):
    error_code = 0x50
    meaning = "идёт печать предыдущей команды"
    hint_text = "дождитесь окончания печати и повторите"


class ReceiptClosedError(ModeError):
    error_code = 0x55
    meaning = "чек закрыт, операция невозможна"
    hint_text = "откройте чек и повторите операцию"


class WaitingContinuePrintError(PrinterError):
    error_code = 0x58
    meaning = "ожидание команды продолжения печати"
    hint_text = "вставьте бумагу и продолжите печать (команда 0xB0)"


class TableNotDefinedError(ShtrihDeviceError):
    error_code = 0x5D
    meaning = "таблица не определена"
    hint_text = "проверьте номер таблицы, ряда и поля"


class NoPaperError(PrinterError):
    error_code = 0x6B
    meaning = "нет чековой ленты"
    hint_text = "вставьте чековую ленту"


class NotInSubmodeError(ModeError):
    error_code = 0x72
    meaning = "команда не поддерживается в этом подрежиме"
    hint_text = "дождитесь окончания печати или вставьте бумагу"


class NotInModeError(ModeError):
    error_code = 0x73
    meaning = "команда не поддерживается в этом режиме"
    hint_text = "проверьте состояние ККТ (смена, открытый чек) и повторите"


class BadLengthError(ShtrihDeviceError):
    error_code = 0x7E
    meaning = "неверное значение в поле длины"
    hint_text = "обновите драйвер или прошивку ККТ"


class ZeroTotalError(ModeError):
    error_code = 0x8E
    meaning = "нулевой итог чека"
    hint_text = "добавьте в чек позиции с суммой"


class NotFiscalizedError(ModeError):
    error_code = 0x8F
    meaning = "ККТ не фискализирована"
    hint_text = "зарегистрируйте ККТ в ФНС и выполните фискализацию"


class UnknownDeviceError(ShtrihDeviceError):
    """A code the reference does not list: reported by its hex value."""


#: every code of the reference, to its class
BY_CODE: dict[int, type[ShtrihDeviceError]] = {
    cls.error_code: cls
    for cls in (*FnError.__subclasses__(), *ModeError.__subclasses__(),
                *PrinterError.__subclasses__(), *ShtrihDeviceError.__subclasses__())
    if cls.error_code
}


def is_fn_code(code: int) -> bool:
    """On ФН-era registers these codes come from the fiscal storage itself."""
    return code < 0x20 or 0xA0 <= code <= 0xB2


def error_for(command: int, code: int) -> ShtrihDeviceError:
    """The typed error for a command's non-zero answer code (not raised)."""
    from .commands import REGISTRY  # late: the commands import this module lazily too

    cmd = REGISTRY.get(command)
    what = str(cmd) if cmd is not None else f"0x{command:02X}"
    cls = BY_CODE.get(code)
    if cls is None:
        cls = UnknownDeviceError
        meaning = _("неизвестная ошибка ФН") if is_fn_code(code) else _("неизвестная ошибка")
        hint = _(ShtrihDeviceError.hint_text)
    else:
        meaning, hint = _(cls.meaning), _(cls.hint_text)
    message = _("ККТ отклонила команду {command}: {meaning} (код 0x{code:02X})").format(
        command=what, meaning=meaning, code=code)
    return cls(message, hint, code=code, command=command)


def raise_for(command: int, code: int) -> NoReturn:
    """Raise the typed error of ``code`` for ``command``; 0 is not an error."""
    if code == 0:
        raise ValueError("код 0 не является ошибкой")
    raise error_for(command, code)
