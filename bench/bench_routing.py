"""Throughput and added latency of llmswitch, against baselines measured in the same run.

Scenarios, each the real Envoy binary in front of the same upstream (a second Envoy answering
a canned chat completion with direct_response, so the upstream costs almost nothing):

  envoy      Envoy alone, no ext_proc filter
  noop       Envoy + a no-op grpc.aio ext_proc (same processing mode, every message CONTINUE)
  llmswitch  Envoy + llmswitch with a rule-only config (keyword, context and header signals)
  semantic   Envoy + llmswitch with domain and embedding signals (bench/semantic.yaml): every
             request is embedded by the ONNX encoder and classified
  semantic_fast  the same on the int8 encoder reading 48 tokens of each prompt
             with two threads (`semantics: {quantized: true, max_tokens: 48, intra_op_threads: 2}`)
  llmswitch_2w  llmswitch with `router: {workers: 2}`: two router processes, one GIL each
             (the no-op stays one process: compare it with llmswitch, not with this)
  pii        the rule-only config plus a `pii` signal (every entity type, user and tool text) that a
             top-priority decision tests on every request
  jailbreak_rules  the rule-only config plus a `jailbreak` signal with `method: rules`
  jailbreak  the same with `method: both`: the rules, then the trained head, so every request is embedded
  jailbreak_fast  `jailbreak` on the int8 encoder reading 48 tokens, two threads

Load comes from wrk (Debian package `wrk`) with a ~1 KB chat completions POST (about 200 MiniLM
tokens): requests/s at concurrency 16 (--concurrency), and p50/p99 at concurrency 1.

    python bench/bench_routing.py --duration 10 --rounds 3
    python bench/bench_routing.py --scenarios envoy,llmswitch,semantic
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml
from rich.console import Console
from rich.table import Table

from llmswitch.config import load_config
from llmswitch.demo.stack import envoy_binary, envoy_ready, port_open, router_serving, wait_for
from llmswitch.envoy_config import envoy_bootstrap
from llmswitch.training.domain import FAST_WINDOW

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"rules": ROOT / "bench" / "rules.yaml", "semantic": ROOT / "bench" / "semantic.yaml"}
# semantic_fast: the semantic config on the int8 encoder reading 48 tokens of each prompt, two threads.
FAST_SEMANTICS = {"quantized": True, "max_tokens": FAST_WINDOW, "intra_op_threads": 2}
UPSTREAM_PORT, UPSTREAM_ADMIN = 29001, 29901
SCENARIOS = (
    "envoy", "noop", "llmswitch", "semantic", "semantic_fast", "llmswitch_2w", "pii", "jailbreak_rules", "jailbreak",
    "jailbreak_fast",
)  # fmt: skip
# Safety scenarios: the rule-only config plus one signal that a top-priority decision tests on every request.
SAFETY_SIGNALS = {
    "pii": ("pii", {"name": "pii"}),
    "jailbreak_rules": ("jailbreak", {"name": "jailbreak", "method": "rules"}),
    "jailbreak": ("jailbreak", {"name": "jailbreak", "method": "both"}),
    "jailbreak_fast": ("jailbreak", {"name": "jailbreak", "method": "both"}),
}
ROUTER_SCENARIOS = ("llmswitch", "semantic", "semantic_fast", "llmswitch_2w", *SAFETY_SIGNALS)

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "small-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 250, "completion_tokens": 1, "total_tokens": 251},
    }
).decode()


def chat_body() -> str:
    """~1 KB: a system prompt and a user question that matches no rule, so every decision is evaluated."""
    question = (
        "I am planning a trip through the north of Italy in late spring and would like some advice. "
        "We will have about ten days, travel by train, and prefer small towns to big cities. "
        "Which routes make sense, how long should we stay in each place, and what should we book ahead? "
    ) * 3
    body = {
        "model": "auto",
        "temperature": 0.2,
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": "You are a helpful travel assistant. Answer concisely."},
            {"role": "user", "content": question},
        ],
    }
    return orjson.dumps(body).decode()


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


def upstream_bootstrap() -> dict:
    route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": COMPLETION}}}
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "upstream",
        "route_config": {
            "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}],
            "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"}}],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": UPSTREAM_ADMIN}}},
        "static_resources": {
            "listeners": [
                {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": UPSTREAM_PORT}},
                    "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
                }
            ]
        },
    }


def front_bootstrap(scenario: str, config) -> dict:
    bootstrap = copy.deepcopy(envoy_bootstrap(config))
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    if scenario == "envoy":
        hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.ext_proc"]
    return bootstrap


class Processes:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def start_envoy(self, name: str, bootstrap: dict, admin_port: int, concurrency: int) -> subprocess.Popen:
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(bootstrap))
        argv = [envoy_binary(), "-c", str(path), "--log-level", "error", "--disable-hot-restart"]
        process = self.start(name, [*argv, "--concurrency", str(concurrency)])
        wait_for(lambda: envoy_ready(admin_port), name, process=process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process)


_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: Path, connections: int, duration: int) -> Result:
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _LATENCY.findall(output)}
    return Result(rps, latency[50], latency[99])


def measure(
    scenario: str, processes: Processes, script: Path, duration: int, concurrency: int, accounting: bool
) -> tuple[Result, Result]:
    config_path = CONFIGS["semantic" if scenario.startswith("semantic") else "rules"]
    if accounting or scenario in ("semantic_fast", "llmswitch_2w", *SAFETY_SIGNALS):
        data = yaml.safe_load(config_path.read_text())
        if accounting:
            data["accounting"] = {"enabled": True}
        if scenario in ("semantic_fast", "jailbreak_fast"):
            data["semantics"] = {**data.get("semantics", {}), **FAST_SEMANTICS}
        if scenario in SAFETY_SIGNALS:
            signal_type, spec = SAFETY_SIGNALS[scenario]
            data["signals"][signal_type] = [spec]
            rules = {"type": signal_type, "name": spec["name"]}
            data["decisions"].insert(0, {"name": "safety", "priority": 1000, "rules": rules, "modelRefs": [{"model": "small-model"}]})
        if scenario == "llmswitch_2w":
            data["router"] = {**data["router"], "workers": 2}
        config_path = processes.workdir / f"{scenario}{'-accounting' if accounting else ''}.yaml"
        config_path.write_text(yaml.safe_dump(data))
    loaded = load_config(config_path)
    config = loaded.config
    helpers: list[subprocess.Popen] = []
    if scenario == "noop":
        helpers.append(processes.start("noop", [sys.executable, str(ROOT / "bench" / "noop_extproc.py"), "--port", str(config.router.port)]))
        wait_for(lambda: port_open("127.0.0.1", config.router.port), "noop ext_proc", process=helpers[-1])
    elif scenario in ROUTER_SCENARIOS:
        helpers.append(processes.start("router", [sys.executable, "-m", "llmswitch.cli", "serve", "--config", str(config_path)]))
        for worker in range(config.router.workers):
            address = f"127.0.0.1:{config.router.port + worker}"
            wait_for(lambda address=address: router_serving(address), f"router worker {worker}", process=helpers[-1])
    front = processes.start_envoy(f"front-{scenario}", front_bootstrap(scenario, config), config.listener.admin_port, 2)
    url = f"http://127.0.0.1:{config.listener.port}/v1/chat/completions"
    try:
        wrk(url, script, concurrency, 2)  # warm-up: connections, caches, the router's first requests
        loaded_result = wrk(url, script, concurrency, duration)
        single = wrk(url, script, 1, duration)
    finally:
        processes.stop(front)
        for helper in helpers:
            processes.stop(helper)
    return loaded_result, single


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all scenarios, report medians")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the throughput run")
    parser.add_argument("--accounting", action="store_true", help="llmswitch with response accounting on")
    parser.add_argument("--scenarios", default="envoy,noop,llmswitch", help=f"comma-separated, from {SCENARIOS}")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown or "envoy" not in scenarios:
        parser.error(f"scenarios must include envoy and come from {SCENARIOS}")
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="llmswitch-bench-"))
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{chat_body()}]==]\n"
    )
    processes = Processes(workdir)
    results: dict[str, list[tuple[Result, Result]]] = {s: [] for s in scenarios}
    console = Console()
    try:
        processes.start_envoy("upstream", upstream_bootstrap(), UPSTREAM_ADMIN, 1)
        for round_index in range(args.rounds):
            for scenario in scenarios:
                console.print(f"round {round_index + 1}/{args.rounds}: {scenario} ...")
                results[scenario].append(
                    measure(scenario, processes, script, args.duration, args.concurrency, args.accounting)
                )
    finally:
        processes.stop_all()

    def median(scenario: str, pick) -> float:
        return statistics.median(pick(r) for r in results[scenario])

    rps = {s: median(s, lambda r: r[0].rps) for s in scenarios}
    p50 = {s: median(s, lambda r: r[1].p50_ms) for s in scenarios}
    p99 = {s: median(s, lambda r: r[1].p99_ms) for s in scenarios}
    title = f"body {len(chat_body())} B, {args.duration}s per run, median of {args.rounds} round(s)"
    table = Table(title=title + (", response accounting on" if args.accounting else ""))
    for column in ("scenario", f"req/s c={args.concurrency}", "vs envoy", "p50 c=1 ms", "p99 c=1 ms", "added p50 ms", "added p99 ms"):
        table.add_column(column, justify="right")
    for s in scenarios:
        table.add_row(
            s,
            f"{rps[s]:.0f}",
            f"{rps[s] / rps['envoy']:.2f}",
            f"{p50[s]:.2f}",
            f"{p99[s]:.2f}",
            f"{p50[s] - p50['envoy']:+.2f}",
            f"{p99[s] - p99['envoy']:+.2f}",
        )
    console.print(table)
    if "llmswitch" in scenarios and "noop" in scenarios:
        ratio = rps["llmswitch"] / rps["noop"]
        console.print(f"llmswitch / noop requests/s at c={args.concurrency}: [bold]{ratio:.2f}[/] (target >= 0.90)")
    if "llmswitch_2w" in scenarios and "noop" in scenarios:
        ratio = rps["llmswitch_2w"] / rps["noop"]
        console.print(f"llmswitch with 2 workers / one-process noop requests/s at c={args.concurrency}: {ratio:.2f}")
    if "llmswitch" in scenarios:
        console.print(f"llmswitch added p50 at c=1: [bold]{p50['llmswitch'] - p50['envoy']:.2f} ms[/] (target <= 1.5 ms)")
    for s in scenarios:
        if s in SAFETY_SIGNALS and "llmswitch" in scenarios:
            console.print(
                f"{s}: p50 {p50[s] - p50['llmswitch']:+.2f} ms, p99 {p99[s] - p99['llmswitch']:+.2f} ms at c=1 "
                f"over the rule-only llmswitch; {rps[s]:.0f} req/s at c={args.concurrency}"
            )
        if s.startswith("semantic"):
            console.print(
                f"{s}: added p50 {p50[s] - p50['envoy']:.2f} ms, p99 {p99[s] - p99['envoy']:.2f} ms "
                f"at c=1 (targets <= 10 / 25 ms); {rps[s]:.0f} req/s at c={args.concurrency} (target >= 150)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
