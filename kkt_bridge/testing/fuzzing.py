"""Decoders fed with junk must raise only the project's errors: the helper every driver and
the fiscal package use for their hypothesis properties and for ``tools/fuzz.py``.

A :class:`Target` is a decoder (bytes in, anything out) with what its input looks like: a
construct declaration (its size guides the lengths drawn) and valid seed inputs to mutate.
:func:`check_target` is the hypothesis property ("anything but a
:class:`~kkt_bridge.errors.KktBridgeError` escaping is a bug"); :func:`run_one` is the same
rule for one input, for a coverage-guided fuzzer. A driver lists its targets in a
``fuzzing`` module with a ``targets()`` function (see :func:`driver_targets`); the fiscal
package's are :func:`fiscal_targets`.

Needs hypothesis (the ``test`` extra); imported only by tests and tools.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kkt_bridge.errors import KktBridgeError

Decoder = Callable[[bytes], object]

#: bytes that make decoders take their rare paths: zero dates, all-ones lengths, STX/ACK...
SPECIAL = (0x00, 0x01, 0x02, 0x05, 0x06, 0x15, 0x7F, 0x80, 0xFE, 0xFF)


@dataclass(frozen=True)
class Target:
    """One decoder under fuzzing."""

    name: str
    decode: Decoder
    #: the typical input length (a construct declaration's size), None when it varies
    size: int | None = None
    #: valid inputs; mutations of them reach past the first length or checksum test
    seeds: tuple[bytes, ...] = field(default=())
    #: errors that are fine besides KktBridgeError (none, unless a decoder's contract says)
    allowed: tuple[type[BaseException], ...] = ()


def sizeof(declaration: Any) -> int | None:
    """The fixed size of a construct declaration, None when it has none."""
    try:
        return int(declaration.sizeof())
    except Exception:  # construct raises SizeofError and friends for variable sizes
        return None


def from_construct(name: str, declaration: Any, decode: Decoder, *,
                   seeds: Sequence[bytes] = (), prefix: bytes = b"") -> Target:
    """A target whose input is ``prefix`` + bytes shaped by ``declaration``."""
    size = sizeof(declaration)
    # a layout chosen by a key field: every case, with zero bytes, is a seed
    seeds = (*seeds, *switch_variants(declaration, prefix + bytes(64)))
    return Target(name, decode, None if size is None else size + len(prefix), tuple(seeds))


def switch_variants(declaration: Any, data: bytes) -> tuple[bytes, ...]:
    """For a Struct that ends its fixed-size head with a ``Switch`` on one of the head's
    fields: ``data``'s head once per case, the key set to that case and the case's bytes
    all zero (zero dates, zero counts: the rare paths of every layout). Empty when the
    declaration has no such shape."""
    import construct

    offsets: dict[str, tuple[int, int]] = {}
    offset = 0
    for sub in getattr(declaration, "subcons", ()):
        inner = getattr(sub, "subcon", sub)
        if isinstance(inner, construct.Switch):
            name = str(inner.keyfunc).removeprefix("this[").strip("]'\"")
            if name not in offsets or len(data) < offset:
                return ()
            position, width = offsets[name]
            variants = []
            for key, case in inner.cases.items():
                head = bytearray(data[:offset])
                head[position:position + width] = int(key).to_bytes(width, "little")
                variants.append(bytes(head) + bytes(sizeof(case) or 0))
            return tuple(variants)
        size = sizeof(sub)
        if size is None or sub.name is None:
            return ()
        offsets[sub.name] = (offset, size)
        offset += size
    return ()


def _mutate(seed: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(seed)
    for kind, position, value in edits:
        if kind == 0 and data:  # overwrite one byte
            data[position % len(data)] = value
        elif kind == 1:  # insert one byte
            data.insert(position % (len(data) + 1), value)
        elif kind == 2 and data:  # cut the tail
            del data[position % len(data):]
    return bytes(data)


def inputs(target: Target, *, slack: int = 8) -> st.SearchStrategy[bytes]:
    """Inputs for ``target``: random bytes, bytes of the rare values, at and around the
    declared size, and mutated seeds."""
    top = (target.size or 64) + slack
    near = st.integers(max(0, (target.size or 0) - slack), top)
    special = near.flatmap(lambda n: st.lists(st.sampled_from(SPECIAL), min_size=n,
                                              max_size=n).map(bytes))
    strategies = [st.binary(max_size=top), special,
                  near.flatmap(lambda n: st.binary(min_size=n, max_size=n))]
    if target.seeds:
        edit = st.tuples(st.integers(0, 2), st.integers(0, 1 << 16),
                         st.sampled_from(SPECIAL) | st.integers(0, 255))
        strategies += [st.sampled_from(target.seeds),
                       st.builds(_mutate, st.sampled_from(target.seeds),
                                 st.lists(edit, min_size=1, max_size=4))]
    return st.one_of(strategies)


def run_one(target: Target, data: bytes) -> BaseException | None:
    """Decode ``data``; the exception that is not the project's (a finding), else None."""
    try:
        target.decode(data)
    except KktBridgeError:
        return None
    except target.allowed:
        return None
    except Exception as exc:
        return exc
    return None


def check_target(target: Target, *, max_examples: int = 200) -> None:
    """The property: whatever the bytes, ``target`` raises nothing but the project's errors
    (hypothesis shrinks a counterexample and the assertion names it)."""

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs(target))
    def property_(data: bytes) -> None:
        found = run_one(target, data)
        assert found is None, (
            f"{target.name}({data.hex(' ')}) raised {type(found).__name__}: {found}")

    property_()


def driver_targets() -> list[Target]:
    """Every driver's targets: each ``kkt_bridge.drivers.<name>.fuzzing`` module's
    ``targets()`` (a new protocol is fuzzed by adding that module)."""
    import kkt_bridge.drivers as drivers

    found: list[Target] = []
    for info in pkgutil.iter_modules(drivers.__path__):
        try:
            module = importlib.import_module(f"kkt_bridge.drivers.{info.name}.fuzzing")
        except ModuleNotFoundError as exc:
            if exc.name != f"kkt_bridge.drivers.{info.name}.fuzzing":
                raise
            continue
        found += module.targets()
    return found


def fiscal_targets() -> list[Target]:
    """The FFD TLV decoders of :mod:`kkt_bridge.fiscal`, seeded with real documents."""
    from datetime import datetime
    from decimal import Decimal

    from kkt_bridge.fiscal import decode_document, parse_document, to_fns_json, to_tree
    from kkt_bridge.fiscal.wire import encode_document, parse_with_construct

    seeds = (
        encode_document(3, [(1054, 1), (1020, 10000), (1012, datetime(2026, 1, 2, 3, 4)),
                            (1059, [(1030, "Вода"), (1079, 5000), (1023, Decimal("2.000")),
                                    (1043, 10000), (1199, 6)]),
                            (1040, 7), (1041, "9999000011112222"), (1048, "ООО Ромашка")]),
        encode_document(5, [(1038, 3), (1040, 9), (1012, datetime(2026, 1, 2, 23, 0))]),
        encode_document(1, [(1018, "7700000000  "), (1037, "0000000001012345"),
                            (1209, 2)]),
    )
    return [
        Target("fiscal.parse_document", parse_document, seeds=seeds),
        Target("fiscal.parse_with_construct", parse_with_construct, seeds=seeds),
        Target("fiscal.decode_document+to_fns_json",
               lambda data: to_fns_json(decode_document(data)), seeds=seeds),
        Target("fiscal.to_tree", to_tree, seeds=seeds),
    ]


def all_targets() -> list[Target]:
    return driver_targets() + fiscal_targets()
