"""Cache stores: the entries by key, and the prompt embeddings of each semantic partition."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

import numpy as np

from llmswitch.cache.vectors import VectorIndex

ENTRY_OVERHEAD_BYTES = 200
"""What one memory entry costs beyond its value and embedding (its key, slot, dict and index entries)."""


class CacheStore(Protocol):
    async def get(self, key: str, partition: str | None = None) -> bytes | None:
        """The entry under `key`; with a partition, its embeddings are brought up to date for `nearest`
        (Redis: in the same round trip)."""

    def nearest(self, partition: str, vector: np.ndarray, threshold: float) -> tuple[str, float] | None:
        """(key, similarity) of the most similar entry of the partition at or above `threshold`."""

    async def put(
        self, key: str, value: bytes, ttl_s: float, partition: str | None = None, vector: np.ndarray | None = None
    ) -> None: ...

    def size(self) -> tuple[int, int]:
        """(entries, bytes) held by this process."""

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Slot:
    value: bytes
    expires_at: float
    partition: str | None
    size: int


class MemoryStore:
    """One router process's cache: least recently used entries go first past `max_entries` or `max_bytes`;
    expired entries are dropped when met and by a sweep of the oldest ones on each store."""

    def __init__(self, max_entries: int, max_bytes: int, clock=time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._bytes = 0
        self.index = VectorIndex()

    async def get(self, key: str, partition: str | None = None) -> bytes | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if slot.expires_at <= self._clock():
            self._drop(key)
            return None
        self._slots.move_to_end(key)
        return slot.value

    def nearest(self, partition: str, vector: np.ndarray, threshold: float) -> tuple[str, float] | None:
        return self.index.best(partition, vector, threshold, self._clock())

    async def put(
        self, key: str, value: bytes, ttl_s: float, partition: str | None = None, vector: np.ndarray | None = None
    ) -> None:
        size = len(value) + len(key) + ENTRY_OVERHEAD_BYTES + (vector.nbytes if vector is not None else 0)
        if size > self.max_bytes:
            return
        self._drop(key)
        expires_at = self._clock() + ttl_s
        self._slots[key] = _Slot(value, expires_at, partition if vector is not None else None, size)
        self._bytes += size
        if partition is not None and vector is not None:
            self.index.add(partition, key, vector, expires_at)
        self._sweep()
        while len(self._slots) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._slots)))

    def size(self) -> tuple[int, int]:
        return len(self._slots), self._bytes

    async def close(self) -> None:
        self._slots.clear()
        self._bytes = 0

    def _sweep(self, limit: int = 4) -> None:
        """Drop expired entries among the least recently used few, so dead entries do not wait for eviction."""
        now = self._clock()
        for key in list(islice(self._slots, limit)):
            if self._slots[key].expires_at <= now:
                self._drop(key)

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        self._bytes -= slot.size
        if slot.partition is not None:
            self.index.remove(slot.partition, key)
