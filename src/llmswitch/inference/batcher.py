"""Asyncio micro-batching: concurrent single-text requests share one model call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Generic, TypeVar

R = TypeVar("R")

_Item = tuple[str, "asyncio.Future"]
_STOP = object()


class BatcherClosed(RuntimeError):
    """Raised by :meth:`MicroBatcher.embed` after :meth:`MicroBatcher.aclose`."""


class MicroBatcher(Generic[R]):
    """Groups concurrent ``await embed(text)`` calls into batches for ``fn``.

    A batch is closed when it holds ``max_batch_size`` texts or ``max_wait_ms``
    after its first text arrived, whichever comes first. A batch only waits
    when the previous one held more than one text: a lone request (no concurrent
    traffic) runs at once instead of paying the wait. ``fn`` maps a list of
    texts to a sequence with one result per text (an (n, d) array works) and
    runs in ``executor`` (default: a private single thread), so the event loop
    never blocks on inference. Texts arriving while a batch is running queue up
    and form the next batch, so batches grow with load.
    """

    def __init__(
        self,
        fn: Callable[[list[str]], Sequence[R]],
        max_batch_size: int = 32,
        max_wait_ms: float = 2.0,
        executor: Executor | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        self._fn = fn
        self._max_batch_size = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._queue: asyncio.Queue = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._closed = False
        self._last_batch_size = 1

    async def embed(self, text: str) -> R:
        """The result of ``fn`` for ``text``, computed in a batch with concurrent callers."""
        if self._closed:
            raise BatcherClosed("batcher is closed")
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.get_loop() is not loop:
            # First use, or a new event loop (a CLI call, a test): the queue and worker belong to a loop.
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(), name="micro-batcher")
        future: asyncio.Future = loop.create_future()
        self._queue.put_nowait((text, future))
        return await future

    async def aclose(self) -> None:
        """Stop accepting texts, finish the queued ones, then release the executor."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._queue.put_nowait(_STOP)
            await self._worker
        if self._own_executor:
            self._executor.shutdown(wait=True)

    async def __aenter__(self) -> MicroBatcher[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _collect(self, first: _Item) -> tuple[list[_Item], bool]:
        """Gather a batch starting with ``first``; also tells whether the stop marker was seen."""
        batch = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._max_wait if self._last_batch_size > 1 else 0.0)
        while len(batch) < self._max_batch_size:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is _STOP:
                break
            batch, stopping = await self._collect(first)
            self._last_batch_size = len(batch)
            live = [(text, fut) for text, fut in batch if not fut.cancelled()]
            if not live:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._fn, [t for t, _ in live])
                if len(results) != len(live):
                    raise ValueError(f"batch function returned {len(results)} results for {len(live)} texts")
            except Exception as exc:  # the callers get the model's error
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for i, (_, fut) in enumerate(live):
                if not fut.done():
                    fut.set_result(results[i])
