"""The ext_proc message contract, message by message (the gRPC and Envoy paths are in tests/integration)."""

import orjson
import pytest
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue, HeaderValueOption
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    HttpBody,
    HttpHeaders,
    ProcessingRequest,
    ProcessingResponse,
)

from llmswitch.config.schema import TelemetryConfig
from llmswitch.extproc.attributes import request_headers
from llmswitch.extproc.servicer import ExternalProcessor, RequestProcessor
from llmswitch.pipeline import RoutingPipeline
from llmswitch.telemetry import Telemetry
from tests.helpers import base_config, chat_body, loaded

TELEMETRY = Telemetry(TelemetryConfig(access_log=False))


@pytest.fixture(scope="module")
def pipeline() -> RoutingPipeline:
    return RoutingPipeline(loaded(base_config()), telemetry=TELEMETRY)


class ParsingProcessor(RequestProcessor):
    """Parses the serialized replies back into messages, as Envoy does."""

    async def handle(self, request: ProcessingRequest) -> ProcessingResponse:
        return ProcessingResponse.FromString(await super().handle(request))


def new_processor(pipeline) -> RequestProcessor:
    return ParsingProcessor(pipeline)


def headers_message(method="POST", path="/v1/chat/completions", end_of_stream=False, **extra: str):
    pairs = {":method": method, ":path": path, ":authority": "llm", "content-type": "application/json", **extra}
    headers = HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in pairs.items()])
    return ProcessingRequest(request_headers=HttpHeaders(headers=headers, end_of_stream=end_of_stream))


def body_message(body: bytes, end_of_stream=True):
    return ProcessingRequest(request_body=HttpBody(body=body, end_of_stream=end_of_stream))


def set_headers(options: list[HeaderValueOption]) -> dict[str, str]:
    for option in options:
        assert option.header.value == "", "header values must travel in raw_value only"
        assert option.append_action == HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
    return {o.header.key: o.header.raw_value.decode() for o in options}


async def exchange(pipeline, body: bytes, **headers: str):
    processor = new_processor(pipeline)
    first = await processor.handle(headers_message(**headers))
    assert first.WhichOneof("response") == "request_headers"
    return processor, await processor.handle(body_message(body))


async def test_routed_body_sets_headers_body_and_content_length_and_clears_route_cache(pipeline):
    body = chat_body("write python")
    _, reply = await exchange(pipeline, body)
    assert reply.WhichOneof("response") == "request_body"
    common = reply.request_body.response
    assert common.clear_route_cache is True
    new_body = common.body_mutation.body
    assert orjson.loads(new_body)["model"] == "large-model"
    assert set_headers(common.header_mutation.set_headers) == {
        "x-llmswitch-cluster": "failover_0_chat",  # large-model, then its fallback (default_model)
        "x-selected-model": "large-model",
        "x-llmswitch-decision": "code_decision",
        "x-gateway-model-name": "large-model",
        "content-length": str(len(new_body)),
    }


async def test_spoofed_routing_headers_are_overwritten(pipeline):
    _, reply = await exchange(
        pipeline, chat_body("hello"), **{"x-llmswitch-cluster": "model_large-model", "x-selected-model": "large-model"}
    )
    assert set_headers(reply.request_body.response.header_mutation.set_headers)["x-llmswitch-cluster"] == "model_small-model"


async def test_passthrough_keeps_the_body(pipeline):
    _, reply = await exchange(pipeline, chat_body("hello", model="large-model"))
    common = reply.request_body.response
    assert not common.HasField("body_mutation")
    headers = set_headers(common.header_mutation.set_headers)
    assert "content-length" not in headers and headers["x-llmswitch-decision"] == "passthrough"


async def test_response_headers_pass_unchanged(pipeline):
    """Envoy adds x-llmswitch-model/decision itself (see the Envoy config), so the router changes nothing."""
    processor, _ = await exchange(pipeline, chat_body("write python"))
    reply = await processor.handle(ProcessingRequest(response_headers=HttpHeaders()))
    assert reply.WhichOneof("response") == "response_headers"
    assert not reply.response_headers.HasField("response")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"{oops", 400, "invalid_json"), (chat_body("x", model="nope"), 404, "model_not_found")],
)
async def test_errors_are_immediate_openai_json(pipeline, body, status, code):
    _, reply = await exchange(pipeline, body)
    immediate = reply.immediate_response
    assert immediate.status.code == status
    assert set_headers(immediate.headers.set_headers) == {"content-type": "application/json"}
    assert orjson.loads(immediate.body)["error"]["code"] == code


async def test_post_without_body_is_400(pipeline):
    reply = await new_processor(pipeline).handle(headers_message(end_of_stream=True))
    assert reply.immediate_response.status.code == 400
    assert orjson.loads(reply.immediate_response.body)["error"]["code"] == "empty_body"


async def test_models_list_is_answered_by_the_router(pipeline):
    reply = await new_processor(pipeline).handle(headers_message("GET", "/v1/models", end_of_stream=True))
    assert reply.immediate_response.status.code == 200
    ids = [m["id"] for m in orjson.loads(reply.immediate_response.body)["data"]]
    assert ids == ["auto", "small-model", "large-model"]


