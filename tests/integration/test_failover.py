"""In-request failover and rate-limit cooldowns, through the real Envoy (composite clusters per chain).

The stack: `large-model` (the code decision's model), `backup-model` (an Anthropic Messages model,
routing.fallback_models), `small-model` (default_model) and `remote-model`, served by a stub process of
its own on 127.0.0.2 that the tests start and stop (stopped: connections are refused).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from llmswitch.demo.stack import LocalStack, port_open
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until

pytestmark = pytest.mark.integration

CODE = {"model": "auto", "messages": [{"role": "user", "content": "write python"}]}
PLAIN = {"model": "auto", "messages": [{"role": "user", "content": "hello"}]}
PREMIUM = {"x-tier": "premium"}
SPLIT = {"x-experiment": "split"}


def failover_config(ports: list[int], **routing: object) -> dict:
    listener, admin, router, small, large, metrics, backup, remote = ports
    data = base_config([listener, admin, router, small, large, metrics], **routing)
    data["models"] += [
        {"name": "backup-model", "endpoint": f"127.0.0.1:{backup}", "api": "anthropic"},
        {"name": "remote-model", "endpoint": f"127.0.0.2:{remote}"},
    ]
    data["routing"].update(fallback_models=["backup-model"])
    data["routing"].setdefault("failover", {"per_try_timeout_s": 1.5})
    # Every request tries its model first: each one must fail over by itself, with no health exclusion.
    data["health"] = {"failure_threshold": 1000, "rate_limits": {"default_cooldown_s": 1}}
    data["routing"]["outlier_detection"] = {"enabled": False}
    decisions = data["decisions"]
    decisions[0]["rules"] = {"type": "keyword", "name": "code"}  # large-model
    decisions.insert(1, {
        "name": "remote_decision",
        "priority": 90,
        "rules": {"type": "header", "name": "premium"},
        "modelRefs": [{"model": "remote-model"}],
    })
    decisions[-1]["modelRefs"] = [{"model": "large-model", "weight": 1}, {"model": "small-model", "weight": 1}]
    return data


class FailoverStack:
    def __init__(self, tmp: Path, **routing: object) -> None:
        ports = free_ports(8)
        self.remote_port = ports[-1]
        self.tmp = tmp
        self.stack = LocalStack(write_config(tmp / "config.yaml", failover_config(ports, **routing)), log_dir=tmp).start()
        self.ports = {m.name: m.port for m in self.stack.config.models}
        self.remote: subprocess.Popen | None = None
        self.client = OpenAI(base_url=self.stack.base_url, api_key="test", max_retries=0, timeout=20)

    def start_remote(self) -> None:
        argv = [sys.executable, "-m", "llmswitch.demo.upstream", f"remote-model={self.remote_port}", "--host", "127.0.0.2"]
        self.remote = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: port_open("127.0.0.2", self.remote_port), 15)

    def stop_remote(self) -> None:
        if self.remote is not None:
            self.remote.terminate()
            self.remote.wait(10)
            self.remote = None

    def fail(self, model: str, **settings: object) -> None:
        httpx.put(f"http://127.0.0.1:{self.ports[model]}/_stub/fail", json=settings, timeout=5).raise_for_status()

    def received(self, model: str) -> list[dict]:
        host = "127.0.0.2" if model == "remote-model" else "127.0.0.1"
        return httpx.get(f"http://{host}:{self.ports[model]}/_stub/requests", timeout=5).json()

    def clear(self) -> None:
        for model in ("small-model", "large-model", "backup-model"):
            self.fail(model, status=0)
            httpx.delete(f"http://127.0.0.1:{self.ports[model]}/_stub/requests", timeout=5)

    def post(self, body: dict = CODE, headers: dict | None = None) -> httpx.Response:
        return httpx.post(f"{self.stack.base_url}/chat/completions", json=body, headers=headers or {}, timeout=20)

    def stop(self) -> None:
        self.stop_remote()
        self.stack.stop()


@pytest.fixture(scope="module")
def fo(tmp_path_factory) -> Iterator[FailoverStack]:
    stack = FailoverStack(tmp_path_factory.mktemp("failover"))
    yield stack
    stack.stop()


@pytest.fixture
def stubs(fo: FailoverStack) -> FailoverStack:
    fo.clear()
    time.sleep(1.1)  # any cooldown a previous test left ends
    return fo


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 503},
        {"mode": "reset"},
        {"mode": "hang", "hang_s": 5},
        {"status": 429, "headers": {"retry-after": "1"}},
    ],
    ids=["500", "503", "reset", "hang", "429"],
)
def test_a_failing_model_fails_over_within_the_request(stubs, fault):
    stubs.fail("large-model", **fault)
    raw = stubs.client.chat.completions.with_raw_response.create(**CODE)
    completion = raw.parse()
    # The next model of the chain answered, in the client's API (backup-model speaks Anthropic Messages).
    assert raw.headers["x-llmswitch-model"] == "backup-model"
    assert raw.headers["x-llmswitch-failover"] == "large-model"
    assert raw.headers["x-llmswitch-attempts"] == "2"
    assert raw.headers["x-llmswitch-decision"] == "code_decision"
    assert completion.choices[0].message.content == "Hello from backup-model."
    sent = stubs.received("backup-model")[-1]
    assert sent["path"] == "/v1/messages"
    assert '"model":"backup-model"' in sent["body"] and "max_tokens" in sent["body"]


def test_a_refused_model_costs_no_client_request_and_recovery_is_reported(stubs):
    stubs.stop_remote()
    answers = [stubs.post(PLAIN, PREMIUM) for _ in range(20)]
    assert [r.status_code for r in answers] == [200] * 20
    assert {r.headers["x-llmswitch-model"] for r in answers} == {"backup-model"}
    assert {r.headers["x-llmswitch-failover"] for r in answers} == {"remote-model"}
    healed = time.monotonic()
    stubs.start_remote()
    started = time.monotonic()
    assert wait_until(lambda: stubs.post(PLAIN, PREMIUM).headers["x-llmswitch-model"] == "remote-model", 10)
    recovery = time.monotonic() - started
    print(f"recovery after the model came back: {recovery:.3f} s ({started - healed:.2f} s to start it)")
    assert recovery < 2.0
    assert "x-llmswitch-failover" not in stubs.post(PLAIN, PREMIUM).headers


def test_a_weighted_decision_loses_no_request_while_one_of_its_models_is_down(stubs):
    stubs.fail("large-model", status=503)
    answers = [stubs.post(PLAIN, SPLIT) for _ in range(24)]
    assert [r.status_code for r in answers] == [200] * 24
    models = [r.headers["x-llmswitch-model"] for r in answers]
    assert set(models) == {"small-model"}
    failed_over = [r for r in answers if "x-llmswitch-failover" in r.headers]
    assert failed_over and {r.headers["x-llmswitch-failover"] for r in failed_over} == {"large-model"}
    # The ones the split sent to large-model were retried on small-model with small-model's name.
    assert all('"model":"small-model"' in r["body"] for r in stubs.received("small-model"))


def test_a_stream_is_never_retried_after_its_first_byte(stubs):
    stubs.fail("large-model", status=0, cut_streams=True)
    with httpx.stream("POST", f"{stubs.stack.base_url}/chat/completions", json={**CODE, "stream": True}, timeout=20) as r:
        assert r.status_code == 200 and r.headers["x-llmswitch-model"] == "large-model"
        text = "".join(r.iter_text())
    assert "[DONE]" not in text  # cut short, and not replayed on another model
    assert stubs.received("backup-model") == [] and stubs.received("small-model") == []


def test_429_cooldown_honours_retry_after(stubs):
    stubs.fail("large-model", status=429, headers={"retry-after": "2"})
    first = stubs.post()
    assert first.status_code == 200 and first.headers["x-llmswitch-failover"] == "large-model"
    limited = time.monotonic()
    stubs.fail("large-model", status=0)
    # While the cooldown lasts, the router sends code requests to the next model without trying large-model.
    answers = []
    while (answer := stubs.post()).headers["x-llmswitch-model"] != "large-model":
        assert "x-llmswitch-failover" not in answer.headers
        answers.append(answer)
        time.sleep(0.05)
    back = time.monotonic() - limited
    assert answers and {a.headers["x-llmswitch-model"] for a in answers} == {"backup-model"}
    assert len(stubs.received("large-model")) == 2  # the 429, then the first request after the cooldown
    print(f"Retry-After: 2 -> back on large-model {back:.3f} s after the 429")
    assert 2.0 <= back < 3.0, back


def test_429_without_hints_cools_down_for_the_default(stubs):
    stubs.fail("large-model", status=429, first=1)
    assert stubs.post().headers["x-llmswitch-failover"] == "large-model"
    limited = time.monotonic()
    assert wait_until(lambda: stubs.post().headers["x-llmswitch-model"] == "large-model", 5)
    assert 0.9 <= time.monotonic() - limited <= 2.0


def test_429_from_every_candidate_reaches_the_client_with_retry_after(stubs):
    for model in ("large-model", "backup-model", "small-model"):
        stubs.fail(model, status=429, headers={"retry-after": "3"})
    answer = stubs.post()
    assert answer.status_code == 429 and answer.headers["retry-after"] == "3"
    assert answer.headers["x-llmswitch-attempts"] == "3"
    assert answer.json()["error"]["type"]
    # Every candidate is now cooling down: the router answers by itself, in the client's API.
    direct = stubs.post()
    assert direct.status_code == 429 and 1 <= int(direct.headers["retry-after"]) <= 3
    assert direct.json()["error"]["code"] == "rate_limit_exceeded"
    messages = httpx.post(
        f"{stubs.stack.base_url}/messages",
        json={"model": "auto", "max_tokens": 16, "messages": [{"role": "user", "content": "write python"}]},
        timeout=20,
    )
    assert messages.status_code == 429 and messages.json()["error"]["type"] == "rate_limit_error"
    assert len(stubs.received("large-model")) == 1
    time.sleep(3)


def test_a_429_without_retry_after_from_the_last_candidate_gets_one(stubs):
    for model in ("large-model", "backup-model", "small-model"):
        stubs.fail(model, status=429, first=1)
    answer = stubs.post()
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"  # health.rate_limits.default_cooldown_s of this stack
    assert answer.headers["x-llmswitch-failover"] == "large-model,backup-model"


def test_failover_in_two_message_mode(tmp_path):
    stack = FailoverStack(tmp_path, ext_proc_messages="two")
    try:
        stack.fail("large-model", status=503)
        answer = stack.post()
        assert answer.status_code == 200
        assert answer.headers["x-llmswitch-model"] == "backup-model"
        assert answer.headers["x-llmswitch-failover"] == "large-model"
        assert '"model":"backup-model"' in stack.received("backup-model")[-1]["body"]
    finally:
        stack.stop()


def _streams(fo: FailoverStack) -> float:
    metrics = scrape_metrics(fo.stack)
    return sum(v for (name, _), v in metrics.items() if name == "llmswitch_extproc_streams_total")


def test_a_chain_request_that_needs_no_failover_costs_no_extra_ext_proc_stream(stubs):
    before = _streams(stubs)
    for _ in range(5):
        assert stubs.post().headers["x-llmswitch-attempts"] == "1"
    # Routing and the response observer only: the chain's upstream filters are skipped by their matchers.
    assert wait_until(lambda: _streams(stubs) == before + 10, 5), _streams(stubs) - before


def test_failovers_and_cooldowns_are_counted(stubs):
    def count(name: str, **labels: str) -> float:
        return scrape_metrics(stubs.stack).get((name, tuple(sorted(labels.items()))), 0.0)

    failovers = count("llmswitch_failovers_total", **{"from": "large-model", "to": "backup-model"})
    cooldowns = count("llmswitch_model_cooldowns_total", model="large-model", reason="rate_limited")
    stubs.fail("large-model", status=503, first=1)
    stubs.post()
    stubs.fail("large-model", status=429, first=1)
    stubs.post()
    assert wait_until(
        lambda: count("llmswitch_failovers_total", **{"from": "large-model", "to": "backup-model"}) == failovers + 2
    )
    assert count("llmswitch_model_cooldowns_total", model="large-model", reason="rate_limited") == cooldowns + 1
