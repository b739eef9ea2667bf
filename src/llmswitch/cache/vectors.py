"""Prompt embeddings per partition, searched exactly: one matrix-vector product over the partition.

Embeddings are unit length, so the dot product is the cosine similarity. A partition holds the
entries whose requests differ only in the last user message (same tenant, decision, model,
parameters and earlier turns), so searches scan only candidates that could be served. At 384
dimensions a partition of 10,000 entries is a 15 MB matrix scanned in well under a millisecond.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

_FIRST_CAPACITY = 8


class _Partition:
    __slots__ = ("expires", "keys", "rows", "where")

    def __init__(self, dimension: int) -> None:
        self.rows = np.empty((_FIRST_CAPACITY, dimension), np.float32)
        self.expires = np.empty(_FIRST_CAPACITY, np.float64)
        self.keys: list[str] = []
        self.where: dict[str, int] = {}

    def add(self, key: str, vector: np.ndarray, expires_at: float) -> bool:
        """Store a row; True when it is a new one."""
        row = self.where.get(key)
        new = row is None
        if row is None:
            row = len(self.keys)
            if row == len(self.rows):
                self.rows = np.concatenate([self.rows, np.empty_like(self.rows)])
                self.expires = np.concatenate([self.expires, np.empty_like(self.expires)])
            self.keys.append(key)
            self.where[key] = row
        self.rows[row] = vector
        self.expires[row] = expires_at
        return new

    def remove(self, key: str) -> bool:
        row = self.where.pop(key, None)
        if row is None:
            return False
        last = len(self.keys) - 1
        if row != last:  # move the last row into the hole
            moved = self.keys[last]
            self.rows[row] = self.rows[last]
            self.expires[row] = self.expires[last]
            self.keys[row] = moved
            self.where[moved] = row
        self.keys.pop()
        if len(self.rows) > _FIRST_CAPACITY and len(self.keys) < len(self.rows) // 4:
            half = len(self.rows) // 2
            self.rows, self.expires = self.rows[:half].copy(), self.expires[:half].copy()
        return True

    def best(self, vector: np.ndarray, threshold: float, now: float) -> tuple[str, float] | None:
        count = len(self.keys)
        if not count:
            return None
        scores = self.rows[:count] @ vector
        scores[self.expires[:count] <= now] = -np.inf
        row = int(np.argmax(scores))
        score = float(scores[row])
        return (self.keys[row], score) if score >= threshold else None


class VectorIndex:
    """Embeddings by partition, least recently searched partition first out when `max_vectors` is passed."""

    def __init__(self, max_vectors: int | None = None) -> None:
        self.max_vectors = max_vectors
        self.count = 0
        self._partitions: OrderedDict[str, _Partition] = OrderedDict()

    @property
    def nbytes(self) -> int:
        return sum(p.rows.nbytes + p.expires.nbytes for p in self._partitions.values())

    def add(self, partition: str, key: str, vector: np.ndarray, expires_at: float) -> list[str]:
        """Index `key`; returns the partitions dropped to stay within `max_vectors`."""
        part = self._partitions.get(partition)
        if part is None:
            part = self._partitions[partition] = _Partition(vector.shape[0])
        if part.add(key, vector, expires_at):
            self.count += 1
        return self._shrink(keep=partition)

    def remove(self, partition: str, key: str) -> None:
        part = self._partitions.get(partition)
        if part is not None and part.remove(key):
            self.count -= 1
            if not part.keys:
                del self._partitions[partition]

    def drop(self, partition: str) -> None:
        part = self._partitions.pop(partition, None)
        if part is not None:
            self.count -= len(part.keys)

    def best(self, partition: str, vector: np.ndarray, threshold: float, now: float) -> tuple[str, float] | None:
        """(key, similarity) of the most similar live entry at or above `threshold`, if any."""
        part = self._partitions.get(partition)
        if part is None:
            return None
        self._partitions.move_to_end(partition)
        return part.best(vector, threshold, now)

    def _shrink(self, keep: str) -> list[str]:
        dropped = []
        while self.max_vectors is not None and self.count > self.max_vectors and len(self._partitions) > 1:
            oldest = next(iter(self._partitions))
            if oldest == keep:
                self._partitions.move_to_end(keep)
                continue
            self.drop(oldest)
            dropped.append(oldest)
        return dropped
