"""Faults of the line and of the device, switched on by a spec string, reproducible by seed.

A spec is a comma-separated list of ``key=value`` items (a bare ``key`` means ``key=1``);
spaces are ignored, an empty spec means a healthy device on an unpaced line::

    baud=115200,latency=20,corrupt=0.01,drop=0.005,nak=0.02,silent_after=100

Line (the link state machine applies these):

==================  =======================================================================
``baud=N``          pace bytes as on a real 8N1 line of N bit/s (10 bits a byte), both
                    ways; 0 = as fast as the pty or socket goes
``latency=MS``      the device needs MS milliseconds to prepare each answer (ENQ meanwhile
                    gets ACK, as on a real device)
``corrupt=P``       each byte, both ways, is replaced by another with probability P;
                    ``corrupt_in`` / ``corrupt_out`` for one direction (in = host to device)
``drop=P``          each byte, both ways, is lost with probability P; ``drop_in`` /
                    ``drop_out`` for one direction
``nak=P``           a good frame is refused (Shtrih: NAK) with probability P, as if its
                    check sum were bad; ``nak_burst=N`` makes each such refusal a storm of
                    N in a row
``lose_ack=P``      the host's acknowledgement of an answer is lost on the line with
                    probability P: the device keeps holding the answer, as it does when
                    no acknowledgement comes (the front end decides which byte that is)
``silent_after=N``  after N more commands the device stops answering anything (a hung
                    device); ``silent_for=S`` ends the silence after S seconds
``disconnect_after=N``  the answer after N more commands is cut in the middle and the link
                    drops (TCP: the connection closes; pty: the rest never comes). The
                    command itself was executed: its document is in the ФН.
==================  =======================================================================

Device (forwarded to the virtual register, :class:`DeviceFaults`):

==================  =======================================================================
``paper_out``       the paper runs out (``paper_out=0`` puts it back)
``power_loss_at=N`` power fails when the N-th command from now arrives: that command is
                    lost and the device restarts; the ФН keeps complete documents only
==================  =======================================================================

Counts ("N more commands") start when the spec is injected. Every random decision comes from
generators seeded with ``seed``, one per direction, so a run replays byte for byte.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields, replace
from typing import Any

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

#: bits on the wire for one byte of 8N1: start, 8 data, stop
BITS_PER_BYTE = 10

_PROBABILITIES = ("corrupt_in", "corrupt_out", "drop_in", "drop_out", "nak", "lose_ack")
_COUNTS = ("nak_burst", "silent_after", "disconnect_after", "power_loss_at")
#: spec keys that set one field for both directions
_BOTH_WAYS = {"corrupt": ("corrupt_in", "corrupt_out"), "drop": ("drop_in", "drop_out")}


@dataclass(frozen=True)
class FaultSpec:
    baud: int = 0
    latency_ms: float = 0.0
    corrupt_in: float = 0.0
    corrupt_out: float = 0.0
    drop_in: float = 0.0
    drop_out: float = 0.0
    nak: float = 0.0
    nak_burst: int = 1
    lose_ack: float = 0.0
    silent_after: int | None = None
    silent_for: float | None = None
    disconnect_after: int | None = None
    paper_out: bool | None = None  # None: leave the paper as it is
    power_loss_at: int | None = None

    @property
    def byte_time(self) -> float:
        """Seconds one byte occupies the line; 0 when the line is not paced."""
        return BITS_PER_BYTE / self.baud if self.baud else 0.0

    @property
    def line_faults(self) -> bool:
        return any(getattr(self, name) for name in _PROBABILITIES) or any(
            value is not None for value in
            (self.silent_after, self.disconnect_after, self.power_loss_at))

    def merged(self, other: FaultSpec) -> FaultSpec:
        """This spec with every field ``other`` sets away from its default."""
        defaults = FaultSpec()
        changes = {f.name: getattr(other, f.name) for f in fields(self)
                   if getattr(other, f.name) != getattr(defaults, f.name)}
        return replace(self, **changes)

    def __str__(self) -> str:
        defaults = FaultSpec()
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(defaults, f.name):
                continue
            key = "latency" if f.name == "latency_ms" else f.name
            parts.append(f"{key}={int(value) if isinstance(value, bool) else value}")
        return ",".join(parts)


def parse_faults(spec: str | FaultSpec | None) -> FaultSpec:
    """Parse a spec string (see the module doc); ConfigError names the bad item."""
    if spec is None:
        return FaultSpec()
    if isinstance(spec, FaultSpec):
        return spec
    values: dict[str, Any] = {}
    for raw in spec.replace(" ", "").split(","):
        if not raw:
            continue
        key, sep, text = raw.partition("=")
        if not sep:
            text = "1"
        for name in _BOTH_WAYS.get(key, (key,)):
            value = _value(name, text, raw)
            values["latency_ms" if name == "latency" else name] = value
    return FaultSpec(**values)


def _value(name: str, text: str, item: str) -> Any:
    hint = _("формат: ключ=значение через запятую, например corrupt=0.01,nak=0.02; "
             "ключи: baud, latency, corrupt, drop, nak, nak_burst, lose_ack, silent_after, "
             "silent_for, disconnect_after, paper_out, power_loss_at")
    try:
        if name in _PROBABILITIES:
            value: Any = float(text)
            if not 0.0 <= value <= 1.0:
                raise ValueError(text)
        elif name in _COUNTS or name == "baud":
            value = int(text)
            if value < (1 if name == "nak_burst" else 0):
                raise ValueError(text)
        elif name in ("latency", "silent_for"):
            value = float(text)
            if not 0 <= value < math.inf:  # NaN too: it would stop the clock of the link
                raise ValueError(text)
        elif name == "paper_out":
            if text not in ("0", "1"):
                raise ValueError(text)
            value = text == "1"
        else:
            raise ConfigError(_("неизвестная неисправность «{item}»").format(item=item), hint)
    except ValueError:
        raise ConfigError(_("недопустимое значение в «{item}»").format(item=item), hint) from None
    return value


@dataclass
class DeviceFaults:
    """Faults of the register itself; the line's live in :class:`FaultInjector`."""

    paper_out: bool = False


