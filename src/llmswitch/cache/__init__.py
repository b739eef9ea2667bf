"""The response cache: exact and semantic matches, in memory or Redis, correct for streams.

`lookup.CacheLookup` (an action, the last of a decision's) answers hits with an ImmediateResponse
and passes misses to the response observer in an internal header (`ticket`); the observer's
`recorder.CacheRecorder` collects the response as it passes and `ResponseCache.store` keeps it
if it is complete and successful. See docs/cache.md.
"""

from llmswitch.cache.lookup import CacheLookup
from llmswitch.cache.response_cache import ResponseCache, build_store
from llmswitch.cache.store import CacheStore, MemoryStore

__all__ = ["CacheLookup", "CacheStore", "MemoryStore", "ResponseCache", "build_store"]
