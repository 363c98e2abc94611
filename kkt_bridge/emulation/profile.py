"""Registration data of the emulated register: who owns it and how it is registered.

A :class:`Profile` is what a cash-software operator types into the registration dialog
(INN, RNM, tax systems, address, OFD). The emulator starts registered from
:data:`DEMO_PROFILE` unless told otherwise; ``--profile FILE`` loads one from JSON.

A profile may fix the register's serial number (``kkt_serial``) and its ФН number
(``fn_number``); left empty, each new register gets its own, and the RNM, whose check digits
bind it to the serial, is computed from ``rnm_sequence`` once the serial is known.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from kkt_bridge.errors import ConfigError, os_error_text
from kkt_bridge.fiscal.facts import FFD_CODES, TAX_SYSTEM_KEYS
from kkt_bridge.i18n import _

DEMO_SERIAL = "0000000123456789"


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT, polynomial 0x1021, initial value 0xFFFF, no reflection: the stdlib's
    ``crc_hqx``."""
    return binascii.crc_hqx(data, 0xFFFF)


def rnm_with_check(sequence10: str, inn: str, serial: str) -> str:
    """The 16-digit RNM: the tax office's 10-digit sequence + 6 check digits.

    The check digits bind the RNM to the owner's INN and the register's serial number, so a
    register refuses an RNM issued for another one.
    """
    if len(sequence10) != 10 or not sequence10.isdigit():
        raise ConfigError(
            _("порядковая часть РНМ «{sequence}» должна состоять из 10 цифр").format(
                sequence=sequence10),
            _("возьмите первые 10 цифр РНМ из карточки регистрации ККТ"),
        )
    source = sequence10 + inn.strip().rjust(12, "0") + serial.strip().rjust(20, "0")
    return sequence10 + f"{crc16_ccitt(source.encode('ascii')):06d}"


def rnm_is_valid(rnm: str, inn: str, serial: str) -> bool:
    rnm = rnm.strip()
    if len(rnm) != 16 or not rnm.isdigit():
        return False
    return rnm_with_check(rnm[:10], inn, serial) == rnm


def inn_is_valid(inn: str) -> bool:
    """Check digits of a 10-digit (organisation) or 12-digit (person) INN."""
    inn = inn.strip()
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    digits = [int(c) for c in inn]

    def check(weights: tuple[int, ...]) -> int:
        return sum(w * d for w, d in zip(weights, digits, strict=False)) % 11 % 10

    if len(inn) == 10:
        return check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[9]
    return (check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[10]
            and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == digits[11])


