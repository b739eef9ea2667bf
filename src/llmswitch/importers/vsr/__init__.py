"""`llmswitch import vsr FILE`: a vLLM Semantic Router config converted into an llmswitch config.

Signals, decisions (rules, modelRefs, algorithms) and models carry over where llmswitch has the
same construct; everything else is listed with its YAML path. The tables that decide this are
`signals.FAMILIES`, `algorithms.ALGORITHMS` and `plugins.PLUGINS`.
"""

from llmswitch.importers.vsr.convert import ImportResult, import_vsr

__all__ = ["ImportResult", "import_vsr"]
