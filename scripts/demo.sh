#!/usr/bin/env bash
# Set up, then run the demo: stub models + llmswitch + Envoy, real requests through them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/llmswitch demo "$@"
