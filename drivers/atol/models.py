"""ATOL model codes (byte 3 of A5, byte 14 of 3F): atol.md §6, [C] from the vendor headers."""

from __future__ import annotations

MODELS: dict[int, str] = {
    48: "АТОЛ 47ФА", 50: "Альянс 20Ф", 57: "АТОЛ 25Ф", 61: "АТОЛ 30Ф", 62: "АТОЛ 55Ф",
    63: "АТОЛ 22Ф", 64: "АТОЛ 52Ф", 66: "АТОЛ 55 v2Ф", 67: "АТОЛ 11Ф", 69: "АТОЛ 77Ф",
    70: "АТОЛ 42ФА", 72: "АТОЛ 90Ф", 74: "ЭВОТОР СТ2Ф", 75: "АТОЛ 60Ф", 76: "Казначей ФА",
    77: "АТОЛ 42ФС", 78: "АТОЛ 15Ф", 79: "ЭВОТОР СТ3Ф", 80: "АТОЛ 50Ф", 81: "АТОЛ 20Ф",
    82: "АТОЛ 91Ф", 84: "АТОЛ 92Ф", 86: "АТОЛ Sigma 10", 87: "АТОЛ 27Ф", 89: "АТОЛ PT-5Ф",
    90: "АТОЛ Sigma 7Ф", 91: "АТОЛ Sigma 8Ф", 93: "АТОЛ 1Ф", 94: "АТОЛ STB 6Ф",
    95: "АТОЛ 22 v2Ф", 96: "АТОЛ 2Ф", 97: "АТОЛ 35Ф", 99: "АТОЛ 27 FP7 Ф",
}


def model_name(code: int, reported: str = "") -> str:
    """The device's own name when it gives one, else the table's, else the code."""
    name = reported.strip("\x00 ")
    return name or MODELS.get(code) or f"АТОЛ (модель {code})"
