"""How many CPUs this process may use: its CPU affinity, capped by a container's CPU quota.

The quota comes from cgroup v2 (`cpu.max`: "<quota> <period>" or "max <period>") or cgroup v1
(`cpu.cfs_quota_us` / `cpu.cfs_period_us`, -1 for none), read for the process's own cgroup and its
ancestors: the tightest limit wins. A fractional quota rounds down (at least 1), so busy router
processes are not throttled for the rest of every period.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _folders(root: Path, relative: str) -> list[Path]:
    """The cgroup's folder and each ancestor's, below `root` (those that exist)."""
    folder = root / relative.strip("/")
    folders = []
    while True:
        if folder.is_dir():
            folders.append(folder)
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    return folders or [root]


def _v2_quota(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not period.isdigit() or int(period) == 0:
        return None
    return int(quota) / int(period)


def _v1_quota(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is None or period is None or not period.isdigit() or int(period) == 0:
        return None
    if int(quota) <= 0:
        return None
    return int(quota) / int(period)


def cpu_quota(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """The CPU quota in CPUs (1.5 for "150000 100000"), or None when there is none."""
    quotas: list[float] = []
    for line in (_read(self_cgroup) or "").splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, relative = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # cgroup v2, unified
            quotas += [q for f in _folders(cgroup_root, relative) if (q := _v2_quota(f)) is not None]
        elif "cpu" in controllers.split(","):  # cgroup v1
            for mount in (cgroup_root / controllers, cgroup_root / "cpu,cpuacct", cgroup_root / "cpu"):
                if mount.is_dir():
                    quotas += [q for f in _folders(mount, relative) if (q := _v1_quota(f)) is not None]
                    break
    return min(quotas) if quotas else None


def available_cpus(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> int:
    """CPUs this process may run on, capped by its CPU quota (rounded down, at least 1)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cpu_quota(cgroup_root, self_cgroup)
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, int(quota)))
