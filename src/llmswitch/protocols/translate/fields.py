"""Typed reads of request fields that fail with a 400 naming the field (`messages[2].content[0].type`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import orjson

from llmswitch.protocols.errors import RequestError, bad_request

if TYPE_CHECKING:
    from llmswitch.protocols.translate.ir import Conversation


def invalid(where: str, what: str) -> RequestError:
    return bad_request("invalid_type", f"'{where}' must be {what}.", param=where)


def missing(where: str) -> RequestError:
    return bad_request("missing_required_parameter", f"Missing required parameter: '{where}'.", param=where)


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, "an object")
    return value


def array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(where, "an array")
    return value


def string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise invalid(where, "a string")
    return value


def opt_string(value: Any, where: str) -> str | None:
    return None if value is None else string(value, where)


def opt_number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(where, "a number")
    return value


def opt_positive_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(where, "a positive integer")
    return value


def opt_bool(value: Any, where: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(where, "a boolean")
    return value


def typed(part: Any, where: str) -> tuple[dict[str, Any], str]:
    """A content block or item: an object with a string `type`."""
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise invalid(where, "an object with a string 'type'")
    return part, part["type"]


def stop_list(value: Any, where: str) -> list[str]:
    """`stop` of OpenAI APIs: a string or an array of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [string(item, f"{where}[{i}]") for i, item in enumerate(array(value, where))]


def split_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a `data:<type>;base64,<data>` URL; None for anything else."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64" or not media_type:
        return None
    return media_type, data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def other_fields(
    conv: Conversation,
    data: dict[str, Any],
    translated: frozenset[str],
    advisory: dict[str, tuple[Any, ...]],
    refused: dict[str, str],
) -> None:
    """Top-level fields a decoder did not translate: advisory ones are dropped unless at a value that asks for
    nothing; any other is refused (with a reason when known), since an unknown field may change the answer."""
    for key, value in data.items():
        if key in translated or value is None:
            continue
        if key in advisory:
            if value not in advisory[key]:
                conv.drop(key)
        else:
            conv.refuse(key, refused.get(key, "the field has no equivalent"))


def drop_unknown_keys(conv: Conversation, value: dict[str, Any], known: frozenset[str], where: str) -> None:
    """Reports keys of a nested object (a tool definition) that no other API carries."""
    for key in sorted(value.keys() - known):
        if value[key] is not None:
            conv.drop(f"{where}.{key}")


def json_bytes(value: Any) -> bytes:
    """Compact JSON; what orjson cannot write (integers beyond 64 bits a client sent) takes the stdlib path."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
