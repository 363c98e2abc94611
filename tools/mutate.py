"""Mutation testing: change one thing in the code, run the tests that should notice, and
report each change they did not notice.

A small AST mutator of our own (no third-party tool: mutmut and cosmic-ray want to own the
source tree and the test run; this one is ~250 lines and runs a chosen pytest subset per
mutant). Mutations: comparison operators (``<`` <-> ``<=``, ``==`` <-> ``!=``, ``in`` <->
``not in``, ``is`` <-> ``is not``), arithmetic (``+`` <-> ``-``, ``*`` -> ``//``), ``and``
<-> ``or``, dropping ``not``, integer constants (n -> n + 1, and 1 -> 0), booleans and
``None`` swapped, ``break`` <-> ``continue``, ``+=`` <-> ``-=``, ``return x`` -> ``return
None``, and deleting a statement (an expression, an assignment or a raise becomes ``pass``;
log calls are left alone: what they say is not behaviour the tests pin down).

The code is copied once to a scratch tree laid out as the installed package
(``kkt_bridge/``, ``kkt_bridge/drivers/``, ``kkt_bridge/plugins/``), which goes first on
``PYTHONPATH``; each mutant is written there, never into the working tree, and bytecode
caches are kept out of the way so no stale ``.pyc`` can hide a mutant.

    python tools/mutate.py --target kkt_bridge/bridge/export.py \\
        --target kkt_bridge/store/store.py:get_cursor,acknowledge,outbox_put,outbox \\
        --tests tests/bridge/test_export.py tests/bridge/test_export_edges.py

A target is ``PATH`` (every function in it) or ``PATH:NAME,NAME`` (those functions or
methods only). ``--list`` prints the mutants without running anything; ``--only N,M`` runs
those mutant numbers. Exit status 1 when a mutant survived.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: where each top-level folder of the repository lives in the installed package
LAYOUT = {"kkt_bridge": "kkt_bridge", "drivers": "kkt_bridge/drivers",
          "plugins": "kkt_bridge/plugins"}

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
}


@dataclass(frozen=True)
class Mutant:
    number: int
    path: str  # repository-relative
    function: str
    line: int
    description: str
    source: str  # the whole mutated module


def _functions(tree: ast.Module, names: set[str] | None
               ) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                (names is None or node.name in names):
            yield node


def _is_docstring(parent: ast.AST, index: int, node: ast.stmt) -> bool:
    return (index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))


def _mutations(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(description, replacement node) for each way to mutate ``node`` itself."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            cmp_swap = _COMPARE_SWAPS.get(type(op))
            if cmp_swap is not None:
                new = copy.deepcopy(node)
                new.ops[index] = cmp_swap()
                yield f"{type(op).__name__} -> {cmp_swap.__name__}", new
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        bin_swap = _BINOP_SWAPS[type(node.op)]
        yield f"{type(node.op).__name__} -> {bin_swap.__name__}", \
            ast.BinOp(left=node.left, op=bin_swap(), right=node.right)
    elif isinstance(node, ast.AugAssign) and type(node.op) in (ast.Add, ast.Sub):
        aug: type[ast.operator] = ast.Sub if isinstance(node.op, ast.Add) else ast.Add
        yield f"augmented {type(node.op).__name__} -> {aug.__name__}", \
            ast.AugAssign(target=node.target, op=aug(), value=node.value)
    elif isinstance(node, ast.BoolOp):
        bool_swap: type[ast.boolop] = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield f"{type(node.op).__name__} -> {bool_swap.__name__}", \
            ast.BoolOp(op=bool_swap(), values=node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop not", node.operand
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", ast.Constant(not value)
        elif isinstance(value, int):
            yield f"{value} -> {value + 1}", ast.Constant(value + 1)
            if value == 1:
                yield "1 -> 0", ast.Constant(0)
    elif isinstance(node, ast.Break):
        yield "break -> continue", ast.Continue()
    elif isinstance(node, ast.Continue):
        yield "continue -> break", ast.Break()
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return None", ast.Return(value=ast.Constant(None))


def _deletable(node: ast.stmt) -> bool:
    if _is_log_call(node):
        return False  # a log line is not behaviour the tests are asked to pin down
    return isinstance(node, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Raise)


def _is_log_call(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id in ("log", "logger"))


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target = target
        self.replacement = replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().visit(node)


def mutants(path: Path, names: set[str] | None, start: int = 0) -> list[Mutant]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    found: list[Mutant] = []
    relative = str(path.relative_to(ROOT))
    seen_sources = {ast.unparse(tree)}
    for function in _functions(tree, names):
        spots: list[tuple[ast.AST, str, ast.AST]] = []
        for node in ast.walk(function):
            if node is function:
                continue
            for description, replacement in _mutations(node):
                spots.append((node, description, replacement))
            for field_name in ("body", "orelse", "finalbody"):
                body = getattr(node, field_name, None)
                if not isinstance(body, list):
                    continue
                for index, statement in enumerate(body):
                    if _deletable(statement) and not _is_docstring(node, index, statement):
                        spots.append((statement, "delete statement", ast.Pass()))
        for index, statement in enumerate(function.body):
            if _deletable(statement) and not _is_docstring(function, index, statement):
                spots.append((statement, "delete statement", ast.Pass()))
        for target, description, replacement in spots:
            if _in_annotation(function, target):
                continue
            mutated = _replace_in(tree, target, replacement)
            text = ast.unparse(ast.fix_missing_locations(mutated))
            if text in seen_sources:
                continue  # the same program twice (a statement reached through two bodies)
            seen_sources.add(text)
            line = getattr(target, "lineno", function.lineno)
            found.append(Mutant(start + len(found) + 1, relative, function.name, line,
                                description, text))
    return found


def _in_annotation(function: ast.AST, target: ast.AST) -> bool:
    for node in ast.walk(function):
        for annotation in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if annotation is not None and any(sub is target for sub in ast.walk(annotation)):
                return True
    return False


def _replace_in(tree: ast.Module, target: ast.AST, replacement: ast.AST) -> ast.Module:
    """A copy of ``tree`` with ``target`` replaced (found by identity before copying)."""
    memo: dict[int, object] = {}
    clone = copy.deepcopy(tree, memo)
    twin = memo[id(target)]
    mutated = _Replace(twin, copy.deepcopy(replacement)).visit(clone)  # type: ignore[arg-type]
    assert isinstance(mutated, ast.Module)
    return mutated


def _installed_path(relative: str) -> str:
    top, _, rest = relative.partition("/")
    return f"{LAYOUT[top]}/{rest}"


def _mirror(scratch: Path) -> None:
    for top, where in LAYOUT.items():
        shutil.copytree(ROOT / top, scratch / where, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _env(scratch: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1",
                PYTHONPYCACHEPREFIX=str(scratch / ".pycache-unused"))


def _uses_scratch(scratch: Path) -> bool:
    """Whether a test process imports the package (and a plugin) from the scratch tree."""
    probe = ("import kkt_bridge, kkt_bridge.plugins.reference.plugin as p;"
             "print(kkt_bridge.__file__); print(p.__file__)")
    out = subprocess.run([sys.executable, "-P", "-c", probe], cwd=ROOT, env=_env(scratch),
                         capture_output=True, text=True, check=False).stdout.split()
    return len(out) == 2 and all(Path(line).is_relative_to(scratch) for line in out)


def run_tests(scratch: Path, tests: list[str], timeout: float) -> tuple[bool, float]:
    """(killed, seconds): the tests failed (or hung) against the scratch tree."""
    env = _env(scratch)
    started = time.monotonic()
    try:
        result = subprocess.run(
            # -P: the working tree (cwd) must not shadow the scratch tree on sys.path
            [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "-p", "no:randomly", *tests], cwd=ROOT, env=env, timeout=timeout,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return True, time.monotonic() - started
    return result.returncode != 0, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", required=True,
                        help="PATH or PATH:FUNC,FUNC (repeatable)")
    parser.add_argument("--tests", nargs="+", required=True, help="pytest arguments")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per mutant (default: ten times the clean run, at "
                             "least 30): a mutant that hangs counts as killed")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--only", default="", help="mutant numbers to run, e.g. 3,17")
    args = parser.parse_args()

    all_mutants: list[Mutant] = []
    for spec in args.target:
        path_text, _, names = spec.partition(":")
        selected = set(names.split(",")) if names else None
        all_mutants += mutants(ROOT / path_text, selected, start=len(all_mutants))
    if args.only:
        wanted = {int(n) for n in args.only.split(",")}
        all_mutants = [m for m in all_mutants if m.number in wanted]
    if args.list:
        for m in all_mutants:
            print(f"#{m.number} {m.path}:{m.line} {m.function}: {m.description}")
        return 0

    with tempfile.TemporaryDirectory(prefix="kkt-mutate-") as scratch_dir:
        scratch = Path(scratch_dir)
        _mirror(scratch)
        if not _uses_scratch(scratch):
            print("the scratch tree is not what the tests import: nothing would be "
                  "measured", file=sys.stderr)
            return 2
        killed, baseline = run_tests(scratch, args.tests, args.timeout or 600.0)
        if killed:
            print("the tests fail without any mutant: fix them first", file=sys.stderr)
            return 2
        timeout = args.timeout or max(30.0, 10 * baseline)
        print(f"baseline green in {baseline:.1f} s; {len(all_mutants)} mutants, "
              f"{timeout:.0f} s each at most", flush=True)
        per_file: dict[str, list[int]] = {}
        survivors: list[Mutant] = []
        for m in all_mutants:
            where = scratch / _installed_path(m.path)
            original = where.read_text(encoding="utf-8")
            where.write_text(m.source, encoding="utf-8")
            try:
                dead, seconds = run_tests(scratch, args.tests, timeout)
            finally:
                where.write_text(original, encoding="utf-8")
            tally: list[int] = per_file.setdefault(m.path, [0, 0])
            tally[0] += 1
            tally[1] += int(dead)
            if not dead:
                survivors.append(m)
            print(f"#{m.number} {'killed ' if dead else 'SURVIVED'} {m.path}:{m.line} "
                  f"{m.function}: {m.description} ({seconds:.1f} s)", flush=True)
    print("\nscore per file:")
    for path, (total, dead_count) in per_file.items():
        share = 100 * dead_count / max(total, 1)
        print(f"  {path}: {dead_count}/{total} killed ({share:.0f} %)")
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print(f"  #{m.number} {m.path}:{m.line} {m.function}: {m.description}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
