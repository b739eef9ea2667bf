"""Decision plugins on each client API's body shape, their config validation, and their order."""

import copy

import orjson
import pytest

from llmswitch.config import ConfigError
from llmswitch.config.plugins import HeaderMutationPlugin, ParametersPlugin, SystemPromptPlugin
from llmswitch.pipeline import Forward, HttpRequest, RoutingPipeline
from llmswitch.plugins.parameters import Parameters
from llmswitch.plugins.reasoning_families import ReasoningSetting, family
from llmswitch.plugins.system_prompt import apply_chat, apply_messages, apply_responses
from tests.helpers import base_config, chat_body, loaded

# -- system_prompt ------------------------------------------------------------------------------------


def chat(*messages: tuple[str, object]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in messages]}


@pytest.mark.parametrize(
    ("mode", "before", "after"),
    [
        ("insert", [("user", "hi")], [("system", "S"), ("user", "hi")]),
        ("insert", [("system", "mine"), ("user", "hi")], [("system", "mine"), ("user", "hi")]),
        ("replace", [("developer", "a"), ("user", "hi"), ("system", "b")], [("system", "S"), ("user", "hi")]),
        ("prepend", [("system", "mine"), ("user", "hi")], [("system", "S\n\nmine"), ("user", "hi")]),
        ("append", [("system", "mine"), ("user", "hi")], [("system", "mine\n\nS"), ("user", "hi")]),
        ("prepend", [("user", "hi")], [("system", "S"), ("user", "hi")]),
    ],
)
def test_system_prompt_on_chat_messages(mode, before, after):
    data = chat(*before)
    apply_chat(data, "S", mode, "system")
    assert data == chat(*after)


def test_system_prompt_joins_content_parts_and_uses_the_configured_role():
    data = chat(("system", [{"type": "text", "text": "mine"}]), ("user", "hi"))
    apply_chat(data, "S", "prepend", "system")
    assert data["messages"][0]["content"] == [{"type": "text", "text": "S"}, {"type": "text", "text": "mine"}]
    data = chat(("user", "hi"))
    apply_chat(data, "S", "insert", "developer")
    assert data["messages"][0] == {"role": "developer", "content": "S"}


def test_system_prompt_on_responses_instructions_and_system_items():
    data = {"input": "hi"}
    assert apply_responses(data, "S", "insert") and data["instructions"] == "S"
    data = {"instructions": "mine", "input": "hi"}
    assert not apply_responses(data, "S", "insert")
    apply_responses(data, "S", "append")
    assert data["instructions"] == "mine\n\nS"
    items = [{"role": "developer", "content": "dev"}, {"role": "user", "content": "hi"}]
    data = {"input": copy.deepcopy(items)}
    apply_responses(data, "S", "prepend")
    assert data["input"][0]["content"] == "S\n\ndev" and "instructions" not in data
    data = {"instructions": "old", "input": copy.deepcopy(items)}
    apply_responses(data, "S", "replace")
    assert data == {"instructions": "S", "input": [items[1]]}


def test_system_prompt_on_messages_system_string_and_blocks():
    data = {"messages": []}
    apply_messages(data, "S", "insert")
    assert data["system"] == "S"
    blocks = [{"type": "text", "text": "mine", "cache_control": {"type": "ephemeral"}}]
    data = {"system": copy.deepcopy(blocks)}
    apply_messages(data, "S", "prepend")
    assert data["system"] == [{"type": "text", "text": "S"}, *blocks]  # the client's cache_control stays
    data = {"system": "mine"}
    apply_messages(data, "S", "replace")
    assert data["system"] == "S"


# -- parameters -----------------------------------------------------------------------------------------


def parameters(**config: object) -> Parameters:
    return Parameters(ParametersPlugin.model_validate({"type": "parameters", **config}))


@pytest.mark.parametrize(
    ("api", "body", "expected"),
    [
        ("chat", {"max_tokens": 5000}, {"max_tokens": 1000}),
        (
            "chat",
            {"max_tokens": 5000, "max_completion_tokens": 300},
            {"max_tokens": 1000, "max_completion_tokens": 300},
        ),
        ("chat", {}, {"max_completion_tokens": 1000}),
        ("responses", {"max_output_tokens": 4000}, {"max_output_tokens": 1000}),
        ("responses", {}, {"max_output_tokens": 1000}),
        ("messages", {"max_tokens": 2000}, {"max_tokens": 1000}),
    ],
)
def test_the_max_tokens_cap_reaches_each_apis_output_field(api, body, expected):
    plugin = parameters(clamp={"max_tokens": {"max": 1000}})
    plugin.apply_to(body, api)
    assert body == expected


