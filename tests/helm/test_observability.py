"""The chart's Grafana dashboard and PrometheusRule: they query only metrics the router exports, the
rules pass `promtool check rules`, and the alerts fire on the series they are about (`promtool test rules`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from llmswitch.reload import RouterState
from llmswitch.telemetry import RouterMetrics, Telemetry
from tests.helm.chart import CHART, config_map, render
from tests.helpers import base_config, loaded

ON = {"metrics": {"grafanaDashboard": {"enabled": True}, "prometheusRule": {"enabled": True}}}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}
# Series Prometheus itself makes: the scrape health of every target.
PROMETHEUS_SERIES = {"up"}


def exported_metric_names() -> set[str]:
    """Every sample name a router's /metrics can hold, from the registry a running router builds."""
    metrics = RouterMetrics()
    RouterState(loaded(base_config()), telemetry=Telemetry(loaded(base_config()).config.telemetry, metrics))
    return {family.name + suffix for family in metrics.registry.collect() for suffix in _SUFFIXES[family.type]}


def queried_metrics(expressions: list[str]) -> set[str]:
    """Metric names in PromQL: identifiers that are not functions, keywords, labels or label values."""
    names = set()
    for expr in expressions:
        expr = re.sub(r'"[^"]*"', '""', expr)  # label values
        expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers
        expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
        expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
        for token in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", expr):
            if token not in {"and", "or", "unless", "bool", "offset", "group_left", "group_right"}:
                names.add(token)
    return names


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return render(ON)


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_metric_names()


def dashboard(objects) -> dict:
    cm = config_map(objects, "-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    return json.loads(cm["data"]["llmswitch.json"])


def rule_groups(objects) -> list[dict]:
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    return rule["spec"]["groups"]


def test_the_dashboard_queries_only_metrics_the_router_exports(objects, exported):
    board = dashboard(objects)
    expressions = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    assert len(expressions) >= 20
    queried = queried_metrics(expressions)
    assert queried <= exported, sorted(queried - exported)
    areas = (
        "llmswitch_requests_total",
        "llmswitch_routing_duration_seconds_bucket",
        "llmswitch_model_cost_total",
        "llmswitch_tenant_cost_total",
        "llmswitch_budget_spent",
        "llmswitch_endpoint_waiting_requests",
    )
    assert set(areas) <= queried
    assert json.loads((CHART / "dashboards" / "llmswitch.json").read_text()) == board


def test_the_rules_query_only_metrics_the_router_or_prometheus_exports(objects, exported):
    rules = [r for group in rule_groups(objects) for r in group["rules"]]
    assert {r["alert"] for r in rules} >= {
        "LLMSwitchRouterDown",
        "LLMSwitchModelErrorRate",
        "LLMSwitchBudgetNearLimit",
        "LLMSwitchModelEndpointsDown",
    }
    queried = queried_metrics([r["expr"] for r in rules])
    assert queried <= exported | PROMETHEUS_SERIES, sorted(queried - exported - PROMETHEUS_SERIES)


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not found (apt-get install prometheus)")


def write_rules(objects, directory: Path) -> Path:
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(objects)}))
    return path


@needs_promtool
def test_promtool_accepts_the_rules(objects, tmp_path):
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(write_rules(objects, tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


ALERT_TESTS = {
    "evaluation_interval": "1m",
    "tests": [
        {
            "interval": "1m",
            "input_series": [
                {
                    "series": 'llmswitch_endpoint_up{model="llama",endpoint="10.0.0.1:8000",pod="a"}',
                    "values": "1 0 0 0",
                },
                {
                    "series": 'llmswitch_endpoint_up{model="llama",endpoint="10.0.0.2:8000",pod="a"}',
                    "values": "0 0 0 0",
                },
                {"series": 'llmswitch_endpoint_up{model="qwen",endpoint="10.0.1.1:8000",pod="a"}', "values": "1 1 1 1"},
                {"series": 'llmswitch_budget_spent{scope="daily",tenant="",pod="a"}', "values": "50 95 95 95"},
                {"series": 'llmswitch_budget_limit{scope="daily",pod="a"}', "values": "100 100 100 100"},
                {
                    "series": 'llmswitch_budget_spent{scope="tenant_daily",tenant="acme",pod="a"}',
                    "values": "9.2 9.2 9.2 9.2",
                },
                {"series": 'llmswitch_budget_spent{scope="tenant_daily",tenant="globex",pod="a"}', "values": "1 1 1 1"},
                {"series": 'llmswitch_budget_limit{scope="tenant_daily",pod="a"}', "values": "10 10 10 10"},
                {"series": 'up{job="demo-llmswitch",pod="a"}', "values": "1 1 1 1"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "3m",
                    "alertname": "LLMSwitchModelEndpointsDown",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "critical", "model": "llama"},
                            "exp_annotations": {
                                "summary": "No replica of model llama reports its load.",
                                "description": "No router could read the metrics of any replica of llama for a "
                                "minute: the replicas are down or unreachable (Envoy's own "
                                "balancing is used meanwhile).",
                            },
                        }
                    ],
                },
                {
                    "eval_time": "3m",
                    "alertname": "LLMSwitchBudgetNearLimit",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "scope": "daily"},
                            "exp_annotations": {
                                "summary": "The daily budget is near its limit.",
                                "description": "95% of the daily budget is spent; past the limit requests are "
                                "downgraded or refused.",
                            },
                        },
                        {
                            "exp_labels": {"severity": "warning", "scope": "tenant_daily", "tenant": "acme"},
                            "exp_annotations": {
                                "summary": "The tenant_daily budget of tenant acme is near its limit.",
                                "description": "92% of the tenant_daily budget of tenant acme is spent; past the "
                                "limit requests are downgraded or refused.",
                            },
                        },
                    ],
                },
                {"eval_time": "3m", "alertname": "LLMSwitchRouterDown", "exp_alerts": []},
            ],
        }
    ],
}


@needs_promtool
def test_the_alerts_fire_on_the_series_they_watch(objects, tmp_path):
    rules = write_rules(objects, tmp_path)
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump({"rule_files": [rules.name], **ALERT_TESTS}))
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
