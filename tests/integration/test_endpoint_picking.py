"""Replicas behind the real Envoy: the router picks the least-loaded one, keeps conversations on theirs,
stops trusting a replica whose metrics stop answering, and Envoy goes where the GIE header and the
`envoy.lb` metadata say (each tried alone)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml
from openai import OpenAI

from llmswitch.demo.stack import LocalStack, envoy_binary, envoy_ready, wait_for
from llmswitch.envoy_config import envoy_bootstrap
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics

INTERVAL_S = 0.1
STALE_AFTER_S = 0.6


class Replicas:
    def __init__(self, ports: list[int]) -> None:
        self.addresses = [f"127.0.0.1:{port}" for port in ports]

    def put(self, address: str, what: str, **values: object) -> None:
        httpx.put(f"http://{address}/_stub/{what}", json=values, timeout=5).raise_for_status()

    def load(self, *waiting: float) -> None:
        for address, queue in zip(self.addresses, waiting, strict=True):
            self.put(address, "load", waiting=queue)
        time.sleep(3 * INTERVAL_S)  # the router reads them

    def received(self, address: str) -> list[dict]:
        return httpx.get(f"http://{address}/_stub/requests", timeout=5).json()

    def clear(self) -> None:
        for address in self.addresses:
            httpx.delete(f"http://{address}/_stub/requests", timeout=5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    tmp_path = tmp_path_factory.mktemp("replicas")
    ports = free_ports(9)
    data = base_config(ports[:6])
    data["endpoint_picking"] = {
        "enabled": True,
        "scrape_interval_s": INTERVAL_S,
        "scrape_timeout_s": 0.2,
        "stale_after_s": STALE_AFTER_S,
    }
    data["models"][1] = {"name": "large-model", "endpoints": [f"127.0.0.1:{p}" for p in ports[6:]]}
    data["default_model"] = "large-model"
    stack = LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path).start()
    yield stack
    stack.stop()


@pytest.fixture
def replicas(stack) -> Replicas:
    replicas = Replicas([port for _, port in stack.config.model("large-model").addresses])
    for address in replicas.addresses:
        replicas.put(address, "metrics", mode="ok")
    replicas.load(0, 0, 0)
    replicas.clear()
    return replicas


def served_by(base_url: str, count: int, concurrency: int = 4) -> Counter:
    client = OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=20)

    def one(index: int) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": f"question {index} {time.monotonic()}"}]
        )
        return raw.headers["x-served-by"]

    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(pool.map(one, range(count)))


def test_requests_go_to_the_least_loaded_replica(stack, replicas):
    a, b, c = replicas.addresses
    replicas.load(20, 0, 20)
    assert served_by(stack.base_url, 24)[b] >= 20  # round robin would give it 8
    replicas.load(0, 20, 20)
    assert served_by(stack.base_url, 24)[a] >= 20
    metrics = scrape_metrics(stack)
    assert metrics[("llmswitch_endpoint_waiting_requests", (("endpoint", b), ("model", "large-model")))] == 20


def test_a_conversation_stays_on_the_replica_that_served_its_start(stack, replicas):
    client = OpenAI(base_url=stack.base_url, api_key="k", max_retries=0, timeout=20)
    served = []
    for conversation in range(3):
        messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"topic {conversation}"}]
        turns = []
        for turn in range(4):
            raw = client.chat.completions.with_raw_response.create(model="auto", messages=messages)
            turns.append(raw.headers["x-served-by"])
            messages += [
                {"role": "assistant", "content": raw.parse().choices[0].message.content},
                {"role": "user", "content": f"and then {turn}?"},
            ]
        served.append(turns)
    for turns in served:
        assert len(set(turns)) == 1, served
    picks = scrape_metrics(stack)
    affinity = sum(
        v
        for (name, labels), v in picks.items()
        if name == "llmswitch_endpoint_picks_total" and ("reason", "affinity") in labels
    )
    assert affinity >= 9


def test_a_replica_whose_metrics_stop_answering_stops_being_preferred(stack, replicas):
    a, b, c = replicas.addresses
    replicas.load(10, 0, 10)
    assert served_by(stack.base_url, 8)[b] >= 7
    replicas.put(b, "metrics", mode="hang")
    time.sleep(STALE_AFTER_S + 3 * INTERVAL_S)
    after = served_by(stack.base_url, 12)
    assert after[b] == 0 and after[a] + after[c] == 12
    labels = (("endpoint", b), ("model", "large-model"))
    metrics = scrape_metrics(stack)
    assert metrics[("llmswitch_endpoint_up", labels)] == 0
    assert metrics[("llmswitch_endpoint_scrape_errors_total", labels)] > 0
    # All replicas stale: nothing named, Envoy's round robin serves every request.
    for address in (a, c):
        replicas.put(address, "metrics", mode="error")
    time.sleep(STALE_AFTER_S + 3 * INTERVAL_S)
    fallback = served_by(stack.base_url, 9, concurrency=1)
    assert sum(fallback.values()) == 9 and len(fallback) == 3
    assert scrape_metrics(stack)[("llmswitch_endpoint_fallbacks_total", (("model", "large-model"),))] >= 9


def test_the_request_reaches_the_host_the_router_named_and_envoy_reports_it(stack, replicas):
    replicas.load(5, 5, 0)
    before = scrape_metrics(stack)
    served = served_by(stack.base_url, 6, concurrency=1)
    c = replicas.addresses[2]
    assert served == {c: 6}
    for record in replicas.received(c):
        named = record["headers"]["x-gateway-destination-endpoint"].split(",")
        assert named[0] == c and len(named) == 2  # the pick, then one retry's host (routing.retries.num_retries: 1)
        assert record["headers"]["x-gateway-model-name"] == "large-model"
    key = ("llmswitch_endpoint_responses_total", (("endpoint", c), ("model", "large-model"), ("status_class", "2xx")))
    time.sleep(0.3)  # the observer records after the response
    assert scrape_metrics(stack)[key] - before.get(key, 0) == 6


def _start_envoy_variant(stack: LocalStack, tmp_path: Path, keep_source: str) -> tuple[str, str]:
    """Another Envoy in front of the same router, whose override-host policy reads only one source."""
    listener, admin = free_ports(2)
    bootstrap = envoy_bootstrap(stack.config)
    bootstrap["admin"]["address"]["socket_address"]["port_value"] = admin
    bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = listener
    for cluster in bootstrap["static_resources"]["clusters"]:
        if cluster["name"] == "model_large-model":
            override = cluster["load_balancing_policy"]["policies"][0]["typed_extension_config"]["typed_config"]
            override["override_host_sources"] = [s for s in override["override_host_sources"] if keep_source in s]
    path = tmp_path / f"envoy-{keep_source}.yaml"
    path.write_text(yaml.safe_dump(bootstrap))
    name = f"envoy-{keep_source}"
    process = stack._spawn(name, [envoy_binary(), "-c", str(path), "--disable-hot-restart", "--log-level", "warning"])
    wait_for(lambda: envoy_ready(admin), name, process=process)
    return f"http://127.0.0.1:{listener}/v1", name


@pytest.mark.parametrize("source", ["header", "metadata"])
def test_envoy_follows_the_header_alone_and_the_metadata_alone(stack, replicas, tmp_path, source):
    base_url, name = _start_envoy_variant(stack, tmp_path, source)
    try:
        replicas.load(7, 0, 7)
        assert served_by(base_url, 9, concurrency=1) == {replicas.addresses[1]: 9}  # round robin: 3 each
    finally:
        stack._stop(name)
