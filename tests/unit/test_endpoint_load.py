"""Reading a model server's load from its /metrics page: vLLM, SGLang, TGI names, or configured ones."""

import pytest

from llmswitch.config.models import EndpointMetricsConfig
from llmswitch.demo.replica import metrics_text
from llmswitch.endpoints.load import Load, MetricNames, parse_load

VLLM = MetricNames.of(EndpointMetricsConfig())


def test_reads_the_stub_replicas_vllm_page():
    assert parse_load(metrics_text("m", 3, 5, 0.625), VLLM) == Load(3, 5, 0.625)


def test_sums_the_engines_of_a_data_parallel_server_and_takes_the_fullest_kv_cache():
    text = "\n".join(
        [
            "# HELP vllm:num_requests_waiting Number of requests waiting.",
            "# TYPE vllm:num_requests_waiting gauge",
            'vllm:num_requests_waiting{engine="0",model_name="m"} 2.0',
            'vllm:num_requests_waiting{engine="1",model_name="m"} 5.0',
            'vllm:num_requests_running{engine="0",model_name="m"} 8',
            'vllm:num_requests_running{engine="1",model_name="m"} 8',
            'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.4',
            'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.9',
            'vllm:num_requests_waiting_by_reason{reason="capacity"} 99',
            'vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="m"} 1234',
        ]
    )
    assert parse_load(text, VLLM) == Load(7, 16, 0.9)


def test_older_vllm_reports_kv_cache_use_under_its_former_name():
    text = "vllm:num_requests_waiting 1\nvllm:num_requests_running 2\nvllm:gpu_cache_usage_perc 0.25\n"
    assert parse_load(text, VLLM) == Load(1, 2, 0.25)


@pytest.mark.parametrize(
    ("engine", "text", "load"),
    [
        (
            "sglang",
            'sglang:num_queue_reqs{model_name="q"} 4\nsglang:num_running_reqs{model_name="q"} 8\n'
            'sglang:token_usage{model_name="q"} 0.52\n',
            Load(4, 8, 0.52),
        ),
        ("tgi", "# TYPE tgi_queue_size gauge\ntgi_queue_size 7\ntgi_batch_current_size 4\n", Load(7, 4, 0.0)),
    ],
)
def test_engine_presets(engine, text, load):
    assert parse_load(text, MetricNames.of(EndpointMetricsConfig(engine=engine))) == load


def test_configured_names_replace_the_presets():
    names = MetricNames.of(EndpointMetricsConfig(waiting=["queue"], running=["busy"], kv_cache=[], path="/stats"))
    assert names.path == "/stats"
    assert parse_load("queue 3\nbusy 1\nvllm:num_requests_waiting 50\n", names) == Load(3, 1, 0.0)


@pytest.mark.parametrize(
    "text", ["", "vllm:num_requests_running 2\n", "vllm:num_requests_waiting NaN\nvllm:num_requests_running 1"]
)
def test_a_page_without_the_queue_or_running_gauge_is_an_error(text):
    with pytest.raises(ValueError, match="vllm:num_requests_"):
        parse_load(text, VLLM)
