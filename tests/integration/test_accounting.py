"""The response path: usage and cost per model, budgets (memory and Redis), router-side health."""

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from llmswitch.budget import request_cost
from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until
from tests.integration.redis_server import redis_server

pytestmark = pytest.mark.integration

PROMPT = "hi there"  # 8 bytes: 2 estimated prompt tokens, as the stub reports
MAX_TOKENS = 5


def chat(stack, content: str = PROMPT, model: str = "auto", **headers: str) -> httpx.Response:
    body = {"model": model, "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": content}]}
    return httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=10)


def small_cost(stack) -> float:
    return request_cost(stack.config.models[0], 2, MAX_TOKENS)


def start(tmp_path, mutate) -> LocalStack:
    """A stack (started by `with`) on the test config after `mutate`."""
    data = base_config(free_ports(6))
    mutate(data)
    return LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path)


def test_usage_and_cost_per_model_from_json_and_sse(tmp_path):
    with start(tmp_path, lambda d: None) as stack:
        assert chat(stack).status_code == 200
        body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": "python streaming"}]}
        with httpx.stream("POST", f"{stack.base_url}/chat/completions", json=body, timeout=10) as response:
            assert b"[DONE]" in b"".join(response.iter_raw())

        def seen() -> dict:
            return scrape_metrics(stack)

        small_prompt = ("llmswitch_model_tokens_total", (("kind", "prompt"), ("model", "small-model")))
        large_completion = ("llmswitch_model_tokens_total", (("kind", "completion"), ("model", "large-model")))
        assert wait_until(lambda: large_completion in seen() and small_prompt in seen())
        metrics = seen()
        assert metrics[small_prompt] == 2
        assert metrics[("llmswitch_model_tokens_total", (("kind", "completion"), ("model", "small-model")))] == MAX_TOKENS
        assert metrics[("llmswitch_model_cost_total", (("model", "small-model"),))] == pytest.approx(small_cost(stack))
        assert metrics[large_completion] == 5  # from the SSE usage chunk the router asked for
        assert metrics[("llmswitch_model_responses_total", (("model", "large-model"), ("status_class", "2xx")))] == 1
        assert metrics[("llmswitch_model_time_to_first_byte_seconds_count", (("model", "small-model"),))] == 1


def test_two_router_processes_share_a_redis_budget(tmp_path):
    with redis_server() as url:
        requests = 240

        def configure(data: dict) -> None:
            cost = request_cost_for(data)
            data["router"]["workers"] = 2
            data["budget"] = {
                "limits": [{"scope": "daily", "amount": cost * 100}],
                "on_exceeded": "reject",
                "store": {"type": "redis", "url": url},
            }

        with start(tmp_path, configure) as stack:
            cost = small_cost(stack)
            limit = stack.config.budget.limits[0].amount
            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(lambda _: chat(stack).status_code, range(requests)))
            client = redis.Redis.from_url(url)
            [key] = client.keys("llmswitch:budget:day:*")
            ok = statuses.count(200)

            def settled() -> bool:
                return float(client.get(key)) == pytest.approx(ok * cost, rel=1e-9)

            assert wait_until(settled), (float(client.get(key)), ok * cost)
            spent = float(client.get(key))
            served = [scrape_metrics(stack, w)[("llmswitch_requests_total", (("decision", "default"), ("model", "small-model")))] for w in (0, 1)]
    assert statuses.count(429) == requests - ok > 0
    assert set(statuses) == {200, 429}
    assert limit - cost <= spent <= limit + cost * 1.000001  # never more than one request over
    assert all(count > 0 for count in served), served  # both processes routed and charged


def request_cost_for(data: dict) -> float:
    pricing = data["models"][0]["pricing"]
    return (2 * pricing["input_per_1m"] + MAX_TOKENS * pricing["output_per_1m"]) / 1e6


