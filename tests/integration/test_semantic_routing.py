"""A domain-routed request through the real Envoy, with the real ONNX encoder in the router."""

import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import free_ports, write_config
from tests.integration.conftest import routed_by
from tests.semantic_config import semantic_config

pytestmark = pytest.mark.integration


def test_math_question_is_routed_by_its_domain(tmp_path):
    path = write_config(tmp_path / "config.yaml", semantic_config(free_ports(6)))
    with LocalStack(path, log_dir=tmp_path) as stack:
        assert routed_by(stack, "Solve for x: 3x + 7 = 22, then compute x squared.") == ("math", "large-model")
        assert routed_by(stack, "Can I get a refund for my order?") == ("refunds", "large-model")
        assert routed_by(stack, "What's a good name for a cat?") == ("default", "small-model")
