"""One fit function per learned selector: training arrays in, a scorer (the artifact's content) out.

Parameter names follow vLLM Semantic Router's trainer. Every fit is deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.features import DOMAIN_DIMS
from llmswitch.selection.kmeans import KmeansScorer
from llmswitch.selection.knn import KnnScorer, project
from llmswitch.selection.multi_factor import ModelProfile, ProfileArtifact
from llmswitch.selection.qos import MIN_LATENCY_S, QosScorer, qos
from llmswitch.selection.svm import SvmScorer
from llmswitch.selection.threshold import ThresholdScorer
from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.metrics import PerformanceTable
from llmswitch.training.selector_data import TrainingData, TrainSettings
from llmswitch.training.trees import Fitted, fit_target
from llmswitch.training.utility import efficiency, speed_factor


def make_meta(algorithm: str, data: TrainingData, settings: TrainSettings, **extra: object) -> ArtifactMeta:
    info = {"train_queries": len(data.table.query_ids), "feature_dim": int(data.features.shape[1]),
            "domain": bool(np.any(data.features[:, -DOMAIN_DIMS:])), "weights": data.weights.to_dict(),
            "seed": settings.seed, "split": settings.split.to_dict(), "all_data": settings.all_data, **extra}
    return ArtifactMeta.create(algorithm, data.table.models, info)


def principal_components(x: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (features, k) basis of the top principal components, with a fixed sign per component."""
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    basis = vt[: min(components, vt.shape[0])].T
    basis *= np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(basis.shape[1])])
    return mean.astype(np.float32), basis.astype(np.float32)


def fit_knn(data: TrainingData, settings: TrainSettings) -> KnnScorer:
    mean, basis = principal_components(data.features, settings.components)
    meta = make_meta("knn", data, settings, k=settings.knn_k, components=basis.shape[1])
    points = project(data.features, mean, basis)
    return KnnScorer(meta, mean, basis, points, data.utility.astype(np.float32), settings.knn_k)


def fit_kmeans(data: TrainingData, settings: TrainSettings) -> KmeansScorer:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    k = min(settings.kmeans_clusters, len(data.features))
    with threadpool_limits(1):
        fitted = KMeans(n_clusters=k, random_state=settings.seed, n_init=4).fit(data.features)
    labels = fitted.labels_
    table = data.table
    per_cluster = lambda values: np.stack([values[labels == c].mean(axis=0) for c in range(k)])  # noqa: E731
    meta = make_meta("kmeans", data, settings, num_clusters=k)
    return KmeansScorer(meta, fitted.cluster_centers_.astype(np.float32), per_cluster(table.performance),
                        efficiency(per_cluster(table.cost)), speed_factor(per_cluster(table.latency)))


def fit_svm(data: TrainingData, settings: TrainSettings) -> SvmScorer:
    from sklearn.svm import SVC

    mean, basis = principal_components(data.features, settings.components)
    z = (data.features - mean) @ basis
    gamma = settings.svm_gamma or 1.0 / (z.shape[1] * float(z.var()))
    support, coef, intercept = [], [], []
    binary = len(data.table.models) == 2  # one machine; the other model's decision is its negation
    best = data.best
    for j in range(1 if binary else len(data.table.models)):
        labels = (best == j).astype(int)
        if labels.min() == labels.max():  # always or never the best: a constant decision
            support.append(np.zeros((1 if settings.svm_kernel == "linear" else 0, z.shape[1]), np.float32))
            coef.append(np.zeros(1 if settings.svm_kernel == "linear" else 0, np.float32))
            intercept.append(1.0 if labels[0] else -1.0)
            continue
        svc = SVC(kernel=settings.svm_kernel, gamma=gamma, C=settings.svm_c, class_weight="balanced")
        svc.fit(z, labels)
        # sklearn's decision function is positive for classes_[1] (label 1, "is the best")
        if settings.svm_kernel == "linear":
            support.append(svc.coef_.astype(np.float32).reshape(1, -1))
            coef.append(np.ones(1, np.float32))
        else:
            support.append(svc.support_vectors_.astype(np.float32))
            coef.append(svc.dual_coef_[0].astype(np.float32))
        intercept.append(float(svc.intercept_[0]))
    if binary:
        intercept.append(-intercept[0])
    meta = make_meta("svm", data, settings, kernel=settings.svm_kernel, gamma=gamma, C=settings.svm_c,
                     components=basis.shape[1], binary=binary)
    return SvmScorer(meta, mean, basis, support, coef, np.array(intercept, np.float32))


