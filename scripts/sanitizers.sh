#!/usr/bin/env bash
# The Swift test suite under sanitizers, each in its own scratch folder (never .build):
#   asan   AddressSanitizer with LeakSanitizer, every test (.build-asan)
#   ubsan  UndefinedBehaviorSanitizer, every test (.build-ubsan); it instruments the C targets
#          (libpng and libjpeg wrappers, the C API's pool, cpuid, signals); Swift traps on its own
#   tsan   ThreadSanitizer, the thread pool and threaded runner tests (.build-tsan)
# The C code and every Swift module are instrumented (the system's libpng, libjpeg and zlib are
# not). The CLI tests run the instrumented `comrec` binary, so the CLI runs under the sanitizer
# too. A sanitizer report anywhere fails the step: ASan and TSan end the process with an error,
# UBSan is told to (halt_on_error); the log is also searched for reports. Leaks that the test
# harness itself leaves (XCTest's run objects) are suppressed: scripts/lsan-suppressions.txt.
#
#   scripts/sanitizers.sh              all three
#   scripts/sanitizers.sh asan tsan    those named
#
# Logs in .build-<sanitizer>/sanitizer.log. Ends with "sanitizers: N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# SANITIZER_BUILD_JOBS=N: build with N jobs (default: SwiftPM's, one per core).
jobs=()
[ -n "${SANITIZER_BUILD_JOBS:-}" ] && jobs=(-j "$SANITIZER_BUILD_JOBS")
chosen=("$@")
((${#chosen[@]})) || chosen=(asan ubsan tsan)

export SWIFT_BACKTRACE=enable=no  # reports come from the sanitizer, not the Swift runtime's backtracer
# allocator_may_return_null: ComRec's large buffers (LargeBuffer) take a refused allocation as an
# error, and their tests ask for sizes no system grants; ASan must refuse them as the C library does
# (a null pointer) rather than stop the run.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$root/scripts/lsan-suppressions.txt:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

passed=0 failed=0
for name in "${chosen[@]}"; do
    case $name in
        asan) sanitizer=address; filter=(); flags=() ;;
        # swiftc has no -sanitize=undefined: clang instruments the C targets, and links its runtime.
        ubsan) sanitizer=""; filter=(); flags=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all
                                               -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined) ;;
        tsan) sanitizer=thread; filter=(--filter 'ThreadPoolTests|ThreadedRunnerTests'); flags=() ;;
        *) echo "sanitizers.sh: unknown sanitizer $name (asan, ubsan, tsan)" >&2; exit 2 ;;
    esac
    scratch=.build-$name
    log=$scratch/sanitizer.log
    mkdir -p "$scratch"
    start=$SECONDS
    status=0
    sanitize=()
    [ -n "$sanitizer" ] && sanitize=(--sanitize="$sanitizer")
    swift build --build-tests --scratch-path "$scratch" "${jobs[@]}" "${sanitize[@]}" "${flags[@]}" >"$log" 2>&1 || status=$?
    built=$((SECONDS - start))
    if ((status == 0)); then
        swift test --skip-build --scratch-path "$scratch" "${sanitize[@]}" "${flags[@]}" "${filter[@]}" >>"$log" 2>&1 || status=$?
    fi
    if ((status == 0)) && grep -q -E "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$log"; then
        status=1
    fi
    summary=$(grep -E "^. Test run with [0-9]+ tests?" "$log" | tail -1)
    if ((status == 0)); then
        passed=$((passed + 1))
        echo "sanitizers $name: passed (build ${built} s, tests $((SECONDS - start - built)) s) ${summary}"
    else
        failed=$((failed + 1))
        echo "sanitizers $name: FAILED (exit $status); the reports and the log's end ($log):"
        grep -E -A12 "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$log" | head -80
        tail -30 "$log"
    fi
done
echo "sanitizers: $passed passed, $failed failed"
((failed == 0))
