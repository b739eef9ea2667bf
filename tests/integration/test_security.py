"""Upstream credentials: added by the router from the environment, never shown to clients or telemetry."""

import httpx
import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config

pytestmark = pytest.mark.integration

SECRET = "sk-upstream-secret-1234"


def test_router_adds_the_model_key_and_never_logs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LARGE_MODEL_API_KEY", SECRET)
    data = base_config(free_ports(6))
    data["models"][1]["api_key_env"] = "LARGE_MODEL_API_KEY"
    with LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path) as stack:
        body = {"model": "auto", "messages": [{"role": "user", "content": "python"}]}
        response = httpx.post(
            f"{stack.base_url}/chat/completions", json=body, headers={"authorization": "Bearer client-key"}, timeout=10
        )
        assert response.status_code == 200
        seen = httpx.get(f"http://127.0.0.1:{stack.config.models[1].port}/_stub/requests", timeout=5).json()[-1]
        metrics = httpx.get(f"http://127.0.0.1:{stack.config.telemetry.metrics.port}/metrics", timeout=5).text
        small = httpx.post(
            f"{stack.base_url}/chat/completions",
            json={**body, "messages": [{"role": "user", "content": "hello"}]},
            headers={"authorization": "Bearer client-key"},
            timeout=10,
        )
        small_seen = httpx.get(f"http://127.0.0.1:{stack.config.models[0].port}/_stub/requests", timeout=5).json()[-1]
    assert seen["headers"]["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in response.text and SECRET not in str(response.headers)
    assert SECRET not in metrics
    assert SECRET not in stack.log("router") and "client-key" not in stack.log("router")
    assert small.status_code == 200
    assert small_seen["headers"]["authorization"] == "Bearer client-key"  # models without a key: as sent


def test_missing_key_variable_stops_the_router_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("ABSENT_API_KEY", raising=False)
    data = base_config(free_ports(6))
    data["models"][1]["api_key_env"] = "ABSENT_API_KEY"
    stack = LocalStack(write_config(tmp_path / "config.yaml", data), start_upstreams=False, log_dir=tmp_path)
    with pytest.raises(RuntimeError, match="exited"):
        stack.start_router_process()
    stack.stop()
    assert "models[1].api_key_env: environment variable ABSENT_API_KEY is not set" in stack.log("router")
