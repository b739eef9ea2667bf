"""llmswitch as a GIE endpoint picker: the FULL_DUPLEX_STREAMED ext_proc contract, message by message."""

import random

import orjson
import pytest
from envoy.config.core.v3.base_pb2 import HeaderMap, HeaderValue, Metadata
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    HttpBody,
    HttpHeaders,
    HttpTrailers,
    ProcessingRequest,
    ProcessingResponse,
    ProtocolConfiguration,
)
from google.protobuf.struct_pb2 import Struct

from llmswitch.config.schema import TelemetryConfig
from llmswitch.endpoints import EndpointPicker, EndpointScraper
from llmswitch.endpoints.load import Load
from llmswitch.extproc.streamed import StreamedRequestProcessor, endpoint_subset, is_full_duplex
from llmswitch.pipeline import RoutingPipeline
from llmswitch.telemetry import Telemetry
from tests.helpers import base_config, chat_body, loaded

A, B = "10.0.0.1:8000", "10.0.0.2:8000"
TELEMETRY = Telemetry(TelemetryConfig(access_log=False))


def build_pipeline(loads: dict[str, float]) -> RoutingPipeline:
    data = base_config()
    data["endpoint_picking"] = {"enabled": True}
    data["models"][1] = {"name": "large-model", "endpoints": [A, B]}
    config = loaded(data)
    scraper = EndpointScraper()
    scraper.configure(config.config)
    for replica in scraper.replicas("large-model"):
        if replica.address in loads:
            replica.load, replica.scraped_at = Load(loads[replica.address], 0), scraper.clock()
    picker = EndpointPicker(scraper, random.Random(1))
    picker.configure(config.config.endpoint_picking)
    return RoutingPipeline(config, telemetry=TELEMETRY, endpoints=picker)


def headers_message(path="/v1/chat/completions", method="POST", end_of_stream=False, subset=None):
    pairs = {":method": method, ":path": path, ":authority": "pool", "content-type": "application/json"}
    message = ProcessingRequest(
        request_headers=HttpHeaders(
            headers=HeaderMap(headers=[HeaderValue(key=k, raw_value=v.encode()) for k, v in pairs.items()]),
            end_of_stream=end_of_stream,
        ),
        protocol_config=ProtocolConfiguration(request_body_mode=4, response_body_mode=4),
    )
    if subset is not None:
        hint = Struct()
        hint.update({"x-gateway-destination-endpoint-subset": subset})
        message.metadata_context.CopyFrom(Metadata(filter_metadata={"envoy.lb.subset_hint": hint}))
    return message


async def replies(processor, message) -> list[ProcessingResponse]:
    return [ProcessingResponse.FromString(r) for r in await processor.handle(message)]


def set_headers(reply: ProcessingResponse) -> dict[str, str]:
    return {
        o.header.key: o.header.raw_value.decode() for o in reply.request_headers.response.header_mutation.set_headers
    }


async def test_nothing_is_answered_until_the_body_is_complete_then_headers_and_body():
    processor = StreamedRequestProcessor(build_pipeline({A: 5, B: 0}), TELEMETRY)
    first = headers_message()
    assert is_full_duplex(first)
    assert await replies(processor, first) == []
    body = chat_body("write python")
    assert await replies(processor, ProcessingRequest(request_body=HttpBody(body=body[:10]))) == []
    headers_reply, body_reply = await replies(
        processor, ProcessingRequest(request_body=HttpBody(body=body[10:], end_of_stream=True))
    )
    set_ = set_headers(headers_reply)
    assert headers_reply.request_headers.response.clear_route_cache
    assert set_["x-gateway-destination-endpoint"].split(",")[0] == B
    assert set_["x-gateway-model-name"] == "large-model" and set_["x-llmswitch-cluster"] == "model_large-model"
    metadata = headers_reply.dynamic_metadata.fields["envoy.lb"].struct_value.fields
    assert metadata["x-gateway-destination-endpoint"].string_value == set_["x-gateway-destination-endpoint"]
    streamed = body_reply.request_body.response.body_mutation.streamed_response
    assert streamed.end_of_stream and orjson.loads(streamed.body)["model"] == "large-model"
    assert set_["content-length"] == str(len(streamed.body))


