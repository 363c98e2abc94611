"""Faults the reference back office can inject, so clients prove they survive them.

A spec is a comma-separated list of rules ``KIND[:key=value]...``:

- ``500`` (or any 5xx): answer that status without doing anything;
- ``429``: answer 429 with ``Retry-After`` (``retry_after=1``);
- ``slow``: wait ``delay`` seconds (default 1) before handling the request;
- ``drop``: close the connection in the middle of the answer, nothing done;
- ``drop-after``: handle the request (documents get stored), then drop the answer, so the
  client never sees the acknowledgement of what the server did.

Which requests a rule hits is deterministic: ``first=N`` (the first N matching requests),
``every=N`` (every N-th), ``rate=P`` with ``seed=S`` (a seeded random draw), and ``times=N``
caps the total. ``path=/api/v1/documents`` limits a rule to paths with that prefix; by
default every ``/api/v1/`` path except ``/api/v1/admin`` and ``/api/v1/health`` is subject.
The first rule that fires wins. Example: ``429:every=3:retry_after=2,drop-after:first=1``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from kkt_bridge.errors import ConfigError

KINDS = ("status", "429", "slow", "drop", "drop-after")
_EXEMPT = ("/api/v1/admin", "/api/v1/health")
#: the longest delay or Retry-After a rule may ask for (an hour)
MAX_SECONDS = 3600.0


@dataclass
class FaultRule:
    kind: str  # one of KINDS
    status: int = 500
    retry_after: float = 1.0
    delay: float = 1.0
    first: int | None = None
    every: int | None = None
    rate: float | None = None
    times: int | None = None
    path: str = "/api/v1/"
    seed: int = 0
    seen: int = 0  # matching requests so far
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fires(self, path: str) -> bool:
        if not path.startswith(self.path):
            return False
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.first is not None:
            hit = self.seen <= self.first
        elif self.every is not None:
            hit = self.seen % self.every == 0
        elif self.rate is not None:
            hit = self._random.random() < self.rate
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


def parse_faults(spec: str | None) -> list[FaultRule]:
    """Parse a fault spec; a malformed one is a ConfigError and changes nothing."""
    rules: list[FaultRule] = []
    if not spec or not spec.strip():
        return rules
    for chunk in spec.split(","):
        parts = [p.strip() for p in chunk.strip().split(":") if p.strip()]
        if not parts:
            continue
        kind, options = parts[0].lower(), parts[1:]
        rule = _rule_for(kind, chunk)
        for option in options:
            key, sep, value = option.partition("=")
            if not sep:
                raise _bad(chunk, f"ожидалось ключ=значение, получено {option!r}")
            _set_option(rule, key.strip().replace("-", "_"), value.strip(), chunk)
        rule.__post_init__()
        rules.append(rule)
    return rules


def _rule_for(kind: str, chunk: str) -> FaultRule:
    if kind.isdigit() and 500 <= int(kind) <= 599:
        return FaultRule("status", status=int(kind))
    if kind in KINDS and kind != "status":  # a status fault is spelt as its code
        return FaultRule(kind, status=429 if kind == "429" else 500)
    raise _bad(chunk, f"неизвестный вид сбоя {kind!r} (5xx, 429, slow, drop, drop-after)")


def _set_option(rule: FaultRule, key: str, value: str, chunk: str) -> None:
    try:
        if key in ("first", "every", "times", "seed"):
            number = int(value)
            if number < (0 if key == "seed" else 1):
                raise ValueError(value)
            setattr(rule, key, number)
        elif key in ("retry_after", "delay", "rate"):
            real = float(value)
            if not math.isfinite(real) or real < 0 or (key == "rate" and real > 1) \
                    or (key != "rate" and real > MAX_SECONDS):
                raise ValueError(value)
            setattr(rule, key, real)
        elif key == "path":
            if not value.startswith("/"):
                raise ValueError(value)
            rule.path = value
        else:
            raise _bad(chunk, f"неизвестный параметр {key!r}")
    except ValueError:
        raise _bad(chunk, f"недопустимое значение {key}={value!r}") from None


def _bad(chunk: str, why: str) -> ConfigError:
    return ConfigError(f"сбой «{chunk.strip()}» задан неверно: {why}",
                       "пример: --faults 429:every=3:retry_after=2,drop:first=1")


class FaultInjector:
    """Holds the active rules; swapped at runtime from any thread."""

    def __init__(self, spec: str | None = None) -> None:
        self._lock = threading.Lock()
        self._rules = parse_faults(spec)
        self.spec = spec or ""

    def set(self, spec: str | None) -> None:
        rules = parse_faults(spec)  # parse first: a bad spec leaves the old rules in place
        with self._lock:
            self._rules = rules
            self.spec = spec or ""

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"kind": r.kind, "status": r.status, "seen": r.seen, "fired": r.fired,
                     "path": r.path} for r in self._rules]

    def pick(self, path: str) -> FaultRule | None:
        if not path.startswith("/api/v1/") or path.startswith(_EXEMPT):
            return None
        with self._lock:
            for rule in self._rules:
                if rule.fires(path):
                    return rule
        return None


class FaultMiddleware:
    """Pure ASGI middleware: it has to reach below Starlette to drop a connection."""

    def __init__(self, app: Any, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.injector.pick(scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "slow":
            await asyncio.sleep(rule.delay)
            await self.app(scope, receive, send)
        elif rule.kind == "drop":
            await _drop(send)
        elif rule.kind == "drop-after":
            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(send)
        else:
            await _error(send, rule)


async def _error(send: Any, rule: FaultRule) -> None:
    code = "rate_limited" if rule.status == 429 else "injected_fault"
    body = json.dumps({"error": {"code": code, "message": "сбой для проверки клиента"}},
                      ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if rule.status == 429:
        headers.append((b"retry-after", _seconds(rule.retry_after).encode()))
    await send({"type": "http.response.start", "status": rule.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


async def _drop(send: Any) -> None:
    # Promise a body and stop half-way: the server then closes the socket, and the client
    # sees a connection broken mid-answer, the nastiest case for idempotency.
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"4096")]})
    await send({"type": "http.response.body", "body": b'{"acks": [', "more_body": True})
