"""The response cache as a pipeline sees it: the store, its settings, and the store path for the observer."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from llmswitch import headers as names
from llmswitch.budget import BudgetGuard
from llmswitch.cache.convert import CODECS
from llmswitch.cache.entry import CachedResponse
from llmswitch.cache.recorder import CacheRecorder
from llmswitch.cache.store import CacheStore, MemoryStore
from llmswitch.cache.ticket import Ticket
from llmswitch.config.cache import CacheConfig
from llmswitch.config.schema import Config
from llmswitch.pipeline.plan import Respond
from llmswitch.protocols.view import RequestView

if TYPE_CHECKING:
    from llmswitch.request import Analyzer
    from llmswitch.telemetry.metrics import RouterMetrics

log = logging.getLogger(__name__)
HIT_DETAILS = "llmswitch_cache_hit"
_ERROR_LOG_INTERVAL_S = 60.0
_BYTES_PER_ENCODER_TOKEN = 3
"""Prompts longer than this many bytes per encoder token may be cut by the encoder: exact matching only."""


def build_store(config: CacheConfig) -> CacheStore:
    store = config.store
    if store.type == "redis":
        from llmswitch.cache.redis_store import RedisStore

        return RedisStore(store, config.semantic)
    return MemoryStore(store.max_entries, store.max_bytes)


class ResponseCache:
    def __init__(
        self,
        config: Config,
        store: CacheStore,
        guard: BudgetGuard,
        analyzer: Analyzer | None,
        metrics: RouterMetrics | None,
        encoder_window: int | None = None,
    ) -> None:
        self.config = config.cache or CacheConfig()
        # A hit travels in one ext_proc message, whose size the router's gRPC limit bounds.
        self.max_entry_bytes = min(self.config.max_entry_bytes, config.router.max_body_bytes)
        self.store = store
        self.guard = guard
        self.analyzer = analyzer
        self.metrics = metrics
        self.semantics_timeout_s = config.semantics.timeout_ms / 1000
        self.max_query_bytes = (encoder_window or 0) * _BYTES_PER_ENCODER_TOKEN
        self.client_key_models = (
            frozenset(m.name for m in config.models if m.api_key_env is None)
            if self.config.partition_by_client_key
            else frozenset()
        )
        self.inject_usage = config.accounting.enabled and config.accounting.inject_stream_usage
        self.routing_headers = config.routing.response_headers
        self._last_error_log = 0.0

    # -- the lookup side --------------------------------------------------------------------------

    def tenant(self, headers: Mapping[str, str], model: str) -> str:
        """The partition entries are isolated by: the tenant, and the client's key where the model checks it."""
        tenant = self.guard.tenant(headers)
        if model in self.client_key_models:
            credential = headers.get("authorization") or headers.get("x-api-key") or ""
            tenant += "|" + hashlib.sha256(credential.encode()).hexdigest()[:32]
        return tenant

    def semantic_query(self, view: RequestView) -> str | None:
        """The text to embed for a semantic match, or None when the prompt is too long to embed whole."""
        text = view.last_user_text
        if not text or len(text.encode()) > self.max_query_bytes:
            return None
        return text

    def answer(self, entry: CachedResponse, view: RequestView, decision: str, match: str) -> Respond | None:
        """The stored answer in the shape the request asked for (SSE or JSON), or None if it cannot be converted."""
        codec = CODECS[entry.api]
        if view.stream:
            wants_usage = self.inject_usage or _include_usage(view.data)
            body = entry.body if entry.format == "sse" else codec.to_stream(entry.body, view.data, wants_usage)
            content_type = "text/event-stream"
        else:
            body = entry.body if entry.format == "json" else codec.to_json(entry.body)
            content_type = "application/json"
        if body is None:
            return None
        headers = [
            (names.CACHE_STATUS, "hit"),
            (names.CACHE_MATCH, match),
            ("age", str(max(0, int(time.time() - entry.created)))),
        ]
        if self.routing_headers:
            headers += [(names.RESPONSE_MODEL, entry.model), (names.RESPONSE_DECISION, decision)]
        if self.metrics is not None:
            self.metrics.cache_served_bytes.labels(decision).inc(len(body))
        return Respond(200, body, HIT_DETAILS, content_type, tuple(headers))

    def failed(self, operation: str) -> None:
        """A store operation failed (Redis down, timed out): counted, logged at most once a minute."""
        if self.metrics is not None:
            self.metrics.cache_errors.labels(operation).inc()
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            log.warning("response cache %s failed; serving without the cache", operation, exc_info=True)

    # -- the store side (the response observer) ----------------------------------------------------

    def recorder(self, header: str) -> CacheRecorder | None:
        ticket = Ticket.parse(header)
        return CacheRecorder(self, ticket) if ticket is not None else None

    async def save(self, ticket: Ticket, status: int, content_type: str, body: bytes, complete: bool) -> None:
        """Store a complete, successful answer; anything else (an error, a cut stream) is let go."""
        if not complete or not 200 <= status < 300 or not body:
            return
        try:
            entry = _entry(ticket, content_type, body)
            if entry is None:
                return
            value = entry.encode()
            await self.store.put(ticket.key, value, ticket.ttl_s, ticket.partition, ticket.vector)
        except Exception:
            self.failed("store")
            return
        if self.metrics is not None:
            self.metrics.cache_stores.labels(ticket.decision).inc()
            self.metrics.cache_stored_bytes.labels(ticket.decision).inc(len(value))


def _entry(ticket: Ticket, content_type: str, body: bytes) -> CachedResponse | None:
    """The entry for a response, if it is a whole answer of the ticket's API."""
    codec = CODECS[ticket.api]
    if content_type.startswith("text/event-stream"):
        return (
            CachedResponse(ticket.api, "sse", body, time.time(), ticket.model) if codec.complete_stream(body) else None
        )
    if "json" in content_type and codec.complete_json(body):
        return CachedResponse(ticket.api, "json", body, time.time(), ticket.model)
    return None


def _include_usage(data: dict) -> bool:
    options = data.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True
