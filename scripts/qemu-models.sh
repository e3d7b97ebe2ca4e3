#!/usr/bin/env bash
# The generated models under qemu-aarch64: ComRecKernels, ComRecModels (SHA-256 included),
# ComRecNetworks (the shipped profiles), ComRecCodec and Tests/ComRecTestModels compiled
# with Embedded Swift for aarch64-none-none-elf, linked with Debian's aarch64-linux-gnu gcc and
# libc, run under qemu-aarch64. Every golden hash of Fixtures/golden/*.json (test models and
# shipped profiles) and Fixtures/golden/full/*.json (enhancers) must come out, with every kernel family of the build: portable and NEON for
# cortex-a53, and NEON dot as well for cortex-a76 (docs/models.md, "Golden vectors").
# Needs gcc-aarch64-linux-gnu and qemu-user (scripts/embedded-aarch64.sh installs them), python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in swiftc aarch64-linux-gnu-gcc qemu-aarch64 python3; do
    command -v "$tool" >/dev/null || { echo "qemu-models: $tool not found (apt-get install gcc-aarch64-linux-gnu qemu-user)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The golden cases as Swift (the Embedded program reads no files).
# Each golden file names its profile; comrec-compile names the model type after it
# (test-paper -> TestPaperModel, fast -> FastModel).
# Enhancers (Fixtures/golden/full/*.json, mode "full") are named <Profile>FullModel.
python3 - "$work/GoldenCases.swift" Fixtures/golden/*.json Fixtures/golden/full/*.json <<'PY'
import json, sys
docs = [json.load(open(path)) for path in sys.argv[2:]]
def type_name(doc):
    base = "".join(p[:1].upper() + p[1:] for p in doc["profile"].replace("_", "-").split("-"))
    return base + ("FullModel" if doc.get("mode") == "full" else "Model")
out = ["import ComRecModels", "import ComRecNetworks", "import ComRecTestModels", "",
       "struct GoldenCase { var model: Int; var width: Int; var height: Int; var imageSeed: Int",
       "    var decodedSeed: Int; var compact: StaticString; var reconstructed: StaticString }",
       "struct EnhancerCase { var model: Int; var width: Int; var height: Int; var decodedSeed: Int",
       "    var enhanced: StaticString }",
       "let goldenModels: [LearnedModel] = [" + ", ".join(type_name(d) + ".model" for d in docs) + "]",
       "let goldenCases: [GoldenCase] = ["]
for index, doc in enumerate(docs):
    for c in doc["cases"] if doc.get("mode") != "full" else []:
        out.append(f'    GoldenCase(model: {index}, width: {c["width"]}, height: {c["height"]}, '
                   f'imageSeed: {c["image_seed"]}, decodedSeed: {c["decoded_seed"]}, '
                   f'compact: "{c["compact_sha256"]}", reconstructed: "{c["reconstructed_sha256"]}"),')
out.append("]")
out.append("let enhancerCases: [EnhancerCase] = [")
for index, doc in enumerate(docs):
    for c in doc["cases"] if doc.get("mode") == "full" else []:
        out.append(f'    EnhancerCase(model: {index}, width: {c["width"]}, height: {c["height"]}, '
                   f'decodedSeed: {c["decoded_seed"]}, enhanced: "{c["enhanced_sha256"]}"),')
out.append("]")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY

# ComRecCodec's strings need the Unicode tables of the Embedded stdlib (ComRecModels does not).
tables="$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a"
mapfile -t kernel_sources < <(find Sources/ComRecKernels -name '*.swift' | sort)
mapfile -t model_sources < <(find Sources/ComRecModels -name '*.swift' | sort)
# Debian's multiarch libc (scripts/boards.sh installs it with libjpeg for arm64) must run with its
# own loader; otherwise the cross toolchain's libc does.
qemu_root=/usr/aarch64-linux-gnu
[ -e /lib/aarch64-linux-gnu/libc.so.6 ] && qemu_root=/
status=0
for variant in cortex-a53 cortex-a76; do
    defines=()
    [ "$variant" = cortex-a76 ] && defines=(-D COMREC_NEON_DOT)
    dir="$work/$variant"
    mkdir -p "$dir"
    flags=(-swift-version 6 -enable-experimental-feature Embedded -target aarch64-none-none-elf -target-cpu "$variant"
        -O -wmo -parse-as-library "${defines[@]}" -I "$dir" -I Sources/CComRecMemory/include)
    module() {  # module NAME SOURCES...
        local name=$1
        shift
        swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$dir/$name.swiftmodule" -c "$@" -o "$dir/$name.o"
    }
    start=$SECONDS
    module ComRecKernels "${kernel_sources[@]}"
    module ComRecModels "${model_sources[@]}"
    module ComRecNetworks Sources/ComRecNetworks/*.swift
    module ComRecCodec Sources/ComRecCodec/*.swift
    module ComRecTestModels Tests/ComRecTestModels/*.swift
    swiftc "${flags[@]}" -module-name QemuModels -c scripts/qemu-models/main.swift "$work/GoldenCases.swift" -o "$dir/main.o"
    aarch64-linux-gnu-gcc -O2 -I Sources/CComRecMemory/include -c Sources/CComRecMemory/allocation.c -o "$dir/allocation.o"
    # Dynamic link: -static fails on a copy relocation against a protected stdlib symbol.
    aarch64-linux-gnu-gcc "$dir"/*.o "$tables" -lm -o "$dir/qemu-models"
    output=$(qemu-aarch64 -cpu max -L "$qemu_root" "$dir/qemu-models")
    echo "$variant: $output ($((SECONDS - start)) s)"
    grep -q "golden checks passed" <<<"$output" || status=1
done
if [ "$status" = 0 ]; then echo "qemu-models: 1 passed, 0 failed"; else echo "qemu-models: 0 passed, 1 failed"; fi
exit $status
