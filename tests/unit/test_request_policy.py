"""Request policy without Envoy: endpoints and credentials, repeated keys, parameter types, the model
endpoints, anonymous budgets, and reservations undone for requests that never go upstream."""

import asyncio

import orjson
import pytest
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue
from envoy.service.ext_proc.v3.external_processor_pb2 import HttpBody, HttpHeaders, ProcessingRequest

from llmswitch.budget import ANONYMOUS_TENANT, BudgetGuard
from llmswitch.budget.store import MemoryStore
from llmswitch.config import ConfigError
from llmswitch.config.models import ROUTED_PATHS
from llmswitch.config.schema import BudgetConfig, TelemetryConfig
from llmswitch.extproc.servicer import ExternalProcessor
from llmswitch.pipeline import DEFAULT_DECISION, Continue, Forward, HttpRequest, Respond, RoutingPipeline, abandon
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.bodyless import BodylessAnswers
from llmswitch.protocols.duplicate_keys import check_duplicate_keys
from llmswitch.protocols.errors import RequestError
from llmswitch.protocols.openai_chat import check_chat_params
from llmswitch.protocols.paths import API_PATHS
from llmswitch.telemetry import Telemetry
from tests.helpers import base_config, chat_body, loaded

KEY_ENV = "POLICY_LARGE_KEY"


@pytest.fixture
def keyed(monkeypatch) -> RoutingPipeline:
    monkeypatch.setenv(KEY_ENV, "sk-policy")
    data = base_config()
    data["models"][1].update(api_key_env=KEY_ENV, passthrough_paths=["POST /v1/embeddings"], base_path="/api/v1")
    return RoutingPipeline(loaded(data))


def post(path: str, body: bytes, method: str = "POST", **headers: str) -> HttpRequest:
    return HttpRequest(headers, path, method, body)


async def test_a_keyed_model_gets_its_key_only_on_allowed_endpoints(keyed):
    embeddings = await keyed.process(post("/v1/embeddings?x=1", b'{"model":"large-model","input":"hi"}'))
    assert isinstance(embeddings, Forward) and embeddings.credential == ("authorization", "Bearer sk-policy")
    assert (":path", "/api/v1/embeddings?x=1") in embeddings.headers  # below the model's base_path
    other = await keyed.process(post("/v1/files", b'{"model":"large-model"}'))
    assert isinstance(other, Respond) and other.status == 404
    put = await keyed.process(post("/v1/chat/completions", chat_body("hi", "large-model"), "PUT"))
    assert isinstance(put, Respond) and put.status == 405 and put.headers == (("allow", "POST"),)
    unkeyed = await keyed.process(post("/v1/files", b'{"model":"small-model"}'))
    assert isinstance(unkeyed, Forward) and unkeyed.credential is None


def test_body_less_requests_never_carry_a_key(keyed, monkeypatch):
    assert isinstance(keyed.headers_only(HttpRequest({}, "/health", "GET")), Continue)  # small-model is the default
    data = base_config()
    data["models"][1]["api_key_env"] = KEY_ENV
    data["default_model"] = "large-model"
    keyed_default = RoutingPipeline(loaded(data))
    refused = keyed_default.headers_only(HttpRequest({}, "/health", "GET"))
    assert isinstance(refused, Respond) and refused.status == 404


def test_passthrough_paths_cannot_name_routed_paths():
    data = base_config()
    data["models"][1]["passthrough_paths"] = ["POST /v1/chat/completions"]
    with pytest.raises(ConfigError, match="routed by content already"):
        loaded(data)
    data["models"][1]["passthrough_paths"] = ["GET /v1/files"]
    with pytest.raises(ConfigError, match="passthrough_paths"):
        loaded(data)
    assert set(API_PATHS.values()) == ROUTED_PATHS


def test_repeated_keys_the_router_reads():
    check_duplicate_keys(b'{"model":"a","messages":[{"model":"nested"}],"temperature":1,"temperature":2}')
    with pytest.raises(RequestError, match="'model' more than once"):
        check_duplicate_keys(b'{"model":"a","messages":[],"model":"b"}')
    with pytest.raises(RequestError, match="'max_tokens'"):
        check_duplicate_keys(b'{"max_tokens":1,"model":"a","max_tokens":9}')


async def test_a_rewritten_body_holds_the_routed_value_once(keyed):
    result = await keyed.process(post("/v1/chat/completions", b'{"model":"auto","model":"auto","messages":[{"role":"user","content":"hi"}]}'))
    assert isinstance(result, Forward) and result.body.count(b'"model"') == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_tokens", "10"), ("max_tokens", 0), ("n", True), ("temperature", "hot"), ("stop", [1]), ("stream_options", [])],
)
def test_chat_parameter_types(key, value):
    with pytest.raises(RequestError) as raised:
        check_chat_params({key: value})
    assert (raised.value.status, raised.value.param) == (400, key)


