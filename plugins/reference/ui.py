"""«Мои Кассы»: the reference back office's pages for people (read-only, plus «Добавить ККТ»).

Served only when the server is started with ``open_ui=True`` (``kkt-bridge backoffice serve
--ui``, and the demo): the pages need no token, so they are meant for a back office that
listens on loopback. Everything shown is escaped; no token or hash is ever rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from kkt_bridge.fiscal import DOCUMENT_TYPES
from kkt_bridge.plugins.reference.storage import Register, Shop, StoredDocument

#: how many of the newest documents the page lists
RECENT = 50

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin-top:.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.code{font-size:2rem;letter-spacing:.2rem}
form{margin-top:.5rem}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%d.%m.%Y %H:%M") if ts else ""


def _rubles(kopecks: Any) -> str:
    if not isinstance(kopecks, int):
        return ""
    return f"{kopecks // 100} {kopecks % 100:02d}".replace(" ", ",", 1)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f"<td class=\"num\">{escape(cell)}</td>" if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def registers_page(account: str, shops: Sequence[Shop], registers: Sequence[Register],
                   counts: dict[int, int], documents: Sequence[StoredDocument],
                   total: int) -> str:
    register_rows = [
        (r.shop, r.model, r.serial, r.fn_number, r.inn or "", (r.rnm or "").strip(),
         _when(r.paired_at), str(counts.get(r.id, 0)),
         "отключена" if r.revoked_at else "подключена")
        for r in registers
    ]
    document_rows = []
    for d in reversed(documents):
        fns = d.fns
        document_rows.append((
            str(d.fd_number), DOCUMENT_TYPES.get(d.document_type, str(d.document_type)),
            str(fns.get("dateTime", "")), _rubles(fns.get("totalSum")),
            _rubles(fns.get("cashTotalSum")), _rubles(fns.get("ecashTotalSum")),
            d.shop, d.fn_number,
        ))
    options = "".join(f"<option>{escape(s.name)}</option>" for s in shops)
    body = (
        f"<h1>Мои Кассы</h1><p>{escape(account)}</p>"
        + _table(("Магазин", "Модель", "Заводской номер", "ФН", "ИНН", "РН ККТ",
                  "Подключена", "Документов", "Состояние"), register_rows, {7})
        + "<h2>Добавить ККТ</h2>"
        + "<form method=\"post\" action=\"/sync-codes\"><label>Магазин "
        + f"<select name=\"shop\">{options}</select></label> "
        + "<button type=\"submit\">Получить код синхронизации</button></form>"
        + f"<h2>Документы (последние {min(total, RECENT)} из {total})</h2>"
        + _table(("ФД", "Документ", "Дата и время", "Итог", "Наличными", "Безналичными",
                  "Магазин", "ФН"), document_rows, {0, 3, 4, 5})
    )
    return _page("Мои Кассы", body)


def sync_code_page(shop: str, code: str, expires_at: float) -> str:
    body = (
        "<h1>Подключение ККТ</h1>"
        f"<p>Магазин: {escape(shop)}</p>"
        f"<p>Код синхронизации:</p><p class=\"code\">{escape(code)}</p>"
        f"<p>Введите его на кассе в окне «Подключить ККТ». Код действует до "
        f"{escape(_when(expires_at))} и только один раз.</p>"
        "<p><a href=\"/\">Мои Кассы</a></p>"
    )
    return _page("Подключение ККТ", body)
