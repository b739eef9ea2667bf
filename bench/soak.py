"""Soak test: mixed traffic through the real Envoy and router for a long time, watching the router's memory.

Starts the local stack (stub models, llmswitch, Envoy) on free loopback ports with the demo config, then
sends, at bounded concurrency: keyword-, header- and context-routed requests, explicit models, streamed
responses, and a fixed share of injected client errors (malformed JSON, unknown models). Every few
seconds it prints requests/s and the router's RSS; at the end, RSS at start and end, its growth, and
errors by kind. It fails (exit status 1) on any unexpected answer or RSS growth of 10% or more.

    python bench/soak.py                  # 10 minutes
    python bench/soak.py --duration 60 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
import orjson
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from llmswitch.demo.stack import LocalStack

MAX_RSS_GROWTH = 0.10
REQUEST_TIMEOUT_S = 30.0
# Below the ephemeral range, so Envoy's own outgoing connections cannot take them first.
PORT_RANGE = (20000, 32000)
LONG_PROMPT = "Summarise the following notes. " + "The quarterly figures were broadly in line with plans. " * 200

console = Console()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", "injected" (the expected answer to an injected error) or "unexpected"
    detail: str


Scenario = Callable[[httpx.AsyncClient], Awaitable[Outcome]]


def free_ports(count: int, rng: random.Random) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(*PORT_RANGE)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    return ports


SEMANTIC_SECTIONS = ("domains", "embeddings")


def soak_config(workdir: Path, rng: random.Random, rules_only: bool) -> Path:
    """The demo config on free loopback ports, with the metrics listener off (nothing beyond loopback);
    `rules_only` drops the semantic signals and their decisions, so the encoder is not loaded."""
    config = yaml.safe_load(resources.files("llmswitch.demo").joinpath("demo.yaml").read_text())
    if rules_only:
        semantic = {s["name"] for section in SEMANTIC_SECTIONS for s in config["signals"].pop(section, [])}
        config["decisions"] = [
            d for d in config["decisions"] if d["rules"].get("name") not in semantic
        ]
    listener, admin, router, *model_ports = free_ports(3 + len(config["models"]), rng)
    config["listener"] = {"address": "127.0.0.1", "port": listener, "admin_port": admin}
    config["router"] = {**config.get("router", {}), "port": router}
    config["telemetry"] = {**config.get("telemetry", {}), "metrics": {"enabled": False}}
    for model, port in zip(config["models"], model_ports, strict=True):
        model["endpoint"] = f"127.0.0.1:{port}"
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def chat(prompt: str, model: str = "auto", **extra: object) -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], **extra})


def routed(body: bytes, decisions: set[str], headers: dict[str, str] | None = None) -> Scenario:
    async def send(client: httpx.AsyncClient) -> Outcome:
        response = await client.post("/chat/completions", content=body, headers=headers)
        decision = response.headers.get("x-llmswitch-decision")
        if response.status_code == 200 and decision in decisions and response.json()["choices"]:
            return Outcome("ok", decision)
        return Outcome("unexpected", f"status {response.status_code}, decision {decision}")

    return send


def streamed(body: bytes) -> Scenario:
    async def send(client: httpx.AsyncClient) -> Outcome:
        async with client.stream("POST", "/chat/completions", content=body) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        if response.status_code == 200 and raw.rstrip().endswith(b"data: [DONE]"):
            return Outcome("ok", "stream")
        return Outcome("unexpected", f"stream: status {response.status_code}, {len(raw)} bytes")

    return send


def injected(body: bytes, status: int, code: str) -> Scenario:
    async def send(client: httpx.AsyncClient) -> Outcome:
        response = await client.post("/chat/completions", content=body)
        try:
            answered = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            answered = None
        if response.status_code == status and answered == code:
            return Outcome("injected", code)
        return Outcome("unexpected", f"injected {code}: status {response.status_code}, code {answered}")

    return send


def scenarios(error_share: float) -> list[tuple[float, Scenario]]:
    """(weight, scenario); injected errors make up `error_share` of the traffic, split evenly."""
    served = [
        (0.25, routed(chat("How do I reverse a list in Python?"), {"code_decision"})),
        (0.15, routed(chat("Tell me a joke"), {"code_decision"}, {"x-tier": "premium"})),
        (0.25, routed(chat("What is the capital of France?"), {"default"})),
        (0.10, routed(chat(LONG_PROMPT), {"long_context"})),
        (0.10, routed(chat("Hello there", model="small-model", temperature=0.3), {"passthrough"})),
        (0.15, streamed(chat("explain this python stack trace", stream=True))),
    ]
    errors = [
        (0.5, injected(b'{"model": "auto", "messages": [{"role": "user", "content": "hi"', 400, "invalid_json")),
        (0.5, injected(chat("hi", model="gpt-unknown"), 404, "model_not_found")),
    ]
    return [(w * (1 - error_share), s) for w, s in served] + [(w * error_share, s) for w, s in errors]


class Soak:
    def __init__(self, stack: LocalStack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.router_pid = stack.processes["router"].pid
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.done = 0
        self.rss_before = rss_kib(self.router_pid)
        self.rss_samples: list[tuple[float, int]] = []
        self.elapsed = 0.0

    async def worker(self, client: httpx.AsyncClient, rng: random.Random, deadline: float) -> None:
        mix = scenarios(self.args.error_share)
        weights = [weight for weight, _ in mix]
        while time.monotonic() < deadline:
            _, scenario = rng.choices(mix, weights)[0]
            try:
                outcome = await scenario(client)
            except (httpx.HTTPError, ValueError, KeyError) as exc:  # transport failures and unreadable answers
                outcome = Outcome("unexpected", type(exc).__name__)
            self.outcomes[(outcome.kind, outcome.detail)] += 1
            self.done += 1

    async def report(self, progress: Progress, task: int, started: float, deadline: float) -> None:
        last_done, last_time = 0, started
        while (now := time.monotonic()) < deadline:
            await asyncio.sleep(min(self.args.report_every, max(0.0, deadline - now)))
            now = time.monotonic()
            rss = rss_kib(self.router_pid)
            self.rss_samples.append((now - started, rss))
            rate = (self.done - last_done) / (now - last_time)
            last_done, last_time = self.done, now
            unexpected = sum(n for (kind, _), n in self.outcomes.items() if kind == "unexpected")
            progress.console.print(
                f"t={now - started:6.0f}s  {rate:7.1f} req/s  total {self.done:8d}  "
                f"router RSS {rss / 1024:7.1f} MiB  unexpected {unexpected}"
            )
            progress.update(task, completed=min(now - started, self.args.duration))

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.args.concurrency, max_keepalive_connections=self.args.concurrency)
        started = time.monotonic()
        deadline = started + self.args.duration
        columns = (TextColumn("soak"), BarColumn(), TimeElapsedColumn(), TextColumn("/"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("soak", total=self.args.duration)
            client = httpx.AsyncClient(base_url=self.stack.base_url, timeout=REQUEST_TIMEOUT_S, limits=limits)
            async with client:
                rngs = [random.Random(self.args.seed + i) for i in range(self.args.concurrency)]
                workers = [self.worker(client, rng, deadline) for rng in rngs]
                await asyncio.gather(self.report(progress, task, started, deadline), *workers)
        self.elapsed = time.monotonic() - started

    def summary(self) -> bool:
        """Print the figures; True when the soak passed."""
        warm = self.rss_samples[0][1]
        end = self.rss_samples[-1][1]
        growth = (end - warm) / warm
        by_kind: Counter[str] = Counter()
        for (kind, _), n in self.outcomes.items():
            by_kind[kind] += n
        rate = self.done / self.elapsed
        concurrency = self.args.concurrency
        console.print(f"\nrequests: {self.done} in {self.elapsed:.0f}s ({rate:.1f} req/s), concurrency {concurrency}")
        console.print(f"router RSS before traffic: {self.rss_before / 1024:.1f} MiB")
        console.print(f"router RSS at start (first sample, t={self.rss_samples[0][0]:.0f}s): {warm / 1024:.1f} MiB")
        console.print(f"router RSS at end: {end / 1024:.1f} MiB")
        console.print(f"RSS growth start -> end: {growth * 100:+.2f}% (limit {MAX_RSS_GROWTH * 100:.0f}%)")
        ok, injected_errors, unexpected = by_kind["ok"], by_kind["injected"], by_kind["unexpected"]
        console.print(f"outcomes: ok {ok}, injected errors {injected_errors}, unexpected {unexpected}")
        for (kind, detail), n in sorted(self.outcomes.items()):
            console.print(f"  {kind:10s} {detail:40s} {n}")
        passed = growth < MAX_RSS_GROWTH and unexpected == 0
        console.print("PASS" if passed else "FAIL", style="bold green" if passed else "bold red")
        return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--report-every", type=float, default=30.0, help="seconds between progress lines (default 30)")
    parser.add_argument("--error-share", type=float, default=0.10, help="share of injected errors (default 0.10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules-only", action="store_true", help="without the demo's semantic signals")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="llmswitch-soak-"))
    try:
        with LocalStack(soak_config(workdir, random.Random(args.seed), args.rules_only), log_dir=workdir) as stack:
            soak = Soak(stack, args)
            console.print(f"stack up: {stack.base_url}, router pid {soak.router_pid}; {args.duration:.0f}s of traffic")
            asyncio.run(soak.run())
            return 0 if soak.summary() else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
