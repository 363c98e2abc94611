"""Every translatable message in the source has an English entry in the catalog.

The scan is static (AST), so a message that only shows up on a rare error path is checked
as well as the ones a CLI run happens to print.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from kkt_bridge.i18n import catalog_files, parse_po

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("kkt_bridge", "drivers", "plugins")
# the plugin template is copied by plugin authors; its messages are theirs to translate
EXCLUDED = (ROOT / "plugins" / "template",)
# where every Russian literal is something the user reads, so it must go through _()
USER_FACING = (*sorted((ROOT / "kkt_bridge" / "cli").glob("*.py")), ROOT / "kkt_bridge" / "demo.py")
NOT_UI = {
    "Магазин на Ленина",  # demo data: the shop's name in the back office, not a UI word
    # the --lang option is defined before the language is known; the group translates it
    # each time its help is shown
    "Язык интерфейса (по умолчанию русский, или KKT_BRIDGE_LANG).",
}
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _source_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if any(path.is_relative_to(excluded) for excluded in EXCLUDED):
                continue
            files.append(path)
    return files


def translatable_messages(source: str) -> set[str]:
    """The string literals passed to ``_()`` (adjacent literals are one Constant node)."""
    messages = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            messages.add(node.args[0].value)
    return messages


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    constants: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            constants[node.target.id] = node.value
    return constants


def _imported_constant(module: str, name: str) -> ast.expr | None:
    relative = Path(*module.split("."))
    if relative.parts[:2] in (("kkt_bridge", "drivers"), ("kkt_bridge", "plugins")):
        relative = relative.relative_to("kkt_bridge")
    for candidate in (ROOT / relative.with_suffix(".py"), ROOT / relative / "__init__.py"):
        if candidate.exists():
            tree = ast.parse(candidate.read_text(encoding="utf-8"))
            return _module_constants(tree).get(name)
    return None


def named_messages(source: str) -> set[str]:
    """The Russian texts behind ``_(NAME)``, ``_(NAME[key])`` and ``_(NAME.get(...))``,
    where NAME is a module-level constant of this module or one it imports from."""
    tree = ast.parse(source)
    local = _module_constants(tree)
    imported = {alias.asname or alias.name: node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module
                for alias in node.names}
    messages: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "_" and len(node.args) == 1):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Subscript):
            while isinstance(arg, ast.Subscript):  # NAME[key] and NAME[key][field]
                arg = arg.value
        elif (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
              and arg.func.attr == "get"):
            arg = arg.func.value
        if not isinstance(arg, ast.Name):
            continue
        value = local.get(arg.id)
        if value is None and arg.id in imported:
            value = _imported_constant(imported[arg.id], arg.id)
        if value is None:
            continue
        messages |= {sub.value for sub in ast.walk(value)
                     if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                     and CYRILLIC.search(sub.value)}
    return messages


def unwrapped_russian(source: str) -> set[str]:
    """Russian literals that are neither docstrings, nor inside ``_()``, nor constants
    that reach ``_()`` by name."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            skip |= {id(sub) for sub in ast.walk(node)}
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            skip.add(id(body[0].value))
    found = {node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in skip and CYRILLIC.search(node.value)}
    return found - named_messages(source)


def _po_text() -> str:
    """Every English catalog file, joined: each msgid must stand in exactly one of them."""
    return "\n".join(path.read_text(encoding="utf-8") for path in catalog_files("en"))


def _raw_msgids(text: str) -> list[str]:
    """Every msgid in file order, duplicates included (``parse_po`` keeps only the last)."""
    msgids: list[str] = []
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("msgid "):
            current = [ast.literal_eval(line[len("msgid "):])]
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
        elif current is not None:
            msgids.append("".join(current))
            current = None
    if current is not None:
        msgids.append("".join(current))
    return [msgid for msgid in msgids if msgid]


def test_the_scan_finds_literals_and_implicit_concatenation() -> None:
    source = 'x = _("раз " "два")\ny = _(name)\nz = ngettext("a")\nw = _("три")\n'
    assert translatable_messages(source) == {"раз два", "три"}


def test_the_scan_follows_named_constants() -> None:
    source = ('from kkt_bridge.cli.connect import CODE_PROMPT\n'
              'TITLES = {"goods": "Товары", "n": 1}\nHELP = ("раз " "два")\n'
              'a = _(TITLES.get(job, job))\nb = _(TITLES[job])\nc = _(HELP)\nd = _(CODE_PROMPT)\n')
    assert named_messages(source) == {"Товары", "раз два",
                                      "Введите код синхронизации с бэк-офисом"}


def test_the_unwrapped_finder() -> None:
    source = ('"""Модуль."""\nWORDS = {"a": "да"}\nx = _(WORDS["a"])\n'
              'click.echo("Готово")\nclick.echo(_("Сделано"))\nclick.echo(f"{n} шт.")\n')
    assert unwrapped_russian(source) == {"Готово", " шт."}


def test_user_facing_russian_goes_through_gettext() -> None:
    bare = {f"{path.relative_to(ROOT)}: {text!r}" for path in USER_FACING
            for text in unwrapped_russian(path.read_text(encoding="utf-8")) - NOT_UI}
    assert not bare, "wrap these in _():\n" + "\n".join(sorted(bare))


def test_the_duplicate_finder_sees_repeated_and_multiline_msgids() -> None:
    text = 'msgid ""\nmsgstr "h"\n\nmsgid "а"\n"б"\nmsgstr "ab"\n\nmsgid "аб"\nmsgstr "ab"\n'
    assert _raw_msgids(text) == ["аб", "аб"]


def test_the_scan_covers_the_whole_source_tree() -> None:
    scanned = {path.relative_to(ROOT).parts[0] for path in _source_files()}
    assert scanned == set(SCANNED)
    assert not any("template" in path.relative_to(ROOT).parts for path in _source_files()
                   if path.relative_to(ROOT).parts[0] == "plugins")


def test_every_translatable_message_has_an_english_entry() -> None:
    catalog = parse_po(_po_text())
    missing: dict[str, list[str]] = {}
    for path in _source_files():
        source = path.read_text(encoding="utf-8")
        for message in translatable_messages(source) | named_messages(source):
            if not catalog.get(message, "").strip():
                missing.setdefault(message, []).append(str(path.relative_to(ROOT)))
    assert not missing, "no English translation for:\n" + "\n".join(
        f"  {message!r}  ({', '.join(paths)})" for message, paths in sorted(missing.items())
    )


def test_no_english_entry_contains_cyrillic() -> None:
    russian = {msgid: msgstr for msgid, msgstr in parse_po(_po_text()).items()
               if CYRILLIC.search(msgstr)}
    assert not russian, f"Cyrillic in English msgstr: {russian}"


def test_no_msgid_appears_twice() -> None:
    twice = [msgid for msgid, count in Counter(_raw_msgids(_po_text())).items() if count > 1]
    assert not twice, f"duplicate msgids in the English catalogs: {twice}"
