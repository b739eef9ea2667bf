"""Errors in the client API's own shape, read back by the official SDKs; upstream errors rewritten."""

import anthropic
import openai
import orjson
import pytest

from llmswitch.protocols.errors import RequestError, bad_request
from llmswitch.protocols.translate import translate_response_json
from llmswitch.protocols.translate.upstream_errors import upstream_error
from tests.protocol_helpers import anthropic_client, bytes_client, openai_client

ANTHROPIC_TYPES = [
    (400, "invalid_request_error", anthropic.BadRequestError),
    (401, "authentication_error", anthropic.AuthenticationError),
    (403, "permission_error", anthropic.PermissionDeniedError),
    (404, "not_found_error", anthropic.NotFoundError),
    (413, "request_too_large", anthropic.APIStatusError),
    (422, "invalid_request_error", anthropic.UnprocessableEntityError),
    (429, "rate_limit_error", anthropic.RateLimitError),
    (500, "api_error", anthropic.InternalServerError),
    (502, "api_error", anthropic.InternalServerError),
    (503, "overloaded_error", anthropic.InternalServerError),
    (504, "timeout_error", anthropic.InternalServerError),
    (529, "overloaded_error", anthropic.OverloadedError),
]


def _anthropic_call(body: bytes, status: int):
    client = anthropic_client(bytes_client(body, status, "application/json"))
    return client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def _chat_call(body: bytes, status: int):
    client = openai_client(bytes_client(body, status, "application/json"))
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_openai_shape_is_unchanged_for_chat_and_responses():
    err = bad_request("invalid_type", "'messages[0].role' must be a string.", param="messages[0].role")
    expected = {
        "error": {
            "message": err.message,
            "type": "invalid_request_error",
            "code": "invalid_type",
            "param": "messages[0].role",
        }
    }
    assert (
        orjson.loads(err.body())
        == orjson.loads(err.body_for("chat"))
        == orjson.loads(err.body_for("responses"))
        == expected
    )
    with pytest.raises(openai.BadRequestError) as info:
        _chat_call(err.body_for("chat"), 400)
    assert (info.value.code, info.value.param, info.value.type) == (
        "invalid_type",
        "messages[0].role",
        "invalid_request_error",
    )


@pytest.mark.parametrize(("status", "kind", "sdk_error"), ANTHROPIC_TYPES)
def test_anthropic_shape_by_status(status, kind, sdk_error):
    body = RequestError(status, "some_code", "went wrong").body_for("messages")
    assert orjson.loads(body) == {"type": "error", "error": {"type": kind, "message": "went wrong"}}
    with pytest.raises(sdk_error) as info:
        _anthropic_call(body, status)
    assert info.value.status_code == status and info.value.api_message == "went wrong"


def test_anthropic_upstream_error_to_openai_client():
    body = b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_1"}'
    out = translate_response_json(body, "messages", "chat", 529)
    assert orjson.loads(out) == {
        "error": {"message": "Overloaded", "type": "server_error", "code": "overloaded_error", "param": None}
    }
    with pytest.raises(openai.InternalServerError) as info:
        _chat_call(out, 529)
    assert info.value.code == "overloaded_error"
    assert orjson.loads(translate_response_json(body, "messages", "responses", 529)) == orjson.loads(out)


def test_openai_upstream_error_to_anthropic_client():
    body = b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded", "param": null}}'
    out = translate_response_json(body, "chat", "messages", 429)
    assert orjson.loads(out) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Rate limit reached"},
    }
    with pytest.raises(anthropic.RateLimitError):
        _anthropic_call(out, 429)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (
            b'{"object": "error", "message": "bad thing", "type": "BadRequestError", "code": 400}',
            "bad thing",
            "BadRequestError",
        ),
        (b'{"error": "plain string"}', "plain string", "upstream_error"),
        (
            b"upstream connect error or disconnect/reset before headers",
            "The model server answered 503: upstream connect error or disconnect/reset before headers",
            "upstream_error",
        ),
        (b"", "The model server answered 503: no body", "upstream_error"),
    ],
)
def test_other_upstream_error_bodies(body, message, code):
    err = upstream_error(body, 503)
    assert (err.status, err.message, err.code, err.type) == (503, message, code, "server_error")
    assert orjson.loads(translate_response_json(body, "chat", "messages", 503))["error"] == {
        "type": "overloaded_error",
        "message": message,
    }
