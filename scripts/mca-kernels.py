#!/usr/bin/env python3
"""Cycles per inner-loop iteration of the aarch64 convolution kernels, as llvm-mca models them for
Cortex cores that no one here has: an estimate, not a measurement (docs/performance.md).

For each core it compiles ComRecKernels with Embedded Swift for aarch64-none-none-elf and that
-target-cpu (with -D COMREC_NEON_DOT where the core has the dot product), takes each kernel's
innermost loop from the assembly (the block LLVM marks "This Inner Loop Header" that holds the
multiply instructions, up to its backward branch), and runs llvm-mca on it. MACs per iteration are
counted from the instructions: smull/smlal 8b -> 8h do 8 multiply-accumulates, smlal 4h -> 4s 4,
sdot 16; the Winograd kernel's products count 36/16 direct MACs each ("effective").

    scripts/mca-kernels.py [--llvm-mca PATH] [--json]

Needs swiftc (the toolchain's Embedded stdlib for aarch64) and llvm-mca (Debian's llvm or
llvm-16 package; the newest llvm-mca-N on PATH is used unless --llvm-mca is given).
"""
import argparse
import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# (core, llvm-mca -mcpu, has dot product). llvm-mca has no Cortex-A72/A76 model of their own in
# every version: the script prints which model each -mcpu uses (the scheduling model's name).
CORES = [("cortex-a53", "cortex-a53", False), ("cortex-a72", "cortex-a72", False), ("cortex-a76", "cortex-a76", True)]
KERNELS = [("conv3x3U7S8_16x1_neon", False), ("conv3x3WinogradF2x3U7S16_16x3_neon", False),
           ("conv3x3U7S8_16x4_neondot", True), ("conv3x3WinogradF2x3U7S16_16x3_neon", True)]
# Direct-convolution MACs that one product of each kernel stands for: Winograd F(2x2, 3x3) makes
# 16 products per 2x2 tile and channel where the direct convolution makes 36.
EFFECTIVE = {"conv3x3WinogradF2x3U7S16_16x3_neon": 36 / 16}
MULTIPLIES = ("smull", "smull2", "smlal", "smlal2", "sdot")


def products(line):
    """Multiplies done by one instruction, from its destination's arrangement: 8 for an 8h
    destination (smull/smlal 8b), 4 for a 4s one (smull/smlal 4h, smlal2 8h), 16 for sdot."""
    parts = line.split(None, 1)
    if parts[0] not in MULTIPLIES:
        return 0
    if parts[0] == "sdot":
        return 16
    destination = parts[1].split(",")[0].strip()
    return 8 if destination.endswith(".8h") else 4
# Register-only loops of the kernels' multiply instruction on 16 independent accumulators: the
# core's modelled limit for that instruction (as `comrec bench` measures the x86 peak).
PEAK_LOOPS = {
    "conv3x3U7S8_16x1_neon": [f"smlal v{i}.8h, v30.8b, v31.8b" for i in range(16)] + ["subs x0, x0, #1", "b.ne .Lpeak"],
    "conv3x3U7S8_16x4_neondot": [f"sdot v{i}.4s, v30.16b, v31.4b[0]" for i in range(16)] + ["subs x0, x0, #1", "b.ne .Lpeak"],
    "conv3x3WinogradF2x3U7S16_16x3_neon": [f"smlal v{i}.4s, v30.4h, v31.4h" for i in range(16)] + ["subs x0, x0, #1", "b.ne .Lpeak"],
}


def newest_mca():
    found = [p for p in glob.glob("/usr/bin/llvm-mca-*") if re.search(r"-\d+$", p)]
    if found:
        return max(found, key=lambda p: int(p.rsplit("-", 1)[1]))
    return shutil.which("llvm-mca")


def compile_kernels(cpu, dot, out):
    sources = sorted(str(p) for p in (ROOT / "Sources/ComRecKernels").rglob("*.swift"))
    cmd = ["swiftc", "-swift-version", "6", "-enable-experimental-feature", "Embedded",
           "-target", "aarch64-none-none-elf", "-target-cpu", cpu, "-O", "-wmo", "-parse-as-library",
           "-module-name", "ComRecKernels", "-I", str(ROOT / "Sources/CComRecMemory/include"), "-S", *sources, "-o", out] + (["-D", "COMREC_NEON_DOT"] if dot else [])
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)


