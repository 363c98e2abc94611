"""Keeping the CPUs out of deep idle states while a line benchmark runs (PM QoS).

Why a benchmark may ask for it. On a quiet virtual machine an emulated serial line's
round trip is two wake-ups: the register's process wakes when the host's command crosses
the pty (or the loopback socket), the host's process wakes when the answer crosses back.
A vCPU with nothing to run halts; its next wake-up is an exit to the hypervisor and back
(tens of microseconds on Firecracker with the ``haltpoll`` cpuidle driver and
``haltpoll.guest_halt_poll_ns=0``, where the guest never polls before it halts). A Shtrih
document read is about 26 round trips, so the excess of the wall time over the wire time
on a quiet VM is mostly the vCPU's wake-up from halt, not work of the bridge: a busy second
core makes the figure *better*, as the CPU then rarely halts.

Latency-sensitive serial software asks the kernel for this the same way (cyclictest by
default, tuned's ``latency-performance`` profile, real-time fieldbus stacks): a process
opens ``/dev/cpu_dma_latency``, writes the exit latency it can bear in microseconds as a
32-bit integer, and keeps the file open; the kernel keeps every CPU out of idle states
whose exit latency exceeds it until the file is closed. A value of 0 keeps them in the
``POLL`` state: an idle CPU spins instead of halting. It costs idle CPU time (and power,
and on a VM the host's CPU), for every process on the machine, as long as it is held, so
it is never the default of a measurement and never something the bridge itself does.

:func:`cpu_latency` holds such a request for the length of a ``with`` block;
:func:`idle_policy` says in a line what was in force, for the header of a table.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _

#: the kernel's PM QoS file for the CPUs' wake-up latency
#: (Documentation/power/pm_qos_interface.rst)
DEVICE = Path("/dev/cpu_dma_latency")
#: where the cpuidle driver of the CPUs is named
CPUIDLE = Path("/sys/devices/system/cpu/cpuidle")
#: how long the haltpoll driver lets an idle guest CPU poll before it halts (0: never)
HALT_POLL_NS = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")


def request_bytes(microseconds: int) -> bytes:
    """What the device takes: the latency as a native signed 32-bit integer."""
    if not 0 <= microseconds <= 2**31 - 1:
        raise ConfigError(
            _("задержка выхода из простоя {value} мкс вне пределов 0…2147483647").format(
                value=microseconds))
    return struct.pack("=i", microseconds)


@contextmanager
def cpu_latency(microseconds: int, device: Path = DEVICE) -> Iterator[None]:
    """Hold a PM QoS request of ``microseconds`` on ``device`` for the ``with`` block.

    Raises ConfigError (with a hint) when the device cannot be opened or written: a
    benchmark that asked for the request must not run, and report, without it."""
    payload = request_bytes(microseconds)
    try:
        # unbuffered: the kernel takes the request at write(), and drops it at close()
        handle = open(device, "wb", buffering=0)  # noqa: SIM115 - held across the yield
    except OSError as exc:
        raise ConfigError(
            _("не удалось открыть {path} для запроса задержки CPU: {error}").format(
                path=device, error=exc.strerror or exc),
            _("нужен root (или право записи на {path}); без --cpu-latency-us замер идёт "
              "при обычной политике простоя").format(path=device)) from exc
    try:
        try:
            written = handle.write(payload)
        except OSError as exc:
            raise ConfigError(
                _("{path} не принял запрос задержки CPU: {error}").format(
                    path=device, error=exc.strerror or exc)) from exc
        if written != len(payload):
            raise ConfigError(
                _("{path} не принял запрос задержки CPU: записано {written} байт из 4").format(
                    path=device, written=written))
        yield
    finally:
        handle.close()


def idle_states(root: Path | None = None) -> list[tuple[str, int]]:
    """(name, exit latency in us) of CPU 0's idle states (under ``root``, by default the
    CPU's ``cpuidle`` folder beside :data:`CPUIDLE`); empty where the kernel has none."""
    if root is None:
        root = CPUIDLE.parent / "cpu0" / "cpuidle"
    states = []
    for state in sorted(root.glob("state*"), key=lambda p: int(p.name[5:] or 0)):
        try:
            name = (state / "name").read_text().strip()
            latency = int((state / "latency").read_text())
        except (OSError, ValueError):
            continue
        states.append((name, latency))
    return states


def idle_policy(microseconds: int | None) -> str:
    """One line for a table's header: the cpuidle driver, its states, and the request."""
    try:
        driver = (CPUIDLE / "current_driver").read_text().strip()
    except OSError:
        driver = "?"
    known = idle_states()
    states = ", ".join(f"{name} {latency} us" for name, latency in known) or "none"
    with contextlib.suppress(OSError, ValueError):  # not the haltpoll driver
        states += f"; guest_halt_poll_ns={int(HALT_POLL_NS.read_text())}"
    if microseconds is None:
        held = "no PM QoS request (the machine's default)"
    else:
        allowed = [name for name, latency in known if latency <= microseconds]
        held = (f"PM QoS request {microseconds} us held on {DEVICE} "
                f"(idle CPUs stay in: {', '.join(allowed) or 'the shallowest state'})")
    return f"idle policy: cpuidle {driver} [{states}]; {held}"


__all__ = ["DEVICE", "cpu_latency", "idle_policy", "idle_states", "request_bytes"]
