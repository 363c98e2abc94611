"""The fake's objects carry the keys of the documentation's examples (api-remap-1.2-doc),
so every payload the tests feed the plugin is shaped like the real API's."""

from __future__ import annotations

from moysklad_helpers import make_shop, receipt, shift_open

from kkt_bridge.plugins.moysklad.fake import FakeMoySklad

META = {"href", "metadataHref", "type", "mediaType"}
# «Получить список Товаров», first row (supplier and attributes are optional)
PRODUCT = {"meta", "id", "accountId", "owner", "shared", "group", "updated", "name",
           "description", "code", "externalCode", "archived", "pathName", "vat",
           "vatEnabled", "useParentVat", "effectiveVat", "effectiveVatEnabled",
           "discountProhibited", "uom", "images", "minPrice", "salePrices", "buyPrice",
           "article", "weight", "volume", "variantsCount", "barcodes"}
# «Получить список групп товаров», first row
FOLDER = {"meta", "id", "accountId", "owner", "shared", "group", "updated", "name", "code",
          "externalCode", "archived", "pathName", "vatEnabled", "useParentVat"}
# «Получить Кассиров»
CASHIER = {"meta", "id", "accountId", "employee", "retailStore"}
# «Создать розничную смену», the response
SHIFT = {"meta", "id", "accountId", "owner", "shared", "group", "updated", "name",
         "externalCode", "moment", "store", "organization", "created", "printed", "published",
         "files", "proceedsNoCash", "proceedsCash", "receivedNoCash", "receivedCash",
         "cheque", "retailStore", "bankPercent", "bankComission", "qrBankPercent",
         "qrBankComission"}
# «Создать Розничную продажу» with positions, the response (code is optional)
DEMAND = {"meta", "id", "accountId", "updated", "name", "externalCode", "owner", "shared",
          "group", "moment", "applicable", "vatEnabled", "vatIncluded", "sum", "rate",
          "organization", "store", "agent", "created", "printed", "published", "positions",
          "payedSum", "documentNumber", "checkNumber", "checkSum", "sessionNumber",
          "retailStore", "retailShift", "cashSum", "noCashSum", "qrSum", "prepaymentCashSum",
          "prepaymentNoCashSum", "prepaymentQrSum", "advancePaymentSum"}
# «Получить точку продаж» (without the optional address, acquiring, environment and state)
RETAILSTORE = {"meta", "id", "accountId", "owner", "shared", "group", "updated", "name",
               "externalCode", "address", "controlShippingStock", "onlyInStock", "active",
               "controlCashierChoice", "discountEnable", "discountMaxPercent", "requiredFio",
               "requiredPhone", "requiredEmail", "requiredBirthdate", "requiredSex",
               "requiredDiscountCardNumber", "allowDeleteReceiptPositions", "syncAgents",
               "showBeerOnTap", "priceType", "authTokenAttached", "cashiers", "organization",
               "store", "bankPercent", "issueOrders", "sellReserves", "lastOperationNames",
               "ofdEnabled", "allowCustomPrice", "fiscalType", "minionToMasterType",
               "qrPayEnabled"}


def test_catalog_objects_have_the_documented_keys() -> None:
    fake = FakeMoySklad()
    shop = fake.seed_demo()
    for product in fake.rows("product"):
        assert set(product) >= PRODUCT, PRODUCT - set(product)
        assert set(product["meta"]) == META
        assert set(product["salePrices"][0]) == {"value", "currency", "priceType"}
    for folder in fake.rows("productfolder"):
        assert set(folder) >= FOLDER, FOLDER - set(folder)
    assert set(shop) >= RETAILSTORE, RETAILSTORE - set(shop)
    for cashier in fake.cashiers[shop["id"]]:
        assert set(cashier) == CASHIER
        assert set(cashier["meta"]) == {"href", "type", "mediaType"}


def test_documents_have_the_documented_keys() -> None:
    shop = make_shop()
    shop.plugin.backoffice_export_documents(
        backoffice="moysklad", credentials=shop.credentials,
        documents=[shift_open(1, 1), receipt(2, 1, [("Пакет", 500, 1)])])
    [shift] = shop.fake.rows("retailshift")
    assert set(shift) >= SHIFT, SHIFT - set(shift)
    [demand] = shop.fake.rows("retaildemand")
    assert set(demand) >= DEMAND, DEMAND - set(demand)
    assert set(demand["positions"]["meta"]) == {"href", "type", "mediaType", "size", "limit",
                                               "offset"}
