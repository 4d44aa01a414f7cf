#!/usr/bin/env bash
# The GPU path, checked on a machine with an NVIDIA GPU (these development machines have none):
#   1. installs CuPy with its CUDA libraries into .venv (CUPY_PACKAGE to choose another build);
#   2. runs both chapter snippets through the sandboxed pools on the GPU and on the CPU;
#   3. compares their conclusions (merge check True; rank-16 error 0) and times them.
# Exit 0 only when both snippets reach the same conclusions on both devices.
#
#   bash bench/gpu_check.sh [--samples 10]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    ./dev check --no-run >/dev/null  # creates .venv and installs the project
fi
if [ ! -e /dev/nvidiactl ]; then
    echo "no NVIDIA GPU on this machine (/dev/nvidiactl is missing): nothing to check" >&2
    exit 2
fi
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
if ! .venv/bin/python -c "import cupy" 2>/dev/null; then
    echo "installing ${CUPY_PACKAGE:-cupy-cuda12x[ctk]} ..." >&2
    .venv/bin/python -m pip install --quiet "${CUPY_PACKAGE:-cupy-cuda12x[ctk]}"
fi
exec .venv/bin/python bench/gpu_check.py "$@"
