"""ONNX Runtime session creation: CUDA when the GPU build and a GPU are present, else CPU."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import onnxruntime as ort

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def choose_providers(device: Device, available: Sequence[str]) -> list[str]:
    """Execution providers to request, best first; CPU is always the last resort."""
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise RuntimeError("device='cuda' needs the onnxruntime-gpu package; only " + ", ".join(available))
    return [CPU]


def create_session(model_path: Path, device: Device = "auto", intra_op_threads: int = 1) -> ort.InferenceSession:
    """An inference session for ``model_path``.

    ``intra_op_threads`` bounds the CPU threads one inference may use (0 lets
    ONNX Runtime pick one per core). If the GPU build is installed but no GPU is
    usable, ONNX Runtime itself falls back to CPU; the providers actually in use
    are logged and readable from ``session.get_providers()``.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Pool threads spin between the operators of one run (fast hand-offs) but not after it: the
    # router shares its cores with Envoy and the event loop.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    providers = choose_providers(device, ort.get_available_providers())
    session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
    log.info("onnx session for %s on %s", model_path.name, session.get_providers())
    return session