def inner_loop(assembly, kernel):
    """The innermost loop of `kernel` that holds multiply instructions, as instruction lines."""
    lines = assembly.splitlines()
    start = next(i for i, l in enumerate(lines) if re.match(r"^\$\S*" + kernel + r"\S*:", l))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(".Lfunc_end"))
    body = lines[start:end]
    for i, line in enumerate(body):
        if "This Inner Loop Header" not in line:
            continue
        label = next(body[j].split(":")[0] for j in range(i, -1, -1) if body[j].startswith(".LBB"))
        loop = []
        for l in body[i + 1:]:
            text = l.split("//")[0].strip()
            if not text:
                continue
            loop.append(text)
            if re.match(r"^(b\.\w+|cbn?z|tbn?z)\b", text) and text.endswith(label):
                break
        if any(products(l) for l in loop):
            return loop
    raise SystemExit(f"no inner loop with multiplies found in {kernel}")


def mca(llvm_mca, cpu, loop, iterations=500):
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write(".Lpeak:\n" + "\n".join(loop) + "\n")
    try:
        out = subprocess.run([llvm_mca, "-mtriple=aarch64", f"-mcpu={cpu}", f"-iterations={iterations}",
                              "-scheduler-stats", f.name], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    return cycles / iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llvm-mca", default=newest_mca())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.llvm_mca or not shutil.which(args.llvm_mca):
        raise SystemExit("llvm-mca not found: apt-get install llvm (or llvm-16)")
    version = subprocess.run([args.llvm_mca, "--version"], capture_output=True, text=True).stdout
    version = re.search(r"LLVM version ([\d.]+)", version).group(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for core, mcpu, dot in CORES:
            asm = os.path.join(tmp, core + ".s")
            compile_kernels(core, dot, asm)
            text = open(asm).read()
            for kernel, needs_dot in KERNELS:
                if needs_dot and not dot:
                    continue
                loop = inner_loop(text, kernel)
                macs = sum(products(l) for l in loop)
                cycles = mca(args.llvm_mca, mcpu, loop)
                peak_loop = PEAK_LOOPS[kernel]
                peak = sum(products(l) for l in peak_loop) / mca(args.llvm_mca, mcpu, peak_loop)
                effective = EFFECTIVE.get(kernel, 1.0) * macs / cycles
                rows.append({"core": core, "kernel": kernel, "instructions": len(loop), "macs_per_iteration": macs,
                             "cycles_per_iteration": round(cycles, 2), "macs_per_cycle": round(macs / cycles, 2),
                             "peak_macs_per_cycle": round(peak, 2), "fraction_of_peak": round(macs / cycles / peak, 3),
                             "effective_macs_per_cycle": round(effective, 2)})
    if args.json:
        print(json.dumps({"llvm_mca": version, "rows": rows}, indent=1))
        return
    print(f"llvm-mca {version} (modelled, not measured); inner loop of each kernel")
    print(f"{'core':12}{'kernel':36}{'instr':>7}{'MAC/iter':>10}{'cycles/iter':>13}{'MAC/cycle':>11}{'peak':>8}"
          f"{'of peak':>9}{'effective':>11}")
    for r in rows:
        print(f"{r['core']:12}{r['kernel']:36}{r['instructions']:>7}{r['macs_per_iteration']:>10}"
              f"{r['cycles_per_iteration']:>13.2f}{r['macs_per_cycle']:>11.2f}{r['peak_macs_per_cycle']:>8.2f}"
              f"{100 * r['fraction_of_peak']:>8.1f}%{r['effective_macs_per_cycle']:>11.2f}")
    print("MAC: the products the kernel's multiply instructions make; peak: a register-only loop of that")
    print("instruction on 16 accumulators, same model; effective: direct-convolution MACs per cycle (Winograd")
    print("F(2x2, 3x3) makes 16 products where the direct convolution makes 36)")
    for core, _, _ in CORES:
        direct = [r for r in rows if r["core"] == core and "Winograd" not in r["kernel"]]
        wino = [r for r in rows if r["core"] == core and "Winograd" in r["kernel"]]
        if direct and wino:
            best = max(direct, key=lambda r: r["effective_macs_per_cycle"])
            ratio = wino[0]["effective_macs_per_cycle"] / best["effective_macs_per_cycle"]
            print(f"{core}: Winograd is {ratio:.2f}x {best['kernel']} in effective MAC/cycle")


if __name__ == "__main__":
    sys.exit(main())
