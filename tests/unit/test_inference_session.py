"""Execution provider choice: CUDA only with the GPU build, CPU always works."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from llmswitch.inference.session import CPU, CUDA, choose_providers  # noqa: E402


def test_cpu_only_build_uses_cpu():
    assert choose_providers("auto", [CPU]) == [CPU]


def test_gpu_build_prefers_cuda_with_cpu_fallback():
    assert choose_providers("auto", [CUDA, CPU]) == [CUDA, CPU]


def test_cpu_can_be_forced():
    assert choose_providers("cpu", [CUDA, CPU]) == [CPU]


def test_cuda_without_gpu_build_is_an_error():
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        choose_providers("cuda", [CPU])


@pytest.mark.skipif(CUDA in ort.get_available_providers(), reason="GPU build installed")
def test_session_runs_on_cpu_without_gpu_package(tmp_path):
    from onnx import TensorProto, helper, save

    from llmswitch.inference.session import create_session

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "relu.onnx")
    session = create_session(tmp_path / "relu.onnx", intra_op_threads=1)
    assert session.get_providers() == [CPU]
    assert session.run(None, {"x": np.array([-1.0, 2.0], np.float32)})[0].tolist() == [0.0, 2.0]
