"""decode(encode(x)) == x for every ATOL declaration, tasks and answers, and no input
crashes the task-buffer or answer decoders with anything but kkt-bridge's own errors."""

from __future__ import annotations

import contextlib

import pytest
from atol_strategies import normalize, strategy_for
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.atol.commands import REGISTRY, AnswerKind, Command, lookup
from kkt_bridge.drivers.atol.commands.fields import external_decode, external_encode
from kkt_bridge.drivers.atol.errors import CODES, EXTENDED, AtolDeviceError, error_class
from kkt_bridge.drivers.atol.taskbuffer import (
    HostPacket,
    KktPacket,
    TaskStatus,
    add,
    parse_host,
    parse_kkt,
    reply,
)
from kkt_bridge.errors import KktBridgeError

COMMANDS = sorted(REGISTRY.values(), key=lambda cmd: cmd.code)


def _ids(commands: list[Command]) -> list[str]:
    return [f"{cmd.code.hex().upper()}-{cmd.name}" for cmd in commands]


IDS = _ids(COMMANDS)


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_tasks_round_trip(cmd: Command) -> None:
    @given(strategy_for(cmd.request), st.integers(0, 9999))
    def check(fields: dict, password: int) -> None:
        task = cmd.build_task(password, **fields)
        assert lookup(task) is cmd
        parsed = normalize(cmd.parse_task(task))
        assert parsed.pop("password") == password
        assert parsed == normalize(fields)

    check()


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_answers_round_trip(cmd: Command) -> None:
    @given(strategy_for(cmd.answer))
    def check(fields: dict) -> None:
        answer = cmd.build_answer(**fields)
        assert normalize(cmd.parse_answer(answer)) == normalize(fields)
        assert cmd.build_answer(**cmd.parse_answer(answer)) == answer

    check()


# the 45 answer starts with 55 and carries no error code: it cannot refuse
REFUSABLE = [cmd for cmd in COMMANDS if not (cmd.kind is AnswerKind.OWN and cmd.own == 0x55)]


@pytest.mark.parametrize("cmd", REFUSABLE, ids=_ids(REFUSABLE))
def test_error_answers_raise_the_typed_error(cmd: Command) -> None:
    for code, (family, _meaning) in CODES.items():
        with pytest.raises(family) as caught:
            cmd.parse_answer(cmd.error_answer(code))
        assert caught.value.code == code
        assert isinstance(caught.value, error_class(code))


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_no_bytes_crash_the_answer_decoders(cmd: Command) -> None:
    @given(st.binary(max_size=120))
    def check(data: bytes) -> None:
        for decode, raw in ((cmd.parse_answer, data), (cmd.parse_task, bytes(2) + cmd.code + data),
                            (cmd.parse_task, data)):
            with contextlib.suppress(KktBridgeError):
                decode(raw)

    check()


def test_every_code_of_the_reference_is_typed() -> None:
    # atol.md §7 lists these; each maps to an AtolDeviceError subclass with a meaning
    assert len(CODES) >= 140
    assert all(issubclass(error_class(code), AtolDeviceError) for code in CODES)
    assert error_class(0xDA).__name__ == "FnNoDataError"
    assert error_class(0xA8).__name__ == "NotFiscalizedError"


@given(st.integers(0, 0xDF), st.binary(max_size=80), st.integers(0, 255))
def test_task_buffer_packets_round_trip(tid: int, task: bytes, flags: int) -> None:
    parsed = HostPacket.parse(add(tid, task, flags))
    assert (parsed.args.tid, parsed.args.task, parsed.args.flags) == (tid, task, flags)
    async_result = KktPacket.parse(reply(TaskStatus.ASYNC_RESULT, task, tid))
    assert (async_result.tid, async_result.answer) == (tid, task)
    sync = KktPacket.parse(reply(TaskStatus.RESULT, task))
    assert (sync.tid, sync.answer) == (None, task)


@given(st.binary(max_size=80))
def test_no_bytes_crash_the_task_buffer_decoders(data: bytes) -> None:
    for decode in (parse_host, parse_kkt):
        with contextlib.suppress(KktBridgeError):
            decode(data)


def test_the_external_code_page() -> None:
    # atol4j's ExternalCharsetTest vector, and the places it leaves CP866
    assert external_encode("АТОЛ 91Ф") == bytes.fromhex("80 92 8E 8B 20 39 31 94")
    assert external_encode("№$€■") == bytes.fromhex("24 FC F2 FF")
    assert external_decode(bytes.fromhex("24 FC")) == "№$"
    assert external_encode("ё✓") == bytes.fromhex("F1 3F")  # what it lacks becomes '?'


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_error_text_and_command_title_has_an_english_entry() -> None:
    # the catalog scan sees _() literals; these reach _() through tables and attributes
    from kkt_bridge.i18n import catalog_files, parse_po

    catalog = parse_po("\n".join(p.read_text(encoding="utf-8") for p in catalog_files("en")))
    texts = {meaning for _family, meaning in CODES.values()}
    texts |= set(EXTENDED.values())
    texts |= {cls.hint_text for cls in (AtolDeviceError, *_subclasses(AtolDeviceError))}
    texts |= {cmd.title for cmd in COMMANDS}
    assert not sorted(t for t in texts if not catalog.get(t, "").strip())
