"""The observer's side of the cache: collects a missed request's response as it passes, then stores it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmswitch.cache.ticket import Ticket

if TYPE_CHECKING:
    from llmswitch.cache.response_cache import ResponseCache


class CacheRecorder:
    """Keeps the response body (SSE events included) up to `cache.max_entry_bytes` (and `router.max_body_bytes`);
    a larger one is let go."""

    def __init__(self, cache: ResponseCache, ticket: Ticket) -> None:
        self.cache = cache
        self.ticket = ticket
        self.limit = cache.max_entry_bytes
        self.status = 0
        self.content_type = ""
        self.body = bytearray()
        self.overflow = False

    def on_headers(self, status: int, content_type: str) -> None:
        self.status = status
        self.content_type = content_type

    def feed(self, chunk: bytes) -> None:
        if self.overflow:
            return
        if len(self.body) + len(chunk) > self.limit:
            self.overflow = True
            self.body = bytearray()
        else:
            self.body += chunk

    async def finish(self, complete: bool) -> None:
        if not self.overflow:
            await self.cache.save(self.ticket, self.status, self.content_type, bytes(self.body), complete)
