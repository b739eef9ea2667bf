"""Shared test helpers: configs on free ports, and request bodies."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import orjson
import yaml

from llmswitch.config import LoadedConfig, parse_config

# Below the ephemeral range, so Envoy's own outgoing connections cannot take them first.
_PORT_RANGE = (20000, 32000)


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    rng = random.Random()
    while len(ports) < count:
        port = rng.randrange(*_PORT_RANGE)
        if port in ports:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def base_config(ports: list[int] | None = None, **routing: object) -> dict:
    """The tests' config: keyword, header and context decisions, a weighted split, two models."""
    listener, admin, router, small, large, metrics = ports or [8080, 9901, 50051, 9001, 9002, 9090]
    return {
        "version": "v1",
        "listener": {"port": listener, "admin_port": admin},
        "router": {"port": router, "workers": 1, "max_body_bytes": 65536},
        "routing": {"message_timeout_ms": 2000, **routing},
        "telemetry": {"metrics": {"port": metrics}},
        "models": [
            {"name": "small-model", "endpoint": f"127.0.0.1:{small}", "pricing": {"input_per_1m": 0.2, "output_per_1m": 0.6}},
            {"name": "large-model", "endpoint": f"127.0.0.1:{large}"},
        ],
        "signals": {
            "keywords": [{"name": "code", "keywords": ["python", "def "]}],
            "context": [{"name": "long", "min_tokens": 2000}],
            "headers": [
                {"name": "premium", "header": "x-tier", "equals": "premium"},
                {"name": "split", "header": "x-experiment", "equals": "split"},
            ],
        },
        "decisions": [
            {
                "name": "code_decision",
                "priority": 100,
                "rules": {"operator": "OR", "conditions": [{"type": "keyword", "name": "code"}, {"type": "header", "name": "premium"}]},
                "modelRefs": [{"model": "large-model"}],
            },
            {
                "name": "long_context",
                "priority": 50,
                "rules": {"type": "context", "name": "long"},
                "modelRefs": [{"model": "large-model"}],
            },
            {
                "name": "split_test",
                "priority": 10,
                "rules": {"type": "header", "name": "split"},
                "modelRefs": [{"model": "large-model", "weight": 3}, {"model": "small-model", "weight": 1}],
                "algorithm": {"type": "weighted"},
            },
        ],
        "default_model": "small-model",
    }


def loaded(data: dict) -> LoadedConfig:
    return parse_config(yaml.safe_dump(data))


def write_config(path: Path, data: dict) -> Path:
    """Write atomically, as config management tools do, so a watcher never reads half a file."""
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(yaml.safe_dump(data, sort_keys=False))
    staging.replace(path)
    return path


def chat_body(prompt: str, model: str = "auto", **extra: object) -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], **extra})
