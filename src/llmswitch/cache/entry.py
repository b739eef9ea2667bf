"""A stored response: the client-facing body as it passed (JSON, or the whole SSE stream) and its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import orjson

from llmswitch.protocols.view import ClientApi

Format = Literal["json", "sse"]
_VERSION = 1


@dataclass(frozen=True)
class CachedResponse:
    api: ClientApi
    format: Format
    body: bytes
    created: float
    """Unix time it was stored, for the `age` header of hits."""
    model: str

    def encode(self) -> bytes:
        """One metadata line of JSON, then the body as it was."""
        meta = {"v": _VERSION, "api": self.api, "format": self.format, "created": self.created, "model": self.model}
        return orjson.dumps(meta) + b"\n" + self.body

    @staticmethod
    def decode(blob: bytes) -> CachedResponse | None:
        """None for anything this version did not write (an older layout, a damaged value)."""
        head, sep, body = blob.partition(b"\n")
        if not sep:
            return None
        try:
            meta = orjson.loads(head)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(meta, dict) or meta.get("v") != _VERSION or meta.get("format") not in ("json", "sse"):
            return None
        return CachedResponse(meta["api"], meta["format"], body, float(meta["created"]), str(meta["model"]))
