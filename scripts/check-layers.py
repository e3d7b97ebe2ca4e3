#!/usr/bin/env python3
"""Checks the code against the module graph: every `import` of a project module in
Sources/<Module> names a module listed before it in LAYERS, and the Embedded-safe modules import
only Embedded-safe modules (and compiler built-ins). LAYERS is kept by hand in the order of
Package.swift's header and docs/architecture.md; a module missing from it fails the check.
Prints one line per violation and ends with "check-layers: N passed, M failed"."""
import pathlib
import re
import sys

# Lowest first, as in Package.swift's header. C targets sit where their users need them.
LAYERS = [
    "CComRecMemory", "ComRecKernels", "ComRecKernelsAVX2", "ComRecKernelsAVX512", "CComRecCPU", "ComRecRuntime", "ComRecBench",
    "ComRecModels", "ComRecNetworks", "ComRecCompiler", "ComRecCodec",
    "CLibPNG", "CLibJPEG", "CComRecImage", "ComRecJPEG", "CComRecPool", "CComRecAPI", "ComRecC", "CComRecSignals", "ComRecIO", "ComRecEval",
    "comrec", "comrec-compile", "comrec-models-bench",
]
EMBEDDED = {"CComRecMemory", "ComRecKernels", "ComRecKernelsAVX2", "ComRecModels", "ComRecNetworks", "ComRecCodec", "ComRecJPEG", "CComRecImage", "CComRecPool", "CComRecAPI", "ComRecC"}
# Imports that are not project modules: the toolchain's and the C library's.
SYSTEM = {"Foundation", "FoundationXML", "Glibc", "Musl", "Darwin", "ArgumentParser", "_Builtin_intrinsics", "Dispatch", "Synchronization"}
# The C library, used by an Embedded-safe module only under `#if canImport(...)` for hosted builds.
HOSTED_ONLY_OK = {"Glibc", "Musl", "Darwin"}

# `import M`, with any attributes (@testable, @preconcurrency, @_implementationOnly), access level
# (public, package, internal, ...) or kind (`import struct M.T`).
IMPORT = re.compile(
    r"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
    r"(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    failures, checked, module_failures = [], 0, 0
    for folder in sorted((root / "Sources").iterdir()):
        module = folder.name
        if module == "CSystem" or not folder.is_dir():
            continue
        if module not in LAYERS:
            failures.append(f"{module}: not in the module graph (scripts/check-layers.py, Package.swift, docs/architecture.md)")
            module_failures += 1
            continue
        rank = LAYERS.index(module)
        for source in sorted(folder.rglob("*.swift")):
            for imported in IMPORT.findall(source.read_text()):
                checked += 1
                where = source.relative_to(root)
                if imported in SYSTEM or imported.startswith("_Builtin_intrinsics"):
                    if module in EMBEDDED and imported not in HOSTED_ONLY_OK and not imported.startswith("_Builtin"):
                        failures.append(f"{where}: the Embedded-safe {module} imports {imported}")
                    continue
                if imported not in LAYERS:
                    failures.append(f"{where}: imports {imported}, which is not in the module graph")
                elif LAYERS.index(imported) >= rank:
                    failures.append(f"{where}: {module} imports {imported}, a layer above it")
                elif module in EMBEDDED and imported not in EMBEDDED:
                    failures.append(f"{where}: the Embedded-safe {module} imports the hosted {imported}")
    for line in failures:
        print(line)
    print(f"check-layers: {checked - (len(failures) - module_failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
