#!/usr/bin/env python3
"""The RecCNNs of `paper` and `fast` in ComRec and in ONNX Runtime int8, in one run, plus the
whole `comrec decode` of a 768 x 512 file and, with --memory, the peak memory of a 20-megapixel
decode. docs/performance.md ("Whole networks and decode") has the figures and how they were taken.

    Benchmarks/.venv/bin/python Benchmarks/onnx_models.py [--threads 2] [--repeat 5] [--json]
        [--models DIR ...] [--bench .build/release/comrec-models-bench] [--memory]

Models: model folders (config.json + int8.safetensors). By default the real profiles' shapes with
random weights, written by Training/comrec_train/make_test_model.py --shape paper|fast (the speed
of these kernels does not depend on the weights' values); `--models Weights/paper Weights/fast`
for the shipped networks.

ONNX: each RecCNN as a chain of QLinearConv with the model's own int8 weights, int32 biases and
per-channel multipliers (x_scale = y_scale = 1, w_scale = the multiplier, zero points 0:
uint8 activations, the ReLU being the clamp at 0), the last layer uint8 around zero point 128
(ONNX Runtime's QLinearConv wants one type in and out), and for `fast` DepthToSpace
(PixelShuffle's CRD order). Not bit-exact with ComRec (ONNX clamps hidden layers at 255, not 127,
and the residual at -128...127), the same work. ONNX Runtime runs it with
intra_op_num_threads = --threads, sequential execution, all graph optimisations.

ComRec: comrec-models-bench (Sources/comrec-models-bench) reads the same folder at run time and
runs the RecCNN with the tile plan (NetworkTilePlan) and the thread pool (best kernel family), then the whole
reconstruction; `decode` times the process that reads a ComRec file and writes the PNG, as
`comrec decode` does. Build it first: swift build -c release --product comrec-models-bench.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import make_test_model  # noqa: E402 (numpy only)


def onnx_reccnn(config, nets):
    """The RecCNN of a model folder as an ONNX QLinearConv graph (bytes). Input x: uint8 NCHW."""
    from onnx import TensorProto, helper, numpy_helper

    rec = config["networks"]["rec"]
    layers = nets["rec"]
    nodes, inits = [], [
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0, np.uint8), "zu8"),
        numpy_helper.from_array(np.array(128, np.uint8), "z128"),
    ]
    x = "x"
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        cout = layer["weight"].shape[0]
        inits += [
            numpy_helper.from_array(np.ascontiguousarray(layer["weight"].transpose(0, 3, 1, 2)), f"w{i}"),
            numpy_helper.from_array(layer["multiplier"].astype(np.float32), f"ws{i}"),
            numpy_helper.from_array(np.zeros(cout, np.int8), f"wz{i}"),
            numpy_helper.from_array(layer["bias"].astype(np.int32), f"b{i}"),
        ]
        y = "r" if last else f"a{i}"
        nodes.append(helper.make_node(
            "QLinearConv", [x, "one", "zu8", f"w{i}", f"ws{i}", f"wz{i}", "one", "z128" if last else "zu8", f"b{i}"],
            [y], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[layer["stride"]] * 2))
        x = y
    out = "r"
    if rec["pixel_shuffle"] == 2:
        nodes.append(helper.make_node("DepthToSpace", ["r"], ["y"], blocksize=2, mode="CRD"))
        out = "y"
    graph = helper.make_graph(
        nodes, "reccnn", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, None, None])],
        [helper.make_tensor_value_info(out, TensorProto.UINT8, [1, 3, None, None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def best_and_median(run, repeat):
    run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0], times[len(times) // 2]


def time_onnxruntime(config, nets, width, height, threads, repeat):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_reccnn(config, nets), options, providers=["CPUExecutionProvider"])
    fast = config["networks"]["rec"]["reads"] == "decoded"
    h, w = ((height + 1) // 2, (width + 1) // 2) if fast else (height, width)
    x = np.random.default_rng(5).integers(0, 256, (1, 3, h, w)).astype(np.uint8)
    return best_and_median(lambda: session.run(None, {"x": x}), repeat)


def time_comrec(bench, folder, width, height, threads, repeat):
    out = subprocess.run([bench, "networks", folder, "--threads", str(threads), "--width", str(width),
                          "--height", str(height), "--repeat", str(repeat)],
                         check=True, capture_output=True, text=True).stdout
    return {row["network"]: row for row in map(json.loads, out.splitlines())}


def time_decode(bench, folder, image, threads, repeat, work):
    """Wall time of the decode process (start to exit) for a ComRec file of `image`."""
    encoded, decoded = os.path.join(work, "in.jpg"), os.path.join(work, "out.png")
    subprocess.run([bench, "encode", folder, image, "-o", encoded, "--quality", "50"], check=True, capture_output=True)
    env = dict(os.environ, COMREC_THREADS=str(threads))
    return best_and_median(lambda: subprocess.run([bench, "decode", folder, encoded, "-o", decoded],
                                                  check=True, capture_output=True, env=env), repeat)


def peak_memory(command, env):
    """(peak resident set size in MB, wall seconds) of `command` under /usr/bin/time -v."""
    t0 = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return kb / 1024, seconds


def write_ppm(path, width, height):
    """A 20-megapixel synthetic photo-like image (gradients, edges, noise) as binary PPM."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(7)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = 128 + 70 * np.sin(x / (97 + 31 * c) + y / (61 + 17 * c))
    img[(x // 301 + y // 207) % 5 == 0] = 40
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    with open(path, "wb") as fh:
        fh.write(f"P6\n{width} {height}\n255\n".encode())
        fh.write(np.clip(img, 0, 255).astype(np.uint8).tobytes())


def memory_table(args, folders, comrec_cli, work):
    """Peak memory of 20-megapixel decodes: each model folder through comrec-models-bench, and the
    bicubic profile through the real `comrec decode`."""
    width, height = 5472, 3648
    ppm = os.path.join(work, "20mp.ppm")
    write_ppm(ppm, width, height)
    env = dict(os.environ, COMREC_THREADS=str(args.threads))
    rows = []
    for folder in folders:
        jpg = os.path.join(work, "20mp-" + os.path.basename(folder) + ".jpg")
        subprocess.run([args.bench, "encode", folder, ppm, "-o", jpg, "--quality", "50"], check=True,
                       capture_output=True, env=env)
        mb, s = peak_memory([args.bench, "decode", folder, jpg, "-o", os.path.join(work, "out.png")], env)
        rows.append({"decode": os.path.basename(folder.rstrip("/")), "via": "comrec-models-bench decode",
                     "size": [width, height], "peak_mb": mb, "seconds": s, "threads": args.threads})
        print(f"20 MP decode {rows[-1]['decode']}: {mb:.0f} MB peak, {s:.1f} s", file=sys.stderr, flush=True)
    if comrec_cli:
        jpg = os.path.join(work, "20mp-bicubic.jpg")
        subprocess.run([comrec_cli, "encode", ppm, "-o", jpg, "--quality", "50", "--force"], check=True, capture_output=True)
        mb, s = peak_memory([comrec_cli, "decode", jpg, "-o", os.path.join(work, "out.png"), "--force"], env)
        rows.append({"decode": "bicubic", "via": "comrec decode", "size": [width, height], "peak_mb": mb,
                     "seconds": s, "threads": args.threads})
        print(f"20 MP decode bicubic: {mb:.0f} MB peak, {s:.1f} s", file=sys.stderr, flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up (best and median)")
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--models", nargs="+", help="model folders (default: paper and fast shapes, random weights)")
    p.add_argument("--bench", default=os.path.join(REPO, ".build", "release", "comrec-models-bench"))
    p.add_argument("--comrec", default=os.path.join(REPO, ".build", "release", "comrec"),
                   help="the comrec CLI, for the bicubic 20 MP decode of --memory")
    p.add_argument("--image", default=os.path.join(REPO, "Fixtures", "synthetic-768x512.png"),
                   help="image of the whole-decode timing")
    p.add_argument("--memory", action="store_true", help="also the peak memory of 20-megapixel decodes (minutes)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not os.access(args.bench, os.X_OK):
        raise SystemExit(f"{args.bench} not found: swift build -c release --product comrec-models-bench (or --bench PATH)")
    import onnxruntime

    with tempfile.TemporaryDirectory() as work:
        folders = args.models
        if not folders:
            folders = []
            for shape in ("paper", "fast"):
                folder = os.path.join(work, shape + "-shape")
                make_test_model.write_model(folder, shape, make_test_model.FULL_SHAPES[shape])
                folders.append(folder)
        rows = []
        for folder in folders:
            config, nets = make_test_model.load_model(folder)
            name = config["profile"]
            print(f"{name}: ComRec", file=sys.stderr, flush=True)
            ours = time_comrec(args.bench, folder, args.width, args.height, args.threads, args.repeat)
            print(f"{name}: ONNX Runtime", file=sys.stderr, flush=True)
            ort_best, ort_median = time_onnxruntime(config, nets, args.width, args.height, args.threads, args.repeat)
            print(f"{name}: comrec decode", file=sys.stderr, flush=True)
            dec_best, dec_median = time_decode(args.bench, folder, args.image, args.threads, args.repeat, work)
            rows.append({
                "profile": name, "threads": args.threads, "size": [args.width, args.height],
                "isa": ours["rec"]["isa"],
                "comrec_reccnn_s": [ours["rec"]["best_s"], ours["rec"]["median_s"]],
                "onnxruntime_int8_reccnn_s": [ort_best, ort_median],
                "comrec_reconstruct_s": [ours["reconstruct"]["best_s"], ours["reconstruct"]["median_s"]],
                "comrec_comcnn_s": [ours["com"]["best_s"], ours["com"]["median_s"]] if "com" in ours else None,
                "decode_command_s": [dec_best, dec_median],
            })
        memory = memory_table(args, folders, args.comrec if os.access(args.comrec, os.X_OK) else None, work) \
            if args.memory else []
    result = {"onnxruntime": onnxruntime.__version__, "nproc": os.cpu_count(),
              "load_average": os.getloadavg(), "networks": rows, "memory_20mp": memory}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.width} x {args.height}, {args.threads} threads, best / median of {args.repeat} (seconds); "
          f"ONNX Runtime {onnxruntime.__version__}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'profile':10}{'ComRec RecCNN':>18}{'ORT int8 RecCNN':>18}{'ratio':>8}{'reconstruct':>16}"
          f"{'ComCNN':>14}{'decode cmd':>16}{'cmd/net':>9}")
    for r in rows:
        c, o, d = r["comrec_reccnn_s"], r["onnxruntime_int8_reccnn_s"], r["decode_command_s"]
        com = r["comrec_comcnn_s"]
        print(f"{r['profile']:10}{c[0]:9.3f} /{c[1]:6.3f}{o[0]:10.3f} /{o[1]:6.3f}{c[0] / o[0]:8.2f}"
              f"{r['comrec_reconstruct_s'][0]:9.3f} /{r['comrec_reconstruct_s'][1]:5.3f}"
              f"{(com[0] if com else float('nan')):14.3f}{d[0]:9.3f} /{d[1]:5.3f}{d[0] / c[0]:9.2f}")
    for m in memory:
        print(f"20 MP decode, {m['decode']} ({m['via']}, {m['threads']} threads): {m['peak_mb']:.0f} MB peak, "
              f"{m['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
