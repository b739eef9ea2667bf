"""Hardening properties under hypothesis: a model's key goes only where the model serves, a request has one
meaning, parameters are typed on every path, and through Envoy every odd path spelling gets a JSON answer."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from llmswitch import headers as names
from llmswitch.pipeline import Continue, Forward, HttpRequest, Respond, RoutingPipeline
from llmswitch.protocols.duplicate_keys import ROUTER_KEYS
from llmswitch.protocols.paths import API_PATHS, client_api
from tests.fuzz.oracles import check_error_body
from tests.fuzz.strategies import compact, fuzz_settings, json_values, methods
from tests.helpers import base_config, loaded

KEY_ENV = "FUZZ_LARGE_KEY"
ALLOWED = ("POST", "/v1/embeddings")
ROUTED = frozenset(API_PATHS.values())
PARAMETERS = ("max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "stop", "stream", "stream_options", "seed")


@pytest.fixture(scope="module")
def keyed() -> Iterator[RoutingPipeline]:
    """large-model holds a key and allows POST /v1/embeddings; small-model (the default) holds none."""
    data = base_config()
    data["models"][1].update(api_key_env=KEY_ENV, passthrough_paths=[" ".join(ALLOWED)])
    os.environ[KEY_ENV] = "sk-fuzz"
    try:
        yield RoutingPipeline(loaded(data))
    finally:
        del os.environ[KEY_ENV]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def top_level_repeats(body: bytes) -> set[str]:
    """Keys of the body's top-level object that occur more than once (the last object the hook sees)."""
    objects: list[list[str]] = []

    def hook(pairs: list[tuple[str, object]]) -> dict:
        objects.append([key for key, _ in pairs])
        return {}

    json.loads(body, object_pairs_hook=hook)
    keys = objects[-1]
    return {key for key in keys if keys.count(key) > 1}


