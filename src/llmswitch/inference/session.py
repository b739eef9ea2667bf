"""ONNX Runtime session creation: an accelerator's provider when ONNX Runtime has it, else the CPU.

`cuda` needs the GPU build (`onnxruntime-gpu`, the `gpu` extra); `metal` maps to the CoreML
provider, which ONNX Runtime's macOS builds ship. `auto` takes CUDA when present.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import onnxruntime as ort

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda", "metal"]

CUDA = "CUDAExecutionProvider"
COREML = "CoreMLExecutionProvider"
CPU = "CPUExecutionProvider"
ACCELERATORS: dict[str, str] = {"cuda": CUDA, "metal": COREML}
_WHERE = {CUDA: "the onnxruntime-gpu package", COREML: "an onnxruntime build for macOS"}


def choose_providers(device: Device, available: Sequence[str]) -> list[str]:
    """Execution providers to request, best first; CPU is always the last resort.

    Raises RuntimeError when `device` names an accelerator ONNX Runtime does not have.
    """
    if device == "cpu":
        return [CPU]
    if device == "auto":
        return [CUDA, CPU] if CUDA in available else [CPU]
    wanted = ACCELERATORS[device]
    if wanted not in available:
        raise RuntimeError(
            f"device={device!r} needs ONNX Runtime's {wanted}, which comes with {_WHERE[wanted]}; "
            "this one has only " + ", ".join(available)
        )
    return [wanted, CPU]


def create_session(
    model_path: Path, device: Device = "auto", intra_op_threads: int = 1, *, cpu_fallback: bool = False
) -> ort.InferenceSession:
    """An inference session for ``model_path``.

    ``intra_op_threads`` bounds the CPU threads one inference may use (0 lets ONNX Runtime pick one
    per core). A missing accelerator provider raises, unless ``cpu_fallback``: then the session runs
    on the CPU and a warning says why. When the provider exists but cannot start (the GPU build
    without a usable GPU), ONNX Runtime itself falls back to the CPU; that is logged as a warning too.
    The providers in use are readable from ``session.get_providers()``.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Pool threads spin between the operators of one run (fast hand-offs) but not after it: the
    # router shares its cores with Envoy and the event loop.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    try:
        providers = choose_providers(device, ort.get_available_providers())
    except RuntimeError as exc:
        if not cpu_fallback:
            raise
        log.warning("%s: %s; running on the CPU instead", model_path, exc)
        providers = [CPU]
    session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
    if providers[0] != CPU and providers[0] not in session.get_providers():
        log.warning(
            "%s: ONNX Runtime could not start %s (no usable device?); running on the CPU instead",
            model_path,
            providers[0],
        )
    log.info("onnx session for %s on %s", model_path.name, session.get_providers())
    return session
