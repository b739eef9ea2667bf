"""Ranking replicas: least queue, then KV-cache use; stale metrics; GIE subsets; conversation affinity."""

import random
from collections import Counter

import pytest

from llmswitch.config.models import AffinityConfig, EndpointPickingConfig
from llmswitch.endpoints.affinity import AffinityTable, affinity_key
from llmswitch.endpoints.load import Load
from llmswitch.endpoints.picker import AFFINITY, LEAST_LOADED, RANDOM, EndpointPicker
from llmswitch.endpoints.scraper import EndpointScraper
from llmswitch.protocols.openai_chat import parse_chat
from tests.helpers import base_config, loaded

A, B, C = "10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replicated_config(**picking: object):
    data = base_config()
    data["endpoint_picking"] = {"enabled": True, **picking}
    data["models"][1] = {"name": "large-model", "endpoints": [A, B, C]}
    return loaded(data).config


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_picker(clock: Clock, **picking: object) -> EndpointPicker:
    config = replicated_config(**picking)
    scraper = EndpointScraper(clock)
    scraper.configure(config)
    picker = EndpointPicker(scraper, random.Random(7))
    picker.configure(config.endpoint_picking)
    return picker


def report(picker: EndpointPicker, address: str, waiting: float, kv_cache: float = 0.0, age_s: float = 0.0) -> None:
    replica = next(r for r in picker.scraper.replicas("large-model") if r.address == address)
    replica.load = Load(waiting, 1, kv_cache)
    replica.scraped_at = picker.scraper.clock() - age_s
    replica.picks_since_scrape = 0


def test_only_replicated_models_of_an_enabled_config_are_scraped(clock):
    picker = make_picker(clock)
    assert [r.address for r in picker.scraper.replicas("large-model")] == [A, B, C]
    assert picker.scraper.replicas("small-model") == []
    disabled = EndpointScraper(clock)
    disabled.configure(loaded(base_config()).config)
    assert disabled.all_replicas() == []


def test_the_least_queued_replica_first_then_the_rest_for_retries(clock):
    picker = make_picker(clock)
    for address, waiting in ((A, 4), (B, 0), (C, 2)):
        report(picker, address, waiting)
    pick = picker.pick("large-model", limit=3)
    assert pick.addresses == (B, C, A) and pick.reason == LEAST_LOADED


def test_kv_cache_use_breaks_queue_ties(clock):
    picker = make_picker(clock)
    for address, kv in ((A, 0.9), (B, 0.2), (C, 0.5)):
        report(picker, address, 0, kv)
    assert picker.pick("large-model", limit=1).addresses == (B,)


def test_picks_since_the_last_scrape_count_as_queued_so_a_burst_spreads(clock):
    picker = make_picker(clock)
    for address in (A, B, C):
        report(picker, address, 0)
    burst = Counter(picker.pick("large-model", limit=1).addresses[0] for _ in range(30))
    assert burst == {A: 10, B: 10, C: 10}
    report(picker, A, 0)  # a new scrape of A: its picks are in its metrics now
    assert picker.pick("large-model", limit=1).addresses == (A,)


def test_stale_or_unread_replicas_rank_after_every_fresh_one(clock):
    picker = make_picker(clock, stale_after_s=2.0)
    report(picker, A, 50)
    report(picker, B, 0, age_s=3.0)  # stale: its zero queue is not trusted
    pick = picker.pick("large-model", limit=3)
    assert pick.addresses[0] == A and set(pick.addresses[1:]) == {B, C}


def test_no_fresh_metrics_leaves_balancing_to_envoy_unless_an_endpoint_is_required(clock):
    picker = make_picker(clock)
    assert picker.pick("large-model") is None
    assert picker.fallbacks == {"large-model": 1}
    required = picker.pick("large-model", required=True, limit=3)
    assert required.reason == RANDOM and set(required.addresses) == {A, B, C}
    assert picker.pick("small-model", required=True) is None  # no replica at all


def test_a_gateway_subset_limits_the_choice(clock):
    picker = make_picker(clock)
    for address, waiting in ((A, 4), (B, 0), (C, 2)):
        report(picker, address, waiting)
    assert picker.pick("large-model", subset=[A, C], limit=3).addresses == (C, A)
    unknown = picker.pick("large-model", subset=["10.9.9.9:8000"], required=True)
    assert unknown.addresses == ("10.9.9.9:8000",)
    assert picker.pick("large-model", subset=[], required=True) is None


