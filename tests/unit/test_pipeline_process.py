"""The whole request pipeline without gRPC: client codec, routing, actions, egress."""

import orjson
import pytest

from llmswitch.pipeline import Continue, Forward, HttpRequest, Respond, RoutingPipeline
from tests.helpers import base_config, chat_body, loaded


def request(body: bytes, path: str = "/v1/chat/completions", **headers: str) -> HttpRequest:
    return HttpRequest(headers, path, "POST", body)


@pytest.fixture(scope="module")
def pipeline() -> RoutingPipeline:
    return RoutingPipeline(loaded(base_config()))


async def test_a_routed_request_is_forwarded_with_the_chosen_model_in_its_body(pipeline):
    result = await pipeline.process(request(chat_body("write python")))
    assert isinstance(result, Forward)
    assert (result.plan.model.name, result.plan.decision, result.plan.api) == ("large-model", "code_decision", "chat")
    assert orjson.loads(result.body)["model"] == "large-model"


async def test_a_client_error_is_answered_without_going_upstream(pipeline):
    result = await pipeline.process(request(b"{not json"))
    assert isinstance(result, Respond)
    assert result.status == 400 and orjson.loads(result.body)["error"]["code"] == "invalid_json"


def test_body_less_requests(pipeline):
    models = pipeline.headers_only(HttpRequest({}, "/v1/models", "GET"))
    assert isinstance(models, Respond) and models.status == 200
    empty_post = pipeline.headers_only(HttpRequest({}, "/v1/chat/completions", "POST"))
    assert isinstance(empty_post, Respond) and empty_post.status == 400
    other = pipeline.headers_only(HttpRequest({}, "/health", "GET"))
    assert isinstance(other, Continue) and "x-llmswitch-cluster" in other.remove_headers


async def test_budget_admission_runs_as_an_action_and_can_refuse():
    data = base_config()
    data["budget"] = {"limits": [{"scope": "global", "amount": 0.000001}], "on_exceeded": "reject"}
    pipeline = RoutingPipeline(loaded(data))
    first = await pipeline.process(request(chat_body("hello " * 400)))
    assert isinstance(first, Forward)
    assert any(name == "x-llmswitch-budget" for name, _ in first.headers)
    second = await pipeline.process(request(chat_body("hello")))
    assert isinstance(second, Respond) and second.status == 429


async def test_budget_downgrade_changes_the_model_and_its_body():
    data = base_config()
    data["models"][1]["pricing"] = {"input_per_1m": 30, "output_per_1m": 60}
    data["budget"] = {"limits": [{"scope": "global", "amount": 0.000001}], "downgrade_model": "small-model"}
    pipeline = RoutingPipeline(loaded(data))
    await pipeline.process(request(chat_body("python " * 400)))
    result = await pipeline.process(request(chat_body("python")))
    assert isinstance(result, Forward)
    assert result.plan.model.name == "small-model" and "downgraded" in result.plan.reason
    assert orjson.loads(result.body)["model"] == "small-model"
