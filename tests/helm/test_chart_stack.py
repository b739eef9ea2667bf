"""The chart's two ConfigMaps run together as in the pod: stub models, `llmswitch serve` and Envoy."""

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from llmswitch.demo.stack import envoy_binary, port_open, router_serving, wait_for
from tests.helm.chart import envoy_config_text, render, router_config_text
from tests.helpers import base_config, free_ports

LLMSWITCH = Path(sys.executable).parent / "llmswitch"


def spawn(stack: ExitStack, argv: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return process


@pytest.fixture
def pod(tmp_path):
    """Processes started from the chart's rendered configs; yields Envoy's base URL."""
    *config_ports, probe = free_ports(7)
    listener, _, router, small, large, _ = config_ports
    data = base_config(config_ports)  # no router.address: the chart's 0.0.0.0 applies
    data["listener"]["probe_port"] = probe
    objects = render({"config": data})
    (tmp_path / "config.yaml").write_text(router_config_text(objects))
    (tmp_path / "envoy.yaml").write_text(envoy_config_text(objects))
    with ExitStack() as stack:
        stubs = spawn(
            stack,
            [sys.executable, "-m", "llmswitch.demo.upstream", f"small-model={small}", f"large-model={large}"],
            tmp_path / "upstreams.log",
        )
        serve_argv = [str(LLMSWITCH), "serve", "--config", str(tmp_path / "config.yaml")]
        serve = spawn(stack, serve_argv, tmp_path / "router.log")
        envoy_argv = [envoy_binary(), "--config-path", str(tmp_path / "envoy.yaml"), "--disable-hot-restart"]
        envoy = spawn(stack, [*envoy_argv, "--concurrency", "1"], tmp_path / "envoy.log")
        for port in (small, large):
            wait_for(lambda port=port: port_open("127.0.0.1", port), "stub model", process=stubs)
        wait_for(lambda: router_serving(f"127.0.0.1:{router}"), "llmswitch serve", process=serve)
        ready = f"http://127.0.0.1:{probe}/ready"
        wait_for(lambda: httpx.get(ready, timeout=1).status_code == 200, "Envoy", process=envoy)
        yield f"http://127.0.0.1:{listener}"


def ask(base_url: str, prompt: str, headers: dict | None = None) -> httpx.Response:
    body = {"model": "auto", "messages": [{"role": "user", "content": prompt}]}
    return httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=headers, timeout=10)


def test_auto_requests_are_routed_through_the_chart_configs(pod):
    code = ask(pod, "Write a python function that reverses a list.")
    assert code.status_code == 200, code.text
    assert code.headers["x-llmswitch-model"] == "large-model"
    chat = ask(pod, "What is the capital of France?", headers={"x-llmswitch-cluster": "model_large-model"})
    assert chat.status_code == 200, chat.text
    assert chat.headers["x-llmswitch-model"] == "small-model"
