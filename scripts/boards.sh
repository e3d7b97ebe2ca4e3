#!/usr/bin/env bash
# Builds the C API (include/comrec.h, implemented by Sources/ComRecC) as static libraries with
# Embedded Swift plus libjpeg-turbo for every target, links the board tool
# (examples/board/comrec-board.c) and the API test (Tests/BoardAPI/api-test.c) against them, and
# runs both: natively for the host, under qemu-aarch64 (cortex-a53, cortex-a76) and qemu-arm
# (cortex-a15) for the boards. Every file the board tool writes must be byte-identical to what the
# x86 `comrec` CLI makes from the same image (encode) or file (decode), with 1 and with 4 threads.
#
# Targets and what lands in .build-boards/<target>/ (libcomrec.a, comrec.h, comrec-board, api-test):
#   x86_64       host, portable kernels; also libcomrec.so (what the Python package loads)
#   x86_64-avx2  host, AVX2 kernels (-D COMREC_AVX2; runs only on AVX2 CPUs); also libcomrec.so
#   aarch64-a53  Cortex-A53: NEON kernels
#   aarch64-a76  Cortex-A76: NEON dot-product kernels (-D COMREC_NEON_DOT)
#   armv7        32-bit armv7-a, hard-float NEON ABI (armhf), portable kernels
# Needs nothing but Debian packages; installs what is missing (the cross gcc and libc, qemu-user,
# and libjpeg62-turbo-dev for arm64 and armhf through multiarch). Ends with
# "boards: N passed, M failed". About 5 minutes on 2 cores.
#
#   scripts/boards.sh [TARGET...]     every target, or only those named (x86_64 alone: about 1 minute)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
all_targets=(x86_64 x86_64-avx2 aarch64-a53 aarch64-a76 armv7)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "scripts/boards.sh: unknown target $target (targets: ${all_targets[*]})" >&2; exit 64; }
done
root=$PWD
out=$root/.build-boards

missing=()
[ -e /usr/lib/x86_64-linux-gnu/libjpeg.a ] || missing+=(libjpeg62-turbo-dev)
if [[ " ${targets[*]} " == *" a"* ]]; then  # an ARM target (aarch64-*, armv7)
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v arm-linux-gnueabihf-gcc >/dev/null || missing+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
    command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
    [ -e /usr/lib/aarch64-linux-gnu/libjpeg.a ] || missing+=(libjpeg62-turbo-dev:arm64)
    [ -e /usr/lib/arm-linux-gnueabihf/libjpeg.a ] || missing+=(libjpeg62-turbo-dev:armhf)
fi
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo dpkg --add-architecture arm64
    $sudo dpkg --add-architecture armhf
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift_lib=$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib/swift/embedded
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# Module maps for the C headers the Swift modules import.
cat > "$work/module.modulemap" <<EOF
module CComRecImage { header "$root/Sources/CComRecImage/include/comrec_image.h" export * }
module CComRecMemory { header "$root/Sources/CComRecMemory/include/CComRecMemory.h" export * }
module CComRecPool { header "$root/Sources/CComRecPool/include/CComRecPool.h" export * }
module CComRecAPI { header "$root/include/comrec.h" export * }
EOF

