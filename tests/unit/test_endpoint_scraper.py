"""The scraper against real HTTP: a stub vLLM replica in the test's event loop, DNS names, failures."""

import asyncio
import contextlib

import httpx
import pytest
import uvicorn

from llmswitch.demo.replica import create_app
from llmswitch.endpoints.load import Load
from llmswitch.endpoints.scraper import EndpointScraper, envoy_address
from tests.helpers import base_config, free_ports, loaded


@contextlib.asynccontextmanager
async def replica_server(port: int):
    server = uvicorn.Server(
        uvicorn.Config(
            create_app("large-model", f"127.0.0.1:{port}"),
            port=port,
            log_level="critical",
            timeout_graceful_shutdown=0.1,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def config_for(*endpoints: str, **picking: object):
    data = base_config()
    data["endpoint_picking"] = {"enabled": True, "scrape_timeout_s": 0.3, **picking}
    data["models"][1] = {"name": "large-model", "endpoints": list(endpoints)}
    return loaded(data).config


async def test_reads_a_replicas_load_and_keeps_the_last_one_when_a_scrape_fails():
    (port,) = free_ports(1)
    scraper = EndpointScraper()
    scraper.configure(config_for(f"127.0.0.1:{port}"))
    try:
        async with replica_server(port) as url, httpx.AsyncClient(base_url=url) as stub:
            (replica,) = scraper.replicas("large-model")
            await stub.put("/_stub/load", json={"waiting": 6, "kv_cache": 0.5})
            assert await scraper.scrape(replica)
            assert replica.load == Load(6, 0, 0.5) and replica.scrape_errors == 0
            read_at = replica.scraped_at
            await stub.put("/_stub/metrics", json={"mode": "error"})
            assert not await scraper.scrape(replica)
            assert replica.load == Load(6, 0, 0.5) and replica.scraped_at == read_at
            await stub.put("/_stub/metrics", json={"mode": "hang"})
            assert not await scraper.scrape(replica)
            assert replica.scrape_errors == 2 and "Timeout" in replica.last_error
    finally:
        await scraper.stop()


async def test_background_loops_scrape_every_interval():
    (port,) = free_ports(1)
    scraper = EndpointScraper()
    scraper.configure(config_for(f"127.0.0.1:{port}", scrape_interval_s=0.05, stale_after_s=1))
    async with replica_server(port) as url:
        scraper.start()
        try:
            await httpx.AsyncClient(base_url=url).put("/_stub/load", json={"waiting": 2})
            await asyncio.sleep(0.4)
            (replica,) = scraper.replicas("large-model")
            assert replica.load is not None and replica.load.waiting == 2
        finally:
            await scraper.stop()


async def test_dns_names_resolve_to_the_ip_port_envoy_names_hosts_by_and_state_survives_a_reload():
    port = free_ports(1)[0]
    scraper = EndpointScraper()
    scraper.configure(config_for(f"localhost:{port}", "10.0.0.9:8000"))
    assert [r.address for r in scraper.replicas("large-model")] == ["10.0.0.9:8000"]  # not resolved yet
    await scraper.resolve()
    assert {r.address for r in scraper.replicas("large-model")} == {f"127.0.0.1:{port}", "10.0.0.9:8000"}
    kept = scraper.replicas("large-model")[0]
    kept.picks["least_loaded"] = 3
    scraper.configure(config_for(f"localhost:{port}", "10.0.0.9:8000", scrape_interval_s=1))
    assert any(r is kept for r in scraper.replicas("large-model"))
    scraper.configure(config_for("10.0.0.9:8000"))
    assert [r.address for r in scraper.replicas("large-model")] == ["10.0.0.9:8000"]


@pytest.mark.parametrize(("ip", "address"), [("10.1.2.3", "10.1.2.3:80"), ("fd00::1", "[fd00::1]:80")])
def test_addresses_are_written_as_envoy_writes_hosts(ip, address):
    assert envoy_address(ip, 80) == address
