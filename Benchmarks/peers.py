#!/usr/bin/env python3
"""The 3x3 64->64 convolution of `comrec bench`, run in the runtimes a user would pick instead.

Peers (all with the same thread count, input 1 x 64 x HEIGHT x WIDTH):
  onnxruntime-int8   QLinearConv, uint8 activations (zero point 0), int8 per-channel weights:
                     ONNX Runtime's MLAS kernels, the bar ComRec's int8 kernels must meet.
  onnxruntime-fp32   Conv + Relu in float.
  ncnn-int8          Convolution with int8_scale_term (int8 weights, input quantised per layer).
  ncnn-fp32          Convolution + ReLU in float.
  pytorch-fp32       torch.nn.Conv2d + ReLU, torch.inference_mode.

Each model is a stack of --layers identical layers (default 8) so that per-model costs (layout
conversion at the graph boundary, quantisation of the input) are amortised as they are in a real
network; GMAC/s counts the convolution MACs of all layers. The best of --repetitions runs (after
warm-up) is reported. Random weights; the values do not change the speed of these kernels.

Usage: Benchmarks/.venv/bin/python Benchmarks/peers.py --threads 2 [--json] [--only onnxruntime-int8]
Create the venv with: bash Benchmarks/setup-venv.sh
"""
import argparse
import json
import os
import struct
import sys
import tempfile
import time

import numpy as np


