"""The response cache through the real Envoy: a hit against a routed request, and what a miss adds.

One router process (bench/rules.yaml with response accounting on and a `cache:` section), the
real Envoy in front, and the benchmark's canned upstream (a second Envoy answering a chat
completion with direct_response, so the upstream costs almost nothing). The cache is first filled
with --entries distinct answers (default 10,000), then each scenario runs with wrk:

  routed        a request the cache leaves alone (`cache-control: no-store`): routing + the upstream
  hit           the same body every time, answered by the router from the cache (exact match)
  miss          a new body every time: routing + the lookup + the upstream + the observer's store
  semantic_hit  (--semantic) a paraphrase of a cached prompt: exact miss, embedding, search, hit

With --semantic, `miss` also embeds the prompt and searches the cached embeddings, and every entry
is in one partition (the bodies differ only in the last user message), so each search scans all.
--store redis runs the same on a local redis-server.
Latency is p50/p99 at concurrency 1, throughput requests/s at --concurrency; every figure is also
given against `routed`, measured in the same run.

    python bench/bench_cache.py --duration 10
    python bench/bench_cache.py --semantic --store redis --entries 20000
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import yaml
from bench_routing import Processes, Result, upstream_bootstrap, wrk
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from llmswitch.config import load_config
from llmswitch.demo.stack import port_open, router_serving, wait_for
from llmswitch.envoy_config import envoy_bootstrap

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = "You are a helpful travel assistant. Answer concisely."
HIT_PROMPT = "What is the capital of France? Answer in one word, please."
PARAPHRASE = "what's the capital city of France? answer in one word please"
# Unique prompts: random words, so they neither repeat nor resemble each other (no semantic hits).
WORDS = (
    "train river castle market bridge museum village mountain harbor garden festival wine cheese bread "
    "ticket hotel station valley lake forest island coast church palace square tower street bicycle ferry "
    "morning evening summer winter spring autumn quiet busy cheap early late north south east west small old"
).split()


def body(prompt: str) -> dict:
    return {
        "model": "auto",
        "temperature": 0.2,
        "max_tokens": 128,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
    }


def unique_bodies_script(tag: str, headers: dict[str, str]) -> str:
    """A wrk script whose every request has a body no other request has (per thread id and counter)."""
    template = orjson.dumps(body("PROMPT")).decode()
    prefix, _, suffix = template.partition("PROMPT")
    words = ", ".join(f'"{w}"' for w in WORDS)
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{header_lines}
local words = {{{words}}}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  counter = 0
  math.randomseed(id * 7919 + os.time())
end
function request()
  counter = counter + 1
  local parts = {{}}
  for i = 1, 24 do parts[i] = words[math.random(#words)] end
  local prompt = "{tag} " .. id .. "-" .. counter .. " " .. table.concat(parts, " ")
  return wrk.format(nil, nil, nil, [==[{prefix}]==] .. prompt .. [==[{suffix}]==])
end
"""


def fixed_body_script(prompt: str, headers: dict[str, str]) -> str:
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    return (
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"{header_lines}wrk.body = [==[{orjson.dumps(body(prompt)).decode()}]==]\n"
    )


def metric(port: int, name: str, **labels: str) -> float:
    """The sum of a metric's samples that carry `labels`."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upstream_on(port: int, admin: int) -> dict:
    """The canned upstream of bench_routing, on ports of this run's own."""
    bootstrap = upstream_bootstrap()
    bootstrap["admin"]["address"]["socket_address"]["port_value"] = admin
    bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = port
    return bootstrap


