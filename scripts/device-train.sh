#!/usr/bin/env bash
# Runs several trainers at once on a borrowed GPU machine (the workplace's `device` tool), for a
# wall-clock budget, and packs each run's checkpoint, development log and training log into $OUT.
#
#   scripts/device-train.sh MINUTES RUN...
#   RUN is pair:CONFIG (comrec_train.train) or enh:CONFIG (comrec_train.train_enhance), where
#   CONFIG names Training/configs/CONFIG.json; e.g. pair:paper enh:fast-full
#
# The training images travel in the ignored folder .carry/datasets/train/cbsd432 (the machine has
# no ../shared; the configs run there name "train_sets": ["cbsd432"]), the comrec package's library
# and libjpeg in .carry/lib, and fine-tunes' init_from checkpoints (best weights only) in
# .carry/init: scripts/device-carry.sh CONFIG... fills .carry. Checkpoints live in
# $DEVICE_CK (default /root/comrec-ck), which survives between calls while the machine stays warm;
# a run with no checkpoint there starts from Training/checkpoints/CONFIG.pt when that exists
# (resume; *.pt is git-ignored, so name Training/checkpoints in the call's `carry`), else from
# scratch. Each run comes back as $OUT/CONFIG.tgz; unpack it over
# Training/checkpoints (the .pt and -dev.jsonl) to resume here on the CPU or in a later call.
# DEVICE=cpu runs the same thing on this machine (a smoke test of the script).
set -uo pipefail
[ $# -ge 2 ] || { sed -n 2,16p "$0"; exit 2; }
minutes=$1; shift
repo=$(cd "$(dirname "$0")/.." && pwd)
ck=${DEVICE_CK:-/root/comrec-ck}
out=${OUT:?OUT must name the folder to pack the results into}
python=${PYTHON:-python3}
export COMREC_DATASETS=$repo/.carry/datasets PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=2
# The comrec package (trellis and ComRec-table round trips) with the library carried beside it.
export PYTHONPATH=$repo/python${PYTHONPATH:+:$PYTHONPATH}
if [ -d "$repo/.carry/lib" ]; then
    export LD_LIBRARY_PATH=$repo/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    for so in "$repo"/.carry/lib/libcomrec*.so; do
        [ -e "$so" ] && [ ! -e "$repo/python/comrec/$(basename "$so")" ] && cp "$so" "$repo/python/comrec/"
    done
fi
if [ -d "$repo/.carry/init" ]; then
    for f in "$repo"/.carry/init/*.pt; do
        [ -e "$f" ] && [ ! -e "$repo/Training/checkpoints/$(basename "$f")" ] && cp "$f" "$repo/Training/checkpoints/"
    done
fi
mkdir -p "$ck"
hours=$("$python" -c "print($minutes / 60)")

cd "$repo/Training"
pids=()
for run in "$@"; do
    kind=${run%%:*} cfg=${run#*:}
    case $kind in
        pair) module=comrec_train.train ;;
        enh) module=comrec_train.train_enhance ;;
        *) echo "device-train: unknown run kind '$kind' in '$run' (pair or enh)" >&2; exit 2 ;;
    esac
    [ -f "configs/$cfg.json" ] || { echo "device-train: no configs/$cfg.json" >&2; exit 2; }
    if [ ! -f "$ck/$cfg.pt" ] && [ -f "checkpoints/$cfg.pt" ]; then
        cp "checkpoints/$cfg.pt" "$ck/"
        [ -f "checkpoints/$cfg-dev.jsonl" ] && cp "checkpoints/$cfg-dev.jsonl" "$ck/"
    fi
    "$python" -m "$module" --config "configs/$cfg.json" --device "${DEVICE:-cuda}" --threads 3 --judge-at-stop \
        --hours "$hours" --checkpoint-dir "$ck" --run-dir "$ck/runs-$cfg" > "$ck/$cfg.out" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

for run in "$@"; do
    cfg=${run#*:}
    files=()
    for f in "$cfg.pt" "$cfg-dev.jsonl" "runs-$cfg/train.log"; do [ -f "$ck/$f" ] && files+=("$f"); done
    [ ${#files[@]} -gt 0 ] && tar czf "$out/$cfg.tgz" -C "$ck" "${files[@]}"
    echo "== $cfg"; grep -v "^step [0-9]*[1-9]00 \|^20..-..-.. ..:..:.. step [0-9]*[1-9]00 " "$ck/$cfg.out" | tail -n 12
done
exit $status
