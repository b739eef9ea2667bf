"""Rate-limit cooldowns shared through Redis (`health.rate_limits.redis_url`).

A process that sees a 429 writes `llmswitch:cooldown:<model>` = the cooldown's end (epoch seconds),
expiring with it (a later end only ever replaces an earlier one); every process reads the keys of
its models every `sync_interval_s` and cools them down locally until then. So one worker's or one
replica's 429 keeps the others off the model too, a sync interval later at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from llmswitch.cooldowns import Cooldowns

log = logging.getLogger(__name__)

KEY_PREFIX = "llmswitch:cooldown:"
# Keep the later end: never shorten a cooldown another process wrote.
_EXTEND = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
"""


class CooldownSync:
    def __init__(self, url: str, cooldowns: Cooldowns, models: Callable[[], list[str]]) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._extend = self._redis.register_script(_EXTEND)
        self.cooldowns = cooldowns
        self._models = models
        self._tasks: set[asyncio.Task] = set()
        cooldowns.on_cool = self.publish

    def publish(self, model: str, seconds: float) -> None:
        """Share a cooldown this process started (in a task: routing never waits for Redis)."""
        until = time.time() + seconds
        task = asyncio.get_running_loop().create_task(
            self._extend(keys=[KEY_PREFIX + model], args=[f"{until:.3f}", max(1, int(seconds * 1000))])
        )
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sharing a cooldown failed: %s", task.exception())

    async def pull(self) -> None:
        """Cool down locally every model another process cooled down."""
        models = self._models()
        values = await self._redis.mget([KEY_PREFIX + m for m in models])
        now = time.time()
        for model, value in zip(models, values):
            if value is not None and (left := float(value) - now) > 0 and left > self.cooldowns.remaining(model):
                self.cooldowns.cool(model, left)

    async def run(self, interval_s: Callable[[], float]) -> None:
        while True:
            try:
                await self.pull()
            except Exception as err:  # Redis away: each process keeps its own cooldowns meanwhile
                log.warning("reading shared cooldowns failed: %s", err)
            await asyncio.sleep(interval_s())

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()
