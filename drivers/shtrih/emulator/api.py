"""The emulator as a Python object: start it in-process, drive it from tests, stop it.

::

    with Emulator(pty=True, tcp=0, clock=ManualClock()) as emu:
        kkt = open_register(emu.pty_path)        # or emu.tcp_url
        emu.sell(...)                            # documents made without the link
        emu.clock.advance(timedelta(hours=25))   # the shift is now over 24 h
        emu.inject("corrupt=0.01,nak=0.05")      # a noisy line from now on
        emu.archive()                            # every document as the ФН stores it

The lines are served by background threads; the device object is shared by them and by
the test, and its ``handle`` is thread-safe.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

from .clock import Clock
from .device import EmulatedDevice
from .faults import FaultSpec, parse_faults
from .profile import Profile, load_profile
from .server import DEFAULT_TCP_HOST, DEFAULT_TCP_PORT, Line, PtyServer, TcpServer


class Emulator:
    """An emulated Shtrih-M register on a pseudo-terminal and/or a TCP port.

    ``tcp``: None for no TCP line, a port number (0 = any free one) on 127.0.0.1, or
    ``"host:port"``. ``faults``: a spec string (see :mod:`.faults`); ``baud`` and
    ``latency_ms`` are shortcuts for its ``baud`` and ``latency`` keys.
    """

    def __init__(self, *, pty: bool = True, tcp: int | str | None = None,
                 device: EmulatedDevice | None = None,
                 profile: Profile | str | Path | None = None, registered: bool = True,
                 state_path: str | Path | None = None, clock: Clock | None = None,
                 baud: int | None = None, latency_ms: float | None = None,
                 faults: str | FaultSpec | None = None, seed: int | None = None,
                 stray_ff: bool = True) -> None:
        if isinstance(profile, str | Path):
            profile = load_profile(Path(profile))
        if device is None:
            device = EmulatedDevice(profile=profile, registered=registered,
                                    state_path=Path(state_path) if state_path else None,
                                    clock=clock, seed=seed)
        self.device = device
        self.seed = seed
        spec = parse_faults(faults).merged(
            FaultSpec(baud=baud or 0, latency_ms=latency_ms or 0.0))
        #: the line as started: what inject() builds on and clear_faults() returns to
        self._base = FaultSpec(baud=spec.baud, latency_ms=spec.latency_ms)
        self._spec = spec
        self._want_pty = pty
        self._tcp_address = _tcp_address(tcp)
        self._stray_ff = stray_ff
        self.pty: PtyServer | None = None
        self.tcp: TcpServer | None = None
        self._started = False
        self._apply_device_faults(self._spec)

    # --- life -------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._started:
            return self
        try:
            if self._want_pty:
                self.pty = PtyServer(self.device.handle, spec=self._spec, seed=self.seed,
                                     power_cycle=self._power_cycle)
            if self._tcp_address is not None:
                host, port = self._tcp_address
                self.tcp = TcpServer(self.device.handle, spec=self._spec, seed=self.seed,
                                     power_cycle=self._power_cycle, host=host, port=port,
                                     stray_ff=self._stray_ff)
        except BaseException:
            self._close_lines()
            raise
        for line in self._lines:
            line.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving and save the device's state (when it keeps one)."""
        self._close_lines()
        if self._started:
            self._started = False
            # the device saves after every document; this catches what changed since
            # (tables, the clock offset) when it knows how
            save = getattr(self.device, "persist", None)
            if callable(save):
                save()

    def _close_lines(self) -> None:
        for line in self._lines:
            line.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def _lines(self) -> list[Line]:
        return [line for line in (self.pty, self.tcp) if line is not None]

    # --- where it listens ---------------------------------------------------------------------

    @property
    def pty_path(self) -> str | None:
        return self.pty.path if self.pty else None

    @property
    def tcp_url(self) -> str | None:
        return self.tcp.url if self.tcp else None

    @property
    def urls(self) -> list[str]:
        """Every address a client can open, pty first."""
        return [line.url for line in self._lines]

    # --- faults -----------------------------------------------------------------------------

    @property
    def faults(self) -> FaultSpec:
        return self._spec

    def inject(self, spec: str | FaultSpec) -> FaultSpec:
        """Replace the faults by ``spec``, on top of the baud rate and latency the emulator
        was started with (``spec`` may change those too, until the next inject).

        Device faults in the spec (``paper_out``, ``power_loss_at``) take effect too.
        Counters such as ``silent_after`` start from this call. Returns the spec in force.
        """
        self._spec = self._base.merged(parse_faults(spec))
        self._apply_device_faults(self._spec)
        for line in self._lines:
            line.set_faults(self._spec)
        return self._spec

    def clear_faults(self) -> None:
        """The line as it was started (its pacing and latency), without faults; the paper
        is back in the device."""
        self.inject(FaultSpec())
        faults = getattr(self.device, "faults", None)
        if faults is not None:
            faults.paper_out = False

    @property
    def fault_stats(self) -> dict[str, int]:
        """What the faults did since the last inject, summed over the lines: corrupted,
        dropped and NAKed counts, disconnects, power losses."""
        total: dict[str, int] = {}
        for line in self._lines:
            for key, value in line.fault_stats.items():
                total[key] = total.get(key, 0) + value
        return total

    def _apply_device_faults(self, spec: FaultSpec) -> None:
        if spec.paper_out is not None:
            self.device.faults.paper_out = spec.paper_out  # type: ignore[attr-defined]

    def _power_cycle(self) -> None:
        self.device.power_cycle()  # type: ignore[attr-defined]

    # --- the device, for tests ----------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.device.clock

    def sell(self, *args: Any, **kwargs: Any) -> Any:
        """Make a receipt straight in the device (no link): see ``EmulatedDevice.sell``."""
        return self.device.sell(*args, **kwargs)  # type: ignore[attr-defined]

    def register(self, *args: Any, **kwargs: Any) -> Any:
        return self.device.register(*args, **kwargs)  # type: ignore[attr-defined]

    def open_shift(self) -> Any:
        return self.device.open_shift()  # type: ignore[attr-defined]

    def close_shift(self) -> Any:
        return self.device.close_shift()  # type: ignore[attr-defined]

    def archive(self) -> list[bytes]:
        """Every document in the ФН, in ФД order, as FF3A/FF3B give it."""
        return list(self.device.archive())  # type: ignore[attr-defined]

    def power_cycle(self) -> None:
        self._power_cycle()

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return f"<Emulator {state} {' '.join(self.urls)}>"


def _tcp_address(tcp: int | str | None) -> tuple[str, int] | None:
    if tcp is None:
        return None
    if isinstance(tcp, int):
        return DEFAULT_TCP_HOST, tcp
    return parse_hostport(tcp)


def parse_hostport(text: str) -> tuple[str, int]:
    """``host:port``, ``:port``, ``port`` or ``host`` (then port 7778); ``[::1]:7778``."""
    text = text.strip()
    host, port_text = DEFAULT_TCP_HOST, str(DEFAULT_TCP_PORT)
    if text.startswith("["):
        inner, _sep, rest = text[1:].partition("]")
        host = inner
        if rest.startswith(":"):
            port_text = rest[1:]
    elif text.count(":") == 1:
        host_part, port_text = text.split(":")
        host = host_part or DEFAULT_TCP_HOST
    elif text.isdigit():
        port_text = text
    elif text:
        host = text
    port = -1
    with contextlib.suppress(ValueError):
        port = int(port_text)
    if not 0 <= port <= 65535 or not host:
        raise ConfigError(_("адрес «{text}» не распознан").format(text=text),
                          _("укажите HOST:PORT, например 127.0.0.1:7778"))
    return host, port
