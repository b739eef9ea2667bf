"""OpenAI-style errors: `{"error": {"message", "type", "code"}}` with an HTTP status."""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class RequestError(Exception):
    status: int
    code: str
    message: str
    type: str = "invalid_request_error"

    def body(self) -> bytes:
        return orjson.dumps({"error": {"message": self.message, "type": self.type, "code": self.code, "param": None}})


def bad_request(code: str, message: str) -> RequestError:
    return RequestError(400, code, message)


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


def internal_error() -> RequestError:
    return RequestError(500, "router_error", "The router failed to process the request.", type="server_error")
