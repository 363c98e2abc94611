"""Demo data for the reference back office: two shops with nested goods groups, piece and
weighed goods with EAN-13 barcodes, and cashiers. Seeding twice changes nothing."""

from __future__ import annotations

from kkt_bridge.plugins.reference.service import BackOffice

SHOPS = ("Магазин на Ленина", "Магазин на Садовой")

# (id, name, parent)
GROUPS = (
    ("g-food", "Продукты", None),
    ("g-dairy", "Молочная продукция", "g-food"),
    ("g-cheese", "Сыры", "g-dairy"),
    ("g-fruit", "Фрукты и овощи", "g-food"),
    ("g-drinks", "Напитки", None),
    ("g-juice", "Соки", "g-drinks"),
    ("g-water", "Вода", "g-drinks"),
)

# (id, name, price in kopecks, group, code, barcode stem (12 digits) or "", vat, weighed)
GOODS = (
    ("p-milk", "Молоко 3,2 % 1 л", 8990, "g-dairy", "1", "460000000001", 2, False),
    ("p-kefir", "Кефир 2,5 % 0,9 л", 7650, "g-dairy", "2", "460000000002", 2, False),
    ("p-gouda", "Сыр Гауда, кг", 89900, "g-cheese", "3", "", 2, True),
    ("p-apple", "Яблоки Гала, кг", 14990, "g-fruit", "4", "", 2, True),
    ("p-banana", "Бананы, кг", 11990, "g-fruit", "5", "", 2, True),
    ("p-juice", "Сок яблочный 1 л", 12900, "g-juice", "6", "460000000006", 1, False),
    ("p-water", "Вода питьевая 0,5 л", 4500, "g-water", "7", "460000000007", 1, False),
    ("p-bag", "Пакет", 500, None, "8", "", 6, False),
)

EMPLOYEES = (
    ("e-1", "Иванова Мария Петровна", "cashier", "500100732259"),
    ("e-2", "Петров Сергей Иванович", "admin", ""),
    ("e-3", "Сидорова Анна Викторовна", "cashier", ""),
)


def ean13(stem: str) -> str:
    """Append the EAN-13 check digit to a 12-digit stem."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(stem))
    return stem + str((10 - total % 10) % 10)


def seed_demo(db: BackOffice) -> dict[str, int]:
    """Fill every demo shop; the second shop gets its own goods ids so tests can check that
    one shop's catalog never leaks into another's."""
    for index, shop in enumerate(SHOPS):
        suffix = "" if index == 0 else f"-{index + 1}"
        for gid, name, parent in GROUPS:
            db.upsert_group(shop, gid + suffix, name, parent + suffix if parent else None)
        for pid, name, price, group, code, stem, vat, weighed in GOODS:
            db.upsert_good(shop, pid + suffix, name, price,
                           group_id=group + suffix if group else None, code=code,
                           barcodes=(ean13(stem),) if stem else (),
                           measure="кг" if weighed else "шт", vat=vat, weighed=weighed)
        for eid, name, role, inn in EMPLOYEES:
            db.upsert_employee(shop, eid + suffix, name, role, inn)
    return {"shops": len(SHOPS), "groups": len(GROUPS) * len(SHOPS),
            "goods": len(GOODS) * len(SHOPS), "employees": len(EMPLOYEES) * len(SHOPS)}
