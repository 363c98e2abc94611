"""The emulator as a Python object: a protocol front end's register on a pty and/or TCP.

::

    with Emulator(get_emulator("shtrih"), pty=True, tcp=0, clock=ManualClock()) as emu:
        kkt = open_register(emu.pty_path)        # or emu.tcp_url
        emu.sell(...)                            # documents made without the link
        emu.clock.advance(timedelta(hours=25))   # the shift is now over 24 h
        emu.inject("corrupt=0.01,nak=0.05")      # a noisy line from now on
        emu.archive()                            # every document as the ФН stores it

The lines are served by background threads; the register is shared by them and by the
test, and every method of it holds its lock. Every option is checked before anything is
made: a rejected option leaves no state file behind, and neither does a line that cannot
start on a register that had none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

from .clock import RegisterClock
from .faults import FaultInjector, FaultSpec, parse_faults
from .lines import DEFAULT_TCP_HOST, EmulatedLink, Line, LineKind, PtyServer, TcpServer
from .profile import Profile, load_profile
from .register import VirtualRegister

_YES = frozenset({"", "1", "yes", "true", "on", "да"})
_NO = frozenset({"0", "no", "false", "off", "нет"})


def link_flag(name: str, value: object) -> bool:
    """A yes/no link option as given in Python (a bool) or on the command line (text:
    ``stray_ff=0`` must mean off, which ``bool("0")`` would not)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ConfigError(
        _("параметр эмулятора {name}={value}: ожидается да или нет").format(
            name=name, value=value),
        _("укажите {name}=1 или {name}=0").format(name=name))


def link_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """A link option that takes one of a few words (``results=sync``)."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(
            _("параметр эмулятора {name}={value}: ожидается одно из {choices}").format(
                name=name, value=value, choices=", ".join(choices)),
            _("например {name}={example}").format(name=name, example=choices[-1]))
    return text


def link_byte(name: str, value: object) -> int | None:
    """A link option that is a status byte in hex (``ack_reply=A1``) or ``none``."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFF:
        return value
    text = str(value).strip().lower()
    if text in ("", "none"):
        return None
    try:
        byte = int(text, 16)
    except ValueError:
        byte = -1
    if not 0 <= byte <= 0xFF:
        raise ConfigError(
            _("параметр эмулятора {name}={value}: ожидается байт в шестнадцатеричной "
              "записи или none").format(name=name, value=value),
            _("например {name}=A1").format(name=name))
    return byte


@dataclass(frozen=True)
class FrontEnd:
    """What a driver contributes to make its emulator (see :mod:`kkt_bridge.driverapi`).

    ``make_register(profile=, registered=, state_path=, clock=, seed=)`` builds the
    register (a :class:`VirtualRegister`, usually the front end's subclass);
    ``make_link(register, faults, kind, options)`` builds the protocol's link for one
    conversation on a line of ``kind`` ("pty" or "tcp"); ``options`` are the
    ``link_options`` given to :class:`Emulator`, which the front end names in
    ``link_option_names`` (the Shtrih one: ``stray_ff``).
    """

    name: str  # the driver's name: "shtrih"
    title: str  # "Штрих-М"
    default_tcp_port: int
    make_register: Callable[..., VirtualRegister]
    make_link: Callable[[VirtualRegister, FaultInjector, LineKind, Mapping[str, Any]],
                        EmulatedLink]
    link_option_names: frozenset[str] = field(default_factory=frozenset)


