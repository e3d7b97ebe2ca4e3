#!/usr/bin/env bash
# Creates Benchmarks/.venv with the peer runtimes pinned in Benchmarks/requirements.txt.
# Usage: bash Benchmarks/setup-venv.sh   (idempotent; about 1 GB, a few minutes)
# PyTorch is the CPU wheel; set PIP_FIND_LINKS to a folder holding it if your index lacks it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    ${PIP_FIND_LINKS:+--find-links "$PIP_FIND_LINKS"} -r "$here/requirements.txt"
"$here/.venv/bin/python" -c 'import onnxruntime, ncnn, torch; print("peers venv ready:", onnxruntime.__version__, torch.__version__)'