class FaultInjector:
    """The live state of a spec on one link: seeded generators and countdowns."""

    def __init__(self, spec: FaultSpec | None = None, seed: int | None = None) -> None:
        self.seed = seed
        self.reset(spec or FaultSpec())

    def reset(self, spec: FaultSpec) -> None:
        """Apply a new spec; countdowns start over from now."""
        self.spec = spec
        base = random.Random(self.seed)
        # one generator per direction: bytes of one way cannot shift the other's draws
        self._rng_in = random.Random(base.getrandbits(64))
        self._rng_out = random.Random(base.getrandbits(64))
        self._rng_frames = random.Random(base.getrandbits(64))
        # drawn after the others: specs without lose_ack replay as before it existed
        self._rng_acks = random.Random(base.getrandbits(64))
        self.commands = 0
        #: what the faults did so far, for tests that must know a fault really fired
        self.stats: dict[str, int] = {"corrupted": 0, "dropped": 0, "naked": 0,
                                      "disconnects": 0, "power_losses": 0, "acks_lost": 0}
        self._naks_left = 0
        self.silent_since: float | None = None
        self.disconnect_done = False
        self.power_loss_done = False

    # --- bytes ------------------------------------------------------------------------------

    def inbound(self, data: bytes) -> bytes:
        spec = self.spec
        return self._mangle(data, spec.corrupt_in, spec.drop_in, self._rng_in)

    def outbound(self, data: bytes) -> bytes:
        spec = self.spec
        return self._mangle(data, spec.corrupt_out, spec.drop_out, self._rng_out)

    def _mangle(self, data: bytes, corrupt: float, drop: float, rng: random.Random) -> bytes:
        if not corrupt and not drop:
            return data
        out = bytearray()
        for byte in data:
            if drop and rng.random() < drop:
                self.stats["dropped"] += 1
                continue
            if corrupt and rng.random() < corrupt:
                byte ^= rng.randrange(1, 256)  # never the same byte: a real flip
                self.stats["corrupted"] += 1
            out.append(byte)
        return bytes(out)

    # --- frames and commands ----------------------------------------------------------------

    def refuse_frame(self) -> bool:
        """Should this good frame be NAKed anyway (a NAK storm)?"""
        if self._naks_left:
            self._naks_left -= 1
        elif self.spec.nak and self._rng_frames.random() < self.spec.nak:
            self._naks_left = self.spec.nak_burst - 1
        else:
            return False
        self.stats["naked"] += 1
        return True

    def ack_lost(self) -> bool:
        """Is the host's acknowledgement of the answer the device holds lost on the line?"""
        if not self.spec.lose_ack or self._rng_acks.random() >= self.spec.lose_ack:
            return False
        self.stats["acks_lost"] += 1
        return True

    def power_fails(self) -> bool:
        """Called for each command before it runs: True = power fails on this one."""
        at = self.spec.power_loss_at
        if at is None or self.power_loss_done or self.commands + 1 < at:
            return False
        self.power_loss_done = True
        self.stats["power_losses"] += 1
        return True

    def command_done(self) -> None:
        self.commands += 1

    def cut_this_answer(self) -> bool:
        """True once, for the answer of the command after ``disconnect_after`` commands."""
        after = self.spec.disconnect_after
        if after is None or self.disconnect_done or self.commands <= after:
            return False
        self.disconnect_done = True
        self.stats["disconnects"] += 1
        return True

    def is_silent(self, now: float) -> bool:
        after = self.spec.silent_after
        if after is None or self.commands < after:
            return False
        if self.silent_since is None:
            self.silent_since = now
        limit = self.spec.silent_for
        return limit is None or now - self.silent_since < limit
