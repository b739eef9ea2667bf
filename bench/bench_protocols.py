"""What translation adds to a streamed answer, through the real Envoy, against a same-run baseline.

One stack (stub models, llmswitch, Envoy): `small-model` speaks OpenAI chat completions,
`claude-model` Anthropic Messages. Each client API streams from each model, one request at a time;
the pair where client and model speak the same API (no translation, the router never sees the
answer) is the baseline. Printed per pair: time to the first event and to the first text delta
(p50/p99), the whole stream, and the difference to the same-API baseline of that client SDK.

    python bench/bench_protocols.py --requests 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import anthropic
import openai
import yaml
from rich.console import Console
from rich.table import Table

from llmswitch.demo.stack import LocalStack

CLAUDE, GPT = "claude-model", "small-model"
# Ports below the ephemeral range, away from the demo's.
LISTENER, ADMIN, ROUTER, METRICS, GPT_PORT, CLAUDE_PORT = 28080, 28901, 28051, 28090, 28001, 28002


def stack_config(folder: Path) -> Path:
    data = {
        "version": "v1",
        "listener": {"port": LISTENER, "admin_port": ADMIN},
        "router": {"port": ROUTER},
        "telemetry": {"metrics": {"port": METRICS}, "access_log": False},
        "models": [
            {"name": GPT, "endpoint": f"127.0.0.1:{GPT_PORT}"},
            {"name": CLAUDE, "endpoint": f"127.0.0.1:{CLAUDE_PORT}", "api": "anthropic"},
        ],
        "signals": {"keywords": [{"name": "claude", "keywords": ["claude"]}]},
        "decisions": [{"name": "to_claude", "rules": {"type": "keyword", "name": "claude"},
                       "modelRefs": [{"model": CLAUDE}]}],
        "default_model": GPT,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def timed(events: Iterable[object], is_text: Callable[[object], bool]) -> tuple[float, float, float]:
    """(first event, first text event, end) in ms from the call, reading the stream to its end."""
    start = time.perf_counter()
    first = first_text = None
    for event in events:
        now = time.perf_counter()
        first = first if first is not None else now
        if first_text is None and is_text(event):
            first_text = now
    end = time.perf_counter()
    return tuple((t - start) * 1000 for t in (first or end, first_text or end, end))  # type: ignore[return-value]


def senders(stack: LocalStack) -> dict[str, Callable[[str], tuple[float, float, float]]]:
    oai = openai.OpenAI(base_url=stack.base_url, api_key="bench", max_retries=0, timeout=30)
    claude = anthropic.Anthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="bench", max_retries=0, timeout=30)

    def chat(prompt: str) -> tuple[float, float, float]:
        start = time.perf_counter()
        stream = oai.chat.completions.create(model="auto", stream=True, messages=[{"role": "user", "content": prompt}])
        return _shift(start, timed(stream, lambda c: bool(c.choices and c.choices[0].delta.content)))

    def responses(prompt: str) -> tuple[float, float, float]:
        start = time.perf_counter()
        stream = oai.responses.create(model="auto", stream=True, input=prompt)
        return _shift(start, timed(stream, lambda e: e.type == "response.output_text.delta"))

    def messages(prompt: str) -> tuple[float, float, float]:
        start = time.perf_counter()
        stream = claude.messages.create(model="auto", max_tokens=64, stream=True,
                                        messages=[{"role": "user", "content": prompt}])
        return _shift(start, timed(stream, lambda e: e.type == "content_block_delta"))

    return {"chat": chat, "responses": responses, "messages": messages}


def _shift(start: float, marks: tuple[float, float, float]) -> tuple[float, float, float]:
    """The marks measured from `start` (the request was sent) rather than from the first read."""
    offset = (time.perf_counter() - start) * 1000 - marks[2]
    return tuple(m + offset for m in marks)  # type: ignore[return-value]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="streamed requests per client API and model")
    args = parser.parse_args()
    pairs = [(api, model) for api in ("chat", "messages", "responses") for model in (GPT, CLAUDE)]
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {pair: [] for pair in pairs}
    with tempfile.TemporaryDirectory() as folder, LocalStack(stack_config(Path(folder)), log_dir=Path(folder)) as stack:
        send = senders(stack)
        for _ in range(10):  # warm up connections and the router
            for api, model in pairs:
                send[api]("claude, hi" if model == CLAUDE else "hi")
        for _ in range(args.requests):  # interleaved, so drift affects every pair alike
            for api, model in pairs:
                results[(api, model)].append(send[api]("claude, hi" if model == CLAUDE else "hi"))
    native = {"chat": GPT, "responses": None, "messages": CLAUDE}
    table = Table(title=f"Streamed answers through Envoy, {args.requests} requests per row, ms")
    for column in ("client API", "model API", "translated", "first event p50/p99", "first text p50/p99",
                   "whole stream p50", "first event vs same-API p50"):
        table.add_column(column)
    for (api, model), marks in results.items():
        first, text, end = ([m[i] for m in marks] for i in range(3))
        baseline_model = native[api] or GPT
        base_first = statistics.median(m[0] for m in results[(api if native[api] else "chat", baseline_model)])
        translated = not (api == "chat" and model == GPT or api == "messages" and model == CLAUDE)
        table.add_row(
            api, "anthropic" if model == CLAUDE else "openai", "yes" if translated else "no",
            f"{statistics.median(first):.2f} / {percentile(first, 99):.2f}",
            f"{statistics.median(text):.2f} / {percentile(text, 99):.2f}",
            f"{statistics.median(end):.1f}",
            f"{statistics.median(first) - base_first:+.2f}",
        )
    Console(width=150).print(table)
    print("Baselines: chat and responses clients against chat -> openai (no translation); messages against "
          "messages -> anthropic. The stubs pause 50 ms between text deltas, so first text and whole stream "
          "are dominated by the stubs; first event is where the router's share shows.")


if __name__ == "__main__":
    main()
