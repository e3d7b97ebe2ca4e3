#!/usr/bin/env bash
# The Embedded-safe modules (ComRecKernels, ComRecModels, ComRecNetworks, ComRecCodec, ComRecJPEG
# and the C API's ComRecC) built by SwiftPM in Embedded Swift mode for the host: `swift build
# --target ComRecC` builds exactly those and their C targets, and the flags make any construct
# Embedded Swift lacks (existentials, dynamic casts, Foundation, reflection) a compile error. The cross builds for boards are scripts/qemu-models.sh,
# scripts/embedded-aarch64.sh and scripts/boards.sh; this check needs no cross toolchain. Ends with
# "embedded-swiftpm: 1 passed, 0 failed" (or 0 passed, 1 failed).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if swift build --scratch-path .build-embedded --target ComRecC \
    -Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo; then
    echo "embedded-swiftpm: 1 passed, 0 failed"
else
    echo "embedded-swiftpm: 0 passed, 1 failed"
    exit 1
fi
