"""Client-facing errors with an HTTP status, written in the shape of the client's API.

OpenAI (chat completions and Responses): `{"error": {"message", "type", "code", "param"}}`.
Anthropic Messages: `{"type": "error", "error": {"type", "message"}}`, the type chosen by status.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import orjson

from llmswitch.protocols.view import ClientApi

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_STATUS = {kind: status for status, kind in _ANTHROPIC_TYPES.items() if status not in (502, 503)}
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def anthropic_error_type(status: int) -> str:
    """Anthropic's error type for a status; other 4xx are `invalid_request_error`, other 5xx `api_error`."""
    found = _ANTHROPIC_TYPES.get(status)
    if found is not None:
        return found
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def anthropic_error_status(error_type: str) -> int:
    """The status an Anthropic error type stands for (in a stream's `error` event, which has none); 500 if unknown."""
    return _ANTHROPIC_STATUS.get(error_type, 500)


def openai_error_type(status: int) -> str:
    """The OpenAI error type for a status, for errors that came from another API."""
    if status >= 500:
        return "server_error"
    return _OPENAI_TYPES.get(status, "invalid_request_error")


@dataclass(frozen=True)
class RequestError(Exception):
    status: int
    code: str
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers the status calls for (`allow` on a 405)."""

    def body(self) -> bytes:
        """The OpenAI shape (chat completions and Responses)."""
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}
        )

    def body_for(self, api: ClientApi) -> bytes:
        """The error in the shape of the client's API."""
        if api == "messages":
            return orjson.dumps(
                {"type": "error", "error": {"type": anthropic_error_type(self.status), "message": self.message}}
            )
        return self.body()


def bad_request(code: str, message: str, param: str | None = None) -> RequestError:
    return RequestError(400, code, message, param=param)


def model_not_found(model: str) -> RequestError:
    return RequestError(404, "model_not_found", f"The model {model!r} does not exist or you do not have access to it.")


def too_large(size: int, limit: int) -> RequestError:
    return RequestError(413, "request_too_large", f"Request body of {size} bytes exceeds the limit of {limit} bytes.")


def headers_too_large(what: str) -> RequestError:
    return RequestError(431, "request_header_fields_too_large", f"The request has {what}.")


def insufficient_quota() -> RequestError:
    return RequestError(
        429, "insufficient_quota", "The spend budget for this request is exhausted.", type="insufficient_quota"
    )


def rate_limited(retry_after_s: float) -> RequestError:
    """Every model a request could go to is rate-limited: retry when the first cooldown ends."""
    seconds = max(1, math.ceil(retry_after_s))
    return RequestError(
        429,
        "rate_limit_exceeded",
        f"Every model for this request is rate-limited; retry in {seconds} s.",
        type="rate_limit_error",
        headers=(("retry-after", str(seconds)),),
    )


def tenant_required() -> RequestError:
    return RequestError(
        401, "tenant_required", "This request names no tenant, and the router's budgets need one.", type="authentication_error"
    )


def internal_error() -> RequestError:
    return RequestError(500, "router_error", "The router failed to process the request.", type="server_error")
