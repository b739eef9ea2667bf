"""The real Envoy binary's opinion of an Envoy config."""

from __future__ import annotations

import subprocess
from pathlib import Path

from llmswitch.demo.stack import envoy_binary


def validate(text: str, directory: Path) -> subprocess.CompletedProcess:
    path = directory / "envoy.yaml"
    path.write_text(text)
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "--config-path", str(path), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
    )