request_paths = st.one_of(
    st.sampled_from([*ROUTED, "/v1/embeddings", "/v1/embeddings?x=1", "/v1/files/f-1", "/v1/fine_tuning/jobs", "/"]),
    st.sampled_from([*ROUTED, "/v1/embeddings"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(lambda p: "/" + p),
)
named_models = st.sampled_from(["auto", "small-model", "large-model", "large-model", "other"])


@st.composite
def request_bodies(draw: st.DrawFn) -> bytes:
    data: dict = {"model": draw(named_models)}
    if draw(st.booleans()):
        data["messages"] = [{"role": "user", "content": draw(st.text(max_size=12))}]
    if draw(st.booleans()):
        data["input"] = draw(st.text(max_size=12))
    return orjson.dumps(data) if draw(st.booleans()) else b""


@fuzz_settings(1500)
@given(method=methods, path=request_paths, body=request_bodies())
@example(method="PUT", path="/v1/chat/completions", body=b'{"model":"large-model","messages":[]}')
@example(method="DELETE", path="/v1/files/f-1", body=b'{"model":"large-model"}')
@example(method="GET", path="/anything", body=b"")
def test_a_key_goes_only_where_its_model_serves(keyed, loop, method, path, body):
    request = HttpRequest({"authorization": "Bearer client"}, path, method, body)
    if body:
        result = loop.run_until_complete(keyed.process(request))
    else:
        result = keyed.headers_only(request)
    if isinstance(result, Respond):
        assert 200 <= result.status < 500
        if result.status >= 400 and client_api(path) != "messages":  # Messages errors have Anthropic's shape
            check_error_body(result.body)
        event(f"answered {result.status}")
        return
    if isinstance(result, Continue):  # body-less: only to the default model, which holds no key
        event("body-less, through")
        return
    assert isinstance(result, Forward)
    on_routed_path = method == "POST" and path.partition("?")[0] in ROUTED
    translated = any(name == names.EGRESS for name, _ in result.headers)  # the upstream filter adds the key
    keyed_model = result.plan.model.name == "large-model"
    if result.credential is not None or (translated and keyed_model):
        assert keyed_model
        assert on_routed_path or (method, path.partition("?")[0]) == ALLOWED, (method, path)
        event("forwarded with the key" + (" (by the upstream filter)" if translated else ""))
    else:
        assert not keyed_model, (method, path)
        event("forwarded as sent")


repeatable_keys = st.sampled_from([*ROUTER_KEYS, "temperature", "user", "metadata"])


@st.composite
def bodies_with_repeats(draw: st.DrawFn) -> bytes:
    """A chat body as raw JSON text, with some top-level keys written more than once."""
    pairs = [("model", orjson.dumps(draw(named_models))), ("messages", b'[{"role":"user","content":"hi"}]')]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        pairs.insert(draw(st.integers(0, len(pairs))), (draw(repeatable_keys), compact(draw(json_values))))
    return b"{" + b",".join(orjson.dumps(k) + b":" + v for k, v in pairs) + b"}"


@fuzz_settings(1200)
@given(body=bodies_with_repeats())
@example(body=b'{"model":"small-model","messages":[{"role":"user","content":"hi"}],"model":"large-model"}')
def test_no_model_gets_a_body_with_two_meanings(keyed, loop, body):
    result = loop.run_until_complete(keyed.process(HttpRequest({}, "/v1/chat/completions", "POST", body)))
    if isinstance(result, Respond):
        assert 400 <= result.status < 500
        event(f"{result.status} {check_error_body(result.body)['code']}")
        return
    assert isinstance(result, Forward)
    forwarded = result.body if result.body is not None else body
    assert not top_level_repeats(forwarded) & set(ROUTER_KEYS), forwarded
    event("forwarded")


@fuzz_settings(1000)
@given(model=named_models, key=st.sampled_from(PARAMETERS), value=json_values)
def test_parameter_types_hold_on_routed_and_named_models(keyed, loop, model, key, value):
    data = {"model": model, "messages": [{"role": "user", "content": "hi"}], key: value}
    result = loop.run_until_complete(keyed.process(HttpRequest({}, "/v1/chat/completions", "POST", compact(data))))
    if isinstance(result, Respond):
        error = check_error_body(result.body)
        event(f"{result.status} {error['code']}")
        return
    assert isinstance(result, Forward)
    sent = json.loads(result.body) if result.body is not None else data
    number = isinstance(sent.get(key), int | float) and not isinstance(sent.get(key), bool)
    expectations = {
        "max_tokens": number and isinstance(sent.get(key), int) and sent[key] > 0,
        "max_completion_tokens": number and isinstance(sent.get(key), int) and sent[key] > 0,
        "n": number and isinstance(sent.get(key), int) and sent[key] > 0,
        "seed": number and isinstance(sent.get(key), int),
        "temperature": number,
        "top_p": number,
        "stop": isinstance(sent.get(key), str | list),
        "stream": isinstance(sent.get(key), bool),
        "stream_options": isinstance(sent.get(key), dict),
    }
    assert sent.get(key) is None or expectations[key], (key, sent.get(key))
    event("forwarded")


# -- through Envoy ----------------------------------------------------------------------------------

segments = st.sampled_from(["v1", "chat", "completions", "models", ".", "..", "", "%2F", "%2e", "x", "auto"])
spelled_paths = st.builds(
    lambda parts, suffix: "/" + "/".join(parts) + suffix,
    st.lists(segments, min_size=1, max_size=6),
    st.sampled_from(["", "", "?q=1", "#frag", "?a#b"]),
)


def raw_request(port: int, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    head = f"{method} {path} HTTP/1.1\r\nHost: llm\r\nConnection: close\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.integration
@fuzz_settings(120)
@given(method=st.sampled_from(["POST", "POST", "GET", "PUT", "DELETE"]), path=spelled_paths)
@example(method="POST", path="/v1/chat/completions#frag")
@example(method="POST", path="//v1/./chat/completions")
def test_every_path_spelling_gets_an_answer_in_the_api_shape(stack, method, path):
    body = b'{"model":"auto","messages":[{"role":"user","content":"hi"}]}' if method != "GET" else b""
    status, answer = raw_request(stack.config.listener.port, method, path, body)
    assert status < 500, (status, answer)
    payload = orjson.loads(answer)
    if status >= 400:
        assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    event(f"{method} {status}")
