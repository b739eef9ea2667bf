"""The internal header that carries a cache miss to the response observer, which stores the answer.

The observer may run in another router process than the lookup, so the header carries all it
needs: the key, the TTL, and the semantic partition with the prompt embedding (half precision,
base64: about 1 KB for 384 dimensions). Envoy removes the header before the request goes upstream
and strips client copies of it (`headers.routing_headers`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from llmswitch.protocols.view import ClientApi

_VERSION = "1"
_APIS = frozenset({"chat", "responses", "messages"})


@dataclass(frozen=True)
class Ticket:
    key: str
    decision: str
    model: str
    api: ClientApi
    ttl_s: float
    partition: str | None = None
    vector: np.ndarray | None = None

    def header(self) -> str:
        vector = base64.b64encode(self.vector.astype(np.float16).tobytes()).decode() if self.vector is not None else "-"
        fields = (
            _VERSION,
            self.key,
            self.decision,
            self.model,
            self.api,
            f"{self.ttl_s:g}",
            self.partition or "-",
            vector,
        )
        return ";".join(fields)

    @staticmethod
    def parse(value: str) -> Ticket | None:
        fields = value.split(";")
        if len(fields) != 8 or fields[0] != _VERSION or fields[4] not in _APIS:
            return None
        _, key, decision, model, api, ttl, partition, vector = fields
        try:
            ttl_s = float(ttl)
            embedding = (
                None if vector == "-" else np.frombuffer(base64.b64decode(vector), np.float16).astype(np.float32)
            )
        except ValueError:
            return None
        if not key or ttl_s <= 0:
            return None
        return Ticket(key, decision, model, api, ttl_s, None if partition == "-" else partition, embedding)  # type: ignore[arg-type]
