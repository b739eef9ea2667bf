"""Conversation affinity: later requests of a conversation prefer the replica that served its start.

A replica that served a conversation holds its prefix in the KV cache (vLLM's prefix caching), so
sending the next turn there saves recomputing it. A conversation is named by a session header when
the client sends one, else by a hash of its prefix: everything up to and including the first user
turn, which every later request of the conversation repeats unchanged.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from llmswitch.protocols.view import RequestView


def _until_first_user(items: list[Any]) -> list[Any]:
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("role") == "user":
            return items[: index + 1]
    return items[:1]


def conversation_prefix(view: RequestView) -> Any:
    """The part of a request that every later turn of its conversation repeats, or None."""
    data = view.data
    if view.api == "responses":
        head = data.get("input")
        head = _until_first_user(head) if isinstance(head, list) else head
        return [data.get("instructions"), head] if head else None
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    return [data.get("system"), _until_first_user(messages)]


def affinity_key(view: RequestView | None, headers: Mapping[str, str], session_header: str | None) -> str | None:
    """The conversation a request belongs to, for affinity: its session header, or its prefix's hash."""
    if session_header is not None:
        session = headers.get(session_header)
        if session:
            return "s:" + session
    if view is None:
        return None
    prefix = conversation_prefix(view)
    if prefix is None:
        return None
    try:
        encoded = orjson.dumps(prefix)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return "p:" + hashlib.blake2b(encoded, digest_size=12).hexdigest()


class AffinityTable:
    """(model, conversation) -> the replica address it was last sent to; bounded LRU with a TTL."""

    def __init__(self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    def get(self, model: str, key: str) -> str | None:
        entry = self._entries.get((model, key))
        if entry is None:
            return None
        address, seen = entry
        if self.clock() - seen > self.ttl_s:
            del self._entries[(model, key)]
            return None
        return address

    def put(self, model: str, key: str, address: str) -> None:
        entries = self._entries
        entries[(model, key)] = (address, self.clock())
        entries.move_to_end((model, key))
        while len(entries) > self.max_entries:
            entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
