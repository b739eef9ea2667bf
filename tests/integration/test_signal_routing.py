"""Language- and complexity-routed requests through the real Envoy, with lingua and the ONNX encoder in the router."""

import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import routed_by

pytestmark = pytest.mark.integration


def signal_config(ports: list[int]) -> dict:
    data = base_config(ports)
    data["signals"]["language"] = [{"name": "spanish", "languages": ["es"], "min_confidence": 0.5}]
    data["signals"]["complexity"] = [{"name": "hard_task", "level": "hard", "threshold": 0.5}]
    data["decisions"] += [
        {
            "name": "spanish",
            "priority": 40,
            "rules": {"type": "language", "name": "spanish"},
            "modelRefs": [{"model": "large-model"}],
        },
        {
            "name": "hard",
            "priority": 30,
            "rules": {"type": "complexity", "name": "hard_task"},
            "modelRefs": [{"model": "large-model"}],
        },
    ]
    return data


def test_language_and_complexity_pick_the_model(tmp_path):
    path = write_config(tmp_path / "config.yaml", signal_config(free_ports(6)))
    with LocalStack(path, log_dir=tmp_path) as stack:
        assert routed_by(stack, "¿Cuál es la mejor manera de aprender a programar?") == ("spanish", "large-model")
        assert routed_by(stack, "Prove that the real numbers are uncountable using a diagonal argument.") == ("hard", "large-model")
        assert routed_by(stack, "What is the capital of Italy?") == ("default", "small-model")
