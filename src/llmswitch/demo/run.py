"""`llmswitch demo`: real requests through a real Envoy, routed by llmswitch to stub models."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from importlib import resources

from anthropic import Anthropic
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
    api: str = "chat"
    """The client API it is sent in: chat (OpenAI chat completions), responses (OpenAI Responses), messages (Anthropic)."""


LONG_DOCUMENT = "The quarterly report covers revenue, costs and hiring in every region. " * 130

DEMO_PROMPTS = (
    DemoPrompt("everyday question", "What is the capital of France?"),
    DemoPrompt("code keyword", "Write a Python function that reverses a linked list."),
    DemoPrompt("maths (domain)", "Solve for x: 3x + 7 = 22."),
    DemoPrompt("refund (similarity)", "Can I get my money back for last week's order?"),
    DemoPrompt("premium header", "Summarise the plot of Hamlet.", headers={"x-tier": "premium"}),
    DemoPrompt("long context (~2.3k tokens)", f"Summarise this document:\n{LONG_DOCUMENT}"),
    DemoPrompt("explicit model", "Hello there!", model="small-model"),
    DemoPrompt("streamed code question", "Explain this stack trace and how to fix it.", stream=True),
    DemoPrompt("writing (streamed)", "Write a short poem about the sea.", stream=True),
    DemoPrompt("proofreading", "Proofread this sentence: their going home.", api="messages"),
    DemoPrompt("code (streamed)", "Refactor this Python loop.", api="messages", stream=True),
    DemoPrompt("essay outline", "Write an essay outline on rivers.", api="responses"),
)


def _raw_reply(clients: tuple[OpenAI, Anthropic], item: DemoPrompt):
    """The reply with its headers, in the item's client API, read to its end."""
    openai_client, anthropic_client = clients
    messages = [{"role": "user", "content": item.prompt}]
    common = {"model": item.model, "stream": item.stream, "extra_headers": item.headers}
    if item.api == "messages":
        raw = anthropic_client.messages.with_raw_response.create(messages=messages, max_tokens=256, **common)
    elif item.api == "responses":
        raw = openai_client.responses.with_raw_response.create(input=item.prompt, **common)
    else:
        raw = openai_client.chat.completions.with_raw_response.create(messages=messages, **common)
    parsed = raw.parse()
    if item.stream:
        for _event in parsed:
            pass
    return raw


def send(clients: tuple[OpenAI, Anthropic], item: DemoPrompt) -> tuple[str, str, str]:
    """Returns (decision, routed model, answering upstream); reads the whole reply, streamed or not."""
    headers = _raw_reply(clients, item).headers
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
                clients = (
                    OpenAI(base_url=stack.base_url, api_key="demo", max_retries=0, timeout=30),
                    Anthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="demo", max_retries=0, timeout=30),
                )
                table = Table(title=f"llmswitch demo: requests through Envoy at {stack.base_url}")
                for column in ("request", "client API", "model asked", "decision", "routed to", "answered by"):
                    table.add_column(column)
                for item in DEMO_PROMPTS:
                    decision, routed, upstream = send(clients, item)
                    table.add_row(item.label, item.api, item.model, decision, routed, upstream)
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
