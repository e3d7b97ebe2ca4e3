#!/usr/bin/env bash
# One x86 build must run on any x86-64 and pick the best kernels the CPU has at run time. This runs
# the release `comrec` (built by `swift build -c release`) under qemu-x86_64 with CPU models that
# lack AVX-512 (Haswell: AVX2) and AVX2 too (qemu64: baseline SSE2), and checks that `comrec bench`
# runs (no illegal instruction) and measures exactly the families each CPU has.
# COMREC_BIN overrides the binary. Installs qemu-user when missing. About 20 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(uname -m)" != x86_64 ]; then echo "x86-dispatch-qemu: not an x86-64 host, skipped"; exit 0; fi
if ! command -v qemu-x86_64 >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user >/dev/null
fi
bin="${COMREC_BIN:-$(swift build -c release --show-bin-path)/comrec}"
[ -x "$bin" ] || { echo "build it first: swift build -c release"; exit 1; }
status=0
for check in "qemu64 portable" "Haswell avx2,portable"; do
    read -r cpu expected <<< "$check"
    if ! json=$(qemu-x86_64 -cpu "$cpu" "$bin" bench --json --width 16 --height 8 --threads 1 --no-peers \
        --repetitions 1 --rounds 1 2>/dev/null); then
        echo "FAIL: comrec bench crashed under qemu -cpu $cpu"; status=1; continue
    fi
    got=$(python3 -c 'import json, sys; print(",".join(c["isa"] for c in json.load(sys.stdin)["peak"]))' <<< "$json")
    if [ "$got" = "$expected" ]; then
        echo "-cpu $cpu: runs, measures $got"
    else
        echo "FAIL: -cpu $cpu measured '$got', expected '$expected'"; status=1
    fi
done
if [ "$status" = 0 ]; then echo "x86-dispatch-qemu: 1 passed, 0 failed"; else echo "x86-dispatch-qemu: 0 passed, 1 failed"; fi
exit $status
