"""`code_eval` scoring: run a response's code against the ground truth's tests, sandboxed.

The ground truth lists tests as a Python or JSON list of strings (`"['assert f(1) == 2', ...]"`,
vLLM Semantic Router's form), or as test code with one `assert` per line. The code is the
response's first fenced block (```python or ```), else the whole response. Each test runs in its
own Python subprocess, with the code, and passes when the process exits 0 within the timeout.

The subprocess has no network (a fresh network namespace via `unshare -rn` where the kernel
allows it; in any case an audit hook refuses sockets, subprocesses, exec and ctypes), an empty
temporary working directory, a minimal environment and limits on CPU time, memory, file size and
open files. This keeps honest mistakes (an endless loop, a stray request) from doing harm; it is
not a boundary against deliberately hostile code, which should be scored in a throwaway VM.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT_S = 5.0
MEMORY_BYTES = 1 << 30
_FENCE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)

HARNESS = r"""
import json, sys
payload = json.loads(sys.stdin.read())
BLOCKED = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.system",
           "os.kill", "ctypes.", "pty.", "webbrowser.", "urllib.Request")
def guard(event, args):
    if event.startswith(BLOCKED):
        raise PermissionError(f"sandbox: {event} is not allowed")
sys.addaudithook(guard)
namespace = {"__name__": "__main__"}
exec(compile(payload["code"], "<candidate>", "exec"), namespace)
exec(compile(payload["test"], "<test>", "exec"), namespace)
"""


def extract_code(response: str) -> str:
    match = _FENCE.search(response)
    return match.group(1) if match else response


def parse_tests(ground_truth: str) -> list[str]:
    """Test snippets from a list literal (Python or JSON) or from lines starting with `assert`."""
    text = ground_truth.strip()
    if text.startswith("["):
        try:
            tests = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            try:
                tests = json.loads(text)
            except json.JSONDecodeError:
                tests = None
        if isinstance(tests, list) and all(isinstance(t, str) for t in tests):
            return [t for t in tests if t.strip()]
    asserts = [line.strip() for line in text.splitlines() if line.strip().startswith("assert")]
    return asserts or ([text] if text else [])


@functools.cache
def network_namespace_available() -> bool:
    """Whether `unshare -rn` can give a subprocess its own (empty) network namespace here."""
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _limits() -> None:  # runs in the child before exec
    import resource

    cpu = int(TIMEOUT_S) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 24, 1 << 24))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def passes(code: str, test: str, timeout_s: float = TIMEOUT_S) -> bool:
    """Whether `test` passes against `code` in a sandboxed subprocess."""
    command = [sys.executable, "-I", "-c", HARNESS]
    if network_namespace_available():
        command = ["unshare", "-rn", *command]
    with tempfile.TemporaryDirectory(prefix="llmswitch-code-eval-") as workdir:
        try:
            done = subprocess.run(
                command, input=json.dumps({"code": code, "test": test}), text=True, cwd=workdir,
                env={"PATH": "/usr/bin:/bin", "HOME": workdir, "PYTHONHASHSEED": "0"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout_s,
                preexec_fn=_limits, start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


def run_tests(response: str, ground_truth: str, timeout_s: float = TIMEOUT_S) -> float:
    """Share of the ground truth's tests the response's code passes (0 without tests)."""
    tests = parse_tests(ground_truth)
    if not tests:
        return 0.0
    code = extract_code(response)
    return sum(passes(code, test, timeout_s) for test in tests) / len(tests)
