#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with AddressSanitizer and runs each for a fixed time.
#
#   scripts/fuzz.sh                          every target for 20 s (CI)
#   scripts/fuzz.sh --long SECONDS [TARGET...]  longer runs (each target SECONDS)
#   scripts/fuzz.sh --runs N [TARGET...]     stop a target after N executions (or the time limit)
#   scripts/fuzz.sh --build-only             build the targets and the seeds, run nothing
#
# Targets (docs/security.md, "Fuzzing and sanitizers"): segment (the ComRec segment parser),
# decode (a ComRec file to pixels through the codec, whole and streamed), png and pnm (the image
# readers), info (`comrec info`'s code) and capi (the C API's comrec_read_info and comrec_decode).
# SwiftPM builds the library modules with `-sanitize=fuzzer,address` (libFuzzer's coverage and
# ASan) into .build-fuzz (never .build); swiftc (clang for the C target) compiles each Fuzz/
# target and links it with those modules' objects. The seeds are written at run time by
# Fuzz/seeds.swift (ComRec's own encoders on synthetic pixels) plus the small PNG, PGM and PPM
# files of Fixtures/; each target's corpus grows in .build-fuzz/fuzz/corpus/TARGET. Any crash, sanitizer report, leak, timeout (an
# input over 25 s) or broken property fails the run; the input is saved in
# .build-fuzz/fuzz/artifacts/TARGET/ and `.build-fuzz/fuzz/bin/fuzz-TARGET FILE` replays it.
# Ends with "fuzz: N passed, M failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
scratch=$root/.build-fuzz
work=$scratch/fuzz
all_targets=(segment decode png pnm info capi)

seconds=20
runs=""
build_only=0
targets=()
while (($#)); do
    case $1 in
        --long) seconds=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --build-only) build_only=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "fuzz.sh: no target $target (${all_targets[*]})" >&2; exit 2; }
done

# ---- Build: the library modules, instrumented, then each target over their objects.
# FUZZ_BUILD_JOBS=N: build with N jobs (default: SwiftPM's, one per core).
jobs=()
[ -n "${FUZZ_BUILD_JOBS:-}" ] && jobs=(-j "$FUZZ_BUILD_JOBS")
# Not `--sanitize=fuzzer --sanitize=address`: SwiftPM passes those to swiftc as two options in an
# order that changes from run to run, and swiftc keeps only the last, so a module got either
# coverage or ASan. One combined option gives every module both.
for module in ComRecIO ComRecC; do
    swift build --scratch-path "$scratch" "${jobs[@]}" --target "$module" \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
done
debug=$scratch/debug
modules=(CComRecMemory ComRecKernels ComRecKernelsAVX2 ComRecKernelsAVX512 CComRecCPU ComRecRuntime ComRecModels ComRecNetworks
         ComRecCodec CComRecImage ComRecJPEG CComRecSignals ComRecIO CComRecPool ComRecC)
# Each module's objects from its current sources (never a stale object of a removed file).
objects=()
for module in "${modules[@]}"; do
    if [ -f "$debug/$module.build/sources" ]; then  # Swift: SwiftPM lists the sources it compiled
        while read -r source; do objects+=("$debug/$module.build/$(basename "$source").o"); done <"$debug/$module.build/sources"
    else                                           # C: one object per .c file
        while read -r source; do objects+=("$debug/$module.build/${source#"Sources/$module/"}.o"); done \
            < <(find "Sources/$module" -name '*.c' | sort)
    fi
done
for object in "${objects[@]}"; do
    [ -f "$object" ] || { echo "fuzz.sh: no object $object" >&2; exit 1; }
