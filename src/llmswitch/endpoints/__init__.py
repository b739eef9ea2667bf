"""Load-aware endpoint picking among a model's replicas (the Gateway API Inference Extension's job).

scraper   resolves each replicated model's endpoints and reads every replica's load in the background
load      the few Prometheus gauges that matter (vLLM, SGLang, TGI names, or configured ones)
picker    least queue, then lowest KV-cache use; conversation affinity; stale metrics rank last
affinity  which replica served a conversation's prefix
action    the pipeline action that names the pick to Envoy (GIE header + `envoy.lb` metadata)
stats     Prometheus metrics of replicas and picks
"""

from llmswitch.endpoints.action import PickEndpoint
from llmswitch.endpoints.picker import EndpointPicker, Pick
from llmswitch.endpoints.scraper import EndpointScraper, Replica

__all__ = ["EndpointPicker", "EndpointScraper", "Pick", "PickEndpoint", "Replica"]
