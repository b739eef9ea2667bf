"""A body forwarded as the client sent it must not repeat a top-level key the router reads.

JSON parsers disagree on a repeated key: orjson (the router) keeps the last value, others keep the
first. A body with `"model"` twice would be routed and priced for one model and, passed through
unchanged, served by another; so such a body is a 400. (A body the router rewrites holds each key
once, with the value routing used, so it needs no check.)

The check is one regex scan (about 1-2 µs for a 1 KB body): a key's quoted name occurs in the raw
body once per use (a quote inside a JSON string is escaped), so only bodies where a name occurs
twice, as a key or as a value anywhere, are parsed again to find the keys of the top-level object.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmswitch.protocols.errors import bad_request

ROUTER_KEYS = (
    "model", "messages", "input", "instructions", "system", "stream", "stream_options",
    "max_tokens", "max_completion_tokens", "max_output_tokens", "tools", "functions",
)  # fmt: skip
"""What routing, budgets and the egress step read, in any of the three client APIs."""
_QUOTED_KEY = re.compile(b'"(' + b"|".join(key.encode() for key in ROUTER_KEYS) + b')"')


class _TopLevelKeys:
    """An `object_pairs_hook` that remembers the repeated keys of the last object built: the top level."""

    def __init__(self) -> None:
        self.repeated: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        self.repeated = []
        for key, _ in pairs:
            if key in seen:
                self.repeated.append(key)
            seen.add(key)
        return {}


def check_duplicate_keys(body: bytes) -> None:
    """Raise a 400 naming the first router-read key the body's top-level object holds more than once."""
    found = _QUOTED_KEY.findall(body)
    if len(found) == len(set(found)):
        return
    suspects = {key.decode() for key in found if found.count(key) > 1}
    hook = _TopLevelKeys()
    try:
        json.loads(body, object_pairs_hook=hook)
    except RecursionError:
        raise bad_request("invalid_body", "The request body is nested too deeply.") from None
    for key in hook.repeated:
        if key in suspects:
            raise bad_request("duplicate_key", f"The request body has the key {key!r} more than once.", param=key)