done
# Every module must carry both instrumentations (libFuzzer's counters and ASan's checks).
for module in ComRecKernels ComRecCodec ComRecJPEG ComRecIO ComRecC CComRecImage; do
    symbols=$(nm "$debug/$module.build/"*.o 2>/dev/null)
    grep -q "__sanitizer_cov_8bit_counters_init" <<<"$symbols" && grep -q "__asan_" <<<"$symbols" || {
        echo "fuzz.sh: $module is not built with both libFuzzer coverage and ASan" >&2; exit 1; }
done
maps=()
for map in "$debug"/*.build/module.modulemap Sources/CSystem/*/module.modulemap Sources/CComRecMemory/include/module.modulemap \
    include/module.modulemap; do
    maps+=(-Xcc "-fmodule-map-file=$root/${map#"$root/"}")
done
mkdir -p "$work/bin"
swift_flags=(-sanitize=fuzzer,address -g -use-ld=lld -I "$debug/Modules" "${maps[@]}")
link=("${objects[@]}" -lpng16 -ljpeg -lz)
for target in "${all_targets[@]}"; do
    out=$work/bin/fuzz-$target
    if [ "$target" = capi ]; then
        clang -fsanitize=fuzzer,address -g -O1 -I include -c Fuzz/capi.c -o "$work/capi.o"
        swiftc "${swift_flags[@]}" "$work/capi.o" "${link[@]}" -o "$out"
    else
        swiftc "${swift_flags[@]}" -parse-as-library -module-name "Fuzz_$target" \
            Fuzz/Common.swift "Fuzz/$target.swift" "${link[@]}" -o "$out"
    fi
done
# The seed writer has a main of its own: the same instrumented objects, libFuzzer without its main.
no_main=$(echo "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a)
swiftc -sanitize=address -g -use-ld=lld -I "$debug/Modules" "${maps[@]}" -module-name FuzzSeeds Fuzz/seeds.swift \
    "${link[@]}" "$no_main" -lstdc++ -o "$work/bin/fuzz-seeds"

rm -rf "$work/seeds"
"$work/bin/fuzz-seeds" "$work/seeds"
cp Fixtures/*.png "$work/seeds/png/"
rm -f "$work/seeds/png/synthetic-768x512.png"  # 73 KB: the small ones cover the same paths
cp Fixtures/*.pgm Fixtures/*.ppm "$work/seeds/pnm/"
echo "fuzz: built ${all_targets[*]}; seeds in $work/seeds"
((build_only)) && exit 0

# ---- Run each target; libFuzzer exits non-zero on a crash, a sanitizer report, a leak or a timeout.
max_len() { case $1 in segment) echo 512 ;; *) echo 8192 ;; esac; }
seeds() { case $1 in decode|info|capi) echo "$work/seeds/comrec" ;; *) echo "$work/seeds/$1" ;; esac; }
passed=0 failed=0
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target
    artifacts=$work/artifacts/$target
    log=$work/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$work/logs"
    args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -max_len="$(max_len "$target")"
          -print_final_stats=1 -artifact_prefix="$artifacts/")
    [ -n "$runs" ] && args+=(-runs="$runs")
    echo "fuzz-$target: ${seconds} s${runs:+ or $runs runs}"
    status=0
    # SWIFT_BACKTRACE: a Swift trap goes straight to libFuzzer's handler (which saves the input),
    # not through the Swift runtime's backtracer (which ASan reports as a wild read).
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} TMPDIR=$work \
        "$work/bin/fuzz-$target" "${args[@]}" "$corpus" "$(seeds "$target")" >"$log" 2>&1 || status=$?
    if ((status == 0)) && grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:|fuzz property failed" "$log"; then
        status=1
    fi
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    if ((status == 0)); then
        passed=$((passed + 1))
        echo "fuzz-$target: passed, ${execs:-?} runs in ${took:-?} s; ${done_line:-no stats}"
    else
        failed=$((failed + 1))
        echo "fuzz-$target: FAILED (exit $status); the log's end ($log):"
        tail -40 "$log"
        ls -1 "$artifacts" | sed 's/^/  saved input: /' || true
    fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
