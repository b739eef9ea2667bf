"""The cache lookup action: answer from the cache, or hand the miss to the observer to store.

It runs after every plugin, so the key covers the body that would go upstream. Exact matches
need no encoder; a semantic match reuses the embedding routing computed, or embeds the last user
message within `semantics.timeout_ms` (past it the request goes upstream, unmatched). A hit
refunds the request's budget reservation: nothing goes upstream, nothing is spent.
"""

from __future__ import annotations

import asyncio

import numpy as np

from llmswitch import headers as names
from llmswitch.cache.entry import CachedResponse
from llmswitch.cache.key import bypass_reason, cache_control, cache_keys
from llmswitch.cache.response_cache import ResponseCache
from llmswitch.cache.ticket import Ticket
from llmswitch.config.cache import CacheSettings
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond

ATTRIBUTE = "llmswitch.cache"


class CacheLookup:
    def __init__(self, cache: ResponseCache, decision: str, settings: CacheSettings) -> None:
        self.cache = cache
        self.decision = decision
        self.settings = settings
        self.semantic = settings.semantic and cache.analyzer is not None and cache.max_query_bytes > 0

    async def apply(self, exchange: Exchange) -> Respond | None:
        view = exchange.view
        if view is None:
            return None
        cache, metrics, decision = self.cache, self.cache.metrics, self.decision
        plan = exchange.plan
        control = cache_control(exchange.headers)
        reason = "no_store" if control.no_store else bypass_reason(view, plan.data, cache.config)
        if reason is not None:
            plan.attributes[ATTRIBUTE] = f"bypass:{reason}"
            if metrics is not None:
                metrics.cache_bypasses.labels(decision, reason).inc()
            return None
        model = plan.model.name
        query = cache.semantic_query(view) if self.semantic else None
        headers = [pair for pair in exchange.upstream_headers if pair[0] != names.BUDGET]
        keys = cache_keys(
            plan.api, decision, model, cache.tenant(exchange.headers, model), plan.data, headers, query is not None
        )
        vector: np.ndarray | None = None
        if not control.no_cache:
            found = await self._find(exchange, keys.exact, keys.partition, query)
            if isinstance(found, Respond):
                return found
            vector = found
        elif query is not None:
            vector = await self._embedding(exchange, query)
        plan.attributes[ATTRIBUTE] = "miss" if not control.no_cache else "refresh"
        if metrics is not None:
            metrics.cache_misses.labels(decision).inc()
        partition = keys.partition if vector is not None else None
        ticket = Ticket(keys.exact, decision, model, plan.api, self.settings.ttl_s, partition, vector)
        exchange.upstream_headers.append((names.CACHE_KEY, ticket.header()))
        return None

    async def _find(
        self, exchange: Exchange, key: str, partition: str | None, query: str | None
    ) -> Respond | np.ndarray | None:
        """A hit's answer, else the prompt embedding for the store (None without a semantic match)."""
        cache = self.cache
        try:
            value = await cache.store.get(key, partition)
        except Exception:
            cache.failed("lookup")
            return None
        if value is not None and (answer := await self._answer(exchange, value, "exact")) is not None:
            return answer
        if partition is None or query is None:
            return None
        vector = await self._embedding(exchange, query)
        if vector is None:
            return None
        nearest = cache.store.nearest(partition, vector, self.settings.threshold)
        if nearest is None:
            return vector
        similar_key, similarity = nearest
        try:
            value = await cache.store.get(similar_key)
        except Exception:
            cache.failed("lookup")
            return vector
        if value is not None:
            answer = await self._answer(exchange, value, f"semantic; similarity={similarity:.4f}", similarity)
            if answer is not None:
                return answer
        return vector

    async def _embedding(self, exchange: Exchange, text: str) -> np.ndarray | None:
        semantics = exchange.plan.semantics
        if semantics is not None:
            return semantics.embedding
        analyzer = self.cache.analyzer
        if analyzer is None:
            return None
        try:
            semantics = await asyncio.wait_for(analyzer.analyze(text), self.cache.semantics_timeout_s)
        except TimeoutError:
            return None
        exchange.plan.semantics = semantics
        return semantics.embedding

    async def _answer(
        self, exchange: Exchange, value: bytes, match: str, similarity: float | None = None
    ) -> Respond | None:
        entry = CachedResponse.decode(value)
        if entry is None or entry.api != exchange.plan.api:
            return None
        answer = self.cache.answer(entry, exchange.view, self.decision, match)  # type: ignore[arg-type]
        if answer is None:
            return None
        plan = exchange.plan
        plan.attributes[ATTRIBUTE] = "hit"
        plan.attributes["llmswitch.cache.match"] = match.partition(";")[0]
        if similarity is not None:
            plan.attributes["llmswitch.cache.similarity"] = round(similarity, 4)
        metrics = self.cache.metrics
        if metrics is not None:
            metrics.cache_hits.labels(self.decision, match.partition(";")[0]).inc()
        return answer  # the pipeline refunds the budget reservation: nothing goes upstream
