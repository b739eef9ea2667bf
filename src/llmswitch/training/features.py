"""Prompt features for offline training and evaluation, with an on-disk embedding cache.

Features are exactly what the router computes per request (`llmswitch.selection.features`): the
MiniLM sentence embedding followed by the domain classifier's argmax one-hot (zeros when no
domain head is installed). Embeddings are cached as npz files keyed by a hash of the encoder and
the query list, under `$XDG_CACHE_HOME/llmswitch/embeddings` by default, never in the repository.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import Manifest, default_model_dir
from llmswitch.selection.features import feature_matrix


def default_cache_dir() -> Path:
    return default_model_dir().parent / "embeddings"


def cache_key(queries: Sequence[str], encoder: str, with_domain: bool) -> str:
    digest = hashlib.sha256(f"{encoder}:{with_domain}\n".encode())
    for query in queries:
        digest.update(query.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def encoder_identity(model_dir: Path) -> str:
    """What determines the embeddings: the source weights, window and quantisation (not export bytes)."""
    try:
        m = Manifest.load(model_dir)
    except FileNotFoundError:
        return "unbuilt"
    return f"{m.source_sha256}:{m.max_length}:{m.quantized}"


def _encode(
    queries: Sequence[str], batch_size: int, progress: bool, with_domain: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Embeddings and domain probabilities (or None), batched by length to limit padding."""
    from tqdm import tqdm

    from llmswitch.inference.domain import DomainClassifier, domain_features
    from llmswitch.inference.embedder import Embedder
    from llmswitch.inference.export import ensure_embedding_model

    embedder = Embedder(ensure_embedding_model(), device="cpu", intra_op_threads=0)
    classifier = DomainClassifier.load() if with_domain else None
    order = np.argsort([len(q) for q in queries], kind="stable")
    embeddings = np.zeros((len(queries), embedder.dimension), np.float32)
    domains = np.zeros((len(queries), len(classifier.categories)), np.float32) if classifier else None
    for start in tqdm(range(0, len(order), batch_size), desc="embedding", unit="batch", disable=not progress):
        rows = order[start : start + batch_size]
        encoded = embedder.encode([queries[i] for i in rows])
        embeddings[rows] = encoded.embeddings
        if classifier is not None and domains is not None:
            domains[rows] = classifier.probabilities(domain_features(encoded))
    return embeddings, domains


def domain_available() -> bool:
    """Whether the domain classifier's head is installed."""
    from llmswitch.inference.domain import shipped_head_path

    return shipped_head_path().is_file()


def domain_head_identity() -> str:
    """A hash of the installed domain head, so a retrained head invalidates cached probabilities."""
    from llmswitch.inference.artifact import sha256_file
    from llmswitch.inference.domain import shipped_head_path

    return sha256_file(shipped_head_path())[:16]


def embed_queries(
    queries: Sequence[str],
    cache_dir: Path | None = None,
    batch_size: int = 64,
    progress: bool = True,
    with_domain: bool | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, d) embeddings and (n, 14) domain probabilities or None, from the cache when present.

    `with_domain` None: use the domain classifier when its head is installed.
    """
    from llmswitch.inference.export import default_output_dir

    with_domain = domain_available() if with_domain is None else with_domain
    cache_dir = cache_dir or default_cache_dir()
    encoder = encoder_identity(default_output_dir()) + (f":{domain_head_identity()}" if with_domain else "")
    path = cache_dir / f"{cache_key(queries, encoder, with_domain)}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["embeddings"], (data["domains"] if "domains" in data.files else None)
    embeddings, domains = _encode(queries, batch_size, progress, with_domain)
    cache_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"embeddings": embeddings} | ({"domains": domains} if domains is not None else {})
    np.savez(path, **arrays)
    return embeddings, domains


def query_features(
    queries: Sequence[str], cache_dir: Path | None = None, progress: bool = True, with_domain: bool | None = None
) -> np.ndarray:
    """(n, d + 14) float32 selector features of `queries`; repeated queries are embedded once."""
    unique = list(dict.fromkeys(queries))
    embeddings, domains = embed_queries(unique, cache_dir, progress=progress, with_domain=with_domain)
    index = {query: row for row, query in enumerate(unique)}
    rows = np.array([index[q] for q in queries], dtype=np.intp)
    return feature_matrix(embeddings, domains)[rows]


def feature_lookup(
    all_queries: Sequence[str], cache_dir: Path | None = None, progress: bool = True, with_domain: bool | None = None
) -> Callable[[Sequence[str]], np.ndarray]:
    """Embed every query of a data set once (one cache entry); return a lookup for any subset."""
    unique = list(dict.fromkeys(all_queries))
    features = query_features(unique, cache_dir, progress, with_domain)
    index = {query: row for row, query in enumerate(unique)}
    return lambda queries: features[np.array([index[q] for q in queries], dtype=np.intp)]
