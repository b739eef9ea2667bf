"""Rate-limit cooldowns shared through Redis: one worker's 429 keeps every worker off the model."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from llmswitch.config.failover import RateLimitConfig
from llmswitch.cooldown_sync import CooldownSync
from llmswitch.cooldowns import Cooldowns
from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.redis_server import redis_server

pytestmark = pytest.mark.integration

CODE = {"model": "auto", "messages": [{"role": "user", "content": "write python"}]}


def test_two_processes_share_a_cooldown_through_redis():
    async def scenario(url: str) -> tuple[float, float, float]:
        config = RateLimitConfig(redis_url=url)
        seen, other = Cooldowns(config), Cooldowns(config)
        syncs = [CooldownSync(url, c, lambda: ["large-model", "small-model"]) for c in (seen, other)]
        try:
            seen.rate_limited("large-model", {"retry-after": "4"})
            await asyncio.sleep(0.1)  # the publish task
            before = other.remaining("large-model")
            await syncs[1].pull()
            seen.rate_limited("large-model", {"retry-after": "1"})  # a shorter one never cuts it short
            await asyncio.sleep(0.1)
            await syncs[1].pull()
            return before, other.remaining("large-model"), other.remaining("small-model")
        finally:
            for sync in syncs:
                await sync.close()

    with redis_server() as url:
        before, after, untouched = asyncio.run(scenario(url))
    assert before == 0 and 3.5 < after <= 4 and untouched == 0


def test_a_429_seen_by_one_worker_cools_the_model_down_for_all(tmp_path):
    with redis_server() as url:
        data = base_config(free_ports(6))
        data["router"]["workers"] = 2
        data["health"] = {"rate_limits": {"redis_url": url, "sync_interval_s": 0.05}}
        stack = LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path).start()
        try:
            large = f"http://127.0.0.1:{stack.config.model('large-model').port}"
            httpx.put(f"{large}/_stub/fail", json={"status": 429, "first": 1, "headers": {"retry-after": "5"}})
            first = httpx.post(f"{stack.base_url}/chat/completions", json=CODE, timeout=20)
            assert first.status_code == 200 and first.headers["x-llmswitch-failover"] == "large-model"
            time.sleep(0.3)
            answers = [httpx.post(f"{stack.base_url}/chat/completions", json=CODE, timeout=20) for _ in range(10)]
            reached = len(httpx.get(f"{large}/_stub/requests", timeout=5).json())
        finally:
            stack.stop()
    assert all(a.status_code == 200 for a in answers)
    # Both workers stay off large-model until the cooldown ends: it saw only the 429.
    assert reached == 1 and {a.headers["x-llmswitch-model"] for a in answers} == {"small-model"}
