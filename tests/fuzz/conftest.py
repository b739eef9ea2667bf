from collections.abc import Iterator

import pytest

from llmswitch.config.schema import TelemetryConfig
from llmswitch.demo.stack import LocalStack
from llmswitch.pipeline import RoutingPipeline
from llmswitch.telemetry import Telemetry
from tests.helpers import base_config, free_ports, loaded, write_config


@pytest.fixture(scope="module")
def telemetry() -> Telemetry:
    return Telemetry(TelemetryConfig())


@pytest.fixture(scope="module")
def pipeline(telemetry) -> RoutingPipeline:
    return RoutingPipeline(loaded(base_config()), telemetry=telemetry)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    """Stub models, the router and Envoy, on free ports, with the tests' config."""
    tmp_path = tmp_path_factory.mktemp("fuzz-stack")
    path = write_config(tmp_path / "config.yaml", base_config(free_ports(6)))
    stack = LocalStack(path, log_dir=tmp_path).start()
    yield stack
    stack.stop()
