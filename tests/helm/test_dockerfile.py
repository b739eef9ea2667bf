"""deploy/Dockerfile without a Docker engine: what it copies exists, and its entrypoint serves the chart's config."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from llmswitch.demo.stack import router_serving, wait_for
from tests.helm.chart import CHART_VALUES, ROOT, render, router_config_text
from tests.helpers import free_ports

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
LLMSWITCH = Path(sys.executable).parent / "llmswitch"


def instructions(name: str) -> list[str]:
    """Arguments of every instruction called `name`, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, flags=re.MULTILINE)]


def test_every_path_copied_from_the_build_context_exists():
    sources = []
    for args in instructions("COPY"):
        if args.startswith("--from="):
            continue
        sources.extend(args.split()[:-1])
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source


def test_image_user_and_entrypoint_match_the_chart():
    context = CHART_VALUES["securityContext"]
    assert instructions("USER") == [f"{context['runAsUser']}:{context['runAsGroup']}"]
    entrypoint = json.loads(instructions("ENTRYPOINT")[0])
    assert entrypoint == ["llmswitch", "serve", "--config", "/etc/llmswitch/config.yaml"]
    assert "ENV PATH=/opt/llmswitch/bin:$PATH" in DOCKERFILE.replace("\\\n", " ")


@pytest.fixture
def chart_router(tmp_path):
    """`llmswitch serve` on the chart's rendered config, moved to free ports."""
    router, metrics = free_ports(2)
    values = {"config": {"router": {"port": router}, "telemetry": {"metrics": {"port": metrics}}}}
    config = tmp_path / "config.yaml"
    config.write_text(router_config_text(render(values)))
    log = (tmp_path / "router.log").open("wb")
    process = subprocess.Popen([str(LLMSWITCH), "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, router, metrics
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_entrypoint_serves_health_and_metrics_for_the_chart_config_and_exits_on_sigterm(chart_router):
    process, port, metrics = chart_router
    wait_for(lambda: router_serving(f"127.0.0.1:{port}"), "llmswitch serve", process=process)
    assert httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=2).status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
