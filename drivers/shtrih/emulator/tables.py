"""The settings tables of the emulated register (1, 2, 17, 18, 19).

Field numbers, sizes, types and limits are those of a real ШТРИХ device's table dump; the
values live in :class:`TableStore` and travel as raw bytes (BIN little-endian, CHAR cp1251
NUL-padded), exactly as 0x1E/0x1F carry them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kkt_bridge.drivers.shtrih.commands.fields import cp1251_text

from .refusal import BAD_PARAMETERS, TABLE_NOT_DEFINED, refuse

FIELD_BIN = 0
FIELD_CHAR = 1


Value = int | str


@dataclass(frozen=True)
class FieldDef:
    number: int
    name: str
    size: int
    type: int  # FIELD_BIN or FIELD_CHAR
    minimum: int
    maximum: int
    default: Value
    #: set by the device itself (registration), refused to 0x1E
    read_only: bool = False


@dataclass(frozen=True)
class TableDef:
    number: int
    name: str
    rows: int
    fields: tuple[FieldDef, ...]

    def field(self, number: int) -> FieldDef | None:
        if 1 <= number <= len(self.fields):
            return self.fields[number - 1]
        return None


def _bin(number: int, name: str, size: int, minimum: int, maximum: int,
         default: int, read_only: bool = False) -> FieldDef:
    return FieldDef(number, name, size, FIELD_BIN, minimum, maximum, default, read_only)


def _char(number: int, name: str, size: int, default: str = "",
          read_only: bool = False) -> FieldDef:
    return FieldDef(number, name, size, FIELD_CHAR, 0, 0, default, read_only)


def _flags(names: list[tuple[str, int, int]]) -> tuple[FieldDef, ...]:
    """One-byte BIN fields numbered from 1: (name, maximum, default)."""
    return tuple(_bin(i, name, 1, 0, maximum, default)
                 for i, (name, maximum, default) in enumerate(names, start=1))


TABLE_1 = TableDef(1, "Тип и режим кассы", 1, _flags([
    ("Номер кассы в магазине", 99, 1),
    ("Авт. обнуление денежной наличности", 1, 0),
    ("Печать рекламного текста", 3, 0),
    ("---", 1, 0),
    ("---", 2, 1),
    ("Работа с денежным ящиком", 1, 1),
    ("Отрезка чека", 2, 0),
    ("Печатать дробное в количестве", 1, 0),
    ("Лог. уровень дат. денежного ящика", 1, 0),
    ("Длительность имп. денежного ящика", 255, 10),
    ("Длительность паузы денежного ящика", 255, 1),
    ("Количество имп. денежного ящика", 255, 1),
    ("Использование весовых датчиков", 1, 0),
    ("Начисление налогов", 3, 0),
    ("Автоматический перевод времени", 0, 0),
    ("Печать налогов", 4, 3),
    ("Печать заголовка", 1, 1),
    ("Печать единичного количества", 1, 1),
    ("Сохранять строки в буфере чека", 1, 1),
    ("Печать чека по закрытию", 1, 1),
    ("Промотка перед отрезкой", 1, 0),
    ("Отрезка при открытом чеке", 1, 0),
    ("Запрет нулевого чека", 1, 0),
    ("Отступ в строке типов оплаты", 1, 1),
    ("Использование форматирования в чеке", 3, 0),
    ("Обнуление счетчика чеков", 1, 0),
    ("Контроль времени", 99, 0),
    ("Отключение звука при ошибках", 1, 0),
    ("Межстрочный интервал", 10, 0),
    ("Тип суточного отчета", 4, 0),
]))
T1_CUT = 7
T1_FORBID_ZERO_RECEIPT = 23

CASHIER_ROWS = 30
ADMIN_ROW = 29
SYSADMIN_ROW = 30
SENIOR_CASHIER_ROW = 28

TABLE_2 = TableDef(2, "Пароли кассиров и администраторов", CASHIER_ROWS, (
    _bin(1, "Пароли кассиров", 4, 0, 99999999, 0),  # default per row: the row number
    _char(2, "Должности и фамилии кассиров", 64),
))


def cashier_default_name(row: int) -> str:
    if row == ADMIN_ROW:
        return "АДМИНИСТРАТОР"
    if row == SYSADMIN_ROW:
        return "СИСТ. АДМИН."
    return f"КАССИР {row}"


TABLE_17 = TableDef(17, "Региональные настройки", 1, (
    _bin(1, "Kz бин/иин", 1, 0, 1, 0),
    _bin(2, "Kz требовать открывать смену", 1, 0, 1, 1),
    _bin(3, "Rus режим исчисления скидок", 1, 0, 2, 2),
    _bin(4, "Rus мин разм модуля qr", 1, 4, 7, 4),
    _bin(5, "Rus мин корр ошибок qr", 1, 0, 3, 1),
    _bin(6, "Rus мин размер qr в точках", 1, 161, 255, 161),
    _bin(7, "Rus не печатать документ", 1, 0, 3, 0),
    _bin(8, "Rus ограничить время смены", 1, 0, 60, 1),
    _bin(9, "Rus печатать сквозной номер", 1, 0, 2, 1),
    _bin(10, "Rus печать параметров офд в чеках", 1, 0, 1, 0),
    _bin(11, "Rus проверять кс инн", 1, 0, 7, 7),
    _bin(12, "Rus печать реквизитов пользователя", 4, 0, 524287, 63),
    _char(13, "Rus наименование реквизита пользователя", 64, "Код"),
    _bin(14, "Rus печать реквизита пользователя", 1, 0, 1, 1),
    _bin(15, "Rus печать отмененных документов", 1, 0, 1, 0),
    _bin(16, "Rus печать налога в операции", 1, 0, 3, 2),
    _bin(17, "Rus формат фд", 1, 1, 4, 2),
    _bin(18, "Rus компактный заголовок", 1, 0, 9, 6),
    _char(19, "Rus название бонуса 1", 32, ""),
    _char(20, "Rus название бонуса 2", 32, ""),
    _bin(21, "Rus паттерн сепаратора заголовка", 1, 0, 255, 126),
    _bin(22, "Rus высота сепаратора заголовка", 1, 0, 10, 3),
    _bin(23, "Rus печать номера операции", 1, 0, 2, 0),
    _bin(24, "Rus формат узкого заголовка", 1, 0, 1, 0),
    _bin(25, "Rus автопечать тегов", 1, 0, 1, 1),
    _bin(26, "Rus способ вычисления выручки", 1, 0, 2, 1),
    _bin(27, "Rus использовать футер чека", 1, 0, 1, 1),
    _bin(28, "Rus минимизация данных чека", 2, 0, 65535, 0),
    _bin(29, "Скрывать пароль wifi в техпрогоне", 1, 0, 1, 1),
    _bin(30, "Rus выравнивание qr в кз", 1, 0, 1, 1),
    _bin(31, "Rus реплика документа фн", 1, 0, 0, 0),
    _bin(32, "Сбрасывать скорость rs при техпрогоне", 1, 0, 1, 1),
    _bin(33, "Rus автоочистка нс при регистрации", 1, 0, 1, 0),
    _bin(34, "Rus группировать фиск. данные", 1, 0, 1, 1),
    _bin(35, "Rus строгий флк", 1, 0, 1, 1),
    _bin(36, "Rus расшир. отв. на команды форм. фд", 1, 0, 1, 0),
))
T17_EXTENDED_ANSWERS = 36

TABLE_18 = TableDef(18, "Fiscal storage", 1, (
    _char(1, "Serial number", 21, read_only=True),
    _char(2, "Inn", 17, read_only=True),
    _char(3, "Rnm", 21, read_only=True),
    _char(4, "Fs serial number", 17, read_only=True),
    _bin(5, "Tax system", 1, 0, 255, 0, read_only=True),
    _bin(6, "Work mode", 1, 0, 255, 0, read_only=True),
    _char(7, "User", 128),
    _char(8, "Operator", 64),
    _char(9, "Address", 128),
    _char(10, "Ofd name", 128),
    _char(11, "Ofd url", 64),
    _char(12, "Ofd inn", 17),
    _char(13, "Tax office url", 64, "www.nalog.gov.ru"),
    _char(14, "Место расчета", 128),
    _char(15, "Эл. адр. отправителя", 64),
    _bin(16, "Признак агента", 1, 0, 127, 0),
    _char(17, "User строка 2", 128),
    _char(18, "Address строка 2", 128),
    _char(19, "Ofd name строка 2", 128),
    _char(20, "Место расчета строка 2", 128),
    _bin(21, "Расширенные признаки работы ккт", 1, 0, 255, 0),
    _bin(22, "Код причины изм. сведений о ккт (ффд>=1.", 4, 0, 4294967295, 0),
    _char(23, "Инн кассира", 13),
    _bin(24, "Блокировка закрытия смены (дней)", 1, 3, 100, 7),
    _bin(25, "Часовая зона", 1, 0, 12, 0),
))
T18_SERIAL, T18_INN, T18_RNM, T18_FN_SERIAL, T18_TAX, T18_MODE = 1, 2, 3, 4, 5, 6
T18_USER, T18_ADDRESS, T18_OFD_NAME, T18_OFD_URL, T18_OFD_INN = 7, 9, 10, 11, 12
T18_TAX_OFFICE_URL, T18_PLACE, T18_CASHIER_INN = 13, 14, 23

TABLE_19 = TableDef(19, "Параметры офд", 1, (
    _char(1, "Сервер", 64),
    _bin(2, "Порт", 2, 1, 65535, 7779),
    _bin(3, "Таймаут чтения ответа", 2, 300, 65535, 300),
    _bin(4, "Задержка между пакетами, мс", 2, 0, 3000, 100),
))
T19_SERVER, T19_PORT = 1, 2

TABLES: dict[int, TableDef] = {t.number: t for t in (TABLE_1, TABLE_2, TABLE_17, TABLE_18,
                                                       TABLE_19)}


def table_def(number: int) -> TableDef:
    """A table the device has; TABLE_NOT_DEFINED for any other number, as a real one says."""
    definition = TABLES.get(number)
    if definition is None:
        refuse(TABLE_NOT_DEFINED)
    return definition


def encode_value(field: FieldDef, value: Value) -> bytes:
    if field.type == FIELD_BIN:
        return int(value).to_bytes(field.size, "little")
    raw = str(value).encode("cp1251", errors="replace")[: field.size]
    return raw.ljust(field.size, b"\x00")


def decode_value(field: FieldDef, raw: bytes) -> Value:
    if field.type == FIELD_BIN:
        return int.from_bytes(raw[: field.size], "little")
    return cp1251_text(raw)


class TableStore:
    """Current values of every cell; cells never written hold the field's default."""

    def __init__(self) -> None:
        self._values: dict[tuple[int, int, int], Value] = {}

    def locate(self, table: int, row: int, field: int) -> FieldDef:
        definition = table_def(table)
        spec = definition.field(field)
        if spec is None or not 1 <= row <= definition.rows:
            refuse(BAD_PARAMETERS)
        return spec

    def get(self, table: int, row: int, field: int) -> Value:
        return self._value(self.locate(table, row, field), table, row, field)

    def _value(self, spec: FieldDef, table: int, row: int, field: int) -> Value:
        value = self._values.get((table, row, field))
        if value is not None:
            return value
        if table == 2:
            return row if field == 1 else cashier_default_name(row)
        return spec.default

    def get_str(self, table: int, row: int, field: int) -> str:
        return str(self.get(table, row, field))

    def get_int(self, table: int, row: int, field: int) -> int:
        value = self.get(table, row, field)
        return value if isinstance(value, int) else 0

    def set(self, table: int, row: int, field: int, value: Value) -> None:
        """Set a value as the device itself does (read-only fields included)."""
        spec = self.locate(table, row, field)
        if spec.type == FIELD_BIN:
            self._values[(table, row, field)] = int(value)
        else:
            # what the field can hold, so a later read gives back exactly this
            self._values[(table, row, field)] = decode_value(spec, encode_value(spec, value))

    def read_raw(self, table: int, row: int, field: int) -> bytes:
        spec = self.locate(table, row, field)
        return encode_value(spec, self._value(spec, table, row, field))

    def write_raw(self, table: int, row: int, field: int, raw: bytes) -> None:
        """A 0x1E write: refuse what a real device refuses, change nothing then."""
        spec = self.locate(table, row, field)
        if spec.read_only or len(raw) > spec.size or not raw:
            refuse(BAD_PARAMETERS)
        padded = raw.ljust(spec.size, b"\x00")
        if spec.type == FIELD_BIN:
            number = int.from_bytes(padded, "little")
            if not spec.minimum <= number <= spec.maximum:
                refuse(BAD_PARAMETERS)
            self._values[(table, row, field)] = number
        else:
            self._values[(table, row, field)] = decode_value(spec, padded)

    def to_json(self) -> list[list[Value]]:
        return [[t, r, f, v] for (t, r, f), v in sorted(self._values.items())]

    @classmethod
    def from_json(cls, rows: list[list[Value]]) -> TableStore:
        store = cls()
        for t, r, f, v in rows:
            store.set(int(t), int(r), int(f), v)
        return store
