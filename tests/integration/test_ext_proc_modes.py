"""Both ext_proc modes through the real Envoy: what each guarantees on the wire.

The rest of the integration suite runs the default (one message per routed request); these tests
cover what differs: the two-message mode's own answers, and one-message details (direct answers
to body-less requests, the new body's content-length, the model route's path rewrite and
credential removal).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, chat_body, free_ports, write_config

pytestmark = pytest.mark.integration

SECRET = "sk-prefixed-model-key"


class RecordingUpstream(ThreadingHTTPServer):
    """An OpenAI-compatible server below a path prefix (as hosted APIs have): records each request."""

    def __init__(self, port: int) -> None:
        self.received: list[dict] = []
        super().__init__(("127.0.0.2", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: RecordingUpstream

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.received.append({"path": self.path, "headers": headers, "body": body})
        answer = {
            "id": "chatcmpl-prefixed",
            "object": "chat.completion",
            "created": 0,
            "model": json.loads(body)["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        payload = orjson.dumps(answer)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prefixed() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream(free_ports(1)[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _stack(tmp_path, data: dict) -> LocalStack:
    return LocalStack(write_config(tmp_path / "config.yaml", data), log_dir=tmp_path).start()


@pytest.fixture(scope="module")
def one(tmp_path_factory, prefixed) -> Iterator[LocalStack]:
    data = base_config(free_ports(6))
    data["models"].append(
        {
            "name": "prefixed-model",
            "endpoint": f"127.0.0.2:{prefixed.server_address[1]}",
            "base_path": "/openai/v1",
            "api_key_env": "PREFIXED_MODEL_KEY",
        }
    )
    data["signals"]["keywords"].append({"name": "prefixed", "keywords": ["prefixed"]})
    data["decisions"].append(
        {
            "name": "prefixed",
            "priority": 200,
            "rules": {"type": "keyword", "name": "prefixed"},
            "modelRefs": [{"model": "prefixed-model"}],
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFIXED_MODEL_KEY", SECRET)
        stack = _stack(tmp_path_factory.mktemp("one"), data)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Iterator[LocalStack]:
    stack = _stack(tmp_path_factory.mktemp("two"), base_config(free_ports(6), ext_proc_messages="two"))
    yield stack
    stack.stop()


def received(stack: LocalStack, model: str) -> list[dict]:
    port = stack.config.model(model).port
    return httpx.get(f"http://127.0.0.1:{port}/_stub/requests", timeout=5).json()


# -- one message per routed request ---------------------------------------------------------------


def test_one_message_new_body_carries_its_own_content_length(one):
    response = httpx.post(f"{one.base_url}/chat/completions", content=chat_body("write python"), timeout=10)
    assert response.status_code == 200 and response.headers["x-llmswitch-model"] == "large-model"
    seen = received(one, "large-model")[-1]
    assert orjson.loads(seen["body"])["model"] == "large-model"  # the router changed the body ("auto")
    assert int(seen["headers"]["content-length"]) == len(seen["body"].encode())


def test_one_message_model_route_rewrites_the_path_and_sets_only_the_models_key(one, prefixed):
    response = httpx.post(
        f"{one.base_url}/chat/completions?trace=1",
        content=chat_body("prefixed please"),
        headers={"authorization": "Bearer client-key", "x-api-key": "client-other-key"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-llmswitch-model"] == "prefixed-model"
    seen = prefixed.received[-1]
    assert seen["path"] == "/openai/v1/chat/completions?trace=1"  # as the router's egress step computes it
    assert seen["headers"]["authorization"] == f"Bearer {SECRET}"
    assert "x-api-key" not in seen["headers"]
    assert seen["headers"]["x-llmswitch-decision"] == "prefixed"


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("GET", "/v1/models", 200, {"object": "list"}),
        ("GET", "/v1/models/prefixed-model", 200, {"id": "prefixed-model", "object": "model"}),
        ("GET", "/v1/models/unknown?x=1", 404, {"error": {"code": "model_not_found"}}),
        ("POST", "/v1/chat/completions", 400, {"error": {"code": "empty_body"}}),
        ("POST", "/v1/messages", 400, {"type": "error", "error": {"type": "invalid_request_error"}}),
    ],
)
def test_one_message_bodyless_requests_get_envoys_direct_answers(one, method, path, status, expected):
    response = httpx.request(method, f"http://127.0.0.1:{one.config.listener.port}{path}", timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    for key, value in expected.items():
        assert answer[key] == value if not isinstance(value, dict) else value.items() <= answer[key].items()


def test_one_message_head_of_a_model_has_no_body(one):
    response = httpx.head(f"http://127.0.0.1:{one.config.listener.port}/v1/models/auto", timeout=10)
    assert response.status_code == 200 and response.content == b""


def test_one_message_other_bodyless_requests_reach_the_default_model_without_spoofed_headers(one):
    response = httpx.get(
        f"http://127.0.0.1:{one.config.listener.port}/health",
        headers={"x-llmswitch-cluster": "model_large-model", "x-selected-model": "large-model"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["name"] == "small-model"
    assert "x-llmswitch-model" not in response.headers


# -- two messages: request headers, then the body -------------------------------------------------


def test_two_messages_route_and_set_the_headers_from_the_reply(two):
    response = httpx.post(
        f"{two.base_url}/chat/completions", content=chat_body("a joke"), headers={"x-tier": "premium"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["x-llmswitch-decision"] == "code_decision"
    seen = received(two, "large-model")[-1]
    assert seen["headers"]["x-llmswitch-cluster"].startswith("failover_")  # large-model, then its fallbacks
    assert int(seen["headers"]["content-length"]) == len(seen["body"].encode())


@pytest.mark.parametrize("headers", [{f"x-h-{i}": "v" for i in range(90)}, {"x-long": "a" * 61_000}])
def test_two_messages_headers_just_under_envoys_limits_get_a_431_not_a_5xx(two, headers):
    """The router keeps room for the headers it adds, so Envoy never rejects its mutation."""
    response = httpx.post(f"{two.base_url}/chat/completions", content=chat_body("hi"), headers=headers, timeout=10)
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "request_header_fields_too_large"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/models/small-model", 200), ("POST", "/v1/responses", 400), ("GET", "/health", 200)],
)
def test_two_messages_bodyless_requests_are_answered_like_one_message(two, method, path, status):
    response = httpx.request(method, f"http://127.0.0.1:{two.config.listener.port}{path}", timeout=10)
    assert response.status_code == status