def test_chat_parameters_that_are_fine():
    check_chat_params({"max_tokens": 10, "temperature": 0, "stop": ["x"], "stream_options": {"include_usage": False}, "seed": None})


def test_model_endpoints():
    data = base_config()
    data["models"].append({"name": "org/model-7b", "endpoint": "127.0.0.1:9009"})
    answers = BodylessAnswers(loaded(data).config)
    assert answers.match("GET", "/v1/models?limit=1").respond.status == 200
    assert b"org/model-7b" in answers.match("HEAD", "/v1/models/org/model-7b").respond.body
    assert answers.match("GET", "/v1/models/nope").respond.status == 404
    assert answers.match("GET", "/x/v1/models") is None
    assert answers.match("POST", "/v1/models").respond.status == 400  # a POST without a body


def test_anonymous_callers_under_tenant_limits():
    limits = [{"scope": "tenant", "amount": 5}, {"scope": "daily", "amount": 50}]
    shared = BudgetGuard(BudgetConfig(limits=limits, anonymous_amount=1), MemoryStore())
    assert [k.limit for k in shared.keys(ANONYMOUS_TENANT)] == [1, 50]
    assert [k.limit for k in shared.keys("acme")] == [5, 50]
    unlimited = BudgetGuard(BudgetConfig(limits=limits, anonymous="unlimited"), MemoryStore())
    assert [k.limit for k in unlimited.keys(ANONYMOUS_TENANT)] == [50]
    reject = BudgetGuard(BudgetConfig(limits=limits, anonymous="reject"), MemoryStore())
    assert reject.refuses(ANONYMOUS_TENANT) and not reject.refuses("acme")


def budgeted() -> tuple[RoutingPipeline, MemoryStore]:
    data = base_config()
    data["budget"] = {"limits": [{"scope": "global", "amount": 1.0}]}
    store = MemoryStore()
    return RoutingPipeline(loaded(data), budget_store=store), store


async def test_an_answer_after_admission_releases_the_reservation():
    pipeline, store = budgeted()

    class Answer:
        async def apply(self, exchange: Exchange) -> Respond:
            return Respond(200, b"{}", "cached")

    pipeline._actions[DEFAULT_DECISION].append(Answer())
    result = await pipeline.process(post("/v1/chat/completions", chat_body("hello")))
    assert isinstance(result, Respond)
    assert await store.spent("llmswitch:budget:global") == 0


async def test_a_cancelled_request_releases_its_reservation():
    pipeline, store = budgeted()
    stalled = asyncio.Event()

    class Stall:
        async def apply(self, exchange: Exchange) -> None:
            stalled.set()
            await asyncio.Event().wait()

    pipeline._actions[DEFAULT_DECISION].append(Stall())
    task = asyncio.create_task(pipeline.process(post("/v1/chat/completions", chat_body("hello"))))
    await stalled.wait()
    assert await store.spent("llmswitch:budget:global") > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert await store.spent("llmswitch:budget:global") == 0


async def test_a_forward_envoy_never_used_is_undone():
    pipeline, store = budgeted()
    forward = await pipeline.process(post("/v1/chat/completions", chat_body("hello")))
    assert isinstance(forward, Forward) and await store.spent("llmswitch:budget:global") > 0
    abandon(forward.on_abandon)
    await asyncio.sleep(0)
    assert await store.spent("llmswitch:budget:global") == 0


async def test_a_body_that_outgrows_the_limit_is_a_413_that_costs_nothing():
    pipeline, store = budgeted()
    limit = pipeline.max_body_bytes
    shell = len(chat_body(""))
    result = await pipeline.process(post("/v1/chat/completions", chat_body("a" * (limit - shell))))
    assert isinstance(result, Respond) and result.status == 413
    assert orjson.loads(result.body)["error"]["code"] == "request_too_large"
    assert await store.spent("llmswitch:budget:global") == 0


async def test_a_stream_envoy_resets_after_routing_undoes_the_reservation():
    """Envoy's message timeout fired while the router worked: it resets the stream and never uses the reply."""
    pipeline, store = budgeted()
    pairs = [(":method", "POST"), (":path", "/v1/chat/completions")]
    headers = HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in pairs])
    replied = asyncio.Event()

    async def messages():
        yield ProcessingRequest(request_headers=HttpHeaders(headers=headers))
        yield ProcessingRequest(request_body=HttpBody(body=chat_body("hello"), end_of_stream=True))
        await asyncio.Event().wait()  # Envoy never half-closes: it resets the stream

    stream = ExternalProcessor(lambda: pipeline, Telemetry(TelemetryConfig(access_log=False))).Process(messages(), None)

    async def consume():
        try:
            async for _ in stream:
                if await store.spent("llmswitch:budget:global") > 0:
                    replied.set()
                    await asyncio.Event().wait()  # gRPC is still writing the reply when Envoy resets the stream
        finally:
            await stream.aclose()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(replied.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert await store.spent("llmswitch:budget:global") == 0