def fit_qos(data: TrainingData, settings: TrainSettings, fit_rows: np.ndarray,
            val_rows: np.ndarray) -> tuple[QosScorer, np.ndarray | None]:
    """The qos scorer fitted on every row, and the QoS scores of `val_rows` from regressors fitted on
    `fit_rows` only (None without validation rows).

    Each regressor is stopped early and scored on the validation rows; latency is fitted in seconds
    and in log-seconds and the variant with the lower total validation MAE is kept.
    """
    mean, basis = principal_components(data.features, settings.components)
    z = (data.features - mean) @ basis
    table, models = data.table, data.table.models

    def fit_all(targets: np.ndarray, log: bool = False) -> list[Fitted]:
        return [fit_target(z[fit_rows], targets[fit_rows, j], z[val_rows], targets[val_rows, j], settings.seed, log)
                for j in range(targets.shape[1])]

    quality = fit_all(100.0 * table.performance)
    latency: list[Fitted] | None = None
    if table.latency_known:
        options = [fit_all(table.latency, log) for log in (False, True)]
        latency = min(options, key=lambda fits: sum(f.report.get("validation_mae", 0.0) for f in fits))
    mc = tc = None
    if data.criticality is not None:
        mc, tc = fit_all(data.criticality)
    report: dict[str, Any] = {f"quality[{m}]": f.report for m, f in zip(models, quality, strict=True)}
    report |= {f"latency[{m}]": f.report for m, f in zip(models, latency or [], strict=False)}
    if mc is not None and tc is not None:
        report |= {"mission_criticality": mc.report, "time_criticality": tc.report}
    meta = make_meta("qos", data, settings, components=basis.shape[1],
                     criticality="judged" if mc is not None else "constant",
                     latency="none" if latency is None else ("log" if latency[0].log else "seconds"),
                     regressors="gradient-boosted trees", validation=report)
    scorer = QosScorer(meta, mean, basis, [f.trees for f in quality], [f.trees for f in latency] if latency else None,
                       mc.trees if mc else None, tc.trees if tc else None)
    if len(val_rows) == 0:
        return scorer, None
    q = np.clip(np.stack([f.val_predictions for f in quality], axis=1), 0.0, 100.0)
    lat = np.maximum(np.stack([f.val_predictions for f in latency], axis=1), MIN_LATENCY_S) if latency else None
    zeros = np.zeros(len(val_rows))
    crit = [np.clip(f.val_predictions, 0.0, 10.0) if f is not None else zeros for f in (mc, tc)]
    return scorer, qos(q, lat, crit[0], crit[1])


def fit_profile(data: TrainingData, settings: TrainSettings, records: Sequence[BenchmarkRecord]) -> ProfileArtifact:
    ids = set(data.table.query_ids)
    completions = {m: [r.completion_tokens for r in records if r.model_name == m and r.query_id in ids]
                   for m in data.table.models}
    table = data.table
    profiles = {
        m: ModelProfile(
            quality=float(table.performance[:, j].mean()),
            latency_s=float(table.latency[:, j].mean()),
            completion_tokens=float(np.mean(completions[m])),
            cost_usd=float(table.cost[:, j].mean()) if table.cost_known else None,
        )
        for j, m in enumerate(table.models)
    }
    return ProfileArtifact(make_meta("multi_factor", data, settings, latency_known=table.latency_known), profiles)


def strong_and_weak(table: PerformanceTable) -> tuple[int, int]:
    """Indices of the models with the higher and the lower mean performance (two models only)."""
    if len(table.models) != 2:
        raise ValueError(f"the threshold router needs exactly two models, got {len(table.models)}")
    means = table.performance.mean(axis=0)
    return (0, 1) if means[0] >= means[1] else (1, 0)


def fit_threshold(data: TrainingData, settings: TrainSettings) -> ThresholdScorer:
    from sklearn.linear_model import LogisticRegression

    s, w = strong_and_weak(data.table)
    wins = (data.table.performance[:, s] > data.table.performance[:, w]).astype(int)
    if wins.min() == wins.max():
        raise ValueError("threshold: the stronger model never (or always) wins; nothing to learn")
    mean, std = data.features.mean(axis=0), data.features.std(axis=0) + 1e-6
    fitted = LogisticRegression(C=settings.threshold_c, max_iter=2000).fit((data.features - mean) / std, wins)
    weights = (fitted.coef_[0] / std).astype(np.float32)
    bias = float(fitted.intercept_[0] - (mean / std) @ fitted.coef_[0])
    models = data.table.models
    meta = make_meta("threshold", data, settings, strong=models[s], weak=models[w], C=settings.threshold_c)
    scorer = ThresholdScorer(meta, weights, bias, np.zeros(0))
    scorer.reference = np.sort(scorer.strong_win(data.features)).astype(np.float32)
    return scorer