def test_a_conversation_stays_on_its_replica_while_its_queue_is_close_to_the_best(clock):
    picker = make_picker(clock, affinity={"max_queue_excess": 2})
    for address, waiting in ((A, 1), (B, 0), (C, 5)):
        report(picker, address, waiting)
    first = picker.pick("large-model", "conv-1", limit=1)
    assert first.addresses == (B,) and first.reason == LEAST_LOADED
    report(picker, B, 3)  # B got busier, within 2 of A's queue of 1
    again = picker.pick("large-model", "conv-1", limit=1)
    assert again.addresses == (B,) and again.reason == AFFINITY
    report(picker, B, 4)  # now 3 above the best: the conversation moves on
    moved = picker.pick("large-model", "conv-1", limit=1)
    assert moved.addresses == (A,) and moved.reason == LEAST_LOADED
    assert picker.affinity.get("large-model", "conv-1") == A


def test_affinity_off_and_stale_affinity_replicas_are_ignored(clock):
    picker = make_picker(clock, affinity={"enabled": False})
    report(picker, A, 0)
    report(picker, B, 1)
    assert picker.pick("large-model", "c", limit=1).addresses == (A,)
    assert len(picker.affinity) == 0
    picker = make_picker(clock)
    report(picker, A, 0)
    picker.pick("large-model", "c")
    report(picker, A, 0, age_s=10)
    report(picker, B, 0)
    assert picker.pick("large-model", "c", limit=1).addresses == (B,)


def test_the_affinity_table_is_bounded_and_forgets():
    clock = Clock()
    table = AffinityTable(max_entries=2, ttl_s=10, clock=clock)
    for key in ("a", "b", "c"):
        table.put("m", key, key.upper())
    assert (table.get("m", "a"), table.get("m", "b"), len(table)) == (None, "B", 2)
    clock.now += 11
    assert table.get("m", "c") is None


def chat_view(messages):
    return parse_chat({"model": "auto", "messages": messages}, "auto")


def test_every_turn_of_a_conversation_has_its_first_turns_key():
    system = {"role": "system", "content": "be brief"}
    turn1 = [system, {"role": "user", "content": "plan a trip"}]
    turn2 = [*turn1, {"role": "assistant", "content": "where to?"}, {"role": "user", "content": "Lisbon"}]
    other = [system, {"role": "user", "content": "write a poem"}]
    keys = [affinity_key(chat_view(m), {}, "x-session-id") for m in (turn1, turn2, other)]
    assert keys[0] == keys[1] != keys[2] and keys[0].startswith("p:")
    assert affinity_key(chat_view(other), {"x-session-id": "abc"}, "x-session-id") == "s:abc"
    assert affinity_key(chat_view(other), {"x-session-id": "abc"}, None) == keys[2]
    assert affinity_key(None, {}, None) is None


def test_config_needs_stale_after_beyond_the_interval_and_one_endpoint_form():
    with pytest.raises(ValueError, match="stale_after_s"):
        EndpointPickingConfig(scrape_interval_s=2, stale_after_s=1)
    data = base_config()
    data["models"][0]["endpoints"] = ["10.0.0.1:1"]
    with pytest.raises(Exception, match="either endpoint"):
        loaded(data)
    data["models"][0].pop("endpoint")
    data["models"][0]["endpoints"] = ["10.0.0.1:1", "10.0.0.1:1"]
    with pytest.raises(Exception, match="twice"):
        loaded(data)
    assert AffinityConfig().session_header == "x-session-id"


def test_queues_count_in_time_so_a_slow_replicas_short_queue_is_not_a_short_wait(clock):
    picker = make_picker(clock)
    for address, waiting in ((A, 0), (B, 3), (C, 4)):
        report(picker, address, waiting)
    for _ in range(5):
        picker.served("large-model", A, 200, 2.0)  # A answers in 2 s
        picker.served("large-model", B, 200, 0.1)
    picker.served("large-model", C, 200, 0.1)
    assert picker.pick("large-model", limit=3).addresses == (B, C, A)  # (3+1) x 0.1 < (4+1) x 0.1 < 1 x 2.0
    picker.served("large-model", B, 500, 30.0)  # errors say nothing of speed
    assert picker.scraper.replicas("large-model")[1].latency_s == pytest.approx(0.1)


def test_a_replica_whose_speed_was_not_measured_lately_counts_as_typical_and_is_tried_again(clock):
    picker = make_picker(clock)
    picker.served("large-model", A, 200, 5.0)
    clock.now += 11  # A's slow answer is forgotten
    picker.served("large-model", B, 200, 0.2)
    picker.served("large-model", C, 200, 0.2)
    for address, waiting in ((A, 0), (B, 1), (C, 1)):
        report(picker, address, waiting)
    assert picker.pick("large-model", limit=1).addresses == (A,)
    off = make_picker(clock, latency_weighting=False)
    for address, waiting in ((A, 0), (B, 1), (C, 1)):
        report(off, address, waiting)
    off.served("large-model", A, 200, 50.0)
    assert off.pick("large-model", limit=1).addresses == (A,)  # queue alone
