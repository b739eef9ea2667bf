"""The feature vector learned selectors see: prompt embedding, then the domain one-hot."""

from __future__ import annotations

import numpy as np

from llmswitch.request import RouteRequest, Semantics

DOMAIN_DIMS = 14
"""The domain classifier's categories (MMLU-Pro's 14)."""


def domain_one_hot(probabilities: np.ndarray | None) -> np.ndarray:
    """(n, 14) one-hot rows of each argmax; zeros where no probabilities are known.

    Accepts one probability vector (d,) or a batch (n, d); returns (n, 14).
    """
    if probabilities is None:
        return np.zeros((1, DOMAIN_DIMS), np.float32)
    p = np.atleast_2d(np.asarray(probabilities, dtype=np.float32))
    if p.shape[1] != DOMAIN_DIMS:
        raise ValueError(f"expected {DOMAIN_DIMS} domain probabilities, got {p.shape[1]}")
    one_hot = np.zeros((len(p), DOMAIN_DIMS), np.float32)
    one_hot[np.arange(len(p)), p.argmax(axis=1)] = 1.0
    return one_hot


def feature_matrix(embeddings: np.ndarray, domain_probabilities: np.ndarray | None) -> np.ndarray:
    """(n, d + 14) float32 features for (n, d) embeddings and (n, 14) probabilities or None."""
    x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    domain = domain_one_hot(domain_probabilities)
    if len(domain) == 1 and len(x) > 1:
        domain = np.repeat(domain, len(x), axis=0)
    return np.hstack([x, domain])


def semantic_features(semantics: Semantics, with_domain: bool = True) -> np.ndarray:
    """(d + 14,) features of one prompt; `with_domain` False leaves the one-hot at zeros."""
    return feature_matrix(semantics.embedding, semantics.domain_probabilities if with_domain else None)[0]


def request_features(request: RouteRequest, with_domain: bool = True) -> np.ndarray:
    """Features of a request; raises SemanticsRequired until the pipeline has computed them.

    An artifact trained without domain probabilities asks for `with_domain=False`, so it sees
    the same zeros it was trained on.
    """
    return semantic_features(request.require_semantics(), with_domain)
