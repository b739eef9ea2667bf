"""vLLM Semantic Router's algorithm blocks load as written: trained files come from model_selection.ml.models_path."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import orjson
import pytest
import yaml

from llmswitch.budget import BudgetGuard, MemoryStore
from llmswitch.config import ConfigError, parse_config
from llmswitch.config.algorithms import ARTIFACT_FILES
from llmswitch.inference.session import CUDA
from llmswitch.pipeline import RoutingPipeline
from llmswitch.selection import SelectorContext, build_selector
from llmswitch.training.selectors import TrainSettings, train_selectors
from tests.unit.test_selection_learned import STRONG, WEAK, FakeAnalyzer, featurize, request, synthetic_records

# The peer's documented blocks, verbatim apart from decision names.
PEER_ALGORITHMS = {
    "math_decision": {"type": "knn", "knn": {"k": 5}},
    "code_decision": {"type": "svm", "svm": {"kernel": "rbf", "gamma": 1.0}},
    "general_decision": {"type": "kmeans", "kmeans": {"num_clusters": 8}},
    "gpu_accelerated_decision": {"type": "mlp", "mlp": {"device": "cuda"}},
    "apple_decision": {"type": "mlp", "mlp": {"device": "metal"}},
    "bare_decision": {"type": "knn"},
}
SETTINGS = TrainSettings(
    kmeans_clusters=8,
    svm_gamma=1.0,
    components=4,
    mlp_hidden_dims=(16,),
    mlp_epochs=40,
    mlp_lr=1e-2,
    algorithms=("knn", "kmeans", "svm", "mlp"),
)


def peer_config(models_path: str | None = "models", decisions: dict | None = None) -> str:
    data = {
        "version": "v1",
        "models": [{"name": STRONG, "endpoint": "127.0.0.1:9001"}, {"name": WEAK, "endpoint": "127.0.0.1:9002"}],
        "signals": {"keywords": [{"name": "any", "keywords": ["prompt"]}]},
        "decisions": [
            {
                "name": name,
                "rules": {"operator": "AND", "conditions": [{"type": "keyword", "name": "any"}]},
                "modelRefs": [{"model": STRONG}, {"model": WEAK}],
                "algorithm": algorithm,
            }
            for name, algorithm in (decisions or PEER_ALGORITHMS).items()
        ],
        "default_model": WEAK,
    }
    if models_path is not None:
        data["model_selection"] = {"ml": {"enabled": True, "models_path": models_path}}
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def models_root(tmp_path_factory) -> Path:
    """A config folder whose models/<decision>/ holds what `llmswitch train selectors --out` writes."""
    root = tmp_path_factory.mktemp("deploy")
    (root / "models" / "math_decision").mkdir(parents=True)
    train_selectors(synthetic_records(), root / "models" / "math_decision", featurize, SETTINGS)
    for name in PEER_ALGORITHMS:
        if name != "math_decision":
            (root / "models" / name).symlink_to(root / "models" / "math_decision")
    return root


def contexts(root: Path, text: str) -> list[SelectorContext]:
    loaded = parse_config(text, str(root / "config.yaml"))
    config = loaded.config
    guard = BudgetGuard(config.budget, MemoryStore())
    return [SelectorContext(config, d, i, loaded.source, root, guard) for i, d in enumerate(config.decisions)]


def test_peer_blocks_find_their_trained_files_by_decision_name(models_root, caplog):
    with caplog.at_level("WARNING", logger="llmswitch.inference.session"):
        selectors = {c.decision.name: build_selector(c) for c in contexts(models_root, peer_config())}
    for name, selector in selectors.items():
        hard = [selector.select(request(f"hard new prompt {i}")).model for i in range(20)]
        easy = [selector.select(request(f"easy new prompt {i}")).model for i in range(20)]
        assert hard.count(STRONG) >= 18 and easy.count(WEAK) >= 18, (name, hard, easy)
    assert selectors["math_decision"].scorer.k == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if CUDA not in ort.get_available_providers():  # the CI machine: the cuda MLP says it runs on the CPU
        assert any(
            "gpu_accelerated_decision/mlp.onnx" in w and "onnxruntime-gpu" in w and "running on the CPU" in w
            for w in warnings
        ), warnings
    assert any("apple_decision/mlp.onnx" in w and "CoreMLExecutionProvider" in w for w in warnings), warnings


async def test_the_pipeline_resolves_models_path_against_the_config_folder(models_root):
    pipeline = RoutingPipeline(parse_config(peer_config(), str(models_root / "config.yaml")))
    pipeline.router.analyzer = FakeAnalyzer()
    for text, model in (("hard prompt about physics", STRONG), ("easy prompt about greetings", WEAK)):
        body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": text}]})
        plan = await pipeline.route_async({}, body)
        assert (plan.model.name, plan.decision, plan.algorithm) == (model, "math_decision", "knn")


def test_a_missing_file_names_the_path_and_the_command_that_creates_it(tmp_path):
    (context,) = contexts(tmp_path, peer_config(decisions={"math_decision": PEER_ALGORITHMS["math_decision"]}))
    with pytest.raises(ConfigError) as err:
        build_selector(context)
    (problem,) = err.value.problems
    folder = tmp_path / "models" / "math_decision"
    assert problem == (
        f"decisions[0].algorithm.knn.artifact: file not found: {folder / 'knn.npz'}; create it with "
        f"`llmswitch train selectors --data BENCHMARK.jsonl --out {folder} --algorithms knn` from benchmark "
        f"records of exactly this decision's models ({STRONG}, {WEAK})"
    )


def test_a_peer_trained_file_is_named_as_needing_retraining(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "svm_model.json").write_text('{"algorithm": "svm"}')
    (context,) = contexts(tmp_path, peer_config(decisions={"code_decision": PEER_ALGORITHMS["code_decision"]}))
    with pytest.raises(ConfigError, match=r"models/svm_model\.json is a vLLM Semantic Router artifact"):
        build_selector(context)


def test_training_settings_that_differ_name_the_retraining_flag(models_root):
    decisions = {"math_decision": {"type": "svm", "svm": {"kernel": "rbf", "gamma": 0.5}}}
    (context,) = contexts(models_root, peer_config(decisions=decisions))
    with pytest.raises(
        ConfigError,
        match=r"svm\.gamma: 0\.5 asked, the artifact has 1\.0; retrain with "
        r"`llmswitch train selectors --svm-gamma 0\.5`",
    ):
        build_selector(context)


def test_without_models_path_or_artifact_check_config_says_what_to_set():
    with pytest.raises(ConfigError) as err:
        parse_config(peer_config(models_path=None, decisions={"math_decision": {"type": "knn", "knn": {"k": 5}}}))
    assert err.value.problems == [
        "decisions[0].algorithm.knn: no trained file given: set knn.artifact, or model_selection.ml.models_path "
        "to read <models_path>/math_decision/knn.npz"
    ]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"ml": {"enabled": False}}, "model_selection.ml.enabled: learned selectors cannot be switched off"),
        ({"ml": {"models_path": "m", "embedding_dim": 768}}, "model_selection.ml.embedding_dim: Extra inputs"),
    ],
)
def test_model_selection_block_is_validated(block, problem):
    data = yaml.safe_load(peer_config(decisions={}))
    data["model_selection"] = block
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_dump(data))
    assert err.value.problems[0].startswith(problem)


def test_unknown_mlp_device_is_rejected():
    with pytest.raises(
        ConfigError,
        match=r"decisions\[0\]\.algorithm\.mlp\.device: Input should be 'cpu', 'cuda' or "
        r"'metal'",
    ):
        parse_config(peer_config(decisions={"d": {"type": "mlp", "mlp": {"device": "tpu"}}}))


def test_the_convention_names_the_files_the_trainer_writes():
    from llmswitch.training.selectors import ARTIFACT_FILES as TRAINED

    assert ARTIFACT_FILES == TRAINED
