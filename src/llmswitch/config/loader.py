"""Reading a config file into a validated `Config`, with errors that name the YAML path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from llmswitch.config.algorithms import ALGORITHM_TYPES
from llmswitch.config.plugins import PLUGIN_TYPES
from llmswitch.config.schema import Config


class ConfigError(Exception):
    """An invalid config; `problems` holds one "path: message" line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid config {source}:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: str
    sha256: str


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    previous: int | str | None = None
    before: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif (
            part in ("rule", "condition")
            or (previous in ("algorithm", "inner") and part in ALGORITHM_TYPES)
            or (before == "plugins" and isinstance(previous, int) and part in PLUGIN_TYPES)
        ):
            pass  # pydantic's union tags, not YAML keys
        else:
            path += f".{part}" if path else str(part)
        before, previous = previous, part
    return path or "<root>"


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:  # cross-reference problems already carry their paths
            problems.extend(message.split("; "))
        else:
            problems.append(f"{_yaml_path(item['loc'])}: {message}")
    return problems


def parse_config(text: str, source: str = "<string>") -> LoadedConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["<root>: expected a mapping of config keys"])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _problems(exc)) from None
    return LoadedConfig(config, source, hashlib.sha256(text.encode()).hexdigest())


def load_config(path: str | Path) -> LoadedConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read file: {exc}"]) from None
    return parse_config(text, str(path))
