"""Prompt features for offline training and evaluation, with an on-disk embedding cache.

Features are exactly what the router computes per request (`llmswitch.selection.features`): the
MiniLM sentence embedding followed by the domain classifier's argmax one-hot (zeros when no
domain head is installed, or with `with_domain=False`).

The cache is content-addressed per prompt: a folder per encoder (source weights, window,
quantisation) holds npz shards of (prompt hash, embedding, domain probabilities). A lookup embeds
only the prompts no shard holds and writes them as a new shard, so another data set, a superset
of one, another split or `--domain on/off` reuses what is there. Domain probabilities are
recomputed only when the installed domain head changes. The default place is
`$XDG_CACHE_HOME/llmswitch/embeddings`, never the repository.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import Manifest, default_model_dir
from llmswitch.selection.features import feature_matrix

Featurize = Callable[[Sequence[str]], np.ndarray]


def default_cache_dir() -> Path:
    return default_model_dir().parent / "embeddings"


def prompt_key(query: str) -> bytes:
    return hashlib.sha256(query.encode("utf-8")).digest()


def encoder_identity(model_dir: Path) -> str:
    """What determines the embeddings: the source weights, window and quantisation (not export bytes)."""
    try:
        m = Manifest.load(model_dir)
    except FileNotFoundError:
        return "unbuilt"
    return f"{m.source_sha256}:{m.max_length}:{m.quantized}"


def domain_available() -> bool:
    """Whether the domain classifier's head is installed."""
    from llmswitch.inference.domain import shipped_head_path

    return shipped_head_path().is_file()


def domain_head_identity() -> str:
    """A hash of the installed domain head, so a retrained head invalidates cached probabilities."""
    from llmswitch.inference.artifact import sha256_file
    from llmswitch.inference.domain import shipped_head_path

    return sha256_file(shipped_head_path())[:16] if domain_available() else "none"


def _encode(queries: Sequence[str], batch_size: int, progress: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Embeddings and domain probabilities (None without a head), batched by length to limit padding."""
    from tqdm import tqdm

    from llmswitch.inference.domain import DomainClassifier, domain_features
    from llmswitch.inference.embedder import Embedder
    from llmswitch.inference.export import ensure_embedding_model

    embedder = Embedder(ensure_embedding_model(), device="cpu", intra_op_threads=0)
    classifier = DomainClassifier.load() if domain_available() else None
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


class EmbeddingCache:
    """The shards of one encoder: prompt hash -> (embedding, domain probabilities or None)."""

    def __init__(self, folder: Path, head: str) -> None:
        self.folder = folder
        self.head = head
        self.rows: dict[bytes, tuple[np.ndarray, np.ndarray | None]] = {}
        for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else ():
            with np.load(shard, allow_pickle=False) as data:
                same_head = "domains" in data.files and str(data["head"]) == head
                domains = data["domains"] if same_head else [None] * len(data["keys"])
                for key, vector, probs in zip(data["keys"], data["embeddings"], domains, strict=True):
                    if same_head or key.tobytes() not in self.rows:
                        self.rows[key.tobytes()] = (vector, probs)

    def missing(self, queries: Sequence[str], with_domain: bool) -> list[str]:
        """Prompts without an embedding, or without domain probabilities when those are wanted."""
        def lacks(query: str) -> bool:
            row = self.rows.get(prompt_key(query))
            return row is None or (with_domain and row[1] is None)

        return [q for q in queries if lacks(q)]

    def add(self, queries: Sequence[str], embeddings: np.ndarray, domains: np.ndarray | None) -> Path:
        """Store a new shard (named by its content) and index it."""
        keys = [prompt_key(q) for q in queries]
        # (n, 32) bytes as uint8: numpy's fixed-width bytes type would drop trailing zero bytes
        arrays: dict[str, np.ndarray] = {"keys": np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 32),
                                         "embeddings": embeddings}
        if domains is not None:
            arrays |= {"domains": domains, "head": np.array(self.head)}
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{hashlib.sha256(b''.join(keys)).hexdigest()[:24]}.npz"
        np.savez(path, **arrays)
        for i, key in enumerate(keys):
            self.rows[key] = (embeddings[i], None if domains is None else domains[i])
        return path


def embed_queries(
    queries: Sequence[str],
    cache_dir: Path | None = None,
    batch_size: int = 64,
    progress: bool = True,
    with_domain: bool | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, d) embeddings and (n, 14) domain probabilities or None, from the cache where present.

    `with_domain` None: use the domain classifier when its head is installed.
    """
    from llmswitch.inference.export import default_output_dir

    with_domain = domain_available() if with_domain is None else with_domain
    if with_domain and not domain_available():
        raise ValueError("domain features asked for, but no domain head is installed")
    encoder = hashlib.sha256(encoder_identity(default_output_dir()).encode()).hexdigest()[:16]
    cache = EmbeddingCache((cache_dir or default_cache_dir()) / encoder, domain_head_identity())
    todo = list(dict.fromkeys(cache.missing(queries, with_domain)))
    if todo:
        embeddings, domains = _encode(todo, batch_size, progress)
        cache.add(todo, embeddings, domains)
    rows = [cache.rows[prompt_key(q)] for q in queries]
    embeddings = np.stack([r[0] for r in rows]) if rows else np.zeros((0, 0), np.float32)
    domains = np.stack([r[1] for r in rows]) if with_domain and rows else None  # type: ignore[misc]
    return embeddings.astype(np.float32), domains


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
) -> Featurize:
    """Embed every query of a data set once; return a lookup for any subset."""
    unique = list(dict.fromkeys(all_queries))
    features = query_features(unique, cache_dir, progress, with_domain)
    index = {query: row for row, query in enumerate(unique)}
    return lambda queries: features[np.array([index[q] for q in queries], dtype=np.intp)]
