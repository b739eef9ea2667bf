"""The response cache in a real redis-server: shared by two router processes, semantic search across replicas."""

import asyncio

import numpy as np
import pytest
import redis
from openai import OpenAI

from llmswitch.cache.redis_store import RedisStore
from llmswitch.config.cache import CacheStoreConfig, SemanticCacheConfig
from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until
from tests.integration.redis_server import redis_server

pytestmark = pytest.mark.integration


def test_two_router_processes_share_cached_answers(tmp_path):
    with redis_server() as url:
        data = base_config(free_ports(6))
        data["router"]["workers"] = 2
        data["cache"] = {"store": {"type": "redis", "url": url, "key_prefix": "shared"}}
        with LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path) as stack:
            client = OpenAI(base_url=stack.base_url, api_key="k", max_retries=0, timeout=20)
            messages = [{"role": "user", "content": "one answer for every replica"}]
            first = client.chat.completions.with_raw_response.create(model="auto", messages=messages)
            assert "x-llmswitch-cache" not in first.headers
            store = redis.Redis.from_url(url)
            assert wait_until(lambda: store.keys("shared:e:*"))
            answers = [
                client.chat.completions.with_raw_response.create(model="auto", messages=messages) for _ in range(6)
            ]
            hit = ("llmswitch_cache_hits_total", (("decision", "default"), ("match", "exact")))
            stored = ("llmswitch_cache_stores_total", (("decision", "default"),))
            metrics = [scrape_metrics(stack, worker) for worker in (0, 1)]
            [key] = store.keys("shared:e:*")
            ttl = store.pttl(key)
    assert all(a.headers["x-llmswitch-cache"] == "hit" for a in answers)
    assert {a.parse().choices[0].message.content for a in answers} == {first.parse().choices[0].message.content}
    served = [m.get(hit, 0) for m in metrics]
    [writer] = [worker for worker in (0, 1) if metrics[worker].get(stored)]
    assert sum(served) == 6 and served[1 - writer] > 0, served  # the other process answered from the shared entry
    assert 0 < ttl <= 3600 * 1000


def unit(rng: np.random.Generator, dimension: int = 384) -> np.ndarray:
    vector = rng.standard_normal(dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_semantic_index_is_mirrored_by_each_replica_and_entries_expire():
    rng = np.random.default_rng(3)
    stored, unrelated = unit(rng), unit(rng)
    near = stored + 0.05 * unit(rng)
    near /= np.linalg.norm(near)

    async def scenario(url: str) -> None:
        config = CacheStoreConfig(type="redis", url=url, timeout_ms=2000)
        writer, reader = RedisStore(config, SemanticCacheConfig()), RedisStore(config, SemanticCacheConfig())
        for index in range(3000):  # a partition of thousands: the reader mirrors it in one read
            await writer.put(f"other-{index}", b"x", 60, "p", unit(rng))
        await writer.put("k1", b"answer", 30, "p", stored)
        for _ in range(4):  # each lookup's round trip mirrors up to SYNC_PAGE more of partition p
            assert await reader.get("missing", "p") is None
        key, similarity = reader.nearest("p", near, 0.95)
        assert key == "k1" and similarity > 0.99
        assert reader.nearest("p", unrelated, 0.95) is None
        assert await reader.get("k1") == b"answer"
        assert reader.size()[0] == 3001
        short_lived = unit(rng)
        await writer.put("k2", b"brief", 1.0, "p", short_lived)
        assert await reader.get("missing", "p") is None and reader.nearest("p", short_lived, 0.95)[0] == "k2"
        await asyncio.sleep(1.1)
        assert await reader.get("k2") is None  # the entry's TTL ran out in Redis
        assert reader.nearest("p", short_lived, 0.95) is None  # and its embedding's in the mirror
        await writer.close()
        await reader.close()

    with redis_server() as url:
        asyncio.run(scenario(url))
