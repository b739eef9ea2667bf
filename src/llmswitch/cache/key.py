"""What a cached answer is keyed by, and which requests are cached at all.

The exact key is a hash of the request as it goes upstream, normalized: the client API, the
decision, the final model, the tenant partition, the headers plugins add, and the body without
the fields that do not change the answer (`stream`, `stream_options`, `user`, `metadata`, ...),
serialized with sorted keys. The semantic partition is the same hash with the last user
message's text left out: entries of one partition differ only in that text, and the prompt
embedding picks among them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from llmswitch.config.cache import CacheConfig
from llmswitch.protocols.view import ClientApi, RequestView

KEY_VERSION = 1
IGNORED_FIELDS = frozenset(
    {
        "model",
        "stream",
        "stream_options",
        "user",
        "metadata",
        "store",
        "service_tier",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "background",
    }
)
"""Body fields that do not change the answer (the model is keyed by its configured name instead)."""
DEFAULT_TEMPERATURE = 1.0


@dataclass(frozen=True)
class CacheControl:
    no_cache: bool = False
    """Do not answer from the cache (a fresh answer is still stored)."""
    no_store: bool = False
    """Neither answer from nor store into the cache."""


def cache_control(headers: Mapping[str, str]) -> CacheControl:
    value = headers.get("cache-control")
    if not value:
        return CacheControl()
    directives = {part.strip().split("=", 1)[0].lower() for part in value.split(",")}
    return CacheControl("no-cache" in directives, "no-store" in directives)


def bypass_reason(view: RequestView, data: dict[str, Any], config: CacheConfig) -> str | None:
    """Why a request is not cached (tools, images, temperature), or None."""
    if view.has_tools and not config.cache_tools:
        return "tools"
    if view.has_images and not config.cache_images:
        return "images"
    temperature = data.get("temperature", DEFAULT_TEMPERATURE)
    if isinstance(temperature, int | float) and temperature > config.max_temperature:
        return "temperature"
    return None


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(_canonical(parts)).hexdigest()[:40]


def _without_last_user_text(data: dict[str, Any], api: ClientApi) -> dict[str, Any] | None:
    """The body with the last turn's user text blanked, or None unless the last turn is a user turn."""
    field = "input" if api == "responses" else "messages"
    turns = data.get(field)
    if api == "responses" and isinstance(turns, str):
        return {**data, field: ""}
    if not isinstance(turns, list) or not turns:
        return None
    last = turns[-1]
    if not isinstance(last, dict) or last.get("role") != "user" or last.get("type", "message") != "message":
        return None
    content = last.get("content")
    if isinstance(content, list):
        content = [{**p, "text": ""} if isinstance(p, dict) and "text" in p else p for p in content]
    else:
        content = ""
    return {**data, field: [*turns[:-1], {**last, "content": content}]}


@dataclass(frozen=True)
class CacheKeys:
    exact: str
    partition: str | None
    """The semantic partition, or None when the request cannot be matched semantically."""


def cache_keys(
    api: ClientApi,
    decision: str,
    model: str,
    tenant: str,
    data: dict[str, Any],
    headers: list[tuple[str, str]],
    semantic: bool,
) -> CacheKeys:
    body = {k: v for k, v in data.items() if k not in IGNORED_FIELDS}
    scope = [KEY_VERSION, api, decision, model, tenant, sorted(headers)]
    exact = _digest([*scope, body])
    partition = None
    if semantic and (blanked := _without_last_user_text(body, api)) is not None:
        partition = _digest([*scope, blanked])
    return CacheKeys(exact, partition)
