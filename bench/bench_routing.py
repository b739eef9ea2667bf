"""Throughput and added latency of llmswitch, against baselines measured in the same run.

Scenarios, each the real Envoy binary in front of the same upstream (a second Envoy answering
a canned chat completion with direct_response, so the upstream costs almost nothing):

  envoy           Envoy alone, no ext_proc filter
  noop_two        Envoy + a no-op grpc.aio ext_proc, two messages per request (headers, body), each
                  answered with CONTINUE: the fixed baseline
  noop_one        the no-op in one-message mode (the body, answered with the least reply that routes)
  llmswitch_two   llmswitch, rule-only config (keyword, context and header signals), one process,
                  `routing.ext_proc_messages: two`
  llmswitch_one   the same with one message per request
  llmswitch_auto  llmswitch with the defaults: one message, `router.workers: auto` (one per CPU)
  semantic        llmswitch (defaults) with domain and embedding signals (bench/semantic.yaml): every
                  request is embedded by the ONNX encoder and classified
  semantic_fast   the same on the int8 encoder reading 48 tokens of each prompt with two threads
                  (`semantics: {quantized: true, max_tokens: 48, intra_op_threads: 2}`)
  semantic_fast_1w  semantic_fast on one worker, to compare with workers: auto
  pii             the rule-only config plus a `pii` signal (every entity type, user and tool text) that a
                  top-priority decision tests on every request
  jailbreak_rules the rule-only config plus a `jailbreak` signal with `method: rules`
  jailbreak       the same with `method: both`: the rules, then the trained head (every request embedded)
  jailbreak_fast  `jailbreak` on the int8 encoder reading 48 tokens, two threads
  pii_redact      the rule-only config plus a top-level `pii` plugin (action redact, every entity type, user
                  and tool text): the body is scanned on every request (it holds no PII, like most requests)

The no-ops always run one process: compare them with the one-worker scenarios.
Load comes from wrk (Debian package `wrk`) with a ~1 KB chat completions POST (about 200 MiniLM
tokens): requests/s and p99 at concurrency 16 (--concurrency), and p50/p99 at concurrency 1.
The router's resident memory per worker process is read at the end of each llmswitch scenario.

    python bench/bench_routing.py --duration 10 --rounds 3
    python bench/bench_routing.py --scenarios envoy,noop_two,llmswitch_one,semantic_fast
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

@dataclass(frozen=True)
class Scenario:
    server: str | None
    """None (Envoy alone), "noop" or "router"."""
    messages: str = "auto"
    """routing.ext_proc_messages"""
    workers: int | str = "auto"
    config: str = "rules"
    semantics: dict | None = None
    safety: tuple[str, dict] | None = None
    """(signal type, spec) of a safety signal that a top-priority decision tests on every request."""
    plugins: tuple[dict, ...] = ()
    """Top-level plugins added to the config."""


SCENARIOS = {
    "envoy": Scenario(None, "two", 1),
    "noop_two": Scenario("noop", "two", 1),
    "noop_one": Scenario("noop", "one", 1),
    "llmswitch_two": Scenario("router", "two", 1),
    "llmswitch_one": Scenario("router", "one", 1),
    "llmswitch_auto": Scenario("router"),
    "semantic": Scenario("router", config="semantic"),
    "semantic_fast": Scenario("router", config="semantic", semantics=FAST_SEMANTICS),
    "semantic_fast_1w": Scenario("router", workers=1, config="semantic", semantics=FAST_SEMANTICS),
    "pii": Scenario("router", safety=("pii", {"name": "pii"})),
    "jailbreak_rules": Scenario("router", safety=("jailbreak", {"name": "jailbreak", "method": "rules"})),
    "jailbreak": Scenario("router", safety=("jailbreak", {"name": "jailbreak", "method": "both"})),
    "jailbreak_fast": Scenario(
        "router", semantics=FAST_SEMANTICS, safety=("jailbreak", {"name": "jailbreak", "method": "both"})
    ),
    "pii_redact": Scenario("router", plugins=({"type": "pii", "action": "redact"},)),
}
DEFAULT_SCENARIOS = "envoy,noop_two,noop_one,llmswitch_two,llmswitch_one,llmswitch_auto"

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
    errors: int
    """non-2xx answers (Envoy's 503 when a message misses routing.message_timeout_ms)"""


@dataclass
class Measurement:
    loaded: Result
    """at --concurrency connections"""
    single: Result
    """at one connection"""
    rss_mib: list[float]
    """resident memory of each router worker process, after the runs"""


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


def front_bootstrap(scenario: Scenario, config) -> dict:
    bootstrap = copy.deepcopy(envoy_bootstrap(config))
    hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    if scenario.server is None:
        hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.ext_proc"]
    return bootstrap


def worker_rss_mib(pid: int) -> list[float]:
    """VmRSS of a router's worker processes: the process itself, or its spawned workers when it runs several."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    rss = []
    for worker in workers or [str(pid)]:
        status = Path(f"/proc/{worker}/status").read_text()
        rss.append(int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024)
    return rss


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
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(found.group(1)) if found else 0
    total = int(re.search(r"(\d+) requests in", output).group(1))
    if errors > max(1, total // 100):  # a broken scenario, not a message timeout on a busy machine
        raise RuntimeError(f"{errors} of {total} requests failed:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _LATENCY.findall(output)}
    return Result(rps, latency[50], latency[99], errors)


def scenario_config(name: str, scenario: Scenario, workdir: Path, accounting: bool) -> Path:
    data = yaml.safe_load(CONFIGS[scenario.config].read_text())
    data["routing"] = {**data.get("routing", {}), "ext_proc_messages": scenario.messages}
    data["router"] = {**data["router"], "workers": scenario.workers}
    data["accounting"] = {"enabled": accounting}
    if scenario.semantics:
        data["semantics"] = {**data.get("semantics", {}), **scenario.semantics}
    if scenario.safety is not None:
        signal_type, spec = scenario.safety
        data["signals"][signal_type] = [spec]
        rules = {"type": signal_type, "name": spec["name"]}
        data["decisions"].insert(0, {"name": "safety", "priority": 1000, "rules": rules, "modelRefs": [{"model": "small-model"}]})
    if scenario.plugins:
        data["plugins"] = [*data.get("plugins", []), *scenario.plugins]
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def measure(
    name: str, processes: Processes, script: Path, duration: int, concurrency: int, accounting: bool
) -> Measurement:
    scenario = SCENARIOS[name]
    config_path = scenario_config(name, scenario, processes.workdir, accounting)
    config = load_config(config_path).config
    helper: subprocess.Popen | None = None
    if scenario.server == "noop":
        argv = [sys.executable, str(ROOT / "bench" / "noop_extproc.py"), "--port", str(config.router.port)]
        if config.one_message:
            argv += ["--route-to", config.model(config.default_model).cluster]
        helper = processes.start("noop", argv)
        wait_for(lambda: port_open("127.0.0.1", config.router.port), "noop ext_proc", process=helper)
    elif scenario.server == "router":
        argv = [sys.executable, "-m", "llmswitch.cli", "serve", "--config", str(config_path)]
        helper = processes.start("router", argv)
        for worker in range(config.worker_count):
            address = f"127.0.0.1:{config.router.port + worker}"
            wait_for(lambda address=address: router_serving(address), f"router worker {worker}", 120, helper)
    front = processes.start_envoy(f"front-{name}", front_bootstrap(scenario, config), config.listener.admin_port, 2)
    url = f"http://127.0.0.1:{config.listener.port}/v1/chat/completions"
    try:
        wrk(url, script, concurrency, 2)  # warm-up: connections, caches, the router's first requests
        loaded_result = wrk(url, script, concurrency, duration)
        single = wrk(url, script, 1, duration)
        rss = worker_rss_mib(helper.pid) if scenario.server == "router" and helper is not None else []
    finally:
        processes.stop(front)
        if helper is not None:
            processes.stop(helper)
    return Measurement(loaded_result, single, rss)


def ratio_line(rps: dict[str, float], over: str, under: str, concurrency: int, target: str = "") -> str | None:
    if over not in rps or under not in rps:
        return None
    return f"{over} / {under} requests/s at c={concurrency}: [bold]{rps[over] / rps[under]:.2f}[/]{target}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all scenarios, report medians")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the throughput run")
    parser.add_argument("--accounting", action="store_true", help="llmswitch with response accounting on")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help=f"comma-separated, from {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown or "envoy" not in scenarios:
        parser.error(f"scenarios must include envoy and come from {', '.join(SCENARIOS)}")
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
    results: dict[str, list[Measurement]] = {s: [] for s in scenarios}
    console = Console(width=200)
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

    c = args.concurrency
    rps = {s: median(s, lambda r: r.loaded.rps) for s in scenarios}
    p99_loaded = {s: median(s, lambda r: r.loaded.p99_ms) for s in scenarios}
    p50 = {s: median(s, lambda r: r.single.p50_ms) for s in scenarios}
    p99 = {s: median(s, lambda r: r.single.p99_ms) for s in scenarios}
    title = f"body {len(chat_body())} B, {args.duration}s per run, median of {args.rounds} round(s)"
    table = Table(title=title + (", response accounting on" if args.accounting else ""))
    columns = (
        "scenario", "workers", f"req/s c={c}", "vs envoy", f"added p99 c={c} ms",
        "p50 c=1 ms", "p99 c=1 ms", "added p50 c=1 ms", "added p99 c=1 ms", "RSS/worker MiB", "errors",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for s in scenarios:
        rss = results[s][-1].rss_mib
        table.add_row(
            s,
            str(len(rss)) if rss else "-",
            f"{rps[s]:.0f}",
            f"{rps[s] / rps['envoy']:.2f}",
            f"{p99_loaded[s] - p99_loaded['envoy']:+.2f}",
            f"{p50[s]:.2f}",
            f"{p99[s]:.2f}",
            f"{p50[s] - p50['envoy']:+.2f}",
            f"{p99[s] - p99['envoy']:+.2f}",
            f"{statistics.mean(rss):.0f}" if rss else "-",
            str(sum(r.loaded.errors + r.single.errors for r in results[s])),
        )
    console.print(table)
    lines = [
        ratio_line(rps, "llmswitch_one", "noop_two", c, " (target >= 1.0)"),
        ratio_line(rps, "llmswitch_one", "noop_one", c),
        ratio_line(rps, "llmswitch_two", "noop_two", c),
        ratio_line(rps, "noop_one", "noop_two", c),
        ratio_line(rps, "llmswitch_auto", "noop_two", c, " (all workers against the one-process no-op)"),
    ]
    for name in ("llmswitch_one", "llmswitch_two"):
        if name in scenarios:
            target = " (target <= 0.8 ms)" if name == "llmswitch_one" else ""
            lines.append(f"{name} added p50 at c=1: [bold]{p50[name] - p50['envoy']:.2f} ms[/]{target}")
    for s in scenarios:
        if (SCENARIOS[s].safety is not None or SCENARIOS[s].plugins) and "llmswitch_auto" in scenarios:
            lines.append(
                f"{s}: p50 {p50[s] - p50['llmswitch_auto']:+.2f} ms, p99 {p99[s] - p99['llmswitch_auto']:+.2f} ms "
                f"at c=1 over the rule-only llmswitch_auto; {rps[s]:.0f} req/s at c={c}"
            )
        if s.startswith("semantic"):
            lines.append(
                f"{s}: {rps[s]:.0f} req/s and added p99 {p99_loaded[s] - p99_loaded['envoy']:.2f} ms at c={c} "
                f"(targets >= 200, <= 25 ms); added p50 {p50[s] - p50['envoy']:.2f} ms, p99 "
                f"{p99[s] - p99['envoy']:.2f} ms at c=1"
            )
    for line in lines:
        if line is not None:
            console.print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
