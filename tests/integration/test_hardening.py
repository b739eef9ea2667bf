"""Hardening through the real Envoy: credentials only where a model serves, one meaning per request,
errors in the API's shape, and what the access log, metrics and accounting report.

One stack: `large-model` holds an upstream key (and is the default model), `small-model` does not.
"""

import gzip
import json
import os
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import Upstreams, scrape_metrics, wait_until

pytestmark = pytest.mark.integration

SECRET = "sk-hardening-upstream"
KEY_ENV = "HARDENING_LARGE_KEY"
CLIENT_KEY = "client-key"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    data = base_config(free_ports(6))
    large = data["models"][1]
    large.update(api_key_env=KEY_ENV, passthrough_paths=["POST /v1/embeddings"])
    large["pricing"] = {"input_per_1m": 1.0, "output_per_1m": 2.0}
    data["default_model"] = "large-model"
    path = tmp_path_factory.mktemp("hardening")
    os.environ[KEY_ENV] = SECRET
    try:
        with LocalStack(write_config(path / "config.yaml", data), log_dir=path) as started:
            yield started
    finally:
        del os.environ[KEY_ENV]


@pytest.fixture
def upstreams(stack) -> Upstreams:
    upstreams = Upstreams(stack)
    upstreams.clear()
    return upstreams


@pytest.fixture(scope="module")
def http(stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"http://127.0.0.1:{stack.config.listener.port}",
        headers={"authorization": f"Bearer {CLIENT_KEY}"},
        timeout=20,
    ) as client:
        yield client


def raw_http(stack: LocalStack, request: bytes) -> tuple[int, bytes]:
    """(status, body) of one request sent byte for byte (HTTP clients normalise paths before sending)."""
    with socket.create_connection(("127.0.0.1", stack.config.listener.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def raw_post(stack: LocalStack, path: bytes, body: bytes) -> tuple[int, bytes]:
    head = b"POST %s HTTP/1.1\r\nHost: llm\r\nConnection: close\r\nContent-Type: application/json\r\n" % path
    return raw_http(stack, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


# -- 1. credentials -----------------------------------------------------------------------------------


def test_a_routed_path_takes_only_post(stack, http, upstreams):
    body = {"model": "large-model", "messages": HELLO}
    response = http.put("/v1/chat/completions", json=body)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert error_of(response)["code"] == "method_not_allowed"
    assert upstreams.received("large-model") == []  # before: sent upstream with the model's key


def test_unrouted_paths_reach_a_keyed_model_only_as_allowed(stack, http, upstreams):
    for method, path in (("POST", "/v1/fine_tuning/jobs"), ("DELETE", "/v1/files/file-1"), ("POST", "/anything")):
        response = http.request(method, path, json={"model": "large-model"})
        assert response.status_code == 404 and error_of(response)["code"] == "unsupported_endpoint", (method, path)
    assert upstreams.received("large-model") == []

    client = OpenAI(base_url=f"{stack.base_url}", api_key=CLIENT_KEY, max_retries=0, timeout=20)
    embedded = client.embeddings.create(model="large-model", input=["hello", "world"])
    assert len(embedded.data) == 2
    [seen] = upstreams.received("large-model")
    assert (seen["path"], seen["headers"]["authorization"]) == ("/v1/embeddings", f"Bearer {SECRET}")
    prompt = ("llmswitch_model_tokens_total", (("kind", "prompt"), ("model", "large-model")))
    assert wait_until(lambda: scrape_metrics(stack).get(prompt, 0) >= embedded.usage.prompt_tokens)

    # A model without a key gets unrouted requests as the client sent them.
    client.embeddings.create(model="small-model", input="hello")
    [seen] = upstreams.received("small-model")
    assert seen["headers"]["authorization"] == f"Bearer {CLIENT_KEY}"


def test_body_less_requests_never_reach_a_keyed_default_model(stack, http, upstreams):
    for method in ("GET", "DELETE", "OPTIONS"):
        response = http.request(method, "/anything")
        assert response.status_code == 404 and error_of(response)["code"] == "unsupported_endpoint", method
    assert upstreams.received("large-model") == []  # before: proxied with the client's key


# -- 3. one meaning per request ---------------------------------------------------------------------


def test_repeated_keys_the_router_reads_are_refused(stack, http, upstreams):
    body = b'{"model":"large-model","model":"small-model","messages":[{"role":"user","content":"hi"}]}'
    response = http.post("/v1/chat/completions", content=body)
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["param"]) == ("duplicate_key", "model")
    repeated_other = b'{"model":"small-model","temperature":1,"temperature":0,"messages":[{"role":"user","content":"hi"}]}'
    assert http.post("/v1/chat/completions", content=repeated_other).status_code == 200
    assert len(upstreams.received("small-model")) == 1


def test_repeated_routing_headers_are_refused(stack, http):
    body = {"model": "auto", "messages": HELLO}
    response = http.post("/v1/chat/completions", json=body, headers=[("x-tier", "basic"), ("x-tier", "premium")])
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["param"]) == ("duplicate_header", "x-tier")
    other = http.post("/v1/chat/completions", json=body, headers=[("x-note", "a"), ("x-note", "b")])
    assert other.status_code == 200


# -- 4. validation on both paths --------------------------------------------------------------------


@pytest.mark.parametrize("model", ["small-model", "auto"])
def test_parameter_types_are_checked_for_named_and_auto_models(stack, http, upstreams, model):
    response = http.post("/v1/chat/completions", json={"model": model, "max_tokens": "10", "messages": HELLO})
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["param"]) == ("invalid_type", "max_tokens")
    assert upstreams.received("small-model") == []
    null_content = http.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": None}]})
    assert null_content.status_code == 400


# -- 5. stream usage --------------------------------------------------------------------------------


