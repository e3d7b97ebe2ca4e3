#!/usr/bin/env bash
# Installs the comrec Python package into the Python environment of $PYTHON (default: python3),
# from a ComRec clone: builds the C API's host libraries (scripts/boards.sh x86_64 x86_64-avx2:
# portable kernels, and AVX2 kernels that the package picks where the CPU has them), copies them
# into the package and runs pip. Re-run after pulling a new version.
#
#   python/install.sh                       # then: python3 -c "import comrec"
#   PYTHON=.venv/bin/python python/install.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${PYTHON:-python3}
scripts/setup.sh
if [ ! -e .build-boards/x86_64/libcomrec.so ] || [ ! -e .build-boards/x86_64-avx2/libcomrec.so ] \
    || [ -n "$(find Sources include -newer .build-boards/x86_64/libcomrec.so -print -quit)" ] \
    || [ -n "$(find Sources include -newer .build-boards/x86_64-avx2/libcomrec.so -print -quit)" ]; then
    echo "python/install.sh: building the host libraries (scripts/boards.sh x86_64 x86_64-avx2, a few minutes)"
    scripts/boards.sh x86_64 x86_64-avx2 | tail -1
fi
cp .build-boards/x86_64/libcomrec.so python/comrec/libcomrec.so
cp .build-boards/x86_64-avx2/libcomrec.so python/comrec/libcomrec-avx2.so
"$python" -m pip install --quiet --disable-pip-version-check ./python
"$python" -c "import comrec; print('comrec', comrec.version()['version'], 'installed:', comrec.version()['kernels'], 'kernels')"
