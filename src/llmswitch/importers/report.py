"""What an import could not carry over, and what it carried with a change, by the source's YAML path."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_NAME_CHAR = re.compile(r"[^A-Za-z0-9._:/@+-]+")


@dataclass(frozen=True)
class Item:
    path: str
    message: str


@dataclass
class ImportReport:
    unmapped: list[Item] = field(default_factory=list)
    """Left out of the converted config."""
    changed: list[Item] = field(default_factory=list)
    """Carried over, but not exactly as written (a rename, a default, a different scale)."""

    def not_mapped(self, path: str, reason: str) -> None:
        self.unmapped.append(Item(path, reason))

    def change(self, path: str, message: str) -> None:
        self.changed.append(Item(path, message))

    def extra_keys(self, data: dict, path: str, handled: Iterable[str], reasons: dict[str, str] | None = None) -> None:
        """Report every key of `data` the converter did not handle; values that switch a feature off are skipped."""
        known = set(handled)
        for key, value in data.items():
            if key not in known and not is_off(value):
                reason = (reasons or {}).get(key, "llmswitch has no equivalent")
                self.not_mapped(f"{path}.{key}" if path else key, reason)

    def lines(self) -> list[str]:
        """Both lists, each in YAML-path order (decisions[2] before decisions[10])."""
        out = []
        for title, items in (("not mapped", self.unmapped), ("changed", self.changed)):
            if items:
                out.append(f"{title} ({len(items)}):")
                out += [f"  {item.path}: {item.message}" for item in sorted(items, key=_path_order)]
        return out


def _path_order(item: Item) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", item.path)]


def is_off(value: object) -> bool:
    """Values that mean "not used": false, empty, null, or a block with `enabled: false`."""
    if value is None or value is False or value == [] or value == {} or value == "":
        return True
    return isinstance(value, dict) and value.get("enabled") is False


class Names:
    """llmswitch names for the source's names: invalid characters become `_`, clashes get a suffix."""

    def __init__(self, report: ImportReport, reserved: Iterable[str] = ()) -> None:
        self._report = report
        self._reserved = frozenset(reserved)
        self._taken = set(self._reserved)
        self.mapping: dict[str, str] = {}

    def add(self, name: object, path: str) -> str | None:
        """The llmswitch name for `name` (reported when it changes); None if it has no usable characters."""
        text = str(name).strip()
        safe = _NAME_CHAR.sub("_", text).lstrip("._:/@+-")[:120]
        if not safe:
            self._report.not_mapped(path, f"{text!r} has no characters an llmswitch name can use")
            return None
        candidate, n = safe, 2
        while candidate in self._taken:
            candidate, n = f"{safe}_{n}", n + 1
        if candidate != text:
            why = "reserved in llmswitch" if text in self._reserved else "llmswitch names: letters, digits, ._:/@+-"
            self._report.change(path, f"{text!r} is named {candidate!r} ({why})")
        self._taken.add(candidate)
        self.mapping[text] = candidate
        return candidate
