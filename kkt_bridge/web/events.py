"""Server-sent events: the daemon's event bus as ``text/event-stream`` for the page.

A stream starts with ``prompts`` (every current connect prompt), so a page opened late, or
one that reconnects, has them all; then each event of the bus follows as it happens.
Prompts carry their reason in the request's language. A comment line every few seconds
keeps proxies and the browser from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse

from kkt_bridge.bridge.actions import PromptView
from kkt_bridge.bridge.actions.views import prompt_view
from kkt_bridge.bridge.events import PROMPT, Event
from kkt_bridge.bridge.prompts import ConnectPrompt
from kkt_bridge.web.context import WebContext

HEARTBEAT = 15.0
POLL = 0.05
PROMPTS = "prompts"


def frame(kind: str, data: Any, seq: int | None = None) -> str:
    lines = []
    if seq is not None:
        lines.append(f"id: {seq}")
    lines.append(f"event: {kind}")
    text = json.dumps(jsonable_encoder(data), ensure_ascii=False)
    lines.append(f"data: {text}")
    return "\n".join(lines) + "\n\n"


def _prompts(ctx: WebContext) -> list[PromptView]:
    return ctx.actions.prompts()


def _event_data(event: Event) -> Any:
    if event.kind == PROMPT:
        return asdict(prompt_view(ConnectPrompt(**event.data)))
    return event.data


def event_stream(request: Request, ctx: WebContext) -> StreamingResponse:
    subscription = ctx.bus.subscribe()  # before the snapshot: nothing falls in between

    async def stream() -> AsyncIterator[str]:
        try:
            yield frame(PROMPTS, [asdict(p) for p in _prompts(ctx)], ctx.bus.last_seq)
            beat = time.monotonic() + HEARTBEAT
            while not ctx.stopping.is_set():
                sent = False
                for event in subscription.drain():
                    yield frame(event.kind, _event_data(event), event.seq)
                    sent = True
                if time.monotonic() >= beat:
                    yield ": keep-alive\n\n"
                    beat = time.monotonic() + HEARTBEAT
                    if await request.is_disconnected():
                        return
                if not sent:
                    await asyncio.sleep(POLL)
        finally:
            subscription.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