# The target's settings: Swift triple and CPU, C compiler and flags, library directory, runner.
configure() {
    defines=()
    swift_cpu=()
    case $1 in
    x86_64)
        triple=x86_64-unknown-linux-gnu; cc=gcc; arch_dir=x86_64-linux-gnu; cflags=(-fPIC); runner=(); objcopy=objcopy ;;
    x86_64-avx2)
        # Every module with AVX2 enabled: Embedded Swift specialises the kernels into ComRecC.
        triple=x86_64-unknown-linux-gnu; cc=gcc; arch_dir=x86_64-linux-gnu; cflags=(-fPIC); runner=(); objcopy=objcopy
        defines=(-D COMREC_AVX2); swift_cpu=(-Xcc -mavx2) ;;
    aarch64-a53)
        triple=aarch64-none-none-elf; swift_cpu=(-target-cpu cortex-a53); cc=aarch64-linux-gnu-gcc
        objcopy=aarch64-linux-gnu-objcopy; arch_dir=aarch64-linux-gnu; cflags=(-mcpu=cortex-a53); runner=(qemu-aarch64 -cpu cortex-a53) ;;
    aarch64-a76)
        triple=aarch64-none-none-elf; swift_cpu=(-target-cpu cortex-a76); defines=(-D COMREC_NEON_DOT)
        cc=aarch64-linux-gnu-gcc; objcopy=aarch64-linux-gnu-objcopy; arch_dir=aarch64-linux-gnu; cflags=(-mcpu=cortex-a76); runner=(qemu-aarch64 -cpu max) ;;
    armv7)
        # Embedded Swift has no armv7 Linux triple; the bare-metal one with the hard-float NEON ABI
        # makes objects that link with Debian's armhf libc.
        triple=armv7-none-none-eabi; swift_cpu=(-target-cpu cortex-a15 -Xcc -mfloat-abi=hard -Xcc -mfpu=neon)
        cc=arm-linux-gnueabihf-gcc; objcopy=arm-linux-gnueabihf-objcopy; arch_dir=arm-linux-gnueabihf; cflags=(-mcpu=cortex-a15 -mfpu=neon -mfloat-abi=hard)
        runner=(qemu-arm -cpu cortex-a15) ;;
    esac
    # The multiarch libc (pulled in by libjpeg62-turbo-dev:<arch>) must come with its own loader: the
    # cross toolchain's copy is another build of glibc, and mixing the two hangs in pthread_create.
    if [ "${runner[0]:-}" != "" ]; then
        if [ -e "/lib/$arch_dir/libc.so.6" ]; then runner+=(-L /); else runner+=(-L "/usr/$arch_dir"); fi
    fi
}

# The Embedded Swift runtime in a Swift object allocates with `posix_memalign` and frees with
# `free`; renamed, they go to the call heap of CComRecPool.h, so that the records of a C API call
# come from memory its context set aside at creation (the C library's heap outside calls and on
# worker threads).
call_heap_allocation() {
    "$objcopy" --redefine-sym posix_memalign=crc_call_heap_posix_memalign --redefine-sym free=crc_call_heap_free "$1"
}

