"""Replies assembled from serialized parts parse to the same messages protobuf builds."""

import pytest
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    ProcessingResponse,
)

from llmswitch.extproc import responses

ROUTING = [("x-llmswitch-cluster", "model_large-model"), ("x-selected-model", "large-model"), ("x-llmswitch-decision", "code")]


def built(pairs, body: bytes | None) -> ProcessingResponse:
    """The reply built the plain protobuf way."""
    if body is not None:
        pairs = [*pairs, ("content-length", str(len(body)))]
    common = CommonResponse(
        header_mutation=HeaderMutation(set_headers=[responses.header(k, v) for k, v in pairs]),
        body_mutation=BodyMutation(body=body) if body is not None else None,
        clear_route_cache=True,
    )
    return ProcessingResponse(request_body=BodyResponse(response=common))


# Sizes on both sides of each varint length boundary (1, 2 and 3 bytes), and a 2 MiB body.
@pytest.mark.parametrize("size", [0, 1, 110, 127, 128, 16_250, 16_383, 16_384, 2_097_152])
def test_routed_body_parses_to_the_built_reply(size):
    body = bytes(i % 251 for i in range(size))
    headers = responses.routing_headers("x-llmswitch-cluster", "model_large-model", "large-model", "code")
    reply = ProcessingResponse.FromString(responses.routed_body(headers, body))
    assert reply == built(ROUTING, body)
    assert reply.request_body.response.body_mutation.body == body


def test_routed_body_without_a_new_body_keeps_the_body_and_adds_no_length():
    extra = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("x-llmswitch-budget", "tenant=a")]
    headers = responses.routing_headers("x-llmswitch-cluster", "model_large-model", "large-model", "code")
    reply = ProcessingResponse.FromString(responses.routed_body(headers + responses.set_headers(extra), None))
    assert reply == built([*ROUTING, *extra], None)
    assert not reply.request_body.response.HasField("body_mutation")


def test_routing_headers_carry_the_upstream_credential():
    headers = responses.routing_headers("x-c", "model_m", "m", "d", ("authorization", "Bearer k"))
    reply = ProcessingResponse.FromString(responses.routed_body(headers, None))
    assert reply == built([("x-c", "model_m"), ("x-selected-model", "m"), ("x-llmswitch-decision", "d"), ("authorization", "Bearer k")], None)


def test_dynamic_metadata_appended_to_a_reply_sets_the_gie_namespace():
    headers = responses.routing_headers("x-c", "model_m", "m", "d")
    picked = {"envoy.lb": {"x-gateway-destination-endpoint": "10.0.0.2:8000,10.0.0.1:8000"}}
    reply = ProcessingResponse.FromString(responses.routed_body(headers, b"{}") + responses.dynamic_metadata(picked))
    assert reply.request_body == built([("x-c", "model_m"), ("x-selected-model", "m"), ("x-llmswitch-decision", "d")],
                                       b"{}").request_body
    fields = reply.dynamic_metadata.fields["envoy.lb"].struct_value.fields
    assert fields["x-gateway-destination-endpoint"].string_value == "10.0.0.2:8000,10.0.0.1:8000"
def test_a_forward_can_remove_client_credentials_and_set_the_models():
    from llmswitch.pipeline import Forward
    from llmswitch.pipeline.plan import RoutePlan, RouteTimings
    from tests.helpers import base_config, loaded

    model = loaded(base_config()).config.models[0]
    plan = RoutePlan(model, "d", "static", "", (), None, "auto", RouteTimings(0, 0))
    forward = Forward(plan, b"{}", [("x-extra", "1")], ("x-api-key", "k"), ["authorization"])
    reply = ProcessingResponse.FromString(responses.reply(forward, "x-c"))
    mutation = reply.request_body.response.header_mutation
    assert list(mutation.remove_headers) == ["authorization"]
    assert {h.header.key: h.header.raw_value for h in mutation.set_headers} == {
        "x-c": b"model_small-model", "x-selected-model": b"small-model", "x-llmswitch-decision": b"d",
        "x-api-key": b"k", "x-extra": b"1", "content-length": b"2",
    }


def built_one_message(metadata: dict[str, str], body: bytes | None) -> ProcessingResponse:
    """The one-message reply built the plain protobuf way: empty header mutation, metadata, maybe a body."""
    common = CommonResponse(
        header_mutation=HeaderMutation(),
        body_mutation=BodyMutation(body=body) if body is not None else None,
        clear_route_cache=True,
    )
    reply = ProcessingResponse(request_body=BodyResponse(response=common))
    reply.dynamic_metadata.update({"llmswitch": metadata})
    return reply


@pytest.mark.parametrize("size", [None, 0, 127, 128, 16_384, 2_097_152])
def test_routed_by_metadata_parses_to_the_built_reply(size):
    body = None if size is None else bytes(i % 251 for i in range(size))
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    entries = responses.routing_metadata("model_large-model", "large-model", "code", ("authorization", "Bearer k"))
    entries += responses.metadata_headers([("traceparent", trace)])
    reply = ProcessingResponse.FromString(responses.routed_by_metadata(entries, body))
    expected = {
        "cluster": "model_large-model",
        "x-selected-model": "large-model",
        "x-llmswitch-decision": "code",
        "authorization": "Bearer k",
        "traceparent": trace,
    }
    assert reply == built_one_message(expected, body)
    assert reply.request_body.response.HasField("header_mutation")  # Envoy clears the route cache only then


def test_metadata_leaves_the_path_to_the_route():
    assert responses.metadata_headers([(":path", "/openai/v1/chat/completions")]) == b""
    assert responses.metadata_headers([("x-plugin", "1")]) != b""


def test_a_forward_in_one_message_mode_becomes_metadata():
    from llmswitch.pipeline import Forward
    from llmswitch.pipeline.plan import RoutePlan, RouteTimings
    from tests.helpers import base_config, loaded

    model = loaded(base_config()).config.models[0]
    plan = RoutePlan(model, "d", "static", "", (), None, "auto", RouteTimings(0, 0))
    forward = Forward(plan, b"{}", [("x-llmswitch-egress", "messages")], ("x-api-key", "k"), ["authorization"])
    reply = ProcessingResponse.FromString(responses.reply(forward, "x-c", one_message=True))
    metadata = dict(reply.dynamic_metadata["llmswitch"].items())
    assert metadata == {
        "cluster": "model_small-model",
        "x-selected-model": "small-model",
        "x-llmswitch-decision": "d",
        "x-api-key": "k",
        "x-llmswitch-egress": "messages",
    }
    assert reply.request_body.response.body_mutation.body == b"{}"
    assert not reply.request_body.response.header_mutation.set_headers
