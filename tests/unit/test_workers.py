"""The worker supervisor: a worker that dies while serving comes back; one that dies at start-up stops the router."""

import os
import signal
import threading
import time
from pathlib import Path

from llmswitch.workers import WorkerSupervisor


def exits_at_once(marker_dir: str, index: int) -> None:
    raise SystemExit(3)


def second_worker_crashes_once(marker_dir: str, index: int) -> None:
    """Worker 1's first run exits after half a second; every other run serves until signalled."""
    starts = Path(marker_dir) / f"starts-{index}"
    with starts.open("a") as f:
        f.write("x")
    if index == 1 and starts.read_text() == "x":
        time.sleep(0.5)
        os._exit(9)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        time.sleep(0.05)


def test_a_worker_that_dies_at_start_up_stops_the_router(tmp_path):
    assert WorkerSupervisor(exits_at_once, str(tmp_path), 2, start_up_s=60).run() == 1


def test_a_worker_that_dies_while_serving_is_started_again(tmp_path):
    supervisor = WorkerSupervisor(second_worker_crashes_once, str(tmp_path), 2, start_up_s=0.2)
    restarted = tmp_path / "starts-1"

    def stop_when_restarted() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (restarted.exists() and restarted.read_text() == "xx"):
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    threading.Thread(target=stop_when_restarted, daemon=True).start()
    try:
        status = supervisor.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert status == 0
    assert restarted.read_text() == "xx"  # worker 1 ran twice
    assert (tmp_path / "starts-0").read_text() == "x"  # worker 0 was left alone
