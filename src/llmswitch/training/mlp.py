"""Trains the `mlp` selector: a torch MLP classifying each query's best model, exported to ONNX.

With validation rows, the epoch count is the one with the lowest validation cross-entropy
(early stopping, patience 5); the final network is then trained on every row for that many epochs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.mlp import INPUT, METADATA_KEY, OUTPUT

if TYPE_CHECKING:
    from llmswitch.training.selector_data import TrainingData, TrainSettings

BATCH = 128
PATIENCE = 5


def _network(features: int, hidden: tuple[int, ...], models: int, dropout: float):
    import torch

    layers: list[torch.nn.Module] = []
    width = features
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        width = size
    layers.append(torch.nn.Linear(width, models))
    return torch.nn.Sequential(*layers)


@dataclass
class TrainedMlp:
    net: Any
    """The torch network with a softmax on top, in eval mode, on the CPU."""
    epochs: int
    history: list[float]
    """Validation cross-entropy per epoch (empty without validation rows)."""

    def scores(self, features: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.net(torch.from_numpy(np.asarray(features, np.float32))).numpy()


def fit_mlp(data: TrainingData, settings: TrainSettings, val: TrainingData | None = None,
            epochs: int | None = None) -> TrainedMlp:
    """Fit on (features, best model) with cross-entropy; with `val`, stop at the best validation epoch."""
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
        history: list[float] = []
        best_state, best_epoch = None, epochs or settings.mlp_epochs
        for epoch in range(epochs or settings.mlp_epochs):
            net.train()
            order = torch.from_numpy(rng.permutation(len(x))).to(device)
            for start in range(0, len(x), BATCH):
                idx = order[start : start + BATCH]
                loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if val is None:
                continue
            net.eval()
            with torch.inference_mode():
                xv = torch.from_numpy(val.features.astype(np.float32)).to(device)
                yv = torch.from_numpy(val.best.astype(np.int64)).to(device)
                history.append(float(torch.nn.functional.cross_entropy(net(xv), yv)))
            if history[-1] <= min(history):
                best_state, best_epoch = {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch + 1
            elif epoch + 1 - best_epoch >= PATIENCE:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net = torch.nn.Sequential(net.cpu(), torch.nn.Softmax(dim=1)).eval()
        return TrainedMlp(net, best_epoch, history)
    finally:
        torch.set_num_threads(threads)


def export_onnx(net: Any, features: int, meta: ArtifactMeta) -> bytes:
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