@dataclass(frozen=True)
class Profile:
    """What the register is registered with: the user, the place, the OFD, the INN, RNM,
    tax systems and work mode of the registration report."""

    inn: str = "7701234560"
    rnm: str = ""  # empty: computed from rnm_sequence, inn and kkt_serial
    rnm_sequence: str = "0000000001"
    kkt_serial: str = ""  # empty: the register's own (a new one for each new register)
    fn_number: str = ""  # empty: the register's own
    tax_systems: int = 0b000001  # ОСН
    work_mode: int = 0
    ffd: str = "1.05"
    user_name: str = 'ООО "Ромашка"'
    address: str = "г. Москва, ул. Тверская, д. 1"
    place: str = "Магазин у дома"
    ofd_name: str = 'ООО "Такском"'
    ofd_inn: str = "7704211201"
    ofd_host: str = "f1.taxcom.ru"
    ofd_port: int = 7777
    cashier: str = "Иванов И.И."
    cashier_inn: str = ""

    def __post_init__(self) -> None:
        if not self.rnm and self.kkt_serial:
            object.__setattr__(
                self, "rnm", rnm_with_check(self.rnm_sequence, self.inn, self.kkt_serial))

    def with_serial(self, serial: str) -> Profile:
        """This profile on the register ``serial``: an RNM computed from the sequence is
        computed again for it; an RNM given as such stays (and is checked at registration)."""
        if serial == self.kkt_serial:
            return self
        computed = not self.rnm or (bool(self.kkt_serial) and self.rnm == rnm_with_check(
            self.rnm_sequence, self.inn, self.kkt_serial))
        return replace(self, kkt_serial=serial, rnm="" if computed else self.rnm)

    @property
    def ffd_code(self) -> int:
        return FFD_CODES[self.ffd]

    def validate(self) -> None:
        """Raise ConfigError if a real register would refuse to register with this."""
        if not inn_is_valid(self.inn):
            raise ConfigError(
                _("ИНН «{inn}» неверен (контрольные цифры не сходятся)").format(inn=self.inn),
                _("проверьте ИНН пользователя в профиле"))
        if self.rnm and not self.kkt_serial:
            raise ConfigError(
                _("РНМ «{rnm}» указан без заводского номера ККТ").format(rnm=self.rnm),
                _("контрольные цифры РНМ привязаны к заводскому номеру: укажите kkt_serial "
                  "рядом с rnm или уберите rnm, чтобы эмулятор вычислил его"))
        if self.kkt_serial and not rnm_is_valid(self.rnm, self.inn, self.kkt_serial):
            raise ConfigError(
                _("РНМ «{rnm}» не подходит к ИНН {inn} и заводскому номеру {serial}").format(
                    rnm=self.rnm, inn=self.inn, serial=self.kkt_serial),
                _("РНМ = 10 цифр порядкового номера + 6 контрольных; уберите поле rnm, "
                  "чтобы эмулятор вычислил их из rnm_sequence"),
            )
        if self.ffd not in ("1.05", "1.2"):
            raise ConfigError(_("версия ФФД «{ffd}» не поддерживается").format(ffd=self.ffd),
                              _("укажите ffd: \"1.05\" или \"1.2\""))
        if not 0 < self.tax_systems < 64:
            raise ConfigError(_("в профиле не указана ни одна система налогообложения"),
                              _("tax_systems: список из {names}").format(
                                  names=", ".join(TAX_SYSTEM_KEYS)))
        if self.fn_number and (len(self.fn_number) != 16 or not self.fn_number.isdigit()):
            raise ConfigError(_("номер ФН «{number}» должен состоять из 16 цифр").format(
                number=self.fn_number), _("исправьте fn_number в профиле или уберите его"))
        if not 0 <= self.work_mode < 64:
            raise ConfigError(_("неверный режим работы в профиле"),
                              _("work_mode: битовая маска 0..63"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(_("неизвестные поля профиля: {names}").format(
                names=", ".join(unknown)),
                _("допустимые поля: {names}").format(names=", ".join(sorted(known))))
        values = dict(data)
        taxes = values.get("tax_systems")
        if isinstance(taxes, list):
            mask = 0
            for name in taxes:
                if name not in TAX_SYSTEM_KEYS:
                    raise ConfigError(
                        _("неизвестная система налогообложения «{name}»").format(name=name),
                        _("допустимые: {names}").format(names=", ".join(TAX_SYSTEM_KEYS)))
                mask |= int(TAX_SYSTEM_KEYS[name])
            values["tax_systems"] = mask
        for key, value in values.items():
            expected = int if key in ("tax_systems", "work_mode", "ofd_port") else str
            if not isinstance(value, expected) or isinstance(value, bool):
                message = (_("поле профиля «{key}» должно быть числом") if expected is int
                           else _("поле профиля «{key}» должно быть строкой"))
                raise ConfigError(message.format(key=key), _("исправьте JSON-файл профиля"))
        profile = cls(**values)
        profile.validate()
        return profile


def load_profile(path: Path) -> Profile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(_("не удалось прочитать профиль {path}: {reason}").format(
            path=path, reason=os_error_text(exc)), _("проверьте путь к файлу профиля")) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(_("профиль {path} не в кодировке UTF-8").format(path=path),
                          _("сохраните файл профиля в UTF-8")) from exc
    except json.JSONDecodeError as exc:
        # json's own words are English: where the mistake is says enough
        raise ConfigError(_("профиль {path} не является JSON: ошибка в строке {line}, "
                            "позиция {column}").format(path=path, line=exc.lineno,
                                                       column=exc.colno),
                          _("исправьте файл профиля")) from exc
    if not isinstance(data, dict):
        raise ConfigError(_("профиль {path} должен быть JSON-объектом").format(path=path),
                          _("исправьте файл профиля"))
    return Profile.from_json(data)


#: the demo register of the unit tests: its serial and ФН number are fixed
DEMO_PROFILE = Profile(kkt_serial=DEMO_SERIAL, fn_number="9999078902012345")
