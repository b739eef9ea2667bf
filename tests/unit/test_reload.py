import asyncio
import os

import pytest

from llmswitch.config import load_config
from llmswitch.reload import ConfigReloader, RouterState
from llmswitch.telemetry import RouterMetrics
from tests.helpers import base_config, chat_body, write_config


def reloader_for(path) -> ConfigReloader:
    state = RouterState(load_config(path))
    return ConfigReloader(path, state, RouterMetrics())


def counter(reloader: ConfigReloader, result: str) -> float:
    return reloader.metrics.registry.get_sample_value("llmswitch_config_reloads_total", {"result": result}) or 0


def decide(reloader: ConfigReloader, prompt: str) -> str:
    return reloader.state.current().route({}, chat_body(prompt)).decision


async def test_valid_change_is_swapped_in(tmp_path):
    data = base_config()
    path = write_config(tmp_path / "c.yaml", data)
    reloader = reloader_for(path)
    old = reloader.state.current()
    data["signals"]["keywords"][0]["keywords"] = ["rust"]
    write_config(path, data)
    assert await reloader.reload("test") is True
    assert decide(reloader, "rust please") == "code_decision"
    assert decide(reloader, "python please") == "default"
    assert old.route({}, chat_body("python please")).decision == "code_decision"  # in-flight streams keep theirs
    assert counter(reloader, "ok") == 1


@pytest.mark.parametrize(
    "breakage",
    [
        lambda path, data: path.write_text("version: [v1"),
        lambda path, data: write_config(path, {**data, "default_model": "ghost"}),
        lambda path, data: path.unlink(),
        # Envoy reads model endpoints: the running Envoy could not follow this change.
        lambda path, data: write_config(path, {**data, "models": [{**data["models"][0], "endpoint": "127.0.0.1:1"}, data["models"][1]]}),
    ],
)
async def test_invalid_change_keeps_the_old_config(tmp_path, breakage, caplog):
    data = base_config()
    path = write_config(tmp_path / "c.yaml", data)
    reloader = reloader_for(path)
    before = reloader.state.current()
    breakage(path, data)
    assert await reloader.reload("test") is False
    assert reloader.state.current() is before
    assert counter(reloader, "failed") == 1
    assert "rejected" in caplog.text or "failed" in caplog.text


async def test_watch_follows_a_configmap_symlink_swap(tmp_path):
    """Kubernetes mounts config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>; updates swap ..data."""
    data = base_config()
    first, second = tmp_path / "..2026_01", tmp_path / "..2026_02"
    first.mkdir(), second.mkdir()
    write_config(first / "config.yaml", data)
    data["signals"]["keywords"][0]["keywords"] = ["haskell"]
    write_config(second / "config.yaml", data)
    (tmp_path / "..data").symlink_to(first.name)
    (tmp_path / "config.yaml").symlink_to("..data/config.yaml")
    reloader = reloader_for(tmp_path / "config.yaml")
    watcher = asyncio.create_task(reloader.watch(0.02))
    try:
        (tmp_path / "..data_tmp").symlink_to(second.name)
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")  # the atomic swap kubelet does
        for _ in range(200):
            await asyncio.sleep(0.01)
            if decide(reloader, "haskell") == "code_decision":
                break
        assert decide(reloader, "haskell") == "code_decision"
        assert counter(reloader, "ok") == 1
    finally:
        watcher.cancel()


async def test_a_changed_failover_chain_reloads_and_routes_without_failover_until_envoy_follows(tmp_path, caplog):
    data = base_config()
    data["models"].append({**data["models"][1], "name": "medium-model"})
    data["decisions"][0]["modelRefs"] = [{"model": "large-model"}, {"model": "medium-model"}]
    path = write_config(tmp_path / "c.yaml", data)
    reloader = reloader_for(path)
    chains = reloader.state.current().egress.chains
    split_cluster = chains.cluster("split_test", "large-model", "chat")
    assert chains.cluster("code_decision", "medium-model", "chat") is not None
    data["decisions"][0]["modelRefs"] = [{"model": "medium-model"}]  # a chain Envoy's config does not hold
    write_config(path, data)
    assert await reloader.reload("test") is True
    plan = reloader.state.current().route({}, chat_body("python please"))
    assert (plan.decision, plan.model.name) == ("code_decision", "medium-model")
    reloaded = reloader.state.current().egress.chains
    assert reloaded.cluster("code_decision", "medium-model", "chat") is None  # the model's own cluster
    assert reloaded.cluster("split_test", "large-model", "chat") == split_cluster  # Envoy's chains kept
    assert "code_decision -> medium-model" in caplog.text
