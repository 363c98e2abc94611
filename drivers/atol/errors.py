"""ATOL error codes (the second byte of ``55 err ext``, atol.md §7) as typed errors.

Every code of the reference has a Russian meaning here and an English one in the catalog
(``atol.po``). Each code belongs to a family class (input, mode, sale, printer, ФН,
exchange); the codes the driver acts on have their own class as well (``FnNoDataError``
ends a TLV read, ``NotFiscalizedError`` means "not registered").
"""

from __future__ import annotations

from kkt_bridge.errors import DeviceError, ProtocolError
from kkt_bridge.i18n import _


class AtolDeviceError(DeviceError):
    """The register answered a task with a non-zero error code."""

    error_code: int = 0
    hint_text = "повторите операцию; если ошибка повторяется, обратитесь в сервисный центр"


class InputError(AtolDeviceError):
    """A value of the command is out of range or malformed."""

    hint_text = "проверьте переданные значения"


class ModeError(AtolDeviceError):
    """The register's mode or state does not allow the command now."""

    hint_text = "проверьте режим ККТ, состояние смены и чека"


class SaleError(AtolDeviceError):
    """Sums, payments, counters of a receipt or a shift."""

    hint_text = "проверьте суммы и оплаты чека"


class PrinterError(AtolDeviceError):
    hint_text = "проверьте бумагу, крышку и принтер ККТ"


class FnError(AtolDeviceError):
    """Errors of the fiscal storage (ФН) and of the exchange with it."""

    hint_text = "проверьте ФН; если ошибка повторяется, обратитесь в сервисный центр"


class DeviceSetupError(AtolDeviceError):
    """Serial numbers, registration data, tables, security codes, external devices."""

    hint_text = "проверьте настройки ККТ; обратитесь в сервисный центр"


class FnNoDataError(FnError):
    """0xDA: the ФН has no (more) requested data; it ends an ``A4 46`` read."""

    error_code = 0xDA
    hint_text = "проверьте номер документа: такого документа в ФН нет"


class NotFiscalizedError(ModeError):
    error_code = 0xA8
    hint_text = "зарегистрируйте ККТ"


class ModeNotAvailableError(ModeError):
    error_code = 0x66


class ReceiptClosedError(ModeError):
    error_code = 0x9A


class ReceiptOpenError(ModeError):
    error_code = 0x9B
    hint_text = "закройте или отмените открытый чек"


class ShiftOpenError(ModeError):
    error_code = 0x9C
    hint_text = "закройте смену (отчёт с гашением)"


class ShiftExpiredError(ModeError):
    error_code = 0x88
    hint_text = "смена длится больше 24 часов: закройте её"


class WrongPasswordError(ModeError):
    error_code = 0x8C
    hint_text = "проверьте пароль доступа или пароль режима"


class NotSupportedError(AtolDeviceError):
    error_code = 0x7A
    hint_text = "эта модель ККТ не выполняет команду; обновите прошивку"


class FnWrongStateError(FnError):
    error_code = 0xD4
    hint_text = "проверьте, что ККТ зарегистрирована и ФН в фискальном режиме"