def test_parameters_set_default_clamp_and_remove_in_order():
    plugin = parameters(
        set={"top_p": 0.9},
        defaults={"temperature": 0.3, "seed": 7},
        clamp={"temperature": {"min": 0, "max": 1}},
        remove=["logit_bias", "max_tokens"],
    )
    body = {"temperature": 1.7, "logit_bias": {"1": 2}, "max_tokens": 10, "max_completion_tokens": 20}
    notes = plugin.apply_to(body, "chat")
    assert body == {"temperature": 1, "top_p": 0.9, "seed": 7}
    assert notes == ["parameters: temperature 1.7 -> 1.0"]


def test_parameters_and_header_plugins_refuse_what_belongs_to_the_router_or_client():
    with pytest.raises(ValueError, match="'model' cannot be changed"):
        ParametersPlugin.model_validate({"type": "parameters", "set": {"model": "x"}})
    with pytest.raises(ValueError, match="'content-length' is set by Envoy"):
        HeaderMutationPlugin.model_validate({"type": "header_mutation", "remove": ["content-length"]})
    with pytest.raises(ValueError, match="at least one"):
        HeaderMutationPlugin.model_validate({"type": "header_mutation"})


# -- reasoning families -------------------------------------------------------------------------------

ON_HIGH = ReasoningSetting(True, "high")
OFF = ReasoningSetting(False)


@pytest.mark.parametrize(
    ("api", "field"),
    [
        ("chat", ("reasoning_effort",)),
        ("responses", ("reasoning", "effort")),
        ("messages", ("output_config", "effort")),
    ],
)
def test_openai_family_sets_effort_in_each_api_and_drops_what_reasoning_models_reject(api, field):
    body = {"temperature": 0.2, "top_p": 0.5, "logprobs": True}
    fixes = family("openai").apply(body, api, ON_HIGH)
    node = body
    for key in field:
        node = node[key]
    assert node == "high"
    assert not {"temperature", "top_p", "logprobs"} & set(body)
    assert {f.parameter for f in fixes} == {"temperature", "top_p", "logprobs"}


def test_openai_family_off_is_the_lowest_effort_and_max_tokens_is_renamed():
    body = {"max_tokens": 300}
    fixes = family("openai").apply(body, "chat", OFF)
    assert body == {"reasoning_effort": "low", "max_completion_tokens": 300}
    assert [(f.parameter, f.action) for f in fixes] == [("max_tokens", "renamed")]


@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
def test_qwen3_and_deepseek_switch_thinking_with_chat_template_kwargs(api):
    body = {"chat_template_kwargs": {"other": 1}}
    family("qwen3").apply(body, api, OFF)
    assert body["chat_template_kwargs"] == {"other": 1, "enable_thinking": False}
    body = {"logprobs": True}
    fixes = family("deepseek").apply(body, api, ReasoningSetting(True))
    assert body == {"chat_template_kwargs": {"thinking": True}}
    assert [f.parameter for f in fixes] == ["logprobs"]
    family("qwen3").apply(body, api, ReasoningSetting(True, "none"))
    assert body["chat_template_kwargs"]["enable_thinking"] is False


@pytest.mark.parametrize(
    ("api", "cap"), [("chat", "max_tokens"), ("responses", "max_output_tokens"), ("messages", "max_tokens")]
)
def test_anthropic_family_thinking_budget_and_its_fixes(api, cap):
    choice = {"type": "any"} if api == "messages" else "required"
    body = {"temperature": 0.2, "top_k": 5, "top_p": 0.5, cap: 1000, "tool_choice": choice}
    fixes = family("anthropic").apply(body, api, ReasoningSetting(True, "low"))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body[cap] == 3048  # the client's answer room on top of the budget
    assert body["top_p"] == 0.95 and "temperature" not in body and "top_k" not in body
    assert body["tool_choice"] == ({"type": "auto"} if api == "messages" else "auto")
    assert {f.parameter for f in fixes} == {"temperature", "top_k", "top_p", cap, "tool_choice"}
    family("anthropic").apply(body, api, OFF)
    assert body["thinking"] == {"type": "disabled"}


def test_custom_family_merges_its_switch_and_writes_effort_and_budget():
    config = base_config()
    config["models"][0]["reasoning_family"] = {
        "on": {"chat_template_kwargs": {"reasoning": True}},
        "off": {"chat_template_kwargs": {"reasoning": False}},
        "effort_field": "reasoning.level",
        "budget_field": "reasoning.tokens",
        "drop_when_on": ["seed"],
    }
    spec = loaded(config).config.models[0].reasoning_family
    body = {"seed": 1, "chat_template_kwargs": {"keep": 1}}
    fixes = family(spec).apply(body, "chat", ReasoningSetting(True, "medium", 2048))
    assert body == {
        "chat_template_kwargs": {"keep": 1, "reasoning": True},
        "reasoning": {"level": "medium", "tokens": 2048},
    }
    assert [f.parameter for f in fixes] == ["seed"]


