#!/usr/bin/env bash
# Fills the ignored folder .carry with what scripts/device-train.sh needs on a borrowed GPU machine
# that has PyTorch but neither ../shared, nor this project's C library, nor libjpeg:
#
#   scripts/device-carry.sh CONFIG...      # e.g. fast-full-tables-2 fast-half-tables-2
#
# - .carry/datasets/train/cbsd432: the training images (the development set is its last 12);
# - .carry/lib: the comrec Python package's library for AVX2 (python/install.sh builds it) and the
#   libjpeg-turbo it links against, for configs whose "stored_jpeg" is "trellis" or "comrec";
# - .carry/init: each CONFIG's "init_from" checkpoint with only its best weights (a quarter of the
#   file: the optimiser's state and random states are what a fine-tune does not read); only these.
# Name .carry in the device call's `carry`; device-train.sh finds everything there. The working tree
# and the carried files together may not exceed 64 MiB: it prints the total a call would send and
# says what to do when that is over.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,13p "$0"; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
datasets=${COMREC_DATASETS:-$repo/../shared/datasets}
python=${PYTHON:-$repo/Training/.venv/bin/python}
cd "$repo"

rm -rf .carry/init
mkdir -p .carry/datasets/train .carry/lib .carry/init
[ -d "$datasets/train/cbsd432" ] || { echo "device-carry: no $datasets/train/cbsd432" >&2; exit 1; }
rm -rf .carry/datasets/train/cbsd432
cp -r "$datasets/train/cbsd432" .carry/datasets/train/

lib=python/comrec/libcomrec-avx2.so
[ -f "$lib" ] || { echo "device-carry: no $lib: run PYTHON=$python python/install.sh first" >&2; exit 1; }
cp "$lib" .carry/lib/
libjpeg=$(ldd "$lib" | awk '/libjpeg/ {print $3}')
[ -n "$libjpeg" ] || { echo "device-carry: $lib links no libjpeg?" >&2; exit 1; }
cp -L "$libjpeg" .carry/lib/

for cfg in "$@"; do
    [ -f "Training/configs/$cfg.json" ] || { echo "device-carry: no Training/configs/$cfg.json" >&2; exit 1; }
    "$python" - "Training/configs/$cfg.json" .carry/init <<'EOF'
import json, os, sys
import torch
cfg = json.load(open(sys.argv[1]))
init = cfg.get("init_from")
if init:
    src = os.path.join("Training", init)
    if not os.path.exists(src):
        sys.exit(f"device-carry: {src} (init_from of {sys.argv[1]}) is missing")
    s = torch.load(src, map_location="cpu", weights_only=False)
    keep = {k: s[k] for k in ("kind", "config", "step", "best") if k in s}
    if not s.get("best"):  # no best yet: the last weights are what a fine-tune reads
        keep.update({k: s[k] for k in ("enhance", "com", "rec") if k in s})
    dst = os.path.join(sys.argv[2], os.path.basename(init))
    torch.save(keep, dst)
    print(f"device-carry: {src} -> {dst} ({os.path.getsize(dst) / 1e6:.1f} MB)")
EOF
done
du -sh .carry/* | sed 's/^/device-carry: /'
# What a device call sends: the tracked files, the untracked ones git does not ignore, and .carry.
total=$( { git ls-files -z; git ls-files -z --others --exclude-standard; find .carry -type f -print0; } \
    | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1048576}')
echo "device-carry: a call carrying .carry sends ${total} MiB of the 64 MiB allowed"
if awk -v t="$total" 'BEGIN {exit !(t > 64)}'; then
    echo "device-carry: over the limit: move folders training does not read (Weights/) out of the" \
        "checkout for the call, or carry fewer configs" >&2
fi
