"""Driving an emulated link on a fake clock, for the property that its deadlines lose
nothing: woken only when :meth:`next_deadline` says, a link must send the same bytes, at
the same moments, as when polled on a fine grid (how a line in service sees it)."""

from __future__ import annotations

from typing import Protocol


class PacedLink(Protocol):
    """What a protocol's emulated link offers its line (the Shtrih and ATOL links)."""

    def receive(self, data: bytes, now: float) -> None: ...

    def poll(self, now: float) -> bytes: ...

    def next_deadline(self) -> float | None: ...


def drive(link: PacedLink, script: list[tuple[float, bytes]], *, grid: float | None,
          end: float) -> tuple[list[tuple[float, int]], int]:
    """Feed ``script`` ((gap, bytes)...) and poll either on a fixed grid or only at the
    link's deadlines; ((time, byte) of everything it sent, how many polls it took)."""
    out: list[tuple[float, int]] = []
    now, polls = 0.0, 0
    inputs = []
    t = 0.0
    for gap, data in script:
        t += gap
        inputs.append((t, data))
    for _ in range(200_000):  # bounded: a link that never settles fails, not hangs
        deadline = link.next_deadline()
        candidates = [t for t, _d in inputs[:1]]
        if grid is not None:
            candidates.append(now + grid)
        elif deadline is not None:
            candidates.append(deadline)
        if not candidates:
            break
        now = max(now, min(candidates))
        if now > end:
            break
        while inputs and inputs[0][0] <= now:
            link.receive(inputs.pop(0)[1], now)
        out += [(now, byte) for byte in link.poll(now)]
        polls += 1
    out += [(end, byte) for byte in link.poll(end)]
    return out, polls


def assert_punctual(exact: list[tuple[float, int]], polled: list[tuple[float, int]],
                    grid: float) -> None:
    """The same bytes both ways, each seen by the grid no earlier than the deadline-driven
    run sent it (it was not due before) and no later than the next grid poll."""
    assert [byte for _t, byte in exact] == [byte for _t, byte in polled]
    for (at, _byte), (seen, _same) in zip(exact, polled, strict=True):
        assert at - 1e-9 <= seen <= at + grid + 1e-9