# -- config --------------------------------------------------------------------------------------------


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loaded(data)
    return info.value.problems


def test_plugin_errors_name_the_yaml_path():
    data = base_config()
    data["plugins"] = [{"type": "sytem_prompt", "text": "x"}]
    data["decisions"][0]["plugins"] = [
        {"type": "system_prompt"},
        {"type": "reasoning", "enabled": False, "effort": "high"},
        {"type": "parameters", "clamp": {"temperature": {"min": 2, "max": 1}}},
    ]
    problems = problems_of(data)
    assert any(p.startswith("plugins[0]: Input tag 'sytem_prompt' found using 'type' does not match") for p in problems)
    assert "decisions[0].plugins[0].text: Field required" in problems
    assert "decisions[0].plugins[1]: effort and budget_tokens need enabled: true" in problems
    assert "decisions[0].plugins[2].clamp.temperature: min must not exceed max" in problems


def test_cross_checks_of_plugin_lists():
    data = base_config()
    data["decisions"][0]["plugins"] = [
        {"type": "reasoning", "effort": "low"},
        {"type": "cache"},
        {"type": "cache", "ttl_s": 5},
        {"type": "header_mutation", "set": {"x-llmswitch-cluster": "model_x"}},
    ]
    data["accounting"] = {"enabled": False}
    problems = problems_of(data)
    assert "decisions[0].plugins[0]: no modelRef of this decision sets models[].reasoning_family" in problems
    assert "decisions[0].plugins[2]: only one cache plugin per list" in problems
    assert (
        "decisions[0].plugins[3]: 'x-llmswitch-cluster' is the routing header, which a plugin cannot change" in problems
    )
    assert (
        "accounting.enabled: must be true while the response cache is on (the response observer stores its answers)"
        in problems
    )


def test_system_prompt_apis_default_to_all_three():
    assert SystemPromptPlugin.model_validate({"type": "system_prompt", "text": "x"}).apis == [
        "chat",
        "responses",
        "messages",
    ]


# -- through the pipeline -----------------------------------------------------------------------------


async def test_top_level_plugins_run_before_the_decisions_and_reach_the_upstream_request():
    data = base_config()
    data["models"][1]["reasoning_family"] = "openai"
    data["plugins"] = [
        {"type": "system_prompt", "text": "Company policy."},
        {"type": "header_mutation", "set": {"x-team": "all"}, "remove": ["x-debug"]},
    ]
    data["decisions"][0]["plugins"] = [
        {"type": "system_prompt", "text": "You write code.", "mode": "append"},
        {"type": "reasoning", "effort": "high"},
        {"type": "parameters", "headers": {"x-team": "code"}, "clamp": {"max_tokens": {"max": 64}}},
    ]
    pipeline = RoutingPipeline(loaded(data))
    request = HttpRequest(
        {}, "/v1/chat/completions", "POST", chat_body("write python", temperature=0.1, max_tokens=500)
    )
    result = await pipeline.process(request)
    assert isinstance(result, Forward)
    body = orjson.loads(result.body)
    assert body["messages"][0] == {"role": "system", "content": "Company policy.\n\nYou write code."}
    assert body["reasoning_effort"] == "high" and "temperature" not in body
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert ("x-team", "code") in result.headers and ("x-team", "all") not in result.headers
    assert result.remove_headers == ["x-debug"]
    assert "reasoning: dropped temperature (OpenAI reasoning models reject it)" in result.plan.notes

    passthrough = await pipeline.process(
        HttpRequest({}, "/v1/chat/completions", "POST", chat_body("hi", model="small-model"))
    )
    assert orjson.loads(passthrough.body)["messages"][0] == {"role": "system", "content": "Company policy."}


def test_the_header_limit_check_leaves_room_for_the_headers_plugins_set():
    data = base_config()
    data["routing"]["max_request_headers"] = 20
    plain = RoutingPipeline(loaded(data))
    data["decisions"][0]["plugins"] = [{"type": "header_mutation", "set": {f"x-h{i}": "v" for i in range(5)}}]
    with_plugins = RoutingPipeline(loaded(data))
    assert plain.check_headers(10, 100) is None
    assert with_plugins.check_headers(10, 100).status == 431
