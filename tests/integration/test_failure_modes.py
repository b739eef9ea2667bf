"""What Envoy does when the router is down, for both settings of failure_mode_allow."""

import time

import httpx
import pytest

from tests.integration.conftest import start_stack

pytestmark = pytest.mark.integration

BODY = {"model": "auto", "messages": [{"role": "user", "content": "write python"}]}


def test_fail_closed_answers_503_json_quickly(tmp_path):
    stack = start_stack(tmp_path, start_router=False, failure_mode_allow=False)
    try:
        started = time.monotonic()
        response = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, timeout=10)
        elapsed = time.monotonic() - started
    finally:
        stack.stop()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("server_error", "service_unavailable")
    assert "ext_proc_error" in error["message"]
    assert elapsed < 2.5  # connection refused, not a hung stream


def test_model_server_down_is_503_json(tmp_path):
    stack = start_stack(tmp_path)
    try:
        stack.stop_upstream_stubs()
        response = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, timeout=10)
    finally:
        stack.stop()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_fail_open_sends_everything_to_the_default_model(tmp_path):
    stack = start_stack(tmp_path, start_router=False, failure_mode_allow=True)
    try:
        plain = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, timeout=10)
        spoofed = httpx.post(
            f"{stack.base_url}/chat/completions",
            json=BODY,
            headers={"x-llmswitch-cluster": "model_large-model", "x-selected-model": "large-model"},
            timeout=10,
        )
    finally:
        stack.stop()
    # The keyword would pick large-model, but without the router every request takes the default route,
    # and a client-supplied cluster header is removed before routing.
    assert plain.status_code == 200 and plain.headers["x-upstream-name"] == "small-model"
    assert spoofed.status_code == 200 and spoofed.headers["x-upstream-name"] == "small-model"
    # Unrouted responses claim no routing result, even when the client sent its own copies.
    for response in (plain, spoofed):
        assert "x-llmswitch-model" not in response.headers and "x-llmswitch-decision" not in response.headers
