"""Micro-batching: grouping, timing, results, errors and shutdown."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from llmswitch.inference.batcher import BatcherClosed, MicroBatcher


class Recorder:
    """A batch function that remembers each batch and the thread it ran on."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()
        self.delay = delay

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        return np.array([[len(t), sum(map(ord, t))] for t in texts], dtype=np.float32)


async def test_concurrent_calls_are_grouped_up_to_max_batch_size():
    fn = Recorder()
    async with MicroBatcher(fn, max_batch_size=4, max_wait_ms=50) as batcher:
        texts = [f"text {i}" for i in range(10)]
        results = await asyncio.gather(*(batcher.embed(t) for t in texts))
    assert [len(b) for b in fn.batches] == [4, 4, 2]
    assert [t for b in fn.batches for t in b] == texts
    for text, row in zip(texts, results, strict=True):
        assert row.tolist() == fn([text])[0].tolist()


async def test_batch_waits_only_after_concurrent_traffic():
    fn = Recorder()
    async with MicroBatcher(fn, max_batch_size=64, max_wait_ms=200) as batcher:

        async def timed(text: str) -> float:
            start = time.perf_counter()
            await batcher.embed(text)
            return time.perf_counter() - start

        alone = await timed("alone")  # no concurrency seen yet: runs at once
        await asyncio.gather(batcher.embed("a"), batcher.embed("b"))  # a batch of two
        after_pair = await timed("c")  # now a batch waits for company, up to max_wait
        alone_again = await timed("d")  # the last batch was alone: at once again
    assert alone < 0.1 and alone_again < 0.1
    assert 0.15 < after_pair < 1.0
    assert [len(b) for b in fn.batches] == [1, 2, 1, 1]


async def test_requests_arriving_during_inference_form_the_next_batch():
    fn = Recorder(delay=0.1)
    async with MicroBatcher(fn, max_batch_size=16, max_wait_ms=1) as batcher:
        first = asyncio.create_task(batcher.embed("first"))
        await asyncio.sleep(0.03)  # the first batch is now running
        rest = [asyncio.create_task(batcher.embed(f"later {i}")) for i in range(5)]
        await asyncio.gather(first, *rest)
    assert [len(b) for b in fn.batches] == [1, 5]


async def test_inference_runs_off_the_event_loop():
    fn = Recorder(delay=0.1)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async with MicroBatcher(fn, max_wait_ms=0) as batcher:
        task = asyncio.create_task(ticker())
        await asyncio.gather(*(batcher.embed(str(i)) for i in range(3)))
        task.cancel()
    assert threading.get_ident() not in fn.threads
    assert ticks >= 3  # the loop kept running while the batch slept


async def test_errors_reach_every_caller_of_the_batch_and_batcher_survives():
    calls = 0

    def flaky(texts: list[str]) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model failed")
        return np.zeros((len(texts), 2), np.float32)

    async with MicroBatcher(flaky, max_batch_size=8, max_wait_ms=10) as batcher:
        results = await asyncio.gather(batcher.embed("a"), batcher.embed("b"), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert (await batcher.embed("c")).shape == (2,)


async def test_cancelled_caller_does_not_disturb_others():
    fn = Recorder()
    async with MicroBatcher(fn, max_batch_size=8, max_wait_ms=30) as batcher:
        doomed = asyncio.create_task(batcher.embed("doomed"))
        kept = asyncio.create_task(batcher.embed("kept"))
        await asyncio.sleep(0)
        doomed.cancel()
        assert (await kept).tolist() == fn(["kept"])[0].tolist()
    assert fn.batches[0] == ["kept"]


async def test_close_finishes_queued_work_then_refuses():
    fn = Recorder(delay=0.02)
    batcher = MicroBatcher(fn, max_batch_size=2, max_wait_ms=1)
    pending = [asyncio.create_task(batcher.embed(str(i))) for i in range(5)]
    await asyncio.sleep(0)
    await batcher.aclose()
    assert all(t.done() and not t.exception() for t in pending)
    with pytest.raises(BatcherClosed):
        await batcher.embed("late")
    await batcher.aclose()  # idempotent


def test_rejects_empty_batches():
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_batch_size=0)
