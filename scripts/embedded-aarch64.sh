#!/usr/bin/env bash
# Builds the Embedded-safe kernels (ComRecKernels: reference, portable, NEON, NEON dot) as Embedded
# Swift for aarch64-none-none-elf, twice: for cortex-a53 (no dot product: plain NEON kernels) and
# for cortex-a76 (-D COMREC_NEON_DOT: sdot kernels). Each build links a small driver
# (Tests/EmbeddedKernelDriver) with Debian's aarch64-linux-gnu gcc and runs it under qemu-aarch64.
# Every kernel family must print exactly the hashes of Fixtures/kernels/conv3x3-hashes.txt (which
# the x86 reference test checks), and the tile plan (NetworkTilePlan) must equal the whole-image reference.
# Installs gcc-aarch64-linux-gnu and qemu-user when missing. About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

fixture=Fixtures/kernels/conv3x3-hashes.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t kernel_sources < <(find Sources/ComRecKernels -name '*.swift' | sort)
# Debian's multiarch libc (scripts/boards.sh installs it with libjpeg for arm64) must run with its
# own loader; otherwise the cross toolchain's libc does.
qemu_root=/usr/aarch64-linux-gnu
[ -e /lib/aarch64-linux-gnu/libc.so.6 ] && qemu_root=/
status=0
for variant in cortex-a53 cortex-a76; do
    defines=()
    families=(reference portable neon portable-winograd neon-winograd)
    if [ "$variant" = cortex-a76 ]; then defines=(-D COMREC_NEON_DOT); families+=(neondot); fi
    dir="$work/$variant"
    mkdir -p "$dir"
    flags=(-enable-experimental-feature Embedded -target aarch64-none-none-elf -target-cpu "$variant"
        -O -wmo -parse-as-library "${defines[@]}" -I Sources/CComRecMemory/include)
    start=$SECONDS
    swiftc "${flags[@]}" -module-name ComRecKernels -emit-module -emit-module-path "$dir/ComRecKernels.swiftmodule" \
        -c "${kernel_sources[@]}" -o "$dir/kernels.o"
    swiftc "${flags[@]}" -module-name EmbeddedKernelDriver -I "$dir" -c \
        Tests/ComRecKernelsTests/Shared/KernelCases.swift Tests/EmbeddedKernelDriver/main.swift -o "$dir/driver.o"
    # Dynamic link: -static fails on a copy relocation against a protected stdlib symbol.
    aarch64-linux-gnu-gcc -O2 -I Sources/CComRecMemory/include -c Sources/CComRecMemory/allocation.c -o "$dir/allocation.o"
    aarch64-linux-gnu-gcc "$dir/kernels.o" "$dir/driver.o" "$dir/allocation.o" -lm -o "$dir/driver"
    if [ "$variant" = cortex-a76 ]; then
        sdots=$(aarch64-linux-gnu-objdump -d "$dir/kernels.o" | grep -c 'sdot' || true)
        echo "$variant: $sdots sdot instructions in the kernels"
        [ "$sdots" -gt 0 ] || { echo "FAIL: no sdot in the NEON dot build"; status=1; }
    fi
    qemu-aarch64 -cpu max -L "$qemu_root" "$dir/driver" > "$dir/output.txt"
    for family in "${families[@]}"; do
        # A Winograd family prints only the cases it applies to: compare with those fixture lines.
        printed=$(awk -v f="$family" '$1 == f && $2 ~ /^[0-9]+$/ { print $2, $3, $4 }' "$dir/output.txt")
        expected=$(awk 'NR == FNR { want[$1] = 1; next } $1 in want' <(echo "$printed") "$fixture")
        [[ "$family" == *-winograd ]] || expected=$(cat "$fixture")
        if [ -n "$printed" ] && diff <(echo "$printed") <(echo "$expected") > "$dir/diff.txt"; then
            echo "$variant $family: $(echo "$printed" | wc -l) cases, same bytes as the x86 reference"
        else
            echo "FAIL: $variant $family differs from $fixture:"; cat "$dir/diff.txt"; status=1
        fi
    done
    grep ' network ' "$dir/output.txt" | grep -v ' ok$' && status=1
    echo "$variant: $(grep -c ' network .* ok$' "$dir/output.txt") tiled network runs equal to the reference; $((SECONDS - start)) s"
done
if [ "$status" = 0 ]; then echo "embedded-aarch64: 1 passed, 0 failed"; else echo "embedded-aarch64: 0 passed, 1 failed"; fi
exit $status