def test_a_client_that_declines_the_usage_chunk_does_not_get_it(stack, upstreams):
    client = OpenAI(base_url=stack.base_url, api_key=CLIENT_KEY, max_retries=0, timeout=20)
    estimated = ("llmswitch_usage_estimated_total", (("model", "small-model"),))
    before = scrape_metrics(stack).get(estimated, 0)
    chunks = list(
        client.chat.completions.create(
            model="small-model", messages=HELLO, stream=True, stream_options={"include_usage": False}
        )
    )
    assert chunks and all(chunk.usage is None for chunk in chunks)
    assert json.loads(upstreams.received("small-model")[-1]["body"])["stream_options"] == {"include_usage": False}
    assert wait_until(lambda: scrape_metrics(stack).get(estimated, 0) == before + 1)  # the observer estimated it
    asked = list(client.chat.completions.create(model="small-model", messages=HELLO, stream=True))
    assert asked[-1].usage is not None  # not said either way: the router asks for it, as documented


# -- 6. errors and paths ----------------------------------------------------------------------------


def test_unreadable_bodies_are_explained(stack, http):
    long_number = http.post("/v1/chat/completions", content=b'{"model":"auto","n":' + b"9" * 5000 + b"}")
    assert long_number.status_code == 400
    assert "more than 4300 digits" in error_of(long_number)["message"]
    assert "sys." not in long_number.text
    bad_utf8 = http.post("/v1/chat/completions", content=b'{"model":"auto","messages":[{"role":"user","content":"\xff"}]}')
    assert "not valid UTF-8: byte 0xff at offset 54" in error_of(bad_utf8)["message"]
    compressed = gzip.compress(json.dumps({"model": "auto", "messages": HELLO}).encode())
    encoded = http.post("/v1/chat/completions", content=compressed, headers={"content-encoding": "gzip"})
    assert encoded.status_code == 415 and error_of(encoded)["code"] == "unsupported_content_encoding"
    unlabelled = http.post("/v1/chat/completions", content=compressed)
    assert unlabelled.status_code == 400 and "gzip-compressed" in error_of(unlabelled)["message"]


def test_envoy_rejections_are_in_the_api_error_shape(stack):
    status, body = raw_post(stack, b"/v1/chat/completions#frag", b"{}")
    assert status == 400
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and "path_normalization_failed" in error["message"]


def test_paths_are_normalized_before_routing(stack, upstreams):
    body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": "write python"}]}).encode()
    for path in (b"//v1/chat/completions", b"/v1/./chat/completions", b"/v1/x/../chat/completions", b"/v1%2Fchat/completions"):
        status, answer = raw_post(stack, path, body)
        assert status == 200 and json.loads(answer)["model"] == "large-model", path
    assert {seen["path"] for seen in upstreams.received("large-model")} == {"/v1/chat/completions"}
    status, answer = raw_post(stack, b"/anything/chat/completions", body)
    assert status == 400 and json.loads(answer)["error"]["code"] == "unsupported_endpoint"


def test_the_router_answers_for_one_model_and_for_head(stack, http):
    one = http.get("/v1/models/small-model")
    assert one.status_code == 200 and one.json()["id"] == "small-model"
    assert http.get("/v1/models/auto").json()["id"] == "auto"
    missing = http.get("/v1/models/nope")
    assert missing.status_code == 404 and error_of(missing)["code"] == "model_not_found"
    head = http.head("/v1/models")
    assert head.status_code == 200 and head.content == b""


# -- 8. what telemetry reports ----------------------------------------------------------------------


def test_the_access_log_has_the_status_the_client_got(stack, http):
    small = f"http://127.0.0.1:{stack.config.models[0].port}/_stub/fail"
    httpx.put(small, json={"status": 500}, timeout=5)
    try:
        response = http.post("/v1/chat/completions", json={"model": "small-model", "messages": HELLO})
    finally:
        httpx.put(small, json={"status": 0}, timeout=5)
    assert response.status_code == 500
    request_id = response.headers.get("x-request-id") or ""

    def line() -> dict | None:
        for text in stack.log("router").splitlines():
            entry = json.loads(text) if text.startswith("{") else {}
            if entry.get("logger") == "llmswitch.access" and entry.get("model") == "small-model" and entry.get("status") == 500:
                return entry
        return None

    assert wait_until(lambda: line() is not None, timeout_s=5), stack.log("router")[-2000:]
    entry = line()
    assert entry["decision"] == "passthrough" and entry["path"] == "/v1/chat/completions"
    assert request_id == "" or entry["request_id"] == request_id


def test_metrics_listen_on_loopback_by_default(stack):
    assert listening_addresses(stack.config.telemetry.metrics.port) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a listening TCP socket on `port`, from the kernel's table."""
    found = set()
    with open("/proc/net/tcp") as table:
        for row in list(table)[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_negative_usage_is_counted_and_clamped(stack, http):
    small = f"http://127.0.0.1:{stack.config.models[0].port}/_stub/usage"
    invalid = ("llmswitch_usage_invalid_total", (("model", "small-model"),))
    prompt = ("llmswitch_model_tokens_total", (("kind", "prompt"), ("model", "small-model")))
    before = scrape_metrics(stack)
    httpx.put(small, json={"prompt_tokens": -50}, timeout=5)
    try:
        assert http.post("/v1/chat/completions", json={"model": "small-model", "messages": HELLO}).status_code == 200
    finally:
        httpx.put(small, json={}, timeout=5)
    assert wait_until(lambda: scrape_metrics(stack).get(invalid, 0) == before.get(invalid, 0) + 1)
    time.sleep(0.2)
    assert scrape_metrics(stack).get(prompt, 0) == before.get(prompt, 0)  # counted as 0, not -50
    assert "response accounting failed" not in stack.log("router")
