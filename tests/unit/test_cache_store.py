"""Cache stores, the embedding index, keys and the observer ticket."""

import tracemalloc

import numpy as np
import pytest

from llmswitch.cache.entry import CachedResponse
from llmswitch.cache.key import cache_control, cache_keys
from llmswitch.cache.store import MemoryStore
from llmswitch.cache.ticket import Ticket
from llmswitch.cache.vectors import VectorIndex


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, np.float32)
    return vector / np.linalg.norm(vector)


async def test_memory_store_evicts_least_recently_used_past_its_entry_limit():
    store = MemoryStore(max_entries=2, max_bytes=10**6)
    await store.put("a", b"A", 60)
    await store.put("b", b"B", 60)
    assert await store.get("a") == b"A"  # a is now the most recent
    await store.put("c", b"C", 60)
    assert await store.get("b") is None and await store.get("a") == b"A" and await store.get("c") == b"C"


async def test_memory_store_respects_its_byte_limit_and_skips_oversized_values():
    store = MemoryStore(max_entries=100, max_bytes=3000)
    for index in range(10):
        await store.put(str(index), b"x" * 1000, 60)
    entries, size = store.size()
    assert size <= 3000 and entries == 2
    await store.put("huge", b"x" * 5000, 60)
    assert await store.get("huge") is None


async def test_entries_expire_after_their_ttl():
    clock = Clock()
    store = MemoryStore(10, 10**6, clock)
    await store.put("k", b"v", 5, "p", unit(1, 0))
    assert await store.get("k") == b"v" and store.nearest("p", unit(1, 0), 0.9)[0] == "k"
    clock.now += 5
    assert store.nearest("p", unit(1, 0), 0.9) is None
    assert await store.get("k") is None and store.size() == (0, 0)


async def test_memory_stays_bounded_under_load():
    """20,000 stores of 2 KiB with 384-dimension embeddings into a 4 MiB cache: Python memory stays near 4 MiB."""
    store = MemoryStore(max_entries=10**6, max_bytes=4 * 2**20)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((64, 384)).astype(np.float32)
    value = b"v" * 2048
    tracemalloc.start()
    try:
        for index in range(20_000):
            await store.put(f"key-{index}", value, 60, f"partition-{index % 50}", vectors[index % 64])
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    entries, size = store.size()
    assert size <= 4 * 2**20
    assert entries < 2000
    assert store.index.count == entries
    assert current < 8 * 2**20, current  # the accounted bytes plus the index's spare rows


def test_vector_index_finds_the_most_similar_live_entry_in_the_partition():
    index = VectorIndex()
    index.add("p", "north", unit(1, 0.1), 100)
    index.add("p", "east", unit(0.1, 1), 100)
    index.add("q", "other", unit(1, 0), 100)
    assert index.best("p", unit(1, 0), 0.9, now=0)[0] == "north"
    assert index.best("p", unit(1, 1), 0.99, now=0) is None  # below the threshold
    index.remove("p", "north")
    assert index.best("p", unit(1, 0), 0.0, now=0)[0] == "east"
    assert index.best("p", unit(0.1, 1), 0.9, now=101) is None  # expired
    assert index.count == 2


def test_vector_index_drops_least_recently_searched_partitions_past_its_limit():
    index = VectorIndex(max_vectors=4)
    for name in ("a", "b"):
        for i in range(2):
            index.add(name, f"{name}{i}", unit(1, i), 100)
    index.best("a", unit(1, 0), 0.5, 0)  # a is searched, b is older
    dropped = index.add("c", "c0", unit(0, 1), 100)
    assert dropped == ["b"] and index.count == 3


def test_keys_ignore_stream_fields_and_separate_everything_that_changes_the_answer():
    data = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    base = cache_keys("chat", "d", "m", "t", data, [], True)
    same = cache_keys(
        "chat",
        "d",
        "m",
        "t",
        {**data, "stream": True, "stream_options": {"include_usage": True}, "user": "u"},
        [],
        True,
    )
    assert same == base
    assert cache_keys("chat", "d", "m", "other-tenant", data, [], True).exact != base.exact
    assert cache_keys("chat", "d", "m2", "t", data, [], True).exact != base.exact
    assert cache_keys("chat", "d", "m", "t", {**data, "temperature": 0.5}, [], True).exact != base.exact
    assert cache_keys("chat", "d", "m", "t", data, [("x-team", "a")], True).exact != base.exact
    other_question = {**data, "messages": [{"role": "user", "content": "hello"}]}
    keys = cache_keys("chat", "d", "m", "t", other_question, [], True)
    assert keys.exact != base.exact and keys.partition == base.partition  # same partition: only the question differs
    with_system = {**data, "messages": [{"role": "system", "content": "s"}, *data["messages"]]}
    assert cache_keys("chat", "d", "m", "t", with_system, [], True).partition != base.partition


def test_only_a_conversation_ending_in_a_user_turn_is_matched_semantically():
    tool_turn = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "r", "tool_call_id": "1"}]}
    assert cache_keys("chat", "d", "m", "t", tool_turn, [], True).partition is None
    assert cache_keys("responses", "d", "m", "t", {"input": "a question"}, [], True).partition is not None
    assert (
        cache_keys("messages", "d", "m", "t", {"messages": [{"role": "user", "content": "q"}]}, [], False).partition
        is None
    )


def test_cache_control_directives():
    assert cache_control({"cache-control": "No-Cache"}).no_cache
    control = cache_control({"cache-control": "max-age=0, no-store"})
    assert control.no_store and not control.no_cache
    assert cache_control({}) == cache_control({"cache-control": "private"})


def test_ticket_round_trip_keeps_the_embedding_to_half_precision():
    vector = unit(*np.arange(1, 385, dtype=np.float32))
    ticket = Ticket("k" * 40, "code", "large-model", "chat", 30, "p" * 40, vector)
    header = ticket.header()
    assert len(header) < 1200
    parsed = Ticket.parse(header)
    assert (parsed.key, parsed.decision, parsed.model, parsed.api, parsed.ttl_s, parsed.partition) == (
        "k" * 40,
        "code",
        "large-model",
        "chat",
        30,
        "p" * 40,
    )
    assert float(parsed.vector @ vector) == pytest.approx(1.0, abs=1e-3)
    assert Ticket.parse(Ticket("k", "d", "m", "chat", 1.5).header()).vector is None
    assert Ticket.parse("1;k;d;m;soap;1;-;-") is None and Ticket.parse("garbage") is None


def test_entry_encoding_round_trip():
    entry = CachedResponse("chat", "sse", b"data: x\n\ndata: [DONE]\n\n", 1.5, "m")
    assert CachedResponse.decode(entry.encode()) == entry
    assert CachedResponse.decode(b"no header") is None and CachedResponse.decode(b'{"v": 9}\nbody') is None
