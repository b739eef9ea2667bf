"""values.yaml: every key documented in the chart README, and the config defaults equal the schema's."""

import re

import pytest

from llmswitch.config.schema import Config
from tests.helm.chart import CHART, CHART_VALUES

# Deliberate differences from the schema's defaults, explained in the chart README.
CHART_DEFAULTS = {"router.address": "0.0.0.0", "telemetry.metrics.address": "0.0.0.0", "listener.probe_port": 9902}
# Kubernetes structures passed through as a whole, documented in one row each.
WHOLE = {
    "podSecurityContext", "securityContext", "resources", "envoy.resources", "envoy.securityContext",
    "metrics.grafanaDashboard.labels",
}


def leaf_keys(values: dict, prefix: str = "") -> list[str]:
    """Dotted paths of every value that is not a non-empty mapping, or is in WHOLE."""
    keys = []
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and value and path not in WHOLE:
            keys.extend(leaf_keys(value, path + "."))
        else:
            keys.append(path)
    return keys


def documented_keys() -> list[str]:
    readme = (CHART / "README.md").read_text()
    return re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE)


def test_readme_documents_every_value_and_nothing_else():
    assert sorted(documented_keys()) == sorted(leaf_keys(CHART_VALUES))


# The config sections with defaults; models, signals and decisions are the user's.
DEFAULTED_SECTIONS = {"listener", "router", "routing", "telemetry", "reload"}
SCHEMA_DEFAULTS = Config.model_validate(
    {"version": "v1", "models": [{"name": "m", "endpoint": "h:1"}], "default_model": "m"}
)


@pytest.mark.parametrize(
    "path", [k for k in leaf_keys(CHART_VALUES["config"]) if k.split(".")[0] in DEFAULTED_SECTIONS]
)
def test_config_defaults_are_the_schema_defaults(path):
    schema_value, chart_value = SCHEMA_DEFAULTS, CHART_VALUES["config"]
    for part in path.split("."):
        schema_value, chart_value = getattr(schema_value, part), chart_value[part]
    assert chart_value == CHART_DEFAULTS.get(path, schema_value)
