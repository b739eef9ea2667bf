"""The real Envoy binary accepts the chart's Envoy config, and its probe listener serves only /ready."""

import subprocess

import httpx
import pytest
import yaml

from llmswitch.demo.stack import envoy_binary, wait_for
from tests.helm import envoy
from tests.helm.chart import envoy_config_text, render
from tests.helm.test_envoy_equivalence import long_durations_config, varied_config
from tests.helpers import base_config, free_ports

CONFIGS = {"chart defaults": None, "varied": varied_config(), "long durations": long_durations_config()}


@pytest.mark.parametrize("data", CONFIGS.values(), ids=CONFIGS.keys())
def test_envoy_validates_the_rendered_config(tmp_path, data):
    text = envoy_config_text(render(None if data is None else {"config": data}))
    result = envoy.validate(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def running_envoy(tmp_path):
    *config_ports, probe = free_ports(7)
    data = base_config(config_ports)
    data["listener"]["probe_port"] = probe
    text = envoy_config_text(render({"config": data}))
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    log = (tmp_path / "envoy.log").open("wb")
    process = subprocess.Popen(
        [envoy_binary(), "--config-path", str(path), "--disable-hot-restart", "--concurrency", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, yaml.safe_load(text), probe
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_probe_port_answers_ready_and_nothing_else_from_admin(running_envoy):
    process, bootstrap, probe = running_envoy
    base = f"http://127.0.0.1:{probe}"
    wait_for(lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200, "Envoy probe listener", process=process)
    assert httpx.get(f"{base}/ready", timeout=1).text.strip() == "LIVE"
    for path in ("/stats", "/config_dump", "/quitquitquit", "/ready/x"):
        assert httpx.get(f"{base}{path}", timeout=1).status_code == 404
    assert process.poll() is None
    admin_port = bootstrap["admin"]["address"]["socket_address"]["port_value"]
    assert httpx.get(f"http://127.0.0.1:{admin_port}/ready", timeout=1).status_code == 200