def test_budget_reject_answers_429_and_tenants_cannot_spend_for_each_other(tmp_path):
    def configure(data: dict) -> None:
        data["budget"] = {
            "limits": [{"scope": "tenant_daily", "amount": request_cost_for(data) * 3}],
            "on_exceeded": "reject",
            "tenants": [
                {"name": "acme", "api_key_sha256": hashlib.sha256(b"key-acme").hexdigest()},
                {"name": "globex", "api_key_sha256": hashlib.sha256(b"key-globex").hexdigest()},
            ],
        }

    with start(tmp_path, configure) as stack:
        acme = {"authorization": "Bearer key-acme"}
        statuses = []
        for _ in range(4):
            statuses.append(chat(stack, **acme).status_code)
            time.sleep(0.1)  # let the observer settle each response
        assert statuses == [200, 200, 200, 429]
        refused = chat(stack, **acme)
        assert refused.json()["error"]["code"] == "insufficient_quota"
        # Claiming another tenant, or forging a refund of the reservation header, changes nothing.
        assert chat(stack, **acme, **{"x-tenant-id": "globex"}).status_code == 429
        forged = "-1.0;llmswitch:budget:tenant:acme:day:" + time.strftime("%Y-%m-%d", time.gmtime())
        assert chat(stack, **acme, **{"x-llmswitch-budget": forged}).status_code == 429
        assert chat(stack, authorization="Bearer key-globex").status_code == 200


def test_budget_downgrade_sends_requests_to_the_cheaper_model(tmp_path):
    def configure(data: dict) -> None:
        data["models"][1]["pricing"] = {"input_per_1m": 10.0, "output_per_1m": 30.0}
        large = (2 * 10.0 + MAX_TOKENS * 30.0) / 1e6
        data["budget"] = {"limits": [{"scope": "global", "amount": large * 2}], "on_exceeded": "downgrade"}

    with start(tmp_path, configure) as stack:
        models = []
        for _ in range(4):
            models.append(chat(stack, "help with python").headers["x-upstream-name"])
            time.sleep(0.1)
        assert models == ["large-model", "large-model", "small-model", "small-model"]
        assert scrape_metrics(stack)[("llmswitch_budget_downgrades_total", ())] == 2


def test_failing_model_leaves_rotation_and_returns_after_cooldown(tmp_path, capsys):
    def configure(data: dict) -> None:
        data["health"] = {"failure_threshold": 3, "window_s": 30, "cooldown_s": 1.5}

    with start(tmp_path, configure) as stack:
        large = f"http://127.0.0.1:{stack.config.models[1].port}/_stub/fail"
        assert chat(stack, "python").headers["x-upstream-name"] == "large-model"
        httpx.put(large, json={"status": 500}, timeout=5)
        # Each request fails over within itself (no client error); after failure_threshold failovers the
        # router stops trying large-model first.
        answers = []
        for _ in range(4):
            answers.append(chat(stack, "python"))
            time.sleep(0.1)  # the observer records each failure just after the response
        assert [r.status_code for r in answers] == [200] * 4
        assert {r.headers["x-upstream-name"] for r in answers} == {"small-model"}  # the decision's fallback
        tried_first = sum("x-llmswitch-failover" in r.headers for r in answers)
        assert tried_first == 3 and "x-llmswitch-failover" not in answers[-1].headers
        failed_before_move = sum(r.status_code != 200 for r in answers)
        healed = time.monotonic()
        httpx.put(large, json={"status": 0}, timeout=5)
        while chat(stack, "python").headers["x-upstream-name"] != "large-model":
            assert time.monotonic() - healed < 10
            time.sleep(0.05)
        recovery_s = time.monotonic() - healed
        assert scrape_metrics(stack)[("llmswitch_model_healthy", (("model", "large-model"),))] in (0, 1)
    with capsys.disabled():
        print(
            f"\nfailover: {failed_before_move} failed requests, {tried_first} tried the failing model first; "
            f"recovered {recovery_s:.2f}s after heal"
        )
    assert recovery_s >= 1.0  # the cooldown, not an instant flap back
