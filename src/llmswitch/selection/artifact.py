"""Trained selector artifacts: small npz/json files carrying the model set they were trained for.

Every artifact records its algorithm, its models (in score order) and a fingerprint of that model
set. A selector refuses, at config load, an artifact that is missing, unreadable, made by another
algorithm, or trained for models other than its decision's modelRefs.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from llmswitch.config import ConfigError
from llmswitch.config.algorithms import ARTIFACT_FILES
from llmswitch.selection.base import SelectorContext

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class ArtifactError(ValueError):
    """An artifact that cannot be used; the selector turns it into a ConfigError."""


def model_set_fingerprint(models: Sequence[str]) -> str:
    """A short hash of the set of model names (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(models)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ArtifactMeta:
    algorithm: str
    models: tuple[str, ...]
    fingerprint: str
    settings: dict[str, Any]

    @classmethod
    def create(cls, algorithm: str, models: Sequence[str], settings: Mapping[str, Any]) -> ArtifactMeta:
        return cls(algorithm, tuple(models), model_set_fingerprint(models), dict(settings))

    def to_json(self) -> str:
        data = {"algorithm": self.algorithm, "models": list(self.models), "fingerprint": self.fingerprint}
        return json.dumps({**data, "settings": self.settings}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, algorithm: str) -> ArtifactMeta:
        try:
            data = json.loads(text)
            meta = cls(data["algorithm"], tuple(data["models"]), data["fingerprint"], dict(data["settings"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"unreadable artifact metadata ({exc})") from None
        if meta.algorithm != algorithm:
            raise ArtifactError(f"artifact was trained for algorithm {meta.algorithm!r}, not {algorithm!r}")
        if meta.fingerprint != model_set_fingerprint(meta.models):
            raise ArtifactError("artifact fingerprint does not match its model list (corrupt file?)")
        return meta


def save_npz(path: Path, meta: ArtifactMeta, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays plus metadata; fixed timestamps, so the same training gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {**arrays, "meta": np.array(meta.to_json())}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in entries.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH), buffer.getvalue(),
                             compress_type=zipfile.ZIP_DEFLATED)
    return path


def load_npz(path: Path, algorithm: str) -> tuple[ArtifactMeta, dict[str, np.ndarray]]:
    """Metadata and arrays of an npz artifact; raises ArtifactError if it is unusable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise ArtifactError(f"file not found: {path}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None
    if "meta" not in arrays:
        raise ArtifactError(f"{path} is not a selector artifact (no metadata)")
    return ArtifactMeta.from_json(str(arrays.pop("meta")), algorithm), arrays


def save_json(path: Path, meta: ArtifactMeta, payload: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**json.loads(meta.to_json()), "data": payload}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_json(path: Path, algorithm: str) -> tuple[ArtifactMeta, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None
    meta = ArtifactMeta.from_json(text, algorithm)
    return meta, dict(json.loads(text).get("data") or {})


# What vLLM Semantic Router's trainer writes; recognised only to explain that they need retraining.
PEER_ARTIFACT_FILES = {
    "knn": "knn_model.json",
    "kmeans": "kmeans_model.json",
    "svm": "svm_model.json",
    "mlp": "mlp_model.json",
}


def _from_config_dir(context: SelectorContext, path: str) -> Path:
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else context.base_dir / resolved


def artifact_path(context: SelectorContext, algorithm: str, artifact: str | None) -> Path:
    """The `artifact` given, else `<model_selection.ml.models_path>/<decision name>/<algorithm's file>`."""
    if artifact is not None:
        return _from_config_dir(context, artifact)
    models_path = context.config.model_selection.ml.models_path
    if models_path is None:  # the schema rejects this; a hand-built context may not have been validated
        raise config_error(context, f"{algorithm}.artifact", "no artifact and no model_selection.ml.models_path")
    return _from_config_dir(context, models_path) / context.decision.name / ARTIFACT_FILES[algorithm]


def _missing(context: SelectorContext, algorithm: str, path: Path) -> str:
    """Why the file is missing and the command that creates it."""
    file = ARTIFACT_FILES[algorithm]
    models = ", ".join(ref.model for ref in context.decision.model_refs)
    if path.name == file:
        how = (
            f"create it with `llmswitch train selectors --data BENCHMARK.jsonl --out {path.parent} "
            f"--algorithms {algorithm}` from benchmark records of exactly this decision's models ({models})"
        )
    else:
        how = f"`llmswitch train selectors --algorithms {algorithm}` writes {file}; point {algorithm}.artifact at it"
    message = f"file not found: {path}; {how}"
    peer_file = PEER_ARTIFACT_FILES.get(algorithm)
    peer = [p / peer_file for p in (path.parent, path.parent.parent) if peer_file and (p / peer_file).is_file()]
    if peer:
        message += (
            f"; {peer[0]} is a vLLM Semantic Router artifact, which llmswitch cannot read (another format "
            "and embedding model): retrain as above"
        )
    return message


def require_artifact(context: SelectorContext, algorithm: str, artifact: str | None) -> Path:
    """The artifact's path; a ConfigError at `<algorithm>.artifact` naming the path and the command if missing."""
    path = artifact_path(context, algorithm, artifact)
    if not path.is_file():
        raise config_error(context, f"{algorithm}.artifact", _missing(context, algorithm, path))
    return path


def config_error(context: SelectorContext, key: str, message: str) -> ConfigError:
    """A ConfigError naming `<algorithm path>.<key>`."""
    return ConfigError(context.source, [f"{context.path}.{key}: {message}"])


def check_models(context: SelectorContext, meta: ArtifactMeta, key: str) -> None:
    """Raise a ConfigError unless the artifact was trained for exactly the decision's modelRefs."""
    refs = [ref.model for ref in context.decision.model_refs]
    if model_set_fingerprint(refs) != meta.fingerprint:
        raise config_error(
            context,
            key,
            f"artifact was trained for models {sorted(meta.models)} (fingerprint {meta.fingerprint}), "
            f"but this decision's modelRefs are {sorted(refs)}; retrain with `llmswitch train selectors`",
        )


class _HasMeta(Protocol):
    meta: ArtifactMeta


Loaded = TypeVar("Loaded", bound=_HasMeta)


def load_checked(context: SelectorContext, name: str, artifact: str | None, load: Callable[[Path], Loaded]) -> Loaded:
    """Load a selector's artifact; a missing, broken or mismatched one is a ConfigError at `<name>.artifact`."""
    key = f"{name}.artifact"
    path = require_artifact(context, name, artifact)
    try:
        loaded = load(path)
    except ArtifactError as exc:
        raise config_error(context, key, str(exc)) from None
    check_models(context, loaded.meta, key)
    return loaded
