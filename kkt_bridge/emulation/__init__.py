"""The emulation kit: a protocol-neutral virtual register that protocol front ends put on a line.

Nothing here knows a protocol byte. A driver's emulator is a *front end*: it parses its
protocol's requests with the driver's own construct declarations, calls the virtual
register, and builds its answers with the same declarations (the driver's mirror).

The pieces
==========

- :mod:`.register`: :class:`VirtualRegister`, the register and its ФН: registration and
  re-registration, a new ФН, shifts, receipts (lines, VAT, discounts, payments, change),
  corrections, cash in/out, the archive, counters, the OFD queue, power loss. Every method
  either does all it stands for or raises :class:`Refused` with a neutral :class:`Reason`,
  having changed nothing. Also :class:`Item` and :class:`SaleResult`.
- :mod:`.state`, :mod:`.statefile`: what survives a restart (a JSON state file plus an
  append-only ``.archive``); a front end keeps its own memory (Shtrih: the settings
  tables) in ``register.state.section(name, load, new)``, saved in the same file.
- :mod:`.archive`: the ФН's numbered, signed FFD TLV documents; :mod:`.documents`: what each
  document holds; :mod:`.sale`: an open receipt and its VAT arithmetic.
- :mod:`.profile`: registration data (``--profile FILE``), INN/RNM check digits.
- :mod:`.clock`: :class:`SystemClock`, :class:`ManualClock`.
- :mod:`.faults`: a fault spec string (``baud=115200,corrupt=0.01,nak=0.02...``),
  :class:`FaultInjector` (seeded, per line) and :class:`DeviceFaults` (the paper).
- :mod:`.lines`: :class:`PtyServer` and :class:`TcpServer`, which pump bytes through
  whatever link the front end makes.
- :mod:`.pacing`: :class:`Pacer`, a paced 8N1 line both ways with the line's faults, for a
  front end's link (arrival times, whole frames out, a wake-up per frame).
- :mod:`.emulator`: :class:`Emulator` (the facade tests and the CLI use) and
  :class:`FrontEnd` (what a driver contributes).

How a protocol front end plugs in
=================================

1. The register. Subclass :class:`VirtualRegister` and set ``model`` to a
   :class:`RegisterModel` (protocol name, model name and code, firmware, the largest sum
   its money fields carry). Keep the protocol's own RAM and settings in the subclass (its
   modes, passwords, a document being read); extend ``restart()`` to forget the RAM on a
   power loss. Override ``requisites(operator)`` / ``cashier_name(operator)`` if the
   protocol keeps the user's name, address or cashiers in its own settings.

2. Requests. For each parsed request, check the protocol's own rules, then call the
   register's inside methods, under ``register.lock``:

   ==========================================  ============================================
   ``fiscalize_now(operator, inn=, rnm=, ...)``  registration (``reason=None``) or
                                                re-registration report
   ``replace_fn_now(fn_number=None)``           a new, empty, unregistered ФН
   ``open_shift_now(op)`` / ``close_shift_now(op)``  shift reports
   ``add_line_now(operation, op, Line(...))``   an item (opens the receipt and, as ФН-era
                                                firmware does, the shift)
   ``start_receipt_now(operation, op)``         open a receipt without an item
   ``open_receipt()``                           the open receipt (to discount, add TLV...)
   ``close_receipt_now(cash, Payments(...), discount_delta, tax_system_bit)``  the
                                                receipt document: (change, StoredDocument)
   ``cancel_receipt_now()``, ``correction_now(op, operation, amount)``,
   ``cash_now(op, amount, into_drawer=)``, ``issue(doc_type, tags, details, apply)``
   ``state.archive.get(n)`` / ``.last`` / ``.unacknowledged()``  reading the ФН
   ==========================================  ============================================

   Catch :class:`Refused` and answer with your protocol's error code for
   ``refused.reason`` (one table beside your driver's error table). ``operator`` is your
   protocol's number for the cashier; the register only passes it back to
   ``cashier_name``.

3. Bytes. Write the protocol's link as a state machine without I/O that satisfies
   :class:`EmulatedLink`: the line calls ``receive(data, now)`` with the bytes it read
   from the client and the moment they set off (their write over TCP on Linux, their read
   on a pty: :mod:`.lines`), ``poll(now)`` for the bytes to write, and sleeps until
   ``next_deadline()``. Let a :class:`Pacer` carry the bytes: ``pacer.arrive(data, now,
   acts)`` in ``receive`` (``acts(byte, arrival)``: will your state machine act on this
   byte? a control byte, a frame's last byte), ``for at, byte in pacer.arrived(now)`` and
   ``pacer.release(now)`` in ``poll``, ``pacer.emit(frame, at)`` to answer,
   ``pacer.next_deadline()`` in yours: the line then wakes once a frame, with exact
   pacing, and the seeded line faults (silence, corrupt and dropped bytes) are applied.
   Keep it as the link's ``pacer`` attribute and return from ``poll`` what
   ``pacer.release`` gives: the line then runs your link ahead of the real clock where no
   input can overtake it, and takes what leaves at a deadline from the pacer just before
   (see :mod:`.lines`), so an answer is not late by the Python work behind it.
   The protocol-level faults are asked of ``faults`` (a :class:`FaultInjector`):
   ``refuse_frame()``, ``power_fails()`` (then call ``register.power_cycle()``),
   ``command_done()``, ``cut_this_answer()`` (then ``pacer.cut_after(n)``),
   ``spec.latency_ms``. The Shtrih link (``drivers/shtrih/emulator/link.py``) does all this.

4. The driver's entry. Make a :class:`FrontEnd` (name, title, default TCP port,
   ``make_register(**options)``, ``make_link(register, faults, kind, options)``) and offer
   it as the driver plugin's ``emulator`` attribute (an object or ``"module:attribute"``):
   ``kkt-bridge emulator --driver NAME``, ``kkt_emulator_factory(driver=NAME)`` and
   :func:`kkt_bridge.driverapi.get_emulator` then find it. The Shtrih front end
   (``kkt_bridge.drivers.shtrih.emulator.frontend``) is the worked example.
"""

from __future__ import annotations

from .clock import ManualClock, RegisterClock, SystemClock
from .emulator import Emulator, FrontEnd
from .faults import DeviceFaults, FaultInjector, FaultSpec, parse_faults
from .lines import EmulatedLink, LineKind, LinkFactory
from .pacing import Pacer
from .profile import DEMO_PROFILE, Profile, load_profile
from .refusal import Reason, Refused
from .register import Item, RegisterModel, SaleResult, VirtualRegister

__all__ = [
    "DEMO_PROFILE",
    "DeviceFaults",
    "EmulatedLink",
    "Emulator",
    "FaultInjector",
    "FaultSpec",
    "FrontEnd",
    "Item",
    "LineKind",
    "LinkFactory",
    "ManualClock",
    "Pacer",
    "Profile",
    "Reason",
    "Refused",
    "RegisterClock",
    "RegisterModel",
    "SaleResult",
    "SystemClock",
    "VirtualRegister",
    "load_profile",
    "parse_faults",
]
