"""The prompt board: the connect prompts that are current, kept by the daemon.

The watcher raises a prompt («Подключить ККТ») when a register becomes registered, is found
registered and unpaired, gets a new ФН or is re-registered. The board keeps it until the
register is paired, and publishes it on the event bus, where every window (the page's event
stream, the terminal dialogue) reads it. A window opened later asks the board for the
current prompts, so no prompt is lost; a prompt for a register already on the board is not
raised a second time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from kkt_bridge.bridge.events import PROMPT, PROMPT_RESOLVED, EventBus
from kkt_bridge.bridge.watcher import Prompt


@dataclass(frozen=True)
class ConnectPrompt:
    """One current prompt; ``reason`` is one of :data:`kkt_bridge.bridge.watcher.REASON_TEXT`."""

    id: int
    url: str
    register_key: str
    serial: str
    fn_number: str
    model: str
    reason: str
    raised_at: float


class PromptBoard:
    def __init__(self, bus: EventBus | None = None, *,
                 now: Callable[[], float] = time.time) -> None:
        self.bus = bus or EventBus()
        self._now = now
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._current: dict[str, ConnectPrompt] = {}

    def raise_prompt(self, prompt: Prompt) -> ConnectPrompt | None:
        """Put ``prompt`` on the board and publish it; None when its register has one."""
        with self._lock:
            if prompt.register_key in self._current:
                return None
            board_prompt = ConnectPrompt(
                id=next(self._ids), url=prompt.url, register_key=prompt.register_key,
                serial=prompt.register.serial, fn_number=prompt.register.fn_number,
                model=prompt.register.model, reason=prompt.reason, raised_at=self._now())
            self._current[prompt.register_key] = board_prompt
            # published under the lock: a resolve cannot overtake the raise on the bus
            self.bus.publish(PROMPT, asdict(board_prompt))
        return board_prompt

    def resolve(self, register_key: str, outcome: str = "paired") -> bool:
        """The register was paired: its prompt goes; False when it had none."""
        with self._lock:
            prompt = self._current.pop(register_key, None)
            if prompt is None:
                return False
            self.bus.publish(PROMPT_RESOLVED, {"id": prompt.id, "register_key": register_key,
                                               "outcome": outcome})
        return True

    def current(self) -> list[ConnectPrompt]:
        with self._lock:
            return sorted(self._current.values(), key=lambda p: p.id)

    def get(self, register_key: str) -> ConnectPrompt | None:
        with self._lock:
            return self._current.get(register_key)
