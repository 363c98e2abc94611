"""The FFD tag table: what each tag is called, how its value travels, how long it may be.

One row per tag: Russian name, wire type, maximum value length, and the FNS JSON name (the
camelCase key the tax service's receipt JSON uses). The names listed in the project's
reference (dateTime, totalSum, kktRegId ...) are the FNS service's own; the others follow its
style so that every tag has exactly one JSON name in every document type.

1055 keeps the name the project's reference gives it (``taxationType``, as in FNS JSON for
FFD 1.05; the FFD 1.2 JSON calls it ``appliedTaxationType``). Counter tags reuse the receipt's
names inside their STLVs (1201 ``totalSum``, 1218 ``prepaidSum`` ...), as the FNS JSON does.
Maximum lengths are enforced when encoding strings and bytes; decoding accepts longer values
(a real register's data is read as it is) and STLV maxima are informative only.

Some tags mean something else under a particular parent; :data:`PARENT_OVERRIDES` holds those
rows and :func:`tag_spec` looks them up first, so decoding is always by (parent, tag).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from kkt_bridge.i18n import _


class WireType(enum.Enum):
    BYTE = "Byte"
    U16 = "U16"
    U32 = "U32"
    UNIXTIME = "UnixTime"
    VLN = "VLN"
    FVLN = "FVLN"
    STRING = "String"
    BYTES = "Bytes"
    STLV = "STLV"
    #: tag 1077: six bytes of which [2..5] big-endian are the printed fiscal sign
    FISCAL_SIGN = "FiscalSign"


@dataclass(frozen=True)
class TagSpec:
    tag: int
    name: str  # Russian, as the FFD names the requisite
    type: WireType
    max_length: int
    json_name: str
    #: an STLV that may repeat (items, properties): the FNS JSON makes a list of it
    repeated: bool = False
    #: "1.05" for tags of FFD 1.0 .. 1.05, "1.2" for tags FFD 1.1 / 1.2 added
    ffd: str = "1.05"


B, U16, U32, T, V, F, S, X, L, FS = (
    WireType.BYTE, WireType.U16, WireType.U32, WireType.UNIXTIME, WireType.VLN, WireType.FVLN,
    WireType.STRING, WireType.BYTES, WireType.STLV, WireType.FISCAL_SIGN,
)

_FIXED_LENGTH = {WireType.BYTE: 1, WireType.U16: 2, WireType.U32: 4, WireType.UNIXTIME: 4}

# (tag, Russian name, type, max length or 0 for the type's own, FNS JSON name[, flags])
_ROWS: tuple[tuple[int, str, WireType, int, str], ...] = (
    (1000, "наименование документа", S, 256, "documentName"),
    (1001, "признак автоматического режима", B, 0, "autoMode"),
    (1002, "признак автономного режима", B, 0, "offlineMode"),
    (1005, "адрес оператора перевода", S, 256, "transferOperatorAddress"),
    (1008, "телефон или электронный адрес покупателя", S, 64, "buyerPhoneOrAddress"),
    (1009, "адрес расчетов", S, 256, "retailPlaceAddress"),
    (1012, "дата, время", T, 0, "dateTime"),
    (1013, "заводской номер ККТ", S, 20, "kktNumber"),
    (1016, "ИНН оператора перевода", S, 12, "transferOperatorInn"),
    (1017, "ИНН ОФД", S, 12, "ofdInn"),
    (1022, "код ответа ОФД", B, 0, "ofdResponseCode"),
    (1018, "ИНН пользователя", S, 12, "userInn"),
    (1020, "сумма расчета, указанного в чеке", V, 8, "totalSum"),
    (1021, "кассир", S, 64, "operator"),
    (1023, "количество предмета расчета", F, 8, "quantity"),
    (1026, "наименование оператора перевода", S, 64, "transferOperatorName"),
    (1030, "наименование предмета расчета", S, 128, "name"),
    (1031, "сумма по чеку наличными", V, 8, "cashTotalSum"),
    (1036, "номер автомата", S, 20, "machineNumber"),
    (1037, "регистрационный номер ККТ", S, 20, "kktRegId"),
    (1038, "номер смены", U32, 0, "shiftNumber"),
    (1040, "номер ФД", U32, 0, "fiscalDocumentNumber"),
    (1041, "номер ФН", S, 16, "fiscalDriveNumber"),
    (1042, "номер чека за смену", U32, 0, "requestNumber"),
    (1043, "стоимость предмета расчета", V, 8, "sum"),
    (1044, "операция платежного агента", S, 24, "paymentAgentOperation"),
    (1046, "наименование ОФД", S, 256, "ofdName"),
    (1048, "наименование пользователя", S, 256, "user"),
    (1050, "признак исчерпания ресурса ФН", B, 0, "fiscalDriveExhaustionSign"),
    (1051, "признак необходимости срочной замены ФН", B, 0, "fiscalDriveReplaceRequiredSign"),
    (1052, "признак заполнения памяти ФН", B, 0, "fiscalDriveMemoryExceededSign"),
    (1053, "признак превышения времени ожидания ответа ОФД", B, 0, "ofdResponseTimeoutSign"),
    (1054, "признак расчета", B, 0, "operationType"),
    (1055, "применяемая система налогообложения", B, 0, "taxationType"),
    (1056, "признак шифрования", B, 0, "encryptionSign"),
    (1057, "признак агента", B, 0, "paymentAgentType"),
    (1059, "предмет расчета", L, 328, "items"),
    (1060, "адрес сайта ФНС", S, 256, "fnsUrl"),
    (1061, "адрес сайта ОФД", S, 64, "ofdUrl"),
    (1062, "системы налогообложения", B, 0, "taxationType"),
    (1068, "сообщение оператора для ФН", L, 169, "fnOperatorMessage"),
    (1073, "телефон платежного агента", S, 19, "paymentAgentPhone"),
    (1074, "телефон оператора по приему платежей", S, 19, "paymentOperatorPhone"),
    (1075, "телефон оператора перевода", S, 19, "transferOperatorPhone"),
    (1077, "фискальный признак документа", FS, 6, "fiscalSign"),
    (1078, "фискальный признак оператора", X, 16, "ofdFiscalSign"),
    (1079, "цена за единицу предмета расчета", V, 8, "price"),
    (1081, "сумма по чеку безналичными", V, 8, "ecashTotalSum"),
    (1084, "дополнительный реквизит пользователя", L, 328, "properties"),
    (1085, "наименование дополнительного реквизита пользователя", S, 64, "propertyName"),
    (1086, "значение дополнительного реквизита пользователя", S, 256, "propertyValue"),
    (1097, "количество непереданных ФД", U32, 0, "notTransmittedDocumentsQuantity"),
    (1098, "дата и время первого из непереданных ФД", T, 0, "notTransmittedDocumentsDateTime"),
    (1101, "код причины перерегистрации", B, 0, "correctionReasonCode"),
    (1102, "сумма НДС чека по ставке 20%", V, 8, "nds18"),
    (1103, "сумма НДС чека по ставке 10%", V, 8, "nds10"),
    (1104, "сумма расчета по чеку с НДС по ставке 0%", V, 8, "nds0"),
    (1105, "сумма расчета по чеку без НДС", V, 8, "ndsNo"),
    (1106, "сумма НДС чека по расч. ставке 20/120", V, 8, "nds18118"),
    (1107, "сумма НДС чека по расч. ставке 10/110", V, 8, "nds10110"),
    (1108, "признак ККТ для расчетов только в Интернет", B, 0, "internetSign"),
    (1109, "признак расчетов за услуги", B, 0, "serviceSign"),
    (1110, "признак АС БСО", B, 0, "bsoSign"),
    (1111, "общее количество ФД за смену", U32, 0, "documentsQuantity"),
    (1116, "номер первого непереданного документа", U32, 0, "notTransmittedDocumentNumber"),
    (1117, "адрес электронной почты отправителя чека", S, 64, "sellerAddress"),
    (1118, "количество кассовых чеков (БСО) за смену", U32, 0, "receiptsQuantity"),
    (1126, "признак проведения лотереи", B, 0, "lotterySign"),
    (1129, "счетчики операций «приход»", L, 116, "sellOper"),
    (1130, "счетчики операций «возврат прихода»", L, 116, "sellReturnOper"),
    (1131, "счетчики операций «расход»", L, 116, "buyOper"),
    (1132, "счетчики операций «возврат расхода»", L, 116, "buyReturnOper"),
    (1133, "счетчики операций по чекам коррекции", L, 216, "receiptCorrection"),
    (1134, "количество чеков (БСО) со всеми признаками расчетов", U32, 0,
     "totalReceiptBsoCount"),
    (1135, "количество чеков (БСО) по признаку расчетов", U32, 0, "receiptBsoCount"),
    (1136, "итоговая сумма в чеках (БСО) наличными", V, 8, "cashSum"),
    (1138, "итоговая сумма в чеках (БСО) безналичными", V, 8, "ecashSum"),
    (1139, "сумма НДС по ставке 20%", V, 8, "tax18Sum"),
    (1140, "сумма НДС по ставке 10%", V, 8, "tax10Sum"),
    (1141, "сумма НДС по расч. ставке 20/120", V, 8, "tax18118Sum"),
    (1142, "сумма НДС по расч. ставке 10/110", V, 8, "tax10110Sum"),
    (1143, "сумма расчетов с НДС по ставке 0%", V, 8, "tax0Sum"),
    (1144, "количество чеков коррекции (БСО коррекции)", U32, 0, "receiptCorrectionCount"),
    (1145, "счетчики коррекций «приход»", L, 100, "sellCorrection"),
    (1146, "счетчики коррекций «расход»", L, 100, "buyCorrection"),
    (1157, "счетчики итогов ФН", L, 708, "fiscalDriveSumReports"),
    (1158, "счетчики итогов непереданных ФД", L, 708, "notTransmittedDocumentsSumReports"),
    (1162, "код товарной номенклатуры", X, 32, "productCode"),
    (1171, "телефон поставщика", S, 19, "providerPhone"),
    (1173, "тип коррекции", B, 0, "correctionType"),
    (1174, "основание для коррекции", L, 292, "correctionBase"),
    (1177, "наименование основания для коррекции", S, 256, "correctionDocumentName"),
    (1178, "дата документа основания для коррекции", T, 0, "correctionDocumentDate"),
    (1179, "номер документа основания для коррекции", S, 32, "correctionDocumentNumber"),
    (1183, "сумма расчетов без НДС", V, 8, "taxFreeSum"),
    (1187, "место расчетов", S, 256, "retailPlace"),
    (1188, "версия ККТ", S, 8, "kktVersion"),
    (1189, "версия ФФД ККТ", B, 0, "documentKktVersion"),
    (1190, "версия ФФД ФН", B, 0, "documentFdVersion"),
    (1191, "дополнительный реквизит предмета расчета", S, 64, "propertiesItem"),
    (1192, "дополнительный реквизит чека", S, 16, "propertiesData"),
    (1193, "признак проведения азартных игр", B, 0, "gamblingSign"),
    (1194, "счетчики итогов смены", L, 708, "shiftSumReports"),
    (1197, "единица измерения предмета расчета", S, 16, "unit"),
    (1198, "размер НДС за единицу предмета расчета", V, 8, "unitNds"),
    (1199, "ставка НДС", B, 0, "nds"),
    (1200, "сумма НДС за предмет расчета", V, 8, "ndsSum"),
    (1201, "общая итоговая сумма в чеках (БСО)", V, 8, "totalSum"),
    (1203, "ИНН кассира", S, 12, "operatorInn"),
    (1205, "коды причин изменения сведений о ККТ", U32, 0, "correctionKktReasonCode"),
    (1206, "сообщение оператора", B, 0, "operatorMessage"),
    (1207, "признак торговли подакцизными товарами", B, 0, "exciseDutyProductSign"),
    (1208, "сайт чеков", S, 256, "receiptsSite"),
    (1209, "номер версии ФФД", B, 0, "fiscalDocumentFormatVer"),
    (1212, "признак предмета расчета", B, 0, "productType"),
    (1213, "ресурс ключей ФП", U16, 0, "fdKeyResource"),
    (1214, "признак способа расчета", B, 0, "paymentType"),
    (1215, "сумма по чеку предоплатой", V, 8, "prepaidSum"),
    (1216, "сумма по чеку постоплатой", V, 8, "creditSum"),
    (1217, "сумма по чеку встречным предоставлением", V, 8, "provisionSum"),
    (1218, "итоговая сумма в чеках (БСО) предоплатами", V, 8, "prepaidSum"),
    (1219, "итоговая сумма в чеках (БСО) постоплатами", V, 8, "creditSum"),
    (1220, "итоговая сумма в чеках (БСО) встречными предоставлениями", V, 8, "provisionSum"),
    (1221, "признак установки принтера в автомате", B, 0, "printInMachineSign"),
    (1222, "признак агента по предмету расчета", B, 0, "paymentAgentByProductType"),
    (1223, "данные агента", L, 512, "paymentAgentData"),
    (1224, "данные поставщика", L, 512, "providerData"),
    (1225, "наименование поставщика", S, 256, "providerName"),
    (1226, "ИНН поставщика", S, 12, "providerInn"),
    (1227, "покупатель (клиент)", S, 256, "buyer"),
    (1228, "ИНН покупателя (клиента)", S, 12, "buyerInn"),
    (1229, "акциз", V, 8, "exciseDuty"),
    (1230, "код страны происхождения товара", S, 3, "originCountryCode"),
    (1231, "номер таможенной декларации", S, 32, "customEntryNum"),
    (1232, "счетчики по признаку «возврат прихода»", L, 100, "sellReturnCorrection"),
    (1233, "счетчики по признаку «возврат расхода»", L, 100, "buyReturnCorrection"),
)

# Tags FFD 1.1 / 1.2 added (the ФН-М era): same columns.
_ROWS_12: tuple[tuple[int, str, WireType, int, str], ...] = (
    (1163, "код товара", L, 256, "productCodeNew"),
    (1256, "сведения о покупателе (клиенте)", L, 1024, "buyerInformation"),
    (1243, "дата рождения покупателя (клиента)", S, 10, "buyerBirthday"),
    (1244, "гражданство", S, 3, "buyerCitizenship"),
    (1245, "код вида документа, удостоверяющего личность", S, 2, "buyerDocumentCode"),
    (1246, "данные документа, удостоверяющего личность", S, 64, "buyerDocumentData"),
    (1254, "адрес покупателя (клиента)", S, 256, "buyerAddress"),
    (1260, "отраслевой реквизит предмета расчета", L, 317, "itemsIndustryDetails"),
    (1261, "отраслевой реквизит чека", L, 317, "industryReceiptDetails"),
    (1262, "идентификатор ФОИВ", S, 3, "idFoiv"),
    (1263, "дата документа основания", S, 10, "foundationDocDateTime"),
    (1264, "номер документа основания", S, 32, "foundationDocNumber"),
    (1265, "значение отраслевого реквизита", S, 256, "industryPropValue"),
    (1270, "операционный реквизит чека", L, 144, "operationalDetails"),
    (1271, "идентификатор операции", B, 0, "operationId"),
    (1272, "данные операции", S, 64, "operationData"),
    (1273, "дата, время операции", T, 0, "dateTime"),
    (1274, "дополнительный реквизит ОР", S, 32, "additionalPropsFRC"),
    (1275, "дополнительные данные ОР", X, 32, "additionalDataFRC"),
    (1276, "дополнительный реквизит ООС", S, 32, "additionalPropsOS"),
    (1277, "дополнительные данные ООС", X, 32, "additionalDataOS"),
    (1278, "дополнительный реквизит ОЗС", S, 32, "additionalPropsCS"),
    (1279, "дополнительные данные ОЗС", X, 32, "additionalDataCS"),
    (1280, "дополнительный реквизит ОТР", S, 32, "additionalPropsCSR"),
    (1281, "дополнительные данные ОТР", X, 32, "additionalDataCSR"),
    (1282, "дополнительный реквизит ОЗФН", S, 32, "additionalPropsCA"),
    (1283, "дополнительные данные ОЗФН", X, 32, "additionalDataCA"),
    (1290, "признаки условий применения ККТ", U32, 0, "usageConditionSigns"),
    (1291, "дробное количество маркированного товара", L, 52, "labeledProdFractionalQuantity"),
    (1292, "дробная часть", S, 24, "fractionalPart"),
    (1293, "числитель", V, 8, "numerator"),
    (1294, "знаменатель", V, 8, "denominator"),
    (1300, "нераспознанный код товара", S, 32, "rawProductCode"),
    (1301, "КТ EAN-8", S, 8, "ean8"),
    (1302, "КТ EAN-13", S, 13, "ean13"),
    (1303, "КТ ITF-14", S, 14, "itf14"),
    (1304, "КТ GS1.0", S, 38, "gs1"),
    (1305, "КТ GS1.M", S, 38, "gs1m"),
    (1306, "КТ КМК", S, 38, "kmk"),
    (1307, "КТ МИ", S, 20, "mi"),
    (1308, "КТ ЕГАИС-2.0", S, 23, "egais2"),
    (1309, "КТ ЕГАИС-3.0", S, 14, "egais3"),
    (1320, "КТ Ф.1", S, 32, "f1"),
    (1321, "КТ Ф.2", S, 32, "f2"),
    (1322, "КТ Ф.3", S, 32, "f3"),
    (1323, "КТ Ф.4", S, 32, "f4"),
    (1324, "КТ Ф.5", S, 32, "f5"),
    (1325, "КТ Ф.6", S, 32, "f6"),
    (2000, "код маркировки", S, 256, "markingCode"),
    (2100, "тип кода маркировки", B, 0, "markingCodeType"),
    (2101, "идентификатор товара", S, 38, "productId"),
    (2102, "режим обработки кода маркировки", B, 0, "labelCodeProcesMode"),
    (2104, "количество непереданных уведомлений", U32, 0, "undeliveredNotificationsNumber"),
    (2106, "результат проверки сведений о товаре", B, 0, "checkingProdInformationResult"),
    (2107, "результаты проверки маркированных товаров", B, 0, "checkingLabeledProdResult"),
    (2108, "мера количества предмета расчета", B, 0, "itemsQuantityMeasure"),
    (2115, "контрольный код КМ", S, 4, "controlCode"),
)

_REPEATED = frozenset({1059, 1084, 1260, 1261})


def _spec(row: tuple[int, str, WireType, int, str], ffd: str) -> TagSpec:
    tag, name, wire, max_length, json_name = row
    return TagSpec(tag, name, wire, max_length or _FIXED_LENGTH[wire], json_name,
                   tag in _REPEATED, ffd)


TAGS: dict[int, TagSpec] = {
    **{row[0]: _spec(row, "1.05") for row in _ROWS},
    **{row[0]: _spec(row, "1.2") for row in _ROWS_12},
}
"""Every tag kkt-bridge knows, by number."""

# Under 1084 a user property is a key/value pair: the FNS JSON calls the two halves so.
# In the current state report (21) the FNS JSON calls the key resource "keyResource".
PARENT_OVERRIDES: dict[tuple[int, int], TagSpec] = {
    (1084, 1085): replace(TAGS[1085], json_name="key"),
    (1084, 1086): replace(TAGS[1086], json_name="value"),
    (21, 1213): replace(TAGS[1213], json_name="keyResource"),
}

DOCUMENT_TYPES: dict[int, str] = {
    1: "Отчёт о регистрации",
    11: "Отчёт об изменении параметров регистрации",
    2: "Отчёт об открытии смены",
    21: "Отчёт о текущем состоянии расчетов",
    3: "Кассовый чек",
    31: "Кассовый чек коррекции",
    4: "Бланк строгой отчетности",
    41: "Бланк строгой отчетности коррекции",
    5: "Отчёт о закрытии смены",
    6: "Отчёт о закрытии фискального накопителя",
    7: "Подтверждение оператора",
}
"""FFD document types (the STLV tag of a whole document) and their Russian names."""


def tag_spec(tag: int, parent: int | None = None) -> TagSpec | None:
    """The meaning of ``tag`` inside ``parent`` (a document type or an STLV tag)."""
    if parent is not None:
        override = PARENT_OVERRIDES.get((parent, tag))
        if override is not None:
            return override
    return TAGS.get(tag)


def tag_name(tag: int, parent: int | None = None) -> str:
    """What a person reads for ``tag``: its name in the UI language (Russian by default,
    the English names in ``locale/en/LC_MESSAGES/wpolish.po``). Machine keys are
    :attr:`TagSpec.json_name`; :attr:`TagSpec.name` stays the FFD's Russian name."""
    spec = tag_spec(tag, parent)
    if spec is not None:
        return _(spec.name)
    if parent is None and tag in DOCUMENT_TYPES:
        return document_type_name(tag)
    return _("тег {tag}").format(tag=tag)


def document_type_name(document_type: int) -> str:
    """A document type's name in the UI language, for people (never a machine key)."""
    name = DOCUMENT_TYPES.get(document_type)
    if name is not None:
        return _(name)
    return _("документ типа {type}").format(type=document_type)
