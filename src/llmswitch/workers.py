"""Supervision of the router's worker processes.

Envoy's router cluster lists every worker's port, so a dead worker is a share of requests failed (or
sent to the default model, with failure_mode_allow). A worker that dies while serving is started
again at once; one that dies during start-up (its port taken, a config its process cannot load) would
die again, so the whole router stops with an error and the process manager (Kubernetes, systemd)
sees it instead of a router running at a fraction of its capacity.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

START_UP_S = 10.0
"""A worker that exits sooner than this after it started failed its start-up."""


class WorkerSupervisor:
    """Starts `count` processes of `target(config_path, index)` and keeps them running until a signal."""

    def __init__(
        self, target: Callable[[str, int], None], config_path: str, count: int, start_up_s: float = START_UP_S
    ) -> None:
        self._target = target
        self._start_up_s = start_up_s
        self._config_path = config_path
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[BaseProcess] = [self._start(i) for i in range(count)]
        self._started_at = [time.monotonic()] * count
        self._stopping = False

    def _start(self, index: int) -> BaseProcess:
        process = self._context.Process(
            target=self._target, args=(self._config_path, index), name=f"llmswitch-worker-{index}"
        )
        process.start()
        return process

    def _forward(self, signum: int, _frame: object) -> None:
        self._stopping = True
        for process in self._processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    def run(self) -> int:
        """Supervise until every worker has exited after a signal; the exit status for the router."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._forward)
        while not self._stopping:
            wait([p.sentinel for p in self._processes])  # a dead worker's sentinel stays readable
            if self._stopping:
                break
            for index, process in enumerate(self._processes):
                if process.exitcode is None:
                    continue
                if time.monotonic() - self._started_at[index] < self._start_up_s:
                    log.error(
                        "worker %d exited during start-up (exit code %s): stopping the router", index, process.exitcode
                    )
                    self._forward(signal.SIGTERM, None)
                    self._join()
                    return 1
                log.warning("worker %d exited (exit code %s): starting it again", index, process.exitcode)
                self._processes[index] = self._start(index)
                self._started_at[index] = time.monotonic()
        self._join()
        return 0

    def _join(self) -> None:
        for process in self._processes:
            process.join()
