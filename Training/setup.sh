#!/usr/bin/env bash
# Creates Training/.venv if it is missing and installs requirements.txt into it.
# Safe to run again: when everything is already installed it prints one line and changes nothing.
#   Training/setup.sh              (PYTHON=python3.11 Training/setup.sh to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    echo "setup.sh: creating Training/.venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi

# Ask pip for a dry check first, so that a satisfied environment costs no index look-ups and
# prints nothing from pip.
if .venv/bin/python - requirements.txt <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if have.split("+")[0] != want:  # 2.13.0+cpu satisfies ==2.13.0
        sys.exit(1)
PY
then
    echo "setup.sh: Training/.venv is up to date"
else
    echo "setup.sh: installing requirements.txt into Training/.venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi
