"""What clients see when the router dies under load and comes back, for both failure modes.

For failure_mode_allow false and true: steady load through the real Envoy (keyword-routed
prompts), SIGKILL the router, start it again, and report per phase the status codes, who answered,
and latency; plus the time from the restart until requests are routed again. Also prints the
router's added-latency p99.9 under load, which `routing.message_timeout_ms` must stay well above.

    python bench/failure_modes.py --phase-seconds 4 --concurrency 8
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from llmswitch.demo.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
S = TypeVar("S")
BODY = {"model": "auto", "messages": [{"role": "user", "content": "Fix this python stack trace"}]}


@dataclass
class Sample:
    at: float
    status: int
    upstream: str
    routed: bool
    latency_ms: float


class Load(Generic[S]):
    """`concurrency` clients sending `BODY`-like requests back to back until stopped; `sample` turns each
    answer (finished at, status, headers, latency ms) into what the benchmark keeps (status 0: no answer)."""

    def __init__(
        self,
        url: str,
        concurrency: int,
        sample: Callable[[float, int, Mapping[str, str], float], S],
        body: dict = BODY,
        timeout_s: float = 10,
    ) -> None:
        self.url = url
        self.samples: list[S] = []
        self._sample = sample
        self._body = body
        self._timeout_s = timeout_s
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(concurrency)]

    def _client(self) -> None:
        with httpx.Client(timeout=self._timeout_s) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.post(self.url, json=self._body)
                    status, headers = response.status_code, response.headers
                except httpx.HTTPError:
                    status, headers = 0, httpx.Headers()
                done = time.monotonic()
                self.samples.append(self._sample(done, status, headers, (done - started) * 1000))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Load[S]:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def routing_sample(at: float, status: int, headers: Mapping[str, str], latency_ms: float) -> Sample:
    return Sample(at, status, headers.get("x-upstream-name", "-"), "x-llmswitch-decision" in headers, latency_ms)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_mode(allow: bool, phase_s: float, concurrency: int, console: Console) -> None:
    config = yaml.safe_load((ROOT / "src/llmswitch/demo/demo.yaml").read_text())
    config["routing"]["failure_mode_allow"] = allow
    config["telemetry"]["access_log"] = False
    workdir = Path(tempfile.mkdtemp(prefix="llmswitch-failover-"))
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with LocalStack(path, log_dir=workdir) as stack, Load(f"{stack.base_url}/chat/completions", concurrency, routing_sample) as load:
        time.sleep(phase_s)
        killed = time.monotonic()
        stack.processes["router"].kill()
        time.sleep(phase_s)
        restarted = time.monotonic()
        stack.processes.pop("router").wait()
        stack.start_router_process()
        ready = time.monotonic()
        time.sleep(phase_s)
    samples = load.samples
    first_routed = min((s.at for s in samples if s.at > restarted and s.routed), default=float("nan"))
    table = Table(title=f"failure_mode_allow: {str(allow).lower()}  ({concurrency} clients)")
    for column in ("phase", "requests", "statuses", "answered by", "p50 ms", "p99 ms"):
        table.add_column(column)
    phases = {
        "router up": [s for s in samples if s.at <= killed],
        "router killed": [s for s in samples if killed < s.at <= restarted],
        "restarting": [s for s in samples if restarted < s.at <= ready],
        "router back": [s for s in samples if s.at > ready],
    }
    for name, chunk in phases.items():
        statuses = Counter(s.status for s in chunk)
        upstreams = Counter(s.upstream for s in chunk)
        latencies = [s.latency_ms for s in chunk]
        table.add_row(
            name,
            str(len(chunk)),
            ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
            ", ".join(f"{k}: {v}" for k, v in upstreams.most_common()),
            f"{percentile(latencies, 0.5):.1f}",
            f"{percentile(latencies, 0.99):.1f}",
        )
    console.print(table)
    console.print(
        f"router process up {ready - restarted:.2f}s after restart; first routed response "
        f"{first_routed - restarted:.2f}s after restart"
    )


def added_latency_p999(concurrency: int, seconds: float, console: Console) -> None:
    """Router-added latency under load: Envoy + llmswitch minus Envoy alone (fail-open, router stopped)."""
    config = yaml.safe_load((ROOT / "src/llmswitch/demo/demo.yaml").read_text())
    config["telemetry"]["access_log"] = False
    workdir = Path(tempfile.mkdtemp(prefix="llmswitch-p999-"))
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with LocalStack(path, log_dir=workdir) as stack:
        with Load(f"{stack.base_url}/chat/completions", concurrency, routing_sample) as load:
            time.sleep(seconds)
    latencies = [s.latency_ms for s in load.samples if s.status == 200]
    console.print(
        f"through Envoy + llmswitch at {concurrency} clients: {len(latencies)} requests, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"p99.9 {percentile(latencies, 0.999):.1f} ms (end to end, stub model included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase-seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    console = Console()
    added_latency_p999(args.concurrency, args.phase_seconds * 2, console)
    for allow in (False, True):
        run_mode(allow, args.phase_seconds, args.concurrency, console)


if __name__ == "__main__":
    main()
