"""The `parameters` plugin: set, default, clamp or remove body parameters; set upstream headers.

`max_tokens` stands for the output cap of whichever client API the request uses (see
`body.output_cap_fields`); a clamp with a max also caps a request that sets no cap at all.
"""

from __future__ import annotations

from typing import Any

from llmswitch.config.plugins import OUTPUT_CAP, Clamp, ParametersPlugin
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond
from llmswitch.plugins.body import is_number, output_cap_fields
from llmswitch.protocols.view import ClientApi


def _clamped(value: float, bounds: Clamp) -> float:
    result = value
    if bounds.max is not None and result > bounds.max:
        result = bounds.max
    if bounds.min is not None and result < bounds.min:
        result = bounds.min
    if isinstance(value, int) and float(result).is_integer():
        return int(result)
    return result


def _present(data: dict[str, Any], name: str, api: ClientApi) -> list[str]:
    """The body fields `name` stands for that the request sets."""
    fields = output_cap_fields(api) if name == OUTPUT_CAP else (name,)
    return [field for field in fields if field in data]


def _target(data: dict[str, Any], name: str, api: ClientApi) -> list[str]:
    """The fields to write `name` to: those set, else the API's own field for it."""
    present = _present(data, name, api)
    if present:
        return present
    return [output_cap_fields(api)[0]] if name == OUTPUT_CAP else [name]


class Parameters:
    def __init__(self, config: ParametersPlugin) -> None:
        self.assign = config.assign
        self.defaults = config.defaults
        self.clamp = config.clamp
        self.remove = config.remove
        self.headers = list(config.headers.items())

    def apply_to(self, data: dict[str, Any], api: ClientApi) -> list[str]:
        """Change `data` in place; returns a note per clamped value."""
        notes: list[str] = []
        for name in self.remove:
            for field in _present(data, name, api):
                del data[field]
        for name, value in self.assign.items():
            for field in _target(data, name, api):
                data[field] = value
        for name, value in self.defaults.items():
            if not _present(data, name, api):
                data[_target(data, name, api)[0]] = value
        for name, bounds in self.clamp.items():
            present = _present(data, name, api)
            if not present and name == OUTPUT_CAP and bounds.max is not None:
                data[_target(data, name, api)[0]] = int(bounds.max)
                notes.append(f"parameters: {name} set to {int(bounds.max)}")
            for field in present:
                value = data[field]
                if is_number(value) and (clamped := _clamped(value, bounds)) != value:
                    data[field] = clamped
                    notes.append(f"parameters: {field} {value} -> {clamped}")
        return notes

    async def apply(self, exchange: Exchange) -> Respond | None:
        if self.headers:
            exchange.set_upstream_headers(self.headers)
        if exchange.view is None or not (self.assign or self.defaults or self.clamp or self.remove):
            return None
        for note in self.apply_to(exchange.data, exchange.plan.api):
            exchange.note(note)
        exchange.body_changed = True
        return None