async def test_the_response_streams_through_chunk_by_chunk():
    processor = StreamedRequestProcessor(build_pipeline({A: 0, B: 0}), TELEMETRY)
    await replies(processor, headers_message())
    await replies(processor, ProcessingRequest(request_body=HttpBody(body=chat_body("python"), end_of_stream=True)))
    status = HeaderMap(headers=[HeaderValue(key=":status", raw_value=b"200")])
    (headers_reply,) = await replies(processor, ProcessingRequest(response_headers=HttpHeaders(headers=status)))
    assert headers_reply.WhichOneof("response") == "response_headers"
    for chunk, last in ((b"data: 1\n\n", False), (b"data: [DONE]\n\n", True)):
        (reply,) = await replies(processor, ProcessingRequest(response_body=HttpBody(body=chunk, end_of_stream=last)))
        streamed = reply.response_body.response.body_mutation.streamed_response
        assert (streamed.body, streamed.end_of_stream) == (chunk, last)
    assert processor.observer.model == "large-model" and processor.observer.status == 200


async def test_trailers_end_the_request_body():
    processor = StreamedRequestProcessor(build_pipeline({A: 0, B: 3}), TELEMETRY)
    await replies(processor, headers_message())
    await replies(processor, ProcessingRequest(request_body=HttpBody(body=chat_body("python"))))
    headers_reply, body_reply, trailers_reply = await replies(
        processor, ProcessingRequest(request_trailers=HttpTrailers())
    )
    assert set_headers(headers_reply)["x-gateway-destination-endpoint"].startswith(A)
    assert not body_reply.request_body.response.body_mutation.streamed_response.end_of_stream
    assert trailers_reply.WhichOneof("response") == "request_trailers"


async def test_the_gateways_subset_hint_is_honoured_and_an_empty_one_is_a_503():
    processor = StreamedRequestProcessor(build_pipeline({A: 0, B: 9}), TELEMETRY)
    message = headers_message(subset=[B])
    assert endpoint_subset(message) == (B,)
    await replies(processor, message)
    headers_reply, _ = await replies(
        processor, ProcessingRequest(request_body=HttpBody(body=chat_body("python"), end_of_stream=True))
    )
    assert set_headers(headers_reply)["x-gateway-destination-endpoint"] == B
    processor = StreamedRequestProcessor(build_pipeline({A: 0}), TELEMETRY)
    await replies(processor, headers_message(subset=[]))
    (refused,) = await replies(
        processor, ProcessingRequest(request_body=HttpBody(body=chat_body("python"), end_of_stream=True))
    )
    assert refused.immediate_response.status.code == 503
    assert orjson.loads(refused.immediate_response.body)["error"]["code"] == "no_endpoint"


@pytest.mark.parametrize("loads", [{}, {A: 1}])
async def test_without_fresh_metrics_a_replica_is_still_named(loads):
    processor = StreamedRequestProcessor(build_pipeline(loads), TELEMETRY)
    await replies(processor, headers_message())
    headers_reply, _ = await replies(
        processor, ProcessingRequest(request_body=HttpBody(body=chat_body("python"), end_of_stream=True))
    )
    assert set(set_headers(headers_reply)["x-gateway-destination-endpoint"].split(",")) <= {A, B}


async def test_client_errors_and_oversized_bodies_are_answered_at_once():
    processor = StreamedRequestProcessor(build_pipeline({A: 0}), TELEMETRY)
    await replies(processor, headers_message())
    (bad,) = await replies(processor, ProcessingRequest(request_body=HttpBody(body=b"{nope", end_of_stream=True)))
    assert bad.immediate_response.status.code == 400
    processor = StreamedRequestProcessor(build_pipeline({A: 0}), TELEMETRY)
    await replies(processor, headers_message())
    (too_big,) = await replies(processor, ProcessingRequest(request_body=HttpBody(body=b"x" * 70_000)))
    assert too_big.immediate_response.status.code == 413
    assert await replies(processor, ProcessingRequest(request_body=HttpBody(body=b"x", end_of_stream=True))) == []


async def test_body_less_requests_get_a_replica_of_the_default_model_or_the_model_list():
    processor = StreamedRequestProcessor(build_pipeline({A: 0}), TELEMETRY)
    (models,) = await replies(processor, headers_message("/v1/models", "GET", end_of_stream=True))
    assert models.immediate_response.status.code == 200
    (health,) = await replies(processor, headers_message("/health", "GET", end_of_stream=True))
    assert health.WhichOneof("response") == "request_headers"  # small-model has no replicas: nothing to name
