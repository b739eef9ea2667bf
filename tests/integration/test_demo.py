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
        "everyday question": ["chat", "auto", "default", "small-model", "small-model"],
        "code keyword": ["chat", "auto", "code_decision", "large-model", "large-model"],
        "maths (domain)": ["chat", "auto", "math_decision", "large-model", "large-model"],
        "refund (similarity)": ["chat", "auto", "refund_decision", "small-model", "small-model"],
        "premium header": ["chat", "auto", "code_decision", "large-model", "large-model"],
        "explicit model": ["chat", "small-model", "passthrough", "small-model", "small-model"],
        "streamed code question": ["chat", "auto", "code_decision", "large-model", "large-model"],
        "writing (streamed)": ["chat", "auto", "writing_decision", "claude-model", "claude-model"],
        "proofreading": ["messages", "auto", "writing_decision", "claude-model", "claude-model"],
        "code (streamed)": ["messages", "auto", "code_decision", "large-model", "large-model"],
        "essay outline": ["responses", "auto", "writing_decision", "claude-model", "claude-model"],
    }
    for label, cells in expected.items():
        assert rows[label] == cells, (label, rows)
    decision, routed, answered = rows["long context (~2.3k tokens)"][2:]
    assert decision == "long_context" and routed == answered  # weighted 3:1, either model