@pytest.mark.parametrize(
    ("method", "path", "status", "model_id"),
    [
        ("GET", "/v1/models/large-model", 200, "large-model"),
        ("HEAD", "/v1/models/auto?x=1", 200, "auto"),
        ("GET", "/v1/models/nope", 404, None),
    ],
)
async def test_each_model_is_answered_by_the_router(pipeline, method, path, status, model_id):
    reply = await new_processor(pipeline).handle(headers_message(method, path, end_of_stream=True))
    assert reply.immediate_response.status.code == status
    if method == "HEAD":
        assert reply.immediate_response.body == b""
        return
    body = orjson.loads(reply.immediate_response.body)
    assert body.get("id") == model_id if status == 200 else body["error"]["code"] == "model_not_found"


async def test_other_bodyless_requests_continue_without_routing_headers(pipeline):
    reply = await new_processor(pipeline).handle(headers_message("GET", "/health", end_of_stream=True))
    removed = reply.request_headers.response.header_mutation.remove_headers
    assert set(removed) == {
        "x-llmswitch-cluster",
        "x-selected-model",
        "x-llmswitch-decision",
        "x-llmswitch-safety",
        "x-llmswitch-budget",
        "x-llmswitch-cache-key",
        "x-llmswitch-egress",
        "x-gateway-model-name",
    }


async def test_body_chunks_are_joined_before_routing(pipeline):
    body = chat_body("write python")
    processor = new_processor(pipeline)
    await processor.handle(headers_message())
    assert (await processor.handle(body_message(body[:10], end_of_stream=False))).WhichOneof("response") == "request_body"
    reply = await processor.handle(body_message(body[10:]))
    assert orjson.loads(reply.request_body.response.body_mutation.body)["model"] == "large-model"


async def test_unexpected_failure_is_a_500_not_a_stack_trace(pipeline, monkeypatch):
    processor = new_processor(pipeline)
    await processor.handle(headers_message())
    monkeypatch.setattr(pipeline.router, "route", lambda *a: 1 / 0)
    reply = await processor.handle(body_message(chat_body("hi")))
    assert reply.immediate_response.status.code == 500
    assert orjson.loads(reply.immediate_response.body)["error"]["type"] == "server_error"


def one_message(body: bytes, path="/v1/chat/completions", method="POST", **headers: str) -> ProcessingRequest:
    """A one-message stream's body, with the attributes Envoy evaluates (absent headers left out)."""
    message = body_message(body)
    attributes = {"request.path": path, "request.method": method}
    attributes.update({f"request.headers['{name}']": value for name, value in headers.items()})
    message.attributes["envoy.filters.http.ext_proc"].update(attributes)
    return message


async def drive(pipeline, *messages: ProcessingRequest) -> list[ProcessingResponse]:
    """The whole `Process` stream, dispatched as the server does."""
    servicer = ExternalProcessor(lambda: pipeline, TELEMETRY)

    async def requests():
        for message in messages:
            yield message

    return [ProcessingResponse.FromString(reply) async for reply in servicer.Process(requests(), None)]


async def test_a_stream_that_starts_with_the_body_is_routed_from_its_attributes(pipeline):
    [reply] = await drive(pipeline, one_message(chat_body("tell me a joke"), **{"x-tier": "premium"}))
    metadata = dict(reply.dynamic_metadata["llmswitch"].items())
    assert metadata == {
        "cluster": "failover_0_chat",
        "x-selected-model": "large-model",
        "x-llmswitch-decision": "code_decision",
        "x-gateway-model-name": "large-model",
    }
    common = reply.request_body.response
    assert common.clear_route_cache and common.HasField("header_mutation")
    assert orjson.loads(common.body_mutation.body)["model"] == "large-model"


async def test_one_message_chunks_are_joined_and_answered_once(pipeline):
    body = chat_body("write python")
    first = one_message(body[:10])
    first.request_body.end_of_stream = False
    continued, routed = await drive(pipeline, first, body_message(body[10:]))
    assert continued.WhichOneof("response") == "request_body" and not continued.HasField("dynamic_metadata")
    assert routed.dynamic_metadata["llmswitch"]["x-llmswitch-decision"] == "code_decision"


async def test_one_message_errors_are_immediate_in_the_clients_api(pipeline):
    [reply] = await drive(pipeline, one_message(b"{oops", path="/v1/messages"))
    assert reply.immediate_response.status.code == 400
    assert orjson.loads(reply.immediate_response.body)["type"] == "error"  # Anthropic's shape


def test_attributes_become_the_headers_a_headers_message_would_give():
    message = one_message(b"{}", path="/v1/responses?x=1", **{"x-request-id": "r1", "traceparent": "00-ab"})
    assert request_headers(message) == {
        ":path": "/v1/responses?x=1",
        ":method": "POST",
        "x-request-id": "r1",
        "traceparent": "00-ab",
    }
    assert request_headers(body_message(b"{}")) == {}


@pytest.mark.parametrize("one", [True, False])
async def test_the_router_ends_a_routing_stream_with_its_last_reply(pipeline, one):
    """Envoy sends nothing after the body with the generated config: no wait for its half-close."""
    messages = [one_message(chat_body("hi"))] if one else [headers_message(), body_message(chat_body("hi"))]
    after = ProcessingRequest(response_headers=HttpHeaders())
    replies = await drive(pipeline, *messages, after)
    assert [r.WhichOneof("response") for r in replies] == [*(["request_headers"] * (not one)), "request_body"]


async def test_a_bodyless_request_ends_its_stream_with_the_answer(pipeline):
    replies = await drive(pipeline, headers_message("GET", "/health", end_of_stream=True), body_message(b"x"))
    assert [r.WhichOneof("response") for r in replies] == ["request_headers"]
