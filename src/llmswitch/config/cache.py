"""The response cache (`cache:`): what is cached, matched and stored where. See docs/cache.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from llmswitch.config.base import StrictModel

MIB = 1024 * 1024


class CacheStoreConfig(StrictModel):
    type: Literal["memory", "redis"] = Field(
        "memory", description="memory: per router process; redis: shared by replicas."
    )
    max_entries: int = Field(10000, ge=1, description="memory: entries kept (least recently used go first).")
    max_bytes: int = Field(256 * MIB, ge=1024, description="memory: bytes of entries and embeddings kept.")
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL, for type redis.")
    key_prefix: str = Field("llmswitch:cache", min_length=1)
    timeout_ms: float = Field(
        50, gt=0, le=10000, description="A slower store lookup counts as a miss; the request is never held longer."
    )


class SemanticCacheConfig(StrictModel):
    enabled: bool = Field(False, description="Also answer prompts similar to a cached one (loads the encoder).")
    threshold: float = Field(
        0.95, gt=0, le=1, description="Cosine similarity of the prompt embeddings needed for a hit."
    )
    max_vectors: int = Field(
        100_000, ge=1, description="redis: embeddings each router process mirrors for search (about 1.5 KiB each)."
    )


class CacheConfig(StrictModel):
    """Answers repeated requests from stored responses: no upstream call, no spend."""

    enabled: bool = Field(True, description="The default for every request; a decision's cache plugin overrides it.")
    ttl_s: float = Field(3600, gt=0, description="How long an entry is served.")
    max_entry_bytes: int = Field(MIB, ge=256, description="Larger responses are not stored.")
    max_temperature: float = Field(
        1.0, ge=0, description="Requests with a higher temperature (unset counts as 1) are not cached."
    )
    cache_tools: bool = Field(False, description="Cache requests that offer tools.")
    cache_images: bool = Field(False, description="Cache requests with image inputs.")
    partition_by_client_key: bool = Field(
        True,
        description="For models without api_key_env (the client's own key goes upstream and the model checks it), "
        "partition entries by a hash of the client's Authorization header too.",
    )
    semantic: SemanticCacheConfig = SemanticCacheConfig()
    store: CacheStoreConfig = CacheStoreConfig()


@dataclass(frozen=True)
class CacheSettings:
    """The cache as one decision uses it: `cache:` with the cache plugins' overrides."""

    semantic: bool
    threshold: float
    ttl_s: float


def decision_cache(cache: CacheConfig | None, plugins: Sequence[Any]) -> CacheSettings | None:
    """The settings for requests that run `plugins` (top-level ones first), or None when they are not cached."""
    base = cache or CacheConfig(enabled=False)
    enabled, semantic, threshold, ttl = base.enabled, base.semantic.enabled, base.semantic.threshold, base.ttl_s
    for plugin in plugins:
        if getattr(plugin, "type", None) != "cache":
            continue
        enabled = plugin.enabled
        semantic = semantic if plugin.semantic is None else plugin.semantic
        threshold = threshold if plugin.similarity_threshold is None else plugin.similarity_threshold
        ttl = ttl if plugin.ttl_s is None else plugin.ttl_s
    return CacheSettings(semantic, threshold, ttl) if enabled else None