def bench_config(workdir: Path, semantic: bool, redis_url: str | None, entries: int, upstream: int) -> Path:
    """bench/rules.yaml on free ports (other benchmarks may be running), with accounting and the cache on."""
    data = yaml.safe_load((ROOT / "bench" / "rules.yaml").read_text())
    data["listener"] = {"port": free_port(), "admin_port": free_port()}
    data["router"] = {**data["router"], "port": free_port(), "workers": 1}
    data["telemetry"]["metrics"] = {"port": free_port()}
    for model in data["models"]:
        model["endpoint"] = f"127.0.0.1:{upstream}"
    data["accounting"] = {"enabled": True}
    store = (
        {"type": "redis", "url": redis_url} if redis_url else {"max_entries": entries * 10, "max_bytes": 1024 * 2**20}
    )
    data["cache"] = {"store": store, "semantic": {"enabled": semantic, "threshold": 0.9, "max_vectors": entries * 10}}
    if semantic:
        data["semantics"] = {"timeout_ms": 5000}
    path = workdir / "cache.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def start_redis(processes: Processes) -> str:
    port = free_port()
    processes.start(
        "redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    )
    wait_for(lambda: port_open("127.0.0.1", port), "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def send(url: str, prompt: str, **headers: str) -> httpx.Response:
    return httpx.post(url, json=body(prompt), headers=headers, timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the throughput runs")
    parser.add_argument("--entries", type=int, default=10_000, help="answers cached before measuring")
    parser.add_argument("--semantic", action="store_true", help="semantic matching on (the ONNX encoder)")
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the scenarios in turn, report medians")
    args = parser.parse_args()
    if shutil.which("wrk") is None or (args.store == "redis" and shutil.which("redis-server") is None):
        print("needs wrk (and redis-server for --store redis): apt-get install -y wrk redis-server", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="llmswitch-bench-cache-"))
    processes = Processes(workdir)
    console = Console(width=140)
    results: dict[str, list[tuple[Result, Result]]] = {}
    try:
        upstream, upstream_admin = free_port(), free_port()
        processes.start_envoy("upstream", upstream_on(upstream, upstream_admin), upstream_admin, 1)
        redis_url = start_redis(processes) if args.store == "redis" else None
        config_path = bench_config(workdir, args.semantic, redis_url, args.entries, upstream)
        config = load_config(config_path).config
        router = processes.start(
            "router", [sys.executable, "-m", "llmswitch.cli", "serve", "--config", str(config_path)]
        )
        wait_for(lambda: router_serving(f"127.0.0.1:{config.router.port}"), "router", timeout_s=120, process=router)
        processes.start_envoy("front", envoy_bootstrap(config), config.listener.admin_port, 2)
        url = f"http://127.0.0.1:{config.listener.port}/v1/chat/completions"
        metrics_port = config.telemetry.metrics.port

        def run(name: str, script_text: str, measure: bool = True) -> tuple[Result, Result] | None:
            script = workdir / f"{name}.lua"
            script.write_text(script_text)
            if not measure:
                wrk(url, script, args.concurrency, 5)
                return None
            return wrk(url, script, args.concurrency, args.duration), wrk(url, script, 1, args.duration)

        console.print(f"filling the cache with {args.entries} entries ...")
        started = time.monotonic()
        fill = unique_bodies_script("fill", {})
        while metric(metrics_port, "llmswitch_cache_stores_total") < args.entries:
            run("fill", fill, measure=False)
        console.print(f"filled in {time.monotonic() - started:.0f}s")
        send(url, HIT_PROMPT)
        wait_for(lambda: send(url, HIT_PROMPT).headers.get("x-llmswitch-cache") == "hit", "the hit entry", timeout_s=10)
        scenarios = {
            "routed": fixed_body_script(HIT_PROMPT, {"cache-control": "no-store"}),
            "hit": fixed_body_script(HIT_PROMPT, {}),
            "miss": unique_bodies_script("miss", {}),
        }
        if args.semantic:
            match = send(url, PARAPHRASE).headers.get("x-llmswitch-cache-match", "")
            if not match.startswith("semantic"):
                raise RuntimeError(f"the paraphrase is not a semantic hit ({match!r})")
            scenarios["semantic_hit"] = fixed_body_script(PARAPHRASE, {})
        for round_index in range(args.rounds):
            for name, script_text in scenarios.items():
                console.print(f"round {round_index + 1}/{args.rounds}: {name} ...")
                results.setdefault(name, []).append(run(name, script_text))  # type: ignore[arg-type]
        entries = metric(metrics_port, "llmswitch_cache_entries")
        stored = metric(metrics_port, "llmswitch_cache_stores_total")
        hits = {m: metric(metrics_port, "llmswitch_cache_hits_total", match=m) for m in ("exact", "semantic")}
    finally:
        processes.stop_all()

    def median(name: str, pick) -> float:
        return statistics.median(pick(r) for r in results[name])

    rps = {name: median(name, lambda r: r[0].rps) for name in results}
    p50 = {name: median(name, lambda r: r[1].p50_ms) for name in results}
    p99 = {name: median(name, lambda r: r[1].p99_ms) for name in results}
    held = "embeddings mirrored" if args.store == "redis" else "entries held"
    title = (
        f"{args.store} store, {'exact + semantic' if args.semantic else 'exact'} matching, {stored:.0f} answers stored "
        f"({entries:.0f} {held} at the end), {hits['exact']:.0f} exact and {hits['semantic']:.0f} semantic hits; "
        f"{args.duration}s per run, median of {args.rounds}"
    )
    table = Table(title=title)
    for column in (
        "scenario",
        "p50 ms",
        "p99 ms",
        "p50 / routed",
        "p99 / routed",
        "added p50 ms",
        f"req/s c={args.concurrency}",
        "/ routed",
    ):
        table.add_column(column, justify="right")
    for name in results:
        table.add_row(
            name,
            f"{p50[name]:.2f}",
            f"{p99[name]:.2f}",
            f"{p50[name] / p50['routed']:.2f}",
            f"{p99[name] / p99['routed']:.2f}",
            f"{p50[name] - p50['routed']:+.2f}",
            f"{rps[name]:.0f}",
            f"{rps[name] / rps['routed']:.2f}",
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, exc.stderr, file=sys.stderr)
        raise
