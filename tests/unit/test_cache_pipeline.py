"""The response cache in the pipeline: misses carry a ticket to the observer, hits are answered directly."""

import orjson
import pytest

from llmswitch import headers as names
from llmswitch.cache.convert import events
from llmswitch.pipeline import Forward, HttpRequest, Respond, RoutingPipeline
from tests.helpers import base_config, chat_body, loaded

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "large-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "cached"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
)


def request(body: bytes, **headers: str) -> HttpRequest:
    return HttpRequest(headers, "/v1/chat/completions", "POST", body)


def cached_pipeline(**cache: object) -> RoutingPipeline:
    data = base_config()
    data["cache"] = cache
    return RoutingPipeline(loaded(data))


def ticket_of(result: Forward) -> str | None:
    return next((value for name, value in result.headers if name == names.CACHE_KEY), None)


async def store_answer(
    pipeline: RoutingPipeline, result: Forward, body: bytes = COMPLETION, ctype: str = "application/json"
) -> None:
    """What the response observer does when the upstream answer has passed."""
    recorder = pipeline.cache.recorder(ticket_of(result))
    recorder.on_headers(200, ctype)
    recorder.feed(body)
    await recorder.finish(complete=True)


async def test_a_miss_is_stored_from_the_observer_and_the_next_request_is_a_hit():
    pipeline = cached_pipeline()
    miss = await pipeline.process(request(chat_body("write python")))
    assert isinstance(miss, Forward) and ticket_of(miss) is not None
    await store_answer(pipeline, miss)
    hit = await pipeline.process(request(chat_body("write python")))
    assert isinstance(hit, Respond)
    assert (hit.status, hit.content_type, hit.body) == (200, "application/json", COMPLETION)
    headers = dict(hit.headers)
    assert headers["x-llmswitch-cache"] == "hit" and headers["x-llmswitch-cache-match"] == "exact"
    assert headers["x-llmswitch-model"] == "large-model" and headers["x-llmswitch-decision"] == "code_decision"


async def test_a_json_entry_answers_a_streaming_request_as_sse():
    pipeline = cached_pipeline()
    await store_answer(pipeline, await pipeline.process(request(chat_body("write python"))))
    hit = await pipeline.process(request(chat_body("write python", stream=True)))
    assert hit.content_type == "text/event-stream"
    found = events(hit.body)
    assert found[-1].data == "[DONE]"
    text = "".join(c["delta"].get("content") or "" for e in found[:-1] for c in orjson.loads(e.data)["choices"])
    assert text == "cached"
    assert orjson.loads(found[-2].data)["usage"]["total_tokens"] == 2  # accounting asks streams for usage


async def test_errors_and_cut_streams_are_not_stored():
    pipeline = cached_pipeline()
    miss = await pipeline.process(request(chat_body("write python")))
    recorder = pipeline.cache.recorder(ticket_of(miss))
    recorder.on_headers(500, "application/json")
    recorder.feed(b'{"error": {"message": "boom"}}')
    await recorder.finish(complete=True)
    await store_answer(pipeline, miss, b'data: {"choices": []}\n\n', "text/event-stream")  # no [DONE]
    assert isinstance(await pipeline.process(request(chat_body("write python"))), Forward)
    assert pipeline.cache.store.size()[0] == 0


@pytest.mark.parametrize(
    ("extra", "headers"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, {}),
        ({"temperature": 1.5}, {}),
        ({}, {"cache-control": "no-store"}),
    ],
)
async def test_bypassed_requests_carry_no_ticket(extra, headers):
    pipeline = cached_pipeline()
    result = await pipeline.process(request(chat_body("write python", **extra), **headers))
    assert isinstance(result, Forward) and ticket_of(result) is None
    assert result.plan.attributes["llmswitch.cache"].startswith("bypass:")


async def test_no_cache_skips_the_lookup_but_refreshes_the_entry():
    pipeline = cached_pipeline()
    await store_answer(pipeline, await pipeline.process(request(chat_body("write python"))))
    refresh = await pipeline.process(request(chat_body("write python"), **{"cache-control": "no-cache"}))
    assert isinstance(refresh, Forward) and ticket_of(refresh) is not None