#: code -> (family, Russian meaning). Own classes above take precedence over the family.
CODES: dict[int, tuple[type[AtolDeviceError], str]] = {
    0x08: (InputError, "неверная цена или сумма"),
    0x0A: (InputError, "неверное количество"),
    0x0B: (SaleError, "переполнение счётчика наличности"),
    0x0C: (SaleError, "невозможно сторно последней операции"),
    0x0D: (SaleError, "сторно по коду невозможно"),
    0x0E: (SaleError, "невозможен повтор последней операции"),
    0x0F: (SaleError, "повторная скидка на операцию невозможна"),
    0x10: (SaleError, "скидка или надбавка на предыдущую операцию невозможна"),
    0x11: (InputError, "неверный код товара"),
    0x12: (InputError, "неверный штрихкод товара"),
    0x13: (InputError, "неверный формат"),
    0x14: (InputError, "неверная длина"),
    0x15: (ModeError, "ККТ заблокирована в режиме ввода даты"),
    0x16: (ModeError, "требуется подтверждение ввода даты"),
    0x18: (AtolDeviceError, "нет больше данных для передачи"),
    0x19: (SaleError, "нет подтверждения или отмены продажи"),
    0x1A: (ModeError, "отчёт с гашением прерван"),
    0x1B: (DeviceSetupError, "отключение контроля наличности невозможно"),
    0x1E: (ModeError, "вход в режим заблокирован"),
    0x1F: (ModeError, "проверьте дату и время"),
    0x20: (ModeError, "дата и время в ККТ меньше, чем в ФН"),
    0x21: (FnError, "невозможно закрыть архив"),
    0x3D: (InputError, "товар не найден"),
    0x3E: (InputError, "весовой штрихкод с количеством, отличным от 1,000"),
    0x3F: (SaleError, "переполнение буфера чека"),
    0x40: (SaleError, "недостаточное количество товара"),
    0x41: (SaleError, "сторнируемое количество больше проданного"),
    0x42: (SaleError, "заблокированный товар не найден в буфере чека"),
    0x43: (SaleError, "данный товар не продавался в чеке"),
    0x46: (AtolDeviceError, "неверная команда от ККТ"),
    0x66: (ModeError, "команда не реализуется в данном режиме ККТ"),
    0x67: (PrinterError, "нет бумаги"),
    0x68: (PrinterError, "нет связи с принтером чеков"),
    0x69: (PrinterError, "механическая ошибка печатающего устройства"),
    0x6A: (InputError, "неверный тип чека"),
    0x6B: (PrinterError, "нет больше строк картинки или штрихкода"),
    0x6C: (InputError, "неверный номер регистра"),
    0x6D: (InputError, "недопустимое целевое устройство"),
    0x6E: (PrinterError, "нет места для картинок"),
    0x6F: (InputError, "неверный номер картинки"),
    0x70: (SaleError, "сумма сторно больше, чем было получено данным типом оплаты"),
    0x71: (SaleError, "сумма безналичных оплат превышает сумму чека"),
    0x72: (SaleError, "сумма оплат меньше суммы чека"),
    0x73: (SaleError, "накопление меньше суммы возврата или аннулирования"),
    0x75: (SaleError, "переполнение суммы оплат"),
    0x76: (ModeError, "предыдущая операция не завершена"),
    0x77: (DeviceSetupError, "ошибка GSM-модуля"),
    0x7A: (AtolDeviceError, "данная модель ККТ не может выполнить команду"),
    0x7B: (InputError, "неверная величина скидки или надбавки"),
    0x7C: (SaleError, "операция после скидки или надбавки невозможна"),
    0x7D: (InputError, "неверная секция"),
    0x7E: (InputError, "неверный вид оплаты"),
    0x7F: (SaleError, "переполнение при умножении"),
    0x80: (DeviceSetupError, "операция запрещена в таблице настроек"),
    0x81: (SaleError, "переполнение итога чека"),
    0x82: (ModeError, "открыт чек аннулирования: операция невозможна"),
    0x84: (DeviceSetupError, "переполнение буфера контрольной ленты"),
    0x86: (SaleError, "вносимая клиентом сумма меньше суммы чека"),
    0x87: (ModeError, "открыт чек возврата: операция невозможна"),
    0x88: (ModeError, "смена превысила 24 часа"),
    0x89: (ModeError, "открыт чек продажи: операция невозможна"),
    0x8A: (FnError, "переполнение фискальной памяти"),
    0x8C: (ModeError, "неверный пароль"),
    0x8D: (DeviceSetupError, "буфер контрольной ленты не переполнен"),
    0x8E: (DeviceSetupError, "идёт обработка контрольной ленты"),
    0x8F: (ModeError, "обнулённая касса: повторное гашение невозможно"),
    0x91: (InputError, "неверный номер таблицы"),
    0x92: (InputError, "неверный номер ряда"),
    0x93: (InputError, "неверный номер поля"),
    0x94: (InputError, "неверная дата"),
    0x95: (InputError, "неверное время"),
    0x96: (SaleError, "сумма чека по секции меньше суммы сторно"),
    0x97: (SaleError, "подсчёт суммы сдачи невозможен"),
    0x98: (SaleError, "в ККТ нет денег для выплаты"),
    0x9A: (ModeError, "чек закрыт: операция невозможна"),
    0x9B: (ModeError, "чек открыт: операция невозможна"),
    0x9C: (ModeError, "смена открыта: операция невозможна"),
    0x9E: (DeviceSetupError, "заводской номер или MAC-адрес уже задан"),
    0x9F: (DeviceSetupError, "исчерпан лимит перерегистраций"),
    0xA2: (InputError, "неверный номер смены"),
    0xA3: (InputError, "неверный тип отчёта"),
    0xA4: (ModeError, "недопустимый пароль"),
    0xA5: (DeviceSetupError, "недопустимый заводской номер ККТ"),
    0xA6: (DeviceSetupError, "недопустимый РНМ"),
    0xA7: (DeviceSetupError, "недопустимый ИНН"),
    0xA8: (ModeError, "ККТ не зарегистрирована"),
    0xA9: (DeviceSetupError, "не задан заводской номер"),
    0xAA: (AtolDeviceError, "нет отчётов"),
    0xAB: (ModeError, "режим не активизирован"),
    0xAC: (AtolDeviceError, "нет документа в электронном журнале"),
    0xAD: (AtolDeviceError, "нет больше записей в электронном журнале"),
    0xAE: (DeviceSetupError, "некорректный код защиты"),
    0xAF: (AtolDeviceError, "нет данных в буфере ККТ"),
    0xB0: (ModeError, "требуется общее гашение"),
    0xB1: (DeviceSetupError, "команда не разрешена введёнными кодами защиты"),
    0xB2: (SaleError, "невозможна отмена скидки или надбавки"),
    0xB3: (SaleError, "невозможно закрыть чек данным типом оплаты"),
    0xB4: (InputError, "неверный номер маршрута"),
    0xB5: (InputError, "неверный номер начальной зоны"),
    0xB6: (InputError, "неверный номер конечной зоны"),
    0xB7: (InputError, "неверный тип тарифа"),
    0xB8: (InputError, "неверный тариф"),
    0xBA: (FnError, "ошибка обмена с фискальным модулем"),
    0xBE: (DeviceSetupError, "необходимо провести профилактические работы"),
    0xBF: (FnError, "номера смен в ККТ и ФН различаются"),
    0xC8: (DeviceSetupError, "нет устройства, обрабатывающего данную команду"),
    0xC9: (DeviceSetupError, "нет связи с внешним устройством"),
    0xCA: (InputError, "ошибочное состояние ТРК"),
    0xCB: (SaleError, "больше одной регистрации в чеке"),
    0xCC: (InputError, "ошибочный номер ТРК"),
    0xCD: (InputError, "неверный делитель"),
    0xD0: (FnError, "активизация данного ФН в составе этой ККТ невозможна"),
    0xD1: (PrinterError, "перегрев печатающей головки"),
    0xD2: (FnError, "ошибка обмена с ФН на уровне интерфейса I2C"),
    0xD3: (FnError, "ошибка формата передачи ФН"),
    0xD4: (FnError, "неверное состояние ФН"),
    0xD5: (FnError, "неисправимая ошибка ФН"),
    0xD6: (FnError, "ошибка криптографического сопроцессора ФН"),
    0xD7: (FnError, "исчерпан временной ресурс ФН"),
    0xD8: (FnError, "архив ФН переполнен"),
    0xD9: (FnError, "в ФН переданы неверные дата или время"),
    0xDA: (FnError, "в ФН нет запрошенных данных"),
    0xDB: (FnError, "переполнение ФН (итог чека)"),
    0xDC: (FnError, "буфер переполнен"),
    0xDD: (PrinterError, "невозможно напечатать вторую фискальную копию"),
    0xDF: (SaleError, "сумма налога больше суммы регистраций"),
    0xE0: (SaleError, "начисление налога на последнюю операцию невозможно"),
    0xE1: (FnError, "неверный номер ФН"),
    0xE4: (SaleError, "сумма сторно налога больше суммы налога"),
    0xE6: (DeviceSetupError, "недостаточно питания"),
    0xE7: (FnError, "некорректные параметры команды ФН"),
    0xE8: (FnError, "превышен размер TLV-данных ФН"),
    0xE9: (FnError, "нет транспортного соединения ФН"),
    0xEA: (FnError, "исчерпан ресурс криптопроцессора ФН"),
    0xEB: (FnError, "исчерпан ресурс хранения документов для ОФД"),
    0xEC: (FnError, "сообщение от ОФД не принято ФН"),
    0xED: (FnError, "в ФН есть неотправленные документы"),
    0xEE: (AtolDeviceError, "ошибка ККТ: расширенный код в регистре 55"),
    0xEF: (FnError, "превышено время ожидания сообщения от ФН"),
    0xF0: (FnError, "смена в ФН длится больше 24 часов"),
    0xF1: (FnError, "неверная разница времени между двумя операциями ФН"),
    0xF2: (AtolDeviceError, "неверная команда"),
    0xF3: (SaleError, "слишком много позиций в документе"),
    0xF4: (InputError, "в команде нет данных"),
    0xF5: (SaleError, "продажа подакцизного товара"),
    0xF6: (AtolDeviceError, "чек слишком велик"),
}

