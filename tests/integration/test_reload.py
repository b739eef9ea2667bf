"""Hot reload under traffic through the real Envoy: no request fails, bad configs change nothing."""

import signal
import threading
import time

import httpx
import pytest

from llmswitch.demo.stack import LocalStack
from tests.helpers import base_config, free_ports, write_config
from tests.integration.conftest import scrape_metrics, wait_until

pytestmark = pytest.mark.integration


class Traffic(threading.Thread):
    """Sends requests until stopped; records every status and the model that answered."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop_event = threading.Event()
        self.results: list[tuple[int, str]] = []

    def run(self) -> None:
        body = {"model": "auto", "messages": [{"role": "user", "content": "tell me about rust and python"}]}
        with httpx.Client(timeout=10) as client:
            while not self.stop_event.is_set():
                try:
                    response = client.post(self.url, json=body)
                    self.results.append((response.status_code, response.headers.get("x-upstream-name", "")))
                except httpx.HTTPError as exc:
                    self.results.append((0, type(exc).__name__))

    def stop(self) -> list[tuple[int, str]]:
        self.stop_event.set()
        self.join(10)
        return self.results


def reload_counts(stack) -> dict[str, float]:
    return {
        dict(labels)["result"]: value
        for (name, labels), value in scrape_metrics(stack).items()
        if name == "llmswitch_config_reloads_total"
    }


def test_reloads_under_traffic_lose_no_request(tmp_path):
    data = base_config(free_ports(6))
    data["reload"] = {"interval_s": 0.05}
    path = write_config(tmp_path / "config.yaml", data)
    with LocalStack(path, log_dir=tmp_path) as stack:
        traffic = Traffic(f"{stack.base_url}/chat/completions")
        traffic.start()
        keyword_sets = [["python"], ["rust"]] * 5  # each reload flips which model answers
        for index, keywords in enumerate(keyword_sets):
            data["signals"]["keywords"][0]["keywords"] = keywords + [f"marker-{index}"]
            write_config(path, data)
            assert wait_until(lambda i=index: reload_counts(stack).get("ok", 0) == i + 1), stack.log("router")
            time.sleep(0.1)
        served_before_bad = len(traffic.results)
        broken = path.with_name("broken.yaml")
        broken.write_text("version: v1\nmodels: [")
        broken.replace(path)  # invalid: the old config must keep serving
        assert wait_until(lambda: reload_counts(stack).get("failed", 0) == 1)
        time.sleep(0.3)
        results = traffic.stop()
    failures = [r for r in results if r[0] != 200]
    assert failures == [], failures[:5]
    assert len(results) > served_before_bad > 20
    assert {model for _, model in results} == {"large-model"}  # both keyword sets match the prompt
    assert "config reload (file changed) rejected" in stack.log("router")


def test_sighup_reloads(tmp_path):
    data = base_config(free_ports(6))
    data["reload"] = {"watch": False}
    path = write_config(tmp_path / "config.yaml", data)
    with LocalStack(path, log_dir=tmp_path) as stack:
        url = f"{stack.base_url}/chat/completions"
        body = {"model": "auto", "messages": [{"role": "user", "content": "erlang question"}]}
        assert httpx.post(url, json=body, timeout=10).headers["x-upstream-name"] == "small-model"
        data["signals"]["keywords"][0]["keywords"] = ["erlang"]
        write_config(path, data)
        time.sleep(0.3)
        assert httpx.post(url, json=body, timeout=10).headers["x-upstream-name"] == "small-model"  # not watched
        stack.processes["router"].send_signal(signal.SIGHUP)
        assert wait_until(lambda: reload_counts(stack).get("ok", 0) == 1)
        assert httpx.post(url, json=body, timeout=10).headers["x-upstream-name"] == "large-model"
