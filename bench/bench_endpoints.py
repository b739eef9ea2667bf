"""Load-aware endpoint picking against Envoy's own balancing, with one slow replica, in one run.

Three stub vLLM replicas of one model (`llmswitch.demo.replica`: `max_num_seqs` slots, a queue in
front, vLLM's load metrics) behind the real Envoy and llmswitch; one replica is ten times slower, so
a queue builds there whenever it gets its share. Scenarios, each a fresh stack:

  round_robin    endpoint picking off: the model's cluster balances round robin (Envoy's default)
  least_request  endpoint picking off, the cluster on Envoy's LEAST_REQUEST (in-flight counts seen by
                 this one Envoy)
  load_aware     endpoint picking on: the router reads each replica's queue and KV-cache use and
                 names the replica (least queue, then KV cache; defaults: scrape every 0.25 s)

Load: `--concurrency` clients in a closed loop, each sending chat completions with a unique prompt
for `--duration` seconds after a warm-up; p50/p99 latency, throughput, and the share of requests the
slow replica served.

    python bench/bench_endpoints.py --duration 15 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from bench_cache import free_port
from llmswitch.demo.stack import LocalStack, envoy_binary, envoy_ready, wait_for
from llmswitch.envoy_config import envoy_bootstrap

SCENARIOS = ("round_robin", "least_request", "load_aware")


class BenchStack(LocalStack):
    """A LocalStack whose model cluster may use another Envoy load balancing policy."""

    def __init__(self, config_path: Path, lb_policy: str | None, **kwargs) -> None:
        super().__init__(config_path, **kwargs)
        self.lb_policy = lb_policy

    def start_envoy(self) -> None:
        bootstrap = envoy_bootstrap(self.config)
        if self.lb_policy is not None:
            for cluster in bootstrap["static_resources"]["clusters"]:
                if cluster["name"].startswith("model_"):
                    cluster["lb_policy"] = self.lb_policy
        self.envoy_config_path.write_text(yaml.safe_dump(bootstrap))
        argv = [
            envoy_binary(),
            "-c",
            str(self.envoy_config_path),
            "--log-level",
            "warning",
            "--disable-hot-restart",
            "--concurrency",
            "2",
        ]
        envoy = self._spawn("envoy", argv)
        wait_for(lambda: envoy_ready(self.config.listener.admin_port), "envoy", process=envoy)


def write_config(directory: Path, picking: bool) -> Path:
    listener, admin, router, metrics, *replicas = [free_port() for _ in range(7)]
    data = {
        "version": "v1",
        "listener": {"port": listener, "admin_port": admin},
        "router": {"port": router, "workers": 1},
        "telemetry": {"metrics": {"port": metrics}, "access_log": False},
        "endpoint_picking": {"enabled": picking},
        "models": [{"name": "model", "endpoints": [f"127.0.0.1:{port}" for port in replicas]}],
        "default_model": "model",
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def closed_loop(
    url: str, concurrency: int, warmup_s: float, duration_s: float
) -> tuple[list[float], Counter, int]:
    """Latencies (s) and serving replicas of the requests that finished inside the measured window."""
    latencies: list[float] = []
    served: Counter = Counter()
    errors = 0
    start = time.monotonic()
    measure_from, stop_at = start + warmup_s, start + warmup_s + duration_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def client_loop(worker: int) -> None:
            nonlocal errors
            sent = 0
            while time.monotonic() < stop_at:
                sent += 1
                body = {
                    "model": "auto",
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": f"client {worker} question {sent}: plan my week"}],
                }
                began = time.monotonic()
                response = await client.post(url, json=body)
                ended = time.monotonic()
                if ended < measure_from or ended > stop_at:
                    continue
                if response.status_code != 200:
                    errors += 1
                    continue
                latencies.append(ended - began)
                served[response.headers.get("x-served-by", "?")] += 1

        await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    return latencies, served, errors


def run_scenario(name: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        directory = Path(folder)
        path = write_config(directory, picking=name == "load_aware")
        lb_policy = "LEAST_REQUEST" if name == "least_request" else None
        with BenchStack(path, lb_policy, log_dir=directory) as stack:
            replicas = [f"127.0.0.1:{port}" for _, port in stack.config.model("model").addresses]
            slow = replicas[0]
            for address in replicas:
                latency = args.slow_latency_s if address == slow else args.latency_s
                httpx.put(
                    f"http://{address}/_stub/speed", json={"latency_s": latency, "max_num_seqs": args.max_num_seqs}
                )
            url = f"{stack.base_url}/chat/completions"
            latencies, served, errors = asyncio.run(closed_loop(url, args.concurrency, args.warmup, args.duration))
    latencies.sort()
    count = len(latencies)
    return {
        "name": name,
        "requests": count,
        "errors": errors,
        "rps": count / args.duration,
        "p50": latencies[count // 2] * 1000 if count else float("nan"),
        "p99": latencies[min(count - 1, int(count * 0.99))] * 1000 if count else float("nan"),
        "mean": statistics.fmean(latencies) * 1000 if count else float("nan"),
        "slow_share": served[slow] / count if count else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-num-seqs", type=int, default=4, help="requests each replica serves at once")
    parser.add_argument("--latency-s", type=float, default=0.05, help="one request on a normal replica")
    parser.add_argument("--slow-latency-s", type=float, default=0.5, help="one request on the slow replica")
    args = parser.parse_args()
    results = [run_scenario(name, args) for name in args.scenarios.split(",")]
    table = Table(
        title=f"3 replicas ({args.max_num_seqs} slots each, one {args.slow_latency_s / args.latency_s:.0f}x "
        f"slower), {args.concurrency} clients, {args.duration:.0f} s"
    )
    for column in ("scenario", "requests/s", "p50 ms", "p99 ms", "mean ms", "slow replica share", "errors"):
        table.add_column(column, justify="left" if column == "scenario" else "right", no_wrap=column == "scenario")
    for r in results:
        table.add_row(
            r["name"],
            f"{r['rps']:.1f}",
            f"{r['p50']:.0f}",
            f"{r['p99']:.0f}",
            f"{r['mean']:.0f}",
            f"{r['slow_share']:.1%}",
            str(r["errors"]),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
