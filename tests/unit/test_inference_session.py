"""Execution provider choice: CUDA only with the GPU build, CoreML for metal, CPU always works."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from llmswitch.inference.session import ACCELERATORS, COREML, CPU, CUDA, choose_providers, create_session  # noqa: E402


def test_cpu_only_build_uses_cpu():
    assert choose_providers("auto", [CPU]) == [CPU]


def test_gpu_build_prefers_cuda_with_cpu_fallback():
    assert choose_providers("auto", [CUDA, CPU]) == [CUDA, CPU]


def test_cpu_can_be_forced():
    assert choose_providers("cpu", [CUDA, CPU]) == [CPU]


def test_cuda_without_gpu_build_is_an_error():
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        choose_providers("cuda", [CPU])


def test_metal_maps_to_coreml():
    assert choose_providers("metal", [COREML, CPU]) == [COREML, CPU]
    with pytest.raises(RuntimeError, match="CoreMLExecutionProvider.*macOS"):
        choose_providers("metal", [CUDA, CPU])


@pytest.fixture
def relu_model(tmp_path):
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "relu.onnx")
    return tmp_path / "relu.onnx"


def _runs(session) -> bool:
    return session.run(None, {"x": np.array([-1.0, 2.0], np.float32)})[0].tolist() == [0.0, 2.0]


@pytest.mark.skipif(CUDA in ort.get_available_providers(), reason="GPU build installed")
def test_session_runs_on_cpu_without_gpu_package(relu_model):
    session = create_session(relu_model, intra_op_threads=1)
    assert session.get_providers() == [CPU]
    assert _runs(session)


@pytest.mark.parametrize("device", ["cuda", "metal"])
def test_missing_accelerator_falls_back_to_cpu_with_a_warning(relu_model, device, caplog):
    if ACCELERATORS[device] in ort.get_available_providers():
        pytest.skip(f"{ACCELERATORS[device]} installed")
    with pytest.raises(RuntimeError):
        create_session(relu_model, device)
    with caplog.at_level("WARNING", logger="llmswitch.inference.session"):
        session = create_session(relu_model, device, cpu_fallback=True)
    assert session.get_providers() == [CPU] and _runs(session)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "relu.onnx" in warning and ACCELERATORS[device] in warning and "running on the CPU" in warning


def test_provider_that_cannot_start_is_reported(relu_model, monkeypatch, caplog):
    """ONNX Runtime drops a requested provider it cannot start and runs on the CPU; the router says so."""
    if CUDA in ort.get_available_providers():
        pytest.skip("GPU build installed")
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    with caplog.at_level("WARNING", logger="llmswitch.inference.session"), pytest.warns(UserWarning):
        session = create_session(relu_model, "cuda")
    assert session.get_providers() == [CPU] and _runs(session)
    assert any("could not start CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
