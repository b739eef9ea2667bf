import orjson
import pytest

from llmswitch.cli import main
from llmswitch.pipeline import RoutingPipeline
from llmswitch.protocols.errors import RequestError
from tests.helpers import base_config, chat_body, loaded


@pytest.fixture(scope="module")
def pipeline() -> RoutingPipeline:
    return RoutingPipeline(loaded(base_config()))


def route(pipeline, body: bytes, headers=None, path="/v1/chat/completions"):
    return pipeline.route(headers or {}, body, path)


def test_keyword_routes_to_large_model(pipeline):
    plan = route(pipeline, chat_body("Please write PYTHON code"))
    assert (plan.model.name, plan.decision, plan.algorithm) == ("large-model", "code_decision", "static")
    assert ("keyword", "code", 1.0) in plan.signals


def test_header_routes_to_large_model(pipeline):
    plan = route(pipeline, chat_body("hello"), {"x-tier": "premium"})
    assert (plan.model.name, plan.decision) == ("large-model", "code_decision")
    assert route(pipeline, chat_body("hello"), {"x-tier": "basic"}).decision == "default"


def test_context_length_routes_long_conversations(pipeline):
    assert route(pipeline, chat_body("word " * 2000)).decision == "long_context"  # ~2500 tokens
    assert route(pipeline, chat_body("word " * 1000)).decision == "default"


def test_no_match_uses_default_model(pipeline):
    plan = route(pipeline, chat_body("What is the capital of France?"))
    assert (plan.model.name, plan.decision, plan.signals) == ("small-model", "default", ())


def test_highest_priority_wins_and_ties_keep_file_order():
    data = base_config()
    data["decisions"][0]["priority"] = 1  # code_decision now below long_context
    plan = RoutingPipeline(loaded(data)).route({}, chat_body("python " * 2000))
    assert plan.decision == "long_context"
    data["decisions"][0]["priority"] = 50  # a tie: file order decides
    assert RoutingPipeline(loaded(data)).route({}, chat_body("python " * 2000)).decision == "code_decision"


def test_rule_evaluation_short_circuits(pipeline):
    from llmswitch.protocols.openai_chat import parse_chat
    from llmswitch.request import RouteRequest

    request = RouteRequest({}, parse_chat(orjson.loads(chat_body("python")), "auto"))
    signals = pipeline.router.signals.evaluator(request)
    assert pipeline.router.decisions.first_match(signals).name == "code_decision"
    assert set(signals.results) == {("keyword", "code")}  # the header and context signals were never computed


def test_not_operator():
    data = base_config()
    data["decisions"] = [
        {
            "name": "not_code",
            "rules": {"operator": "NOT", "conditions": [{"type": "keyword", "name": "code"}]},
            "modelRefs": [{"model": "large-model"}],
        }
    ]
    pipeline = RoutingPipeline(loaded(data))
    assert pipeline.route({}, chat_body("hello")).decision == "not_code"
    assert pipeline.route({}, chat_body("python")).decision == "default"


def test_body_rewrite_changes_only_the_model(pipeline):
    original = {
        "model": "auto",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "def f(): python ü"}],
        "temperature": 0.25,
        "max_tokens": 64,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "metadata": {"nested": [1, 2.5, None, True]},
    }
    plan = route(pipeline, orjson.dumps(original))
    rewritten = orjson.loads(plan.body)
    assert rewritten.pop("model") == "large-model"
    original.pop("model")
    assert rewritten == original
    assert list(orjson.loads(plan.body)) == ["model", "messages", "temperature", "max_tokens", "tools", "metadata"]


def test_explicit_model_passes_through_unchanged(pipeline):
    plan = route(pipeline, chat_body("python", model="small-model"))
    assert (plan.model.name, plan.decision, plan.body) == ("small-model", "passthrough", None)


def test_upstream_model_name_is_written_into_the_body():
    data = base_config()
    data["models"][1]["upstream_model"] = "org/large-v2"
    pipeline = RoutingPipeline(loaded(data))
    assert orjson.loads(pipeline.route({}, chat_body("python")).body)["model"] == "org/large-v2"
    assert orjson.loads(pipeline.route({}, chat_body("hi", model="large-model")).body)["model"] == "org/large-v2"


def test_weighted_selection_follows_the_weights():
    data = base_config()
    data["decisions"][2]["algorithm"] = {"type": "weighted", "weighted": {"seed": 7}}
    pipeline = RoutingPipeline(loaded(data))
    picks = [pipeline.route({"x-experiment": "split"}, chat_body("hi")).model.name for _ in range(4000)]
    share = picks.count("large-model") / len(picks)
    assert abs(share - 0.75) < 0.03  # sd of the share is 0.007


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "empty_body"),
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe{}", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'"auto"', 400, "invalid_body"),
        (b'{"messages": []}', 400, "missing_model"),
        (b'{"model": 5, "messages": []}', 400, "invalid_type"),
        (b'{"model": "auto"}', 400, "missing_messages"),
        (b'{"model": "auto", "messages": "hi"}', 400, "invalid_type"),
        (b'{"model": "auto", "messages": []}', 400, "invalid_type"),
        (b'{"model": "auto", "messages": [5]}', 400, "invalid_type"),
        (b'{"model": "auto", "messages": [{"role": "wizard", "content": "x"}]}', 400, "invalid_value"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": 5}]}', 400, "invalid_type"),
        (b'{"model": "auto", "messages": [{"role": "user"}]}', 400, "missing_content"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": [{"text": "x"}]}]}', 400, "invalid_type"),
        (b'{"model": "auto", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', 400, "invalid_type"),
        (b'{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}', 404, "model_not_found"),
    ],
)
def test_bad_input_gets_an_openai_error(pipeline, body, status, code):
    with pytest.raises(RequestError) as info:
        route(pipeline, body)
    assert (info.value.status, info.value.code) == (status, code)
    error = orjson.loads(info.value.body())["error"]
    assert error["code"] == code and error["message"] and error["type"]


def test_body_over_the_limit_is_413(pipeline):
    with pytest.raises(RequestError) as info:
        route(pipeline, chat_body("x" * 70000))
    assert info.value.status == 413


def test_content_parts_images_and_tool_calls_are_accepted(pipeline):
    body = orjson.dumps(
        {
            "model": "auto",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "look at this python"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "1", "content": "done"},
            ],
        }
    )
    assert route(pipeline, body).decision == "code_decision"


def test_auto_routing_only_for_chat_completions(pipeline):
    with pytest.raises(RequestError) as info:
        route(pipeline, b'{"model": "auto", "input": "x"}', path="/v1/embeddings")
    assert (info.value.status, info.value.code) == (400, "unsupported_endpoint")
    assert route(pipeline, b'{"model": "small-model", "input": "x"}', path="/v1/embeddings").decision == "passthrough"


def test_route_cli_prints_the_decision(tmp_path, capsys):
    from tests.helpers import write_config

    path = write_config(tmp_path / "c.yaml", base_config())
    assert main(["route", "--config", str(path), "-H", "X-Tier: premium", "hello"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert (result["model"], result["decision"]) == ("large-model", "code_decision")
    assert main(["route", "--config", str(path), "--model", "nope", "hello"]) == 1
