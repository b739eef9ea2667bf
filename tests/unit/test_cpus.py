"""CPU counting for `router.workers: auto`, on cgroup trees laid out as the kernel does."""

import os

import pytest

from llmswitch.config import ConfigError
from llmswitch.config.schema import MAX_WORKERS
from llmswitch.cpus import available_cpus, cpu_quota
from tests.helpers import base_config, loaded

AFFINITY = len(os.sched_getaffinity(0))


def tree(root, proc_cgroup: str, files: dict[str, str]):
    for relative, text in files.items():
        path = root / "cgroup" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "self").write_text(proc_cgroup)
    return root / "cgroup", root / "self"


def test_cgroup_v2_quota_of_the_container(tmp_path):
    roots = tree(tmp_path, "0::/\n", {"cpu.max": "150000 100000\n"})
    assert cpu_quota(*roots) == 1.5
    assert available_cpus(*roots) == 1  # rounded down: two busy processes would be throttled


def test_cgroup_v2_tightest_limit_of_the_cgroup_and_its_ancestors(tmp_path):
    files = {
        "kubepods/cpu.max": "300000 100000",
        "kubepods/pod1/cpu.max": "max 100000",
        "kubepods/pod1/c/cpu.max": "max 100000",
    }
    roots = tree(tmp_path, "0::/kubepods/pod1/c\n", files)
    assert cpu_quota(*roots) == 3.0


def test_cgroup_v2_without_a_limit(tmp_path):
    roots = tree(tmp_path, "0::/\n", {"cpu.max": "max 100000"})
    assert cpu_quota(*roots) is None
    assert available_cpus(*roots) == AFFINITY


def test_cgroup_v1_quota(tmp_path):
    files = {"cpu,cpuacct/cpu.cfs_quota_us": "250000", "cpu,cpuacct/cpu.cfs_period_us": "100000"}
    roots = tree(tmp_path, "4:memory:/x\n3:cpu,cpuacct:/\n", files)
    assert cpu_quota(*roots) == 2.5
    assert available_cpus(*roots) == min(AFFINITY, 2)


def test_cgroup_v1_without_a_limit_and_no_cgroups_at_all(tmp_path):
    files = {"cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000"}
    roots = tree(tmp_path, "3:cpu,cpuacct:/\n", files)
    assert cpu_quota(*roots) is None
    assert cpu_quota(tmp_path / "missing", tmp_path / "missing-self") is None


def test_a_quota_below_one_cpu_still_runs_one_worker(tmp_path):
    assert available_cpus(*tree(tmp_path, "0::/\n", {"cpu.max": "50000 100000"})) == 1


@pytest.mark.parametrize(("workers", "expected"), [(3, 3), ("auto", min(available_cpus(), MAX_WORKERS))])
def test_worker_count(workers, expected):
    data = base_config()
    data["router"]["workers"] = workers
    assert loaded(data).config.worker_count == expected


def test_auto_runs_one_worker_when_budgets_live_in_memory():
    data = base_config()
    data["router"]["workers"] = "auto"
    data["budget"] = {"limits": [{"scope": "global", "amount": 5}]}
    assert loaded(data).config.worker_count == 1
    data["budget"]["store"] = {"type": "redis"}
    assert loaded(data).config.worker_count == min(available_cpus(), MAX_WORKERS)


def test_several_workers_cannot_keep_budgets_in_memory():
    data = base_config()
    data["router"]["workers"] = 2
    data["budget"] = {"limits": [{"scope": "global", "amount": 5}]}
    with pytest.raises(ConfigError, match="router.workers: budget limits kept in memory are per process"):
        loaded(data)


@pytest.mark.parametrize(("workers", "threads", "expected"), [(1, 2, 2), ("auto", 2, 1), ("auto", 1, 1)])
def test_encoder_threads_per_worker_fit_the_cpus(monkeypatch, workers, threads, expected):
    monkeypatch.setattr("llmswitch.config.schema.available_cpus", lambda: 2)
    data = base_config()
    data["router"]["workers"] = workers
    data["semantics"] = {"intra_op_threads": threads}
    assert loaded(data).config.semantics_per_worker().intra_op_threads == expected
