"""The cache in Redis, shared by every router replica.

Entries are plain keys with a TTL (`{prefix}:e:{key}`). Each semantic partition's embeddings go to
a Redis stream (`{prefix}:v:{partition}`, capped at `semantic.max_vectors` entries, its TTL renewed
on every store), and each router process mirrors the streams it searches into a local
`VectorIndex`: a lookup reads the exact key and the stream entries added since the last one in a
single round trip (at most `SYNC_PAGE` of them, so a large partition is caught up over a few
lookups instead of one slow read), and searches the mirror in process. Debian's redis-server has
no vector search (that is Redis Stack); the mirror keeps the search exact, costs one round trip per
lookup whatever the partition's size, and its memory is bounded by `semantic.max_vectors` per
process (least recently searched partitions are dropped and read again when next needed).
"""

from __future__ import annotations

import time

import numpy as np

from llmswitch.cache.vectors import VectorIndex
from llmswitch.config.cache import CacheStoreConfig, SemanticCacheConfig

VECTOR_DTYPE = np.float16
"""Stored embeddings: half precision, about 1e-3 on a cosine similarity."""
SYNC_PAGE = 1000
"""Stream entries read per lookup (about 800 KB at 384 dimensions)."""


class RedisStore:
    def __init__(self, store: CacheStoreConfig, semantic: SemanticCacheConfig) -> None:
        from redis.asyncio import Redis

        timeout = store.timeout_ms / 1000
        self._redis = Redis.from_url(store.url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.prefix = store.key_prefix
        self.max_vectors = semantic.max_vectors
        self.index = VectorIndex(semantic.max_vectors)
        self._seen: dict[str, bytes] = {}
        """partition -> the last stream id mirrored."""

    def _entry(self, key: str) -> str:
        return f"{self.prefix}:e:{key}"

    def _vectors(self, partition: str) -> str:
        return f"{self.prefix}:v:{partition}"

    async def get(self, key: str, partition: str | None = None) -> bytes | None:
        if partition is None:
            return await self._redis.get(self._entry(key))
        last = self._seen.get(partition)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._entry(key))
            pipe.xrange(self._vectors(partition), min=b"(" + last if last else "-", max="+", count=SYNC_PAGE)
            value, rows = await pipe.execute()
        self._mirror(partition, rows)
        return value

    def _mirror(self, partition: str, rows: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for stream_id, fields in rows:
            vector = np.frombuffer(fields[b"v"], VECTOR_DTYPE).astype(np.float32)
            expires_at = int(fields[b"x"]) / 1000
            for dropped in self.index.add(partition, fields[b"k"].decode(), vector, expires_at):
                self._seen.pop(dropped, None)
            self._seen[partition] = stream_id

    def nearest(self, partition: str, vector: np.ndarray, threshold: float) -> tuple[str, float] | None:
        return self.index.best(partition, vector, threshold, time.time())

    async def put(
        self, key: str, value: bytes, ttl_s: float, partition: str | None = None, vector: np.ndarray | None = None
    ) -> None:
        ttl_ms = max(1, int(ttl_s * 1000))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._entry(key), value, px=ttl_ms)
            if partition is not None and vector is not None:
                stream = self._vectors(partition)
                expires_ms = int(time.time() * 1000) + ttl_ms
                fields = {"k": key, "v": vector.astype(VECTOR_DTYPE).tobytes(), "x": expires_ms}
                pipe.xadd(stream, fields, maxlen=self.max_vectors, approximate=True)
                pipe.pexpire(stream, ttl_ms)
            await pipe.execute()

    def size(self) -> tuple[int, int]:
        """What this process holds: the mirrored embeddings."""
        return self.index.count, self.index.nbytes

    async def close(self) -> None:
        await self._redis.aclose()
