"""In-request failover under load: take a model down and bring it back, through the real Envoy.

Steady load (`--concurrency` clients, keyword-routed prompts) goes to `primary-model`, whose failover
chain continues with `backup-model` (an Anthropic Messages model: failed-over requests are translated
too). The primary's stub runs in a process of its own; `--fault stop` kills it (connections refused),
`503` / `reset` make it answer 503 or reset connections. Prints the failed client requests, the
latency (p50/p99) of failed-over requests against normal ones measured in the same run, and the time
from the model's return until requests are answered by it again (bounded by health.cooldown_s).

    python bench/bench_failover.py --seconds 20 --concurrency 8 --fault stop
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from failure_modes import Load

from llmswitch.demo.stack import LocalStack, port_open, wait_for



@dataclass
class Sample:
    at: float
    status: int
    model: str
    failed_over: bool
    latency_ms: float


def _free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def config(primary_port: int, backup_port: int, cooldown_s: float) -> dict:
    ports = [_free_port() for _ in range(4)]
    return {
        "version": "v1",
        "listener": {"port": ports[0], "admin_port": ports[1]},
        "router": {"port": ports[2], "workers": 1},
        "telemetry": {"metrics": {"port": ports[3]}},
        "health": {"failure_threshold": 3, "window_s": 30, "cooldown_s": cooldown_s},
        "routing": {"fallback_models": ["backup-model"]},
        "models": [
            {"name": "primary-model", "endpoint": f"127.0.0.2:{primary_port}"},
            {"name": "backup-model", "endpoint": f"127.0.0.1:{backup_port}", "api": "anthropic"},
        ],
        "signals": {"keywords": [{"name": "code", "keywords": ["python"]}]},
        "decisions": [
            {"name": "code", "priority": 1, "rules": {"type": "keyword", "name": "code"}, "modelRefs": [{"model": "primary-model"}]}
        ],
        "default_model": "backup-model",
    }


def failover_sample(at: float, status: int, headers: Mapping[str, str], latency_ms: float) -> Sample:
    return Sample(at, status, headers.get("x-llmswitch-model", ""), "x-llmswitch-failover" in headers, latency_ms)


class Primary:
    """The primary model's stub, in a process of its own so it can be killed and restarted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "llmswitch.demo.upstream", f"primary-model={self.port}", "--host", "127.0.0.2"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open("127.0.0.2", self.port), "primary stub", process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def fail(self, settings: dict) -> None:
        httpx.put(f"http://127.0.0.2:{self.port}/_stub/fail", json=settings, timeout=5).raise_for_status()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(seconds: float, concurrency: int, fault: str, cooldown_s: float) -> None:
    primary = Primary(_free_port("127.0.0.2"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(yaml.safe_dump(config(primary.port, _free_port(), cooldown_s)))
        stack = LocalStack(path, log_dir=Path(tmp))
        primary.start()
        stack.start()
        load = Load(f"{stack.base_url}/chat/completions", concurrency, failover_sample, timeout_s=30)
        try:
            start = time.monotonic()
            load.start()
            time.sleep(seconds * 0.3)
            down = time.monotonic()
            if fault == "stop":
                primary.stop()
            else:
                primary.fail({"status": 503} if fault == "503" else {"mode": "reset"})
            time.sleep(seconds * 0.4)
            if fault == "stop":
                primary.start()
            else:
                primary.fail({"status": 0})
            healed = time.monotonic()
            time.sleep(seconds * 0.3)
            load.stop()
        finally:
            stack.stop()
            primary.stop()
    report(load.samples, start, down, healed, fault, concurrency, cooldown_s)


def report(samples: list[Sample], start: float, down: float, healed: float, fault: str, concurrency: int, cooldown_s: float) -> None:
    failed = [s for s in samples if s.status != 200]
    over = [s.latency_ms for s in samples if s.failed_over and s.status == 200]
    normal = [s.latency_ms for s in samples if not s.failed_over and s.status == 200]
    outage = [s for s in samples if down <= s.at < healed]
    back = next((s.at for s in sorted(samples, key=lambda s: s.at) if s.at >= healed and s.model == "primary-model"), None)
    print(f"failover bench: fault={fault}, concurrency={concurrency}, {samples[-1].at - start:.1f} s, health.cooldown_s={cooldown_s}")
    print(f"requests: {len(samples)}; failed (non-200): {len(failed)}")
    print(f"during the outage ({healed - down:.1f} s): {len(outage)} requests, "
          f"{sum(s.failed_over for s in outage)} failed over within the request, "
          f"{sum(s.model == 'backup-model' and not s.failed_over for s in outage)} sent straight to backup-model (primary out of rotation)")
    p50_o, p99_o, p50_n, p99_n = percentile(over, 50), percentile(over, 99), percentile(normal, 50), percentile(normal, 99)
    print(f"normal requests:      n={len(normal):5d}  p50 {p50_n:7.2f} ms  p99 {p99_n:7.2f} ms")
    print(f"failed-over requests: n={len(over):5d}  p50 {p50_o:7.2f} ms  p99 {p99_o:7.2f} ms")
    print(f"failed-over / normal: p50 x{p50_o / p50_n:.2f}  p99 x{p99_o / p99_n:.2f}")
    print("recovery: " + (f"{back - healed:.2f} s from the model's return to its first answer" if back else "not within the run"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault", choices=["stop", "503", "reset"], default="stop")
    parser.add_argument("--cooldown", type=float, default=5.0, help="health.cooldown_s of the run")
    args = parser.parse_args()
    run(args.seconds, args.concurrency, args.fault, args.cooldown)


if __name__ == "__main__":
    main()