# Builds .build-boards/<target>/: the Swift modules (Embedded), the C wrappers, libcomrec.a.
build() {
    local target=$1 dir=$out/$1
    configure "$target"
    rm -rf "$dir"
    mkdir -p "$dir/objects" "$dir/jpeg-include"
    local flags=(-swift-version 6 -enable-experimental-feature Embedded -target "$triple" "${swift_cpu[@]}" -O -wmo
        -parse-as-library "${defines[@]}" -I "$dir/objects" -I "$work" -Xcc -ffunction-sections -Xcc -fdata-sections)
    module() {  # module NAME SOURCES...
        local name=$1
        shift
        swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$dir/objects/$name.swiftmodule" \
            -c "$@" -o "$dir/objects/$name.o"
    }
    mapfile -t kernel_sources < <(find Sources/ComRecKernels -name '*.swift' | sort)
    module ComRecKernels "${kernel_sources[@]}"
    if [ "$target" = x86_64-avx2 ]; then
        swiftc "${flags[@]}" -module-name ComRecKernelsAVX2 -emit-module \
            -emit-module-path "$dir/objects/ComRecKernelsAVX2.swiftmodule" -c Sources/ComRecKernelsAVX2/*.swift \
            -o "$dir/objects/ComRecKernelsAVX2.o"
    fi
    module ComRecModels Sources/ComRecModels/*.swift
    module ComRecNetworks Sources/ComRecNetworks/*.swift
    module ComRecCodec Sources/ComRecCodec/*.swift
    module ComRecJPEG Sources/ComRecJPEG/*.swift
    module ComRecC Sources/ComRecC/*.swift
    for object in "$dir"/objects/ComRec*.o; do call_heap_allocation "$object"; done
    # libjpeg's headers: the common ones and the target's jconfig.h (multiarch).
    for header in jpeglib.h jmorecfg.h jerror.h; do ln -s "/usr/include/$header" "$dir/jpeg-include/$header"; done
    ln -s "/usr/include/$arch_dir/jconfig.h" "$dir/jpeg-include/jconfig.h"
    local c=("$cc" -O2 -ffunction-sections -fdata-sections "${cflags[@]}")
    # With libjpeg's memory hooks (jpeg.c): a decode's libjpeg state lives in the caller's arena.
    "${c[@]}" -D CRC_JPEG_MEMORY_HOOKS -I "$dir/jpeg-include" -I Sources/CComRecImage/include \
        -c Sources/CComRecImage/jpeg.c -o "$dir/objects/jpeg.o"
    "${c[@]}" -I Sources/CComRecMemory/include -c Sources/CComRecMemory/allocation.c -o "$dir/objects/allocation.o"
    "${c[@]}" -I Sources/CComRecPool/include -c Sources/CComRecPool/pool.c -o "$dir/objects/pool.o"
    "${c[@]}" -I Sources/CComRecPool/include -c Sources/CComRecPool/call_heap.c -o "$dir/objects/call_heap.o"
    # The Embedded stdlib's Unicode tables (String comparisons need them) go into the library.
    mkdir -p "$dir/objects/unicode"
    (cd "$dir/objects/unicode" && ar x "$swift_lib/$triple/libswiftUnicodeDataTables.a")
    if [ "$target" = armv7 ]; then
        # The toolchain's armv7 tables are tagged soft-float and the linker refuses to mix them with
        # hard-float code. They pass no floating-point values in what ComRec uses (string
        # comparison tables), so the tag goes.
        for object in "$dir"/objects/unicode/*.o; do arm-linux-gnueabihf-objcopy --remove-section .ARM.attributes "$object"; done
    fi
    ar rcs "$dir/libcomrec.a" "$dir"/objects/*.o "$dir"/objects/unicode/*.o
    cp include/comrec.h "$dir/"
    local link=(-Wl,--gc-sections "$dir/libcomrec.a" "/usr/lib/$arch_dir/libjpeg.a" -lpthread -lm)
    "${c[@]}" -I include examples/board/comrec-board.c "${link[@]}" -o "$dir/comrec-board"
    local wrap=-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc
    "${c[@]}" -I include Tests/BoardAPI/api-test.c "$wrap" "${link[@]}" -o "$dir/api-test"
    # A firmware build that keeps only the fast profile: ComRecC with COMREC_ONLY_FAST, and the
    # linker drops the other networks' weights.
    mkdir -p "$dir/only-fast"
    swiftc "${flags[@]}" -D COMREC_ONLY_FAST -module-name ComRecC -c Sources/ComRecC/*.swift -o "$dir/only-fast/ComRecC.o"
    call_heap_allocation "$dir/only-fast/ComRecC.o"
    cp "$dir/libcomrec.a" "$dir/only-fast/libcomrec.a"
    ar rcs "$dir/only-fast/libcomrec.a" "$dir/only-fast/ComRecC.o"
    "${c[@]}" -I include examples/board/comrec-board.c -Wl,--gc-sections "$dir/only-fast/libcomrec.a" \
        "/usr/lib/$arch_dir/libjpeg.a" -lpthread -lm -o "$dir/only-fast/comrec-board"
    if [[ $target == x86_64* ]]; then
        # The shared library links the shared libjpeg, whose memory functions the hooks would
        # replace or not depending on how the library is loaded: without them, libjpeg's memory
        # is always the heap.
        mkdir -p "$dir/shared"
        "${c[@]}" -I "$dir/jpeg-include" -I Sources/CComRecImage/include -c Sources/CComRecImage/jpeg.c -o "$dir/shared/jpeg.o"
        local objects=()
        for object in "$dir"/objects/*.o; do [ "$(basename "$object")" = jpeg.o ] || objects+=("$object"); done
        # Only the C API (comrec_*) is exported: the library's own Swift and C symbols stay local,
        # so they cannot clash with another library's in the same process, and the linker drops
        # what the API cannot reach (the CLI's second enhancer, for one).
        printf '{\n  global: comrec_*;\n  local: *;\n};\n' > "$dir/shared/exports.map"
        gcc -shared -Wl,--gc-sections -Wl,--version-script="$dir/shared/exports.map" -o "$dir/libcomrec.so" \
            "${objects[@]}" "$dir/shared/jpeg.o" "$dir"/objects/unicode/*.o -ljpeg -lpthread -lm
    fi
}

# Test images (PPM), made from Fixtures/generate.py's formulas: small enough for qemu, with odd
# sizes and one tall image that needs several bands with 4 threads.
python3 - "$work" <<'PY'
import os, sys
sys.path.insert(0, "Fixtures")
import generate as g
work = sys.argv[1]
def save(name, width, height, pixel):
    with open(os.path.join(work, name), "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (width, height))
        f.write(bytes(v for y in range(height) for x in range(width) for v in pixel(x, y)))
save("demo-96x64.ppm", 96, 64, lambda x, y: g.demo_pixel(x * 8, y * 8, 768, 512))
save("small-33x17.ppm", 33, 17, g.small_rgb)
save("tiny-1x1.ppm", 1, 1, g.small_rgb)
save("tall-12x1100.ppm", 12, 1100, lambda x, y: g.demo_pixel(x * 64, (y * 7) % 512, 768, 512))
PY
images=(demo-96x64 small-33x17 tiny-1x1 tall-12x1100)

# The references: the x86 CLI's files and decodes.
echo "building the reference CLI (swift build -c release --product comrec)"
swift build -c release --product comrec >/dev/null
cli=$(swift build -c release --show-bin-path)/comrec
pixels() {  # SHA-256 of the RGB samples of a PNG (the CLI's decode) or a P6 PPM (the board's)
    python3 - "$1" <<'PY'
import hashlib, sys
sys.path.insert(0, "Fixtures")
import generate as g
path = sys.argv[1]
if path.endswith(".png"):
    data = b"".join(g.read_png_rgb8(path))
else:
    raw = open(path, "rb").read()
    data = raw.split(b"\n", 3)[3]
print(hashlib.sha256(data).hexdigest())
PY
}
cases=()  # image:profile:mode[:bits per pixel]
for image in "${images[@]}"; do cases+=("$image:fast:half" "$image:fast:full"); done
cases+=("small-33x17:paper:half" "small-33x17:paper:full" "demo-96x64:bicubic:full" "demo-96x64:bicubic:half"
    "demo-96x64:fast:auto" "demo-96x64:fast:auto:1.5" "small-33x17:fast:half:8" "small-33x17:tiny:half" "demo-96x64:tiny:auto")
name() { echo "$1-$2-$3${4:+-$4}"; }
for case in "${cases[@]}"; do
    IFS=: read -r image profile mode bpp <<<"$case"
    target=(--quality 60)
    [ -n "$bpp" ] && target=(--bpp "$bpp")
    ref=$work/$(name "$image" "$profile" "$mode" "$bpp")
    "$cli" encode "$work/$image.ppm" -o "$ref.jpg" "${target[@]}" --profile "$profile" --mode "$mode" --scans baseline --force >/dev/null
    "$cli" decode "$ref.jpg" -o "$ref.png" --force >/dev/null
    pixels "$ref.png" > "$ref.pixels"
done

for target in "${targets[@]}"; do
    start=$SECONDS
    # In a subshell outside any condition, so that `set -e` stops the build at its first error.
    set +e
    (set -e; build "$target") > "$work/build-$target.log" 2>&1
    status=$?
    set -e
    if [ "$status" != 0 ]; then
        fail "$target: the build failed:"
        grep -m 12 -E "error|Crash|fatal|LLVM ERROR|Assertion|Stack dump" "$work/build-$target.log" || true
        tail -20 "$work/build-$target.log"
        continue
    fi
    pass
    configure "$target"
    dir=$out/$target
    if [ "$target" = x86_64-avx2 ] && ! grep -qw avx2 /proc/cpuinfo; then
        echo "$target: built; not run (this CPU has no AVX2)"
        continue
    fi
    run() { "${runner[@]}" "$@"; }
    ok=0
    for case in "${cases[@]}"; do
        IFS=: read -r image profile mode bpp <<<"$case"
        ref=$work/$(name "$image" "$profile" "$mode" "$bpp")
        for threads in 1 4; do
            rm -f "$work/board.jpg" "$work/board.ppm"
            if COMREC_THREADS=$threads COMREC_PROFILE=$profile COMREC_MODE=$mode COMREC_BPP=$bpp \
                run "$dir/comrec-board" encode "$work/$image.ppm" "$work/board.jpg" 60 \
                && cmp -s "$work/board.jpg" "$ref.jpg"; then
                pass; ok=$((ok + 1))
            else
                fail "$target: encode $image $profile $mode ${bpp:+$bpp bpp }, $threads threads: not the CLI's file"
            fi
            if COMREC_THREADS=$threads run "$dir/comrec-board" decode "$ref.jpg" "$work/board.ppm" \
                && [ "$(pixels "$work/board.ppm")" = "$(cat "$ref.pixels")" ]; then
                pass; ok=$((ok + 1))
            else
                fail "$target: decode $image $profile $mode ${bpp:+$bpp bpp }, $threads threads: not the CLI's pixels"
            fi
        done
    done
    if run "$dir/api-test" "$work/demo-96x64-fast-half.jpg" > "$work/api-$target.txt" 2>&1; then
        pass
    else
        fail "$target: api-test"
    fi
    grep -v '^api-test:' "$work/api-$target.txt" || true
    rm -f "$work/only-fast-1.ppm" "$work/only-fast-2.ppm"
    if run "$dir/only-fast/comrec-board" decode "$work/demo-96x64-fast-half.jpg" "$work/only-fast-1.ppm" \
        && ! run "$dir/only-fast/comrec-board" decode "$work/small-33x17-paper-half.jpg" "$work/only-fast-2.ppm" 2>/dev/null \
        && [ ! -e "$work/only-fast-2.ppm" ]; then
        pass
    else
        fail "$target: the fast-only build does not decode exactly the fast files"
    fi
    if [ -e "$dir/libcomrec.so" ]; then
        # The shared library exports the header's functions and nothing else.
        exported=$(nm -D --defined-only "$dir/libcomrec.so" | awk '{ print $3 }' | sort)
        declared=$(grep -oE '\bcomrec_[a-z0-9_]+\(' include/comrec.h | tr -d '(' | sort -u)
        if [ "$exported" = "$declared" ]; then
            pass
        else
            fail "$target: libcomrec.so's exports are not comrec.h's functions:"
            diff <(echo "$declared") <(echo "$exported") | head -10 || true
        fi
    fi
    sizes() {  # .text and .rodata + .data of a linked board tool, in KB
        size -A "$1" | awk '$1 == ".text" { t = $2 } $1 == ".rodata" || $1 == ".data" || $1 == ".data.rel.ro" { d += $2 }
            END { printf "%d KB code, %d KB data", t / 1024, d / 1024 }'
    }
    echo "$target: $ok files identical to the CLI's, $(tail -1 "$work/api-$target.txt"); comrec-board with" \
        "every profile $(sizes "$dir/comrec-board"), with fast only $(sizes "$dir/only-fast/comrec-board"); $((SECONDS - start)) s"
done
echo "boards: $passed passed, $failed failed"
[ "$failed" = 0 ]
