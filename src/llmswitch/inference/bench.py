"""Latency and int8-accuracy measurements for the encoder and the domain head.

python -m llmswitch.inference.bench --threads 1
python -m llmswitch.inference.bench --threads 1 --int8
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from llmswitch.inference.domain import DomainClassifier, domain_features
from llmswitch.inference.embedder import Embedder
from llmswitch.inference.export import ensure_embedding_model

FILLER = "the court held that the enzyme reaction rate doubles when the temperature rises by ten degrees "


def prompt_of(embedder: Embedder, tokens: int) -> str:
    """A prompt that encodes to exactly ``tokens`` tokens, special tokens included."""
    words = (FILLER * (tokens // 4 + 1)).split()
    for n in range(tokens, 0, -1):
        text = " ".join(words[:n])
        if len(embedder.tokenizer.token_ids([text])[0]) <= tokens:
            return text
    return ""


def percentiles_ms(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Wall-clock and calling-thread CPU time; with one intra-op thread ONNX Runtime
    computes on the calling thread, so the CPU figure is robust to a busy machine."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(float(np.percentile(wall, 50)), 3),
        "p95_ms": round(float(np.percentile(wall, 95)), 3),
        "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
    }


def latency(embedder: Embedder, classifier: DomainClassifier, lengths: list[int], repeat: int) -> dict:
    report = {}
    for tokens in lengths:
        text = prompt_of(embedder, tokens)
        encoded = embedder.encode([text])
        features = domain_features(encoded)
        report[tokens] = {
            "encode": percentiles_ms(lambda t=text: embedder.encode([t]), repeat),
            "head": percentiles_ms(lambda e=encoded: classifier.classify(e), repeat),
            "head_only_mlp": percentiles_ms(lambda f=features: classifier.probabilities(f), repeat),
            "encode_and_classify": percentiles_ms(lambda t=text: classifier.classify(embedder.encode([t])), repeat),
        }
    return report


def int8_agreement(fp32: Embedder, int8: Embedder, classifier: DomainClassifier, texts: list[str]) -> dict:
    """Cosine between fp32 and int8 embeddings, and how often the domain head agrees."""
    cosine, agree = [], []
    for start in range(0, len(texts), 32):
        chunk = texts[start : start + 32]
        a, b = fp32.encode(chunk), int8.encode(chunk)
        cosine.append((a.embeddings * b.embeddings).sum(axis=1))
        pa = classifier.probabilities(domain_features(a)).argmax(axis=1)
        pb = classifier.probabilities(domain_features(b)).argmax(axis=1)
        agree.append(pa == pb)
    return {
        "texts": len(texts),
        "cosine_mean": round(float(np.concatenate(cosine).mean()), 4),
        "cosine_min": round(float(np.concatenate(cosine).min()), 4),
        "domain_agreement": round(float(np.concatenate(agree).mean()), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (0: one per core)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--int8", action="store_true", help="also measure the int8-quantised encoder")
    args = parser.parse_args(argv)

    classifier = DomainClassifier.load()
    fp32 = Embedder(ensure_embedding_model(), device="cpu", intra_op_threads=args.threads)
    report: dict = {"threads": args.threads, "fp32": latency(fp32, classifier, args.lengths, args.repeat)}
    if args.int8:
        from llmswitch.training.domain import load_mmlu

        int8 = Embedder(ensure_embedding_model(quantize=True), device="cpu", intra_op_threads=args.threads)
        report["int8"] = latency(int8, classifier, args.lengths, args.repeat)
        rows = load_mmlu()[::14]
        report["int8_vs_fp32"] = int8_agreement(fp32, int8, classifier, [r["question"] for r in rows])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
