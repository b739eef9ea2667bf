"""Spend stores: check-and-reserve across several budget keys atomically, then settle."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BudgetKey:
    key: str
    limit: float
    ttl_s: int
    """Seconds the key lives after its first spend; 0: forever."""


class BudgetStore(Protocol):
    async def reserve(self, keys: list[BudgetKey], amount: float) -> bool:
        """Add `amount` to every key if none has reached its limit; otherwise change nothing."""

    async def adjust(self, keys: list[str], delta: float) -> None: ...

    async def spent(self, key: str) -> float: ...

    async def close(self) -> None: ...


class MemoryStore:
    """For a single router process; keys expire like the Redis ones so daily keys do not pile up."""

    def __init__(self, clock=time.monotonic) -> None:
        self._spent: dict[str, float] = {}
        self._expires: dict[str, float] = {}
        self._clock = clock

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, t in self._expires.items() if t <= now]:
            self._spent.pop(key, None)
            del self._expires[key]

    async def reserve(self, keys: list[BudgetKey], amount: float) -> bool:
        self._expire()
        if any(self._spent.get(k.key, 0.0) >= k.limit for k in keys):
            return False
        for k in keys:
            self._spent[k.key] = self._spent.get(k.key, 0.0) + amount
            if k.ttl_s and k.key not in self._expires:
                self._expires[k.key] = self._clock() + k.ttl_s
        return True

    async def adjust(self, keys: list[str], delta: float) -> None:
        for key in keys:
            self._spent[key] = self._spent.get(key, 0.0) + delta

    async def spent(self, key: str) -> float:
        self._expire()
        return self._spent.get(key, 0.0)

    async def close(self) -> None:
        return None


_RESERVE = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1 + i]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBYFLOAT', key, ARGV[1])
  local ttl = tonumber(ARGV[1 + #KEYS + i])
  if ttl > 0 then redis.call('EXPIRE', key, ttl, 'NX') end
end
return 1
"""


class RedisStore:
    """Shared by every replica: one Lua script checks and reserves all keys atomically."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._reserve = self._redis.register_script(_RESERVE)
        self._undoing: set[asyncio.Task] = set()

    async def reserve(self, keys: list[BudgetKey], amount: float) -> bool:
        """The script runs to its end even if the caller is cancelled meanwhile (Envoy gave up on the request
        while Redis was slow); a reservation made for a caller that is gone is then undone."""
        names = [k.key for k in keys]
        args = [amount, *(k.limit for k in keys), *(k.ttl_s for k in keys)]
        call = asyncio.ensure_future(self._reserve(keys=names, args=args))
        try:
            return bool(await asyncio.shield(call))
        except asyncio.CancelledError:
            call.add_done_callback(lambda done: self._undo_orphan(done, names, amount))
            raise

    def _undo_orphan(self, call: asyncio.Future, keys: list[str], amount: float) -> None:
        if call.cancelled() or call.exception() is not None or not call.result():
            return
        task = asyncio.get_running_loop().create_task(self.adjust(keys, -amount))
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)

    async def adjust(self, keys: list[str], delta: float) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incrbyfloat(key, delta)
            await pipe.execute()

    async def spent(self, key: str) -> float:
        value = await self._redis.get(key)
        return float(value) if value is not None else 0.0

    async def close(self) -> None:
        await self._redis.aclose()
