"""`llmswitch demo`: real requests through a real Envoy, routed by llmswitch to stub models."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from importlib import resources

from openai import OpenAI
from rich.console import Console
from rich.table import Table

from llmswitch.demo.stack import LocalStack
from llmswitch.demo.upstream import UPSTREAM_HEADER


@dataclass(frozen=True)
class DemoPrompt:
    label: str
    prompt: str
    model: str = "auto"
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False


LONG_DOCUMENT = "The quarterly report covers revenue, costs and hiring in every region. " * 130

DEMO_PROMPTS = (
    DemoPrompt("everyday question", "What is the capital of France?"),
    DemoPrompt("code keyword", "Write a Python function that reverses a linked list."),
    DemoPrompt("maths (domain)", "Solve for x: 3x + 7 = 22."),
    DemoPrompt("refund (similarity)", "Can I get my money back for last week's order?"),
    DemoPrompt("explanation (knn)", "Explain why the sky is blue."),
    DemoPrompt("premium header", "Summarise the plot of Hamlet.", headers={"x-tier": "premium"}),
    DemoPrompt("long context (~2.3k tokens)", f"Summarise this document:\n{LONG_DOCUMENT}"),
    DemoPrompt("explicit model", "Hello there!", model="small-model"),
    DemoPrompt("streamed code question", "Explain this stack trace and how to fix it.", stream=True),
)


def send(client: OpenAI, item: DemoPrompt) -> tuple[str, str, str]:
    """Returns (decision, routed model, answering upstream); reads the whole reply, streamed or not."""
    messages = [{"role": "user", "content": item.prompt}]
    raw = client.chat.completions.with_raw_response.create(
        model=item.model, messages=messages, stream=item.stream, extra_headers=item.headers
    )
    parsed = raw.parse()
    if item.stream:
        for _chunk in parsed:
            pass
    headers = raw.headers
    return (
        headers.get("x-llmswitch-decision", "-"),
        headers.get("x-llmswitch-model", "-"),
        headers.get(UPSTREAM_HEADER, "-"),
    )


def run_demo(keep_running: bool = False) -> int:
    console = Console(width=None if sys.stdout.isatty() else 110)
    config_path = resources.files("llmswitch.demo") / "demo.yaml"
    with resources.as_file(config_path) as path:
        stack = LocalStack(path)
        console.print("[bold]Starting[/] stub models, llmswitch and Envoy ...")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            with stack:
                client = OpenAI(base_url=stack.base_url, api_key="demo", max_retries=0, timeout=30)
                table = Table(title=f"llmswitch demo: requests through Envoy at {stack.base_url}")
                for column in ("request", "model asked", "decision", "routed to", "answered by"):
                    table.add_column(column)
                for item in DEMO_PROMPTS:
                    decision, routed, upstream = send(client, item)
                    table.add_row(item.label, item.model, decision, routed, upstream)
                console.print(table)
                if keep_running:
                    console.print(
                        f"Running. Try:\n  curl -s {stack.base_url}/chat/completions -H 'content-type: application/json' "
                        "-d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"def hello(): python\"}]}'\n"
                        "Ctrl-C stops everything."
                    )
                    while True:
                        time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")
    return 0
