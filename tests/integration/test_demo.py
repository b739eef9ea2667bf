"""`llmswitch demo`, the README's main job, end to end."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_routes_every_prompt_to_the_model_that_answers():
    result = subprocess.run(
        [sys.executable, "-m", "llmswitch.cli", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in result.stdout.splitlines() if line.startswith("│")}
    expected = {
        "everyday question": ["auto", "default", "small-model", "small-model"],
        "code keyword": ["auto", "code_decision", "large-model", "large-model"],
        "maths (domain)": ["auto", "math_decision", "large-model", "large-model"],
        "refund (similarity)": ["auto", "refund_decision", "small-model", "small-model"],
        "premium header": ["auto", "code_decision", "large-model", "large-model"],
        "explicit model": ["small-model", "passthrough", "small-model", "small-model"],
        "streamed code question": ["auto", "code_decision", "large-model", "large-model"],
    }
    for label, cells in expected.items():
        assert rows[label] == cells, (label, rows)
    decision, routed, answered = rows["explanation (knn)"][1:]
    assert decision == "learned_decision" and routed == answered and routed in ("large-model", "small-model")
    decision, routed, answered = rows["long context (~2.3k tokens)"][1:]
    assert decision == "long_context" and routed == answered  # weighted 3:1, either model
