"""Trains the `mlp` selector: a torch MLP classifying each query's best model, exported to ONNX."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.mlp import INPUT, METADATA_KEY, OUTPUT

if TYPE_CHECKING:
    from llmswitch.training.selectors import TrainingData, TrainSettings


def _network(features: int, hidden: tuple[int, ...], models: int, dropout: float):
    import torch

    layers: list[torch.nn.Module] = []
    width = features
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        width = size
    layers.append(torch.nn.Linear(width, models))
    return torch.nn.Sequential(*layers)


def train_mlp(data: TrainingData, settings: TrainSettings, meta: ArtifactMeta) -> bytes:
    """Fit on (features, best model) with cross-entropy; return the ONNX bytes (softmax included)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums, so the same weights, on every run
    try:
        torch.manual_seed(settings.seed)
        device = torch.device(settings.device if settings.device == "cpu" or torch.cuda.is_available() else "cpu")
        x = torch.from_numpy(data.features.astype(np.float32)).to(device)
        y = torch.from_numpy(data.best.astype(np.int64)).to(device)
        net = _network(x.shape[1], settings.mlp_hidden_dims, len(data.table.models), settings.mlp_dropout).to(device)
        opt = torch.optim.AdamW(net.parameters(), lr=settings.mlp_lr, weight_decay=1e-2)
        rng = np.random.default_rng(settings.seed)
        batch = 128
        net.train()
        for _ in range(settings.mlp_epochs):
            order = torch.from_numpy(rng.permutation(len(x))).to(device)
            for start in range(0, len(x), batch):
                idx = order[start : start + batch]
                loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net = torch.nn.Sequential(net.cpu(), torch.nn.Softmax(dim=1)).eval()
        return export_onnx(net, x.shape[1], meta)
    finally:
        torch.set_num_threads(threads)


def export_onnx(net, features: int, meta: ArtifactMeta) -> bytes:
    """ONNX bytes of `net` with a dynamic batch axis and the artifact metadata attached."""
    import onnx
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlp.onnx"
        example = torch.zeros((2, features), dtype=torch.float32)
        with torch.inference_mode():
            torch.onnx.export(
                net, (example,), str(path), dynamo=True, input_names=[INPUT], output_names=[OUTPUT],
                dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False, verbose=False,
            )
        model = onnx.load(str(path))
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, meta.to_json()
    return model.SerializeToString()