#: extended codes (the byte after the error code) the reference names, (code, ext) -> meaning
EXTENDED: dict[tuple[int, int], str] = {
    (0xF6, 1): "неверная версия ФФД",
    (0xF6, 3): "внутренняя ошибка ККТ",
    (0xF6, 4): "параметр доступен только для чтения",
}

_OWN: dict[int, type[AtolDeviceError]] = {
    cls.error_code: cls for cls in (
        FnNoDataError, NotFiscalizedError, ModeNotAvailableError, ReceiptClosedError,
        ReceiptOpenError, ShiftOpenError, ShiftExpiredError, WrongPasswordError,
        NotSupportedError, FnWrongStateError)
}


class UnknownDeviceError(AtolDeviceError):
    """A code the reference does not list: reported by its hex value."""


def error_class(code: int) -> type[AtolDeviceError]:
    own = _OWN.get(code)
    if own is not None:
        return own
    known = CODES.get(code)
    return known[0] if known else UnknownDeviceError


def error_for(command: str, code: int, extended: int = 0) -> AtolDeviceError:
    """The typed error of ``code`` for a command named ``command`` ("A4 30"), not raised."""
    cls = error_class(code)
    known = CODES.get(code)
    meaning = _(CODES[code][1]) if known else _("неизвестная ошибка")
    if (code, extended) in EXTENDED:
        meaning = f"{meaning}: {_(EXTENDED[code, extended])}"
    message = _("ККТ АТОЛ отклонила команду {command}: {meaning} (код 0x{code:02X})").format(
        command=command, meaning=meaning, code=code)
    error = cls(message, _(cls.hint_text), code=code)
    error.extended = extended  # type: ignore[attr-defined]
    return error


