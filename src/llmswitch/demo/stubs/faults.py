"""Failure behaviours of the stub models, beyond answering an error status (`StubState.failing`):

- `reset`: the connection is aborted as soon as the request arrives (no status line);
- `hang`: the answer starts only after `hang_s` seconds (past the router's per-try timeout);
- `first`: the failure applies to the next K model requests only, then the stub heals by itself;
- `headers`: added to every error answer (`retry-after`, `x-ratelimit-*` for a 429).

Set with PUT /_stub/fail {"status": 429, "headers": {"retry-after": "2"}, "first": 3} or
{"mode": "reset"}; {"status": 0} heals everything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Faults:
    mode: str = ""
    """"" (none), "reset" or "hang"."""
    hang_s: float = 30.0
    first: int | None = None
    """Model requests left before the stub heals by itself (None: until told)."""
    headers: dict[str, str] = field(default_factory=dict)


def _heal(state) -> None:
    state.failing = 0
    state.faults = Faults()


class FaultMiddleware:
    """Applies `state.faults` to model requests (paths under /v1/)."""

    def __init__(self, app: ASGIApp, state) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state, faults = self.state, self.state.faults
        if faults.first is not None:
            if faults.first <= 0:
                _heal(state)
                faults = state.faults
            else:
                faults.first -= 1
        if faults.mode == "reset":
            state.received.append({"path": scope["path"], "headers": {}, "body": "", "reset": True})
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                transport.abort()
                return
            raise ConnectionAbortedError("reset")
        if faults.mode == "hang":
            await asyncio.sleep(faults.hang_s)
        extra = [(k.lower().encode(), v.encode()) for k, v in faults.headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400 and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
