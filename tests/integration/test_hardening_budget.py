"""Requests that never reach a model are not charged, through the real Envoy, with a Redis budget store
whose keys the tests read. Also: callers without a tenant, repeated tenant headers, and a hung router.

Every tenant-scoped limit here is tiny: one reservation left behind locks its tenant out, so each case
uses a tenant of its own and checks both the stored spend and that the tenant is still served.
"""

import json
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until
from tests.integration.redis_server import redis_server

pytestmark = pytest.mark.integration

PREFIX = "hardening"
PAUSE_MS = 2500  # longer than the message timeout (1 s): Envoy gives up while Redis holds the reservation


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with redis_server() as started:
        yield started


@pytest.fixture(scope="module")
def stack(tmp_path_factory, url) -> Iterator[LocalStack]:
    free = free_ports(8)
    data = base_config(free[:6])
    data["routing"]["message_timeout_ms"] = 1000
    data["models"][1]["pricing"] = {"input_per_1m": 1.0, "output_per_1m": 2.0}
    data["models"].append(
        {"name": "claude", "endpoint": f"127.0.0.1:{free[6]}", "api": "anthropic", "pricing": {"input_per_1m": 3, "output_per_1m": 15}}
    )
    # Nothing listens on 127.0.0.2 (the stack starts stubs on 127.0.0.1 only): every connection is refused.
    data["models"].append({"name": "offline", "endpoint": f"127.0.0.2:{free[7]}", "pricing": {"input_per_1m": 1, "output_per_1m": 1}})
    data["budget"] = {
        "limits": [{"scope": "tenant", "amount": 1e-9}],
        "on_exceeded": "reject",
        "anonymous": "unlimited",
        "store": {"type": "redis", "url": url, "key_prefix": PREFIX},
    }
    path = tmp_path_factory.mktemp("hardening_budget")
    with LocalStack(write_config(path / "config.yaml", data), log_dir=path) as started:
        yield started


@pytest.fixture(scope="module")
def store(url) -> redis.Redis:
    return redis.Redis.from_url(url)


def chat(stack: LocalStack, tenant: str | None, model: str = "auto", content: str = "hello", **extra) -> httpx.Response:
    headers = {"x-tenant-id": tenant} if tenant else {}
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=20)


def spent(store: redis.Redis, tenant: str) -> float:
    return float(store.get(f"{PREFIX}:tenant:{tenant}") or 0)


def still_served(stack: LocalStack, store: redis.Redis, tenant: str) -> None:
    """Nothing was left reserved for `tenant`: its spend settles at zero and it gets its next answer."""
    assert wait_until(lambda: spent(store, tenant) == pytest.approx(0, abs=1e-12), timeout_s=5), spent(store, tenant)
    assert chat(stack, tenant).status_code == 200


def test_a_body_that_outgrows_the_limit_when_routed_is_refused_before_any_charge(stack, store):
    # Compact JSON naming "auto"; the router's rewrite names "small-model" (7 bytes more).
    limit = stack.config.router.max_body_bytes
    shell = len(json.dumps({"model": "auto", "messages": [{"role": "user", "content": ""}]}, separators=(",", ":")))
    body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "a" * (limit - shell)}]}, separators=(",", ":"))
    assert len(body) == limit
    for _ in range(2):
        response = httpx.post(f"{stack.base_url}/chat/completions", content=body, headers={"x-tenant-id": "grows"}, timeout=20)
        assert response.status_code == 413
        assert "when the router names the model" in response.json()["error"]["message"]
    still_served(stack, store, "grows")


def test_a_refusal_after_admission_releases_the_reservation(stack, store):
    # Passed through to an Anthropic model, a field Messages cannot express is refused after admission.
    response = chat(stack, "refused", model="claude", logit_bias={"50256": -100})
    assert response.status_code == 400 and response.json()["error"]["code"] == "untranslatable_field"
    still_served(stack, store, "refused")


def test_an_unreachable_model_costs_nothing(stack, store):
    response = chat(stack, "unreachable", model="offline")
    assert response.status_code == 503
    still_served(stack, store, "unreachable")


def test_a_reservation_made_after_envoy_gave_up_is_undone(stack, store):
    """Redis holds the reservation past Envoy's message timeout: the client gets 504, the router is
    cancelled while waiting, and the reservation Redis then makes is undone."""
    store.execute_command("CLIENT", "PAUSE", PAUSE_MS, "WRITE")  # reads (the tests' GETs) go on
    response = chat(stack, "late")
    assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
    time.sleep(PAUSE_MS / 1000)
    still_served(stack, store, "late")


def test_callers_without_a_tenant_are_not_tenant_limited_when_configured(stack, store):
    assert [chat(stack, None).status_code for _ in range(3)] == [200, 200, 200]
    assert spent(store, "-") == 0  # `anonymous: unlimited`: no shared '-' budget


def test_a_repeated_tenant_header_is_refused(stack):
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    headers = [("x-tenant-id", "acme"), ("x-tenant-id", "globex")]
    response = httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=20)
    assert response.status_code == 400 and response.json()["error"]["param"] == "x-tenant-id"


def test_a_hung_router_is_a_504_and_its_streams_count_as_reset(stack):
    resets = ("llmswitch_extproc_streams_total", (("end", "reset"),))
    before = scrape_metrics(stack).get(resets, 0)
    router = stack.processes["router"]
    os.kill(router.pid, signal.SIGSTOP)
    try:
        response = chat(stack, None)
    finally:
        os.kill(router.pid, signal.SIGCONT)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout" and "per-message_timeout" in response.json()["error"]["message"]
    assert wait_until(lambda: scrape_metrics(stack).get(resets, 0) > before, timeout_s=5)
    assert chat(stack, None).status_code == 200