# --- the task buffer's refusals (statuses, not error codes) ---------------------------------

TASK_STATUSES: dict[int, str] = {
    0xA5: "задание остановлено: предыдущее завершилось ошибкой",
    0xB1: "буфер заданий переполнен",
    0xB2: "задание с таким номером уже есть в буфере",
    0xB3: "задание не найдено в буфере",
    0xB4: "недопустимое значение в команде буфера",
}


class TaskBufferError(ProtocolError):
    """The task buffer refused or lost a task (status A5 or B1..B4)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int = 0) -> None:
        super().__init__(message, hint)
        self.status = status

    @classmethod
    def of(cls, status: int, tid: int) -> TaskBufferError:
        text = _(TASK_STATUSES[status]) if status in TASK_STATUSES else _("неизвестный статус")
        return cls(
            _("ККТ АТОЛ, задание {tid}: {text} (статус 0x{status:02X})").format(
                tid=tid, text=text, status=status),
            _("повторите команду; если ошибка повторяется, переподключите ККТ"), status=status)


__all__ = [
    "CODES", "EXTENDED", "TASK_STATUSES", "AtolDeviceError", "DeviceSetupError", "FnError",
    "FnNoDataError", "FnWrongStateError", "InputError", "ModeError", "ModeNotAvailableError",
    "NotFiscalizedError", "NotSupportedError", "PrinterError", "ReceiptClosedError",
    "ReceiptOpenError", "SaleError", "ShiftExpiredError", "ShiftOpenError", "TaskBufferError",
    "UnknownDeviceError", "WrongPasswordError", "error_class", "error_for",
]