def best_time(run, repetitions, warmup=2):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times), sorted(times)[len(times) // 2]


def onnx_model(layers, channels, int8):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    nodes, inits = [], []
    x = "x"
    for i in range(layers):
        w = rng.integers(-127, 128, size=(channels, channels, 3, 3))
        b = rng.integers(-10000, 10000, size=(channels,))
        y = "y" if i == layers - 1 else f"a{i}"
        if int8:
            inits += [
                numpy_helper.from_array(w.astype(np.int8), f"w{i}"),
                numpy_helper.from_array(np.full(channels, 1 / 256, np.float32), f"ws{i}"),
                numpy_helper.from_array(np.zeros(channels, np.int8), f"wz{i}"),
                numpy_helper.from_array(b.astype(np.int32), f"b{i}"),
            ]
            if i == 0:
                inits += [
                    numpy_helper.from_array(np.array(1 / 16, np.float32), "s"),
                    numpy_helper.from_array(np.array(0, np.uint8), "z"),
                ]
            nodes.append(helper.make_node(
                "QLinearConv", [x, "s", "z", f"w{i}", f"ws{i}", f"wz{i}", "s", "z", f"b{i}"], [y],
                kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        else:
            inits += [
                numpy_helper.from_array((w / 256).astype(np.float32), f"w{i}"),
                numpy_helper.from_array((b / 4096).astype(np.float32), f"b{i}"),
            ]
            nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
            nodes.append(helper.make_node("Relu", [f"c{i}"], [y]))
        x = y
    elem = TensorProto.UINT8 if int8 else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "conv_stack",
        [helper.make_tensor_value_info("x", elem, [1, channels, None, None])],
        [helper.make_tensor_value_info("y", elem, [1, channels, None, None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def bench_onnxruntime(args, int8):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_model(args.layers, args.channels, int8), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    shape = (1, args.channels, args.height, args.width)
    x = rng.integers(0, 128, size=shape).astype(np.uint8) if int8 else rng.random(shape, dtype=np.float32)
    return best_time(lambda: session.run(None, {"x": x}), args.repetitions)


def ncnn_files(layers, channels, int8, directory):
    rng = np.random.default_rng(3)
    lines = ["7767517", f"{layers + 1} {layers + 1}", "Input in0 0 1 blob0"]
    weights = bytearray()
    count = channels * channels * 9
    for i in range(layers):
        top = "out" if i == layers - 1 else f"blob{i + 1}"
        # 0=num_output 1=kernel 3=stride 4=pad 5=bias 6=weight size 8=int8_scale_term 9=ReLU
        params = f"0={channels} 1=3 3=1 4=1 5=1 6={count} 9=1" + (" 8=2" if int8 else "")
        lines.append(f"Convolution conv{i} 1 1 blob{i} {top} {params}")
        if int8:
            weights += struct.pack("<I", 0x000D4B38)  # int8 weight tag
            weights += rng.integers(-127, 128, size=count).astype(np.int8).tobytes()
        else:
            weights += struct.pack("<I", 0)  # float32 weight tag
            weights += (rng.standard_normal(count).astype(np.float32) * 0.02).tobytes()
        weights += np.zeros(channels, np.float32).tobytes()  # bias
        if int8:
            weights += np.full(channels, 64.0, np.float32).tobytes()  # weight scales
            weights += np.array([1.0], np.float32).tobytes()  # input scale
    param = os.path.join(directory, "stack.param")
    model = os.path.join(directory, "stack.bin")
    with open(param, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(model, "wb") as f:
        f.write(bytes(weights))
    return param, model


def bench_ncnn(args, int8):
    import ncnn

    with tempfile.TemporaryDirectory() as directory:
        param, model = ncnn_files(args.layers, args.channels, int8, directory)
        net = ncnn.Net()
        net.opt.num_threads = args.threads
        net.opt.use_vulkan_compute = False
        net.opt.use_int8_inference = True
        if net.load_param(param) != 0 or net.load_model(model) != 0:
            raise RuntimeError("ncnn could not load the generated model")
    rng = np.random.default_rng(4)
    # ncnn.Mat wraps the array's memory without owning it: keep the array alive.
    data = np.ascontiguousarray(rng.integers(0, 128, size=(args.channels, args.height, args.width)).astype(np.float32))
    x = ncnn.Mat(data)

    def run():
        ex = net.create_extractor()
        ex.input("blob0", x)
        ret, out = ex.extract("out")
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed: {ret}")

    result = best_time(run, args.repetitions)
    del data
    return result


def bench_pytorch(args):
    import torch

    torch.set_num_threads(args.threads)
    layers = []
    for _ in range(args.layers):
        layers += [torch.nn.Conv2d(args.channels, args.channels, 3, padding=1), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers).eval()
    x = torch.rand(1, args.channels, args.height, args.width)

    def run():
        with torch.inference_mode():
            model(x)

    return best_time(run, args.repetitions)


PEERS = {
    "onnxruntime-int8": lambda a: bench_onnxruntime(a, True),
    "onnxruntime-fp32": lambda a: bench_onnxruntime(a, False),
    "ncnn-int8": lambda a: bench_ncnn(a, True),
    "ncnn-fp32": lambda a: bench_ncnn(a, False),
    "pytorch-fp32": bench_pytorch,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--only", action="append", choices=sorted(PEERS), help="run only these peers")
    parser.add_argument("--json", action="store_true", help="print a JSON list of {name, threads, gmacs, ...}")
    args = parser.parse_args()
    macs = args.layers * args.width * args.height * args.channels * args.channels * 9
    results = []
    for name in args.only or list(PEERS):
        try:
            best, median = PEERS[name](args)
            results.append({"name": name, "threads": args.threads, "gmacs": macs / best / 1e9,
                            "seconds_per_layer": best / args.layers, "median_seconds_per_layer": median / args.layers})
        except Exception as error:  # one broken peer must not hide the others
            results.append({"name": name, "threads": args.threads, "gmacs": None, "error": f"{type(error).__name__}: {error}"})
    if args.json:
        json.dump(results, sys.stdout)
        print()
    else:
        for r in results:
            if r["gmacs"] is None:
                print(f"{r['name']:18} threads {r['threads']}  failed: {r['error']}")
            else:
                print(f"{r['name']:18} threads {r['threads']}  {r['gmacs']:7.1f} GMAC/s  {r['seconds_per_layer'] * 1e3:7.2f} ms/layer")


if __name__ == "__main__":
    main()
