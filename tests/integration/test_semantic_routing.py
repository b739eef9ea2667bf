"""A domain-routed request through the real Envoy, with the real ONNX encoder in the router."""

import pytest
from openai import OpenAI

from llmswitch.demo.stack import LocalStack
from tests.helpers import free_ports, write_config
from tests.semantic_config import semantic_config

pytestmark = pytest.mark.integration


def test_math_question_is_routed_by_its_domain(tmp_path):
    path = write_config(tmp_path / "config.yaml", semantic_config(free_ports(6)))
    with LocalStack(path, log_dir=tmp_path) as stack:
        client = OpenAI(base_url=stack.base_url, api_key="test", max_retries=0, timeout=20)

        def ask(prompt: str):
            raw = client.chat.completions.with_raw_response.create(
                model="auto", messages=[{"role": "user", "content": prompt}]
            )
            return raw.headers["x-llmswitch-decision"], raw.headers["x-upstream-name"]

        assert ask("Solve for x: 3x + 7 = 22, then compute x squared.") == ("math", "large-model")
        assert ask("Can I get a refund for my order?") == ("refunds", "large-model")
        assert ask("What's a good name for a cat?") == ("default", "small-model")
