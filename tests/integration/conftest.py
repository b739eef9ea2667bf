import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config


def start_stack(tmp_path: Path, *, start_router: bool = True, **routing: object) -> LocalStack:
    path = write_config(tmp_path / "config.yaml", base_config(free_ports(6), **routing))
    return LocalStack(path, start_router=start_router, log_dir=tmp_path).start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def client(stack) -> OpenAI:
    return OpenAI(base_url=stack.base_url, api_key="test-key", max_retries=0, timeout=20)


@pytest.fixture(scope="module")
def http(stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=20) as client:
        yield client


class Upstreams:
    """Reads what each stub model received."""

    def __init__(self, stack: LocalStack) -> None:
        self.ports = {m.name: m.port for m in stack.config.models}

    def received(self, model: str) -> list[dict]:
        return httpx.get(f"http://127.0.0.1:{self.ports[model]}/_stub/requests", timeout=5).json()

    def clear(self) -> None:
        for port in self.ports.values():
            httpx.delete(f"http://127.0.0.1:{port}/_stub/requests", timeout=5)


@pytest.fixture
def upstreams(stack) -> Upstreams:
    upstreams = Upstreams(stack)
    upstreams.clear()
    return upstreams


def scrape_metrics(stack: LocalStack, worker: int = 0) -> dict[tuple[str, tuple], float]:
    """The router's /metrics as {(sample name, sorted labels): value}."""
    port = stack.config.telemetry.metrics.port + worker
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def wait_until(predicate, timeout_s: float = 5.0, interval_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return False


def routed_by(stack: LocalStack, prompt: str) -> tuple[str, str]:
    """(decision, answering upstream) for one `"model": "auto"` prompt sent with the openai client."""
    client = OpenAI(base_url=stack.base_url, api_key="test", max_retries=0, timeout=20)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": prompt}]
    )
    return raw.headers["x-llmswitch-decision"], raw.headers["x-upstream-name"]