async def test_tenants_and_client_keys_never_share_entries(monkeypatch):
    data = base_config()
    data["cache"] = {}
    data["models"][1]["api_key_env"] = "LLMSWITCH_TEST_KEY"
    monkeypatch.setenv("LLMSWITCH_TEST_KEY", "secret")
    pipeline = RoutingPipeline(loaded(data))
    acme = {"x-tenant-id": "acme"}
    await store_answer(pipeline, await pipeline.process(request(chat_body("write python"), **acme)))
    assert isinstance(await pipeline.process(request(chat_body("write python"), **acme)), Respond)
    assert isinstance(await pipeline.process(request(chat_body("write python"), **{"x-tenant-id": "globex"})), Forward)
    assert isinstance(await pipeline.process(request(chat_body("write python"))), Forward)
    # small-model has no router key: the client's own key goes upstream, so it partitions entries too
    await store_answer(pipeline, await pipeline.process(request(chat_body("hello"), authorization="Bearer a")))
    assert isinstance(await pipeline.process(request(chat_body("hello"), authorization="Bearer a")), Respond)
    assert isinstance(await pipeline.process(request(chat_body("hello"), authorization="Bearer b")), Forward)


async def test_a_hit_refunds_the_budget_reservation():
    data = base_config()
    data["cache"] = {}
    data["budget"] = {"limits": [{"scope": "global", "amount": 100}]}
    pipeline = RoutingPipeline(loaded(data))
    miss = await pipeline.process(request(chat_body("write python")))
    await store_answer(pipeline, miss)
    key = pipeline.budget.keys("-")[0].key
    spent = await pipeline.budget.store.spent(key)
    assert isinstance(await pipeline.process(request(chat_body("write python"))), Respond)
    assert await pipeline.budget.store.spent(key) == pytest.approx(spent)


async def test_a_decision_opts_out_and_another_in_with_its_own_ttl():
    data = base_config()
    data["decisions"][0]["plugins"] = [{"type": "cache", "ttl_s": 5}]
    pipeline = RoutingPipeline(loaded(data))  # no top-level cache: only code_decision is cached
    miss = await pipeline.process(request(chat_body("write python")))
    assert ticket_of(miss).split(";")[5] == "5"
    assert ticket_of(await pipeline.process(request(chat_body("hello")))) is None
    data["cache"] = {}
    data["decisions"][0]["plugins"] = [{"type": "cache", "enabled": False}]
    pipeline = RoutingPipeline(loaded(data))
    assert ticket_of(await pipeline.process(request(chat_body("write python")))) is None
    assert ticket_of(await pipeline.process(request(chat_body("hello")))) is not None


async def test_a_failing_store_lets_requests_through():
    pipeline = cached_pipeline()

    class Broken:
        async def get(self, key, partition=None):
            raise ConnectionError("store down")

    pipeline.cache.store = Broken()
    result = await pipeline.process(request(chat_body("write python")))
    assert isinstance(result, Forward) and ticket_of(result) is not None


async def test_semantic_hits_above_the_threshold_and_misses_below_it():
    from llmswitch.reload import RouterState

    data = base_config()
    data["cache"] = {"semantic": {"enabled": True, "threshold": 0.95}}
    data["semantics"] = {"timeout_ms": 10000}
    pipeline = RouterState(loaded(data)).pipeline  # loads the encoder: the cache needs it
    miss = await pipeline.process(request(chat_body("What is the capital of France?")))
    assert ticket_of(miss).split(";")[7] != "-"  # the embedding travels to the observer
    await store_answer(pipeline, miss)
    paraphrase = await pipeline.process(request(chat_body("what's the capital city of France?")))
    assert isinstance(paraphrase, Respond)
    match = dict(paraphrase.headers)["x-llmswitch-cache-match"]
    assert match.startswith("semantic; similarity=") and float(match.rpartition("=")[2]) >= 0.95
    assert isinstance(await pipeline.process(request(chat_body("What is the capital of Germany?"))), Forward)
    long_prompt = "What is the capital of France? " + "Please answer. " * 300  # longer than the encoder reads
    assert ticket_of(await pipeline.process(request(chat_body(long_prompt)))).split(";")[7] == "-"
    await pipeline.analyzer.aclose()