class Emulator:
    """A front end's register on a pseudo-terminal and/or a TCP port.

    ``tcp``: None for no TCP line, a port number (0 = any free one) on 127.0.0.1, or
    ``"host:port"``. ``faults``: a spec string (see :mod:`.faults`); ``baud`` and
    ``latency_ms`` are shortcuts for its ``baud`` and ``latency`` keys. ``device``: a
    register made beforehand (then ``profile``, ``registered``, ``state_path``, ``clock``
    are its own). Other keywords are the front end's link options.
    """

    def __init__(self, front_end: FrontEnd, *, pty: bool = True,
                 tcp: int | str | None = None, device: VirtualRegister | None = None,
                 profile: Profile | str | Path | None = None, registered: bool = True,
                 state_path: str | Path | None = None, clock: RegisterClock | None = None,
                 baud: int | None = None, latency_ms: float | None = None,
                 faults: str | FaultSpec | None = None, seed: int | None = None,
                 **link_options: Any) -> None:
        unknown = sorted(set(link_options) - front_end.link_option_names)
        if unknown:
            raise ConfigError(
                _("у эмулятора {driver} нет параметров {names}").format(
                    driver=front_end.name, names=", ".join(unknown)),
                _("уберите их или выберите другой --driver"))
        # every option is checked before the register is made: it may write a state file
        spec = parse_faults(faults).merged(
            FaultSpec(baud=baud or 0, latency_ms=latency_ms or 0.0))
        tcp_address = _tcp_address(tcp, front_end.default_tcp_port)
        if isinstance(profile, str | Path):
            profile = load_profile(Path(profile))
        elif profile is None:
            # a new emulator is a new register: its own serial and ФН number (the demo
            # profile's fixed ones are for unit tests of a bare register)
            profile = Profile()
        path = Path(state_path) if state_path is not None else None
        self._new_state_file = path is not None and not path.exists()
        self._state_path = path
        if device is None:
            device = front_end.make_register(profile=profile, registered=registered,
                                             state_path=path, clock=clock, seed=seed)
        self.front_end = front_end
        self.device = device
        self.seed = seed
        self.link_options = dict(link_options)
        #: the line as started: what inject() builds on and clear_faults() returns to
        self._base = FaultSpec(baud=spec.baud, latency_ms=spec.latency_ms)
        self._spec = spec
        self._want_pty = pty
        self._tcp_address = tcp_address
        self.pty: PtyServer | None = None
        self.tcp: TcpServer | None = None
        self._started = False
        self._apply_device_faults(self._spec)

    # --- life -------------------------------------------------------------------------------

    def _link_factory(self, faults: FaultInjector, kind: LineKind) -> EmulatedLink:
        return self.front_end.make_link(self.device, faults, kind, self.link_options)

    def start(self) -> Emulator:
        if self._started:
            return self
        try:
            if self._want_pty:
                self.pty = PtyServer(self._link_factory, spec=self._spec, seed=self.seed)
            if self._tcp_address is not None:
                host, port = self._tcp_address
                self.tcp = TcpServer(self._link_factory, spec=self._spec, seed=self.seed,
                                     host=host, port=port)
        except BaseException:
            self._close_lines()
            self._forget_new_state_file()
            raise
        for line in self._lines:
            line.start()
        self._started = True
        from kkt_bridge.registers import remember_driver

        # this process knows what speaks here: a detection at these addresses in it (the
        # demo, a test's open_register) asks this protocol first. Only an order: a URL that
        # later holds something else is probed as usual after one wasted probe.
        for url in self.urls:
            remember_driver(url, self.front_end.name)
        return self

    def _forget_new_state_file(self) -> None:
        """An emulator that never served leaves no state file it made itself."""
        path = self._state_path
        if path is not None and self._new_state_file:
            for file in (path, path.with_name(path.name + ".archive")):
                with contextlib.suppress(OSError):
                    file.unlink()

    def stop(self) -> None:
        """Stop serving and save the register's state (when it keeps one)."""
        self._close_lines()
        if self._started:
            self._started = False
            # the register saves after every document; this catches what changed since
            with self.device.lock:
                self.device.persist()

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

        Register faults in the spec (``paper_out``, ``power_loss_at``) take effect too.
        Counters such as ``silent_after`` start from this call. Returns the spec in force.
        """
        self._spec = self._base.merged(parse_faults(spec))
        self._apply_device_faults(self._spec)
        for line in self._lines:
            line.set_faults(self._spec)
        return self._spec

    def clear_faults(self) -> None:
        """The line as it was started (its pacing and latency), without faults; the paper
        is back in the register."""
        self.inject(FaultSpec())
        self.device.faults.paper_out = False

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
            self.device.faults.paper_out = spec.paper_out

    # --- the register, for tests and for the control channel ---------------------------------

    @property
    def clock(self) -> RegisterClock:
        return self.device.clock

    def sell(self, *args: Any, **kwargs: Any) -> Any:
        """A whole receipt made at the register: see :meth:`VirtualRegister.sell`."""
        return self.device.sell(*args, **kwargs)

    def register(self, *args: Any, **kwargs: Any) -> Any:
        return self.device.register(*args, **kwargs)

    def replace_fn(self, *args: Any, **kwargs: Any) -> Any:
        return self.device.replace_fn(*args, **kwargs)

    def open_shift(self) -> Any:
        return self.device.open_shift()

    def close_shift(self) -> Any:
        return self.device.close_shift()

    def archive(self) -> list[bytes]:
        """Every document in the ФН, in ФД order, as the ФН stores it."""
        return self.device.archive()

    def power_cycle(self) -> None:
        self.device.power_cycle()

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return f"<Emulator {self.front_end.name} {state} {' '.join(self.urls)}>"


def _tcp_address(tcp: int | str | None, default_port: int) -> tuple[str, int] | None:
    if tcp is None:
        return None
    if isinstance(tcp, int):
        return DEFAULT_TCP_HOST, tcp
    return parse_hostport(tcp, default_port)


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``:port``, ``port`` or ``host`` (then ``default_port``); ``[::1]:7778``."""
    text = text.strip()
    host, port_text = DEFAULT_TCP_HOST, str(default_port)
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
                          _("укажите HOST:PORT, например 127.0.0.1:{port}").format(
                              port=default_port))
    return host, port
