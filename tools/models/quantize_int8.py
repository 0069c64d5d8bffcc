"""Dynamic INT8 quantisation of an ONNX embedding model (setup-time step).

usage: quantize_int8.py SRC_DIR OUT_DIR [--name NAME] [--min-elements N]

Reads SRC_DIR/model.onnx (+ meta.json, vocab file) and writes OUT_DIR with the
same files, the model quantised and meta.json renamed (default name:
"<src name>-int8").

Every MatMul whose second input is a constant float matrix of at least
--min-elements values (default 16384) is rewritten as

    x ─ DynamicQuantizeLinear ─ x_q (uint8), x_scale, x_zero
    MatMulInteger(x_q, W_q (int8, per output column), x_zero) ─ Cast(float)
      ─ Mul(x_scale · w_scale[column]) ─ y

(the pattern ONNX Runtime fuses into DynamicQuantizeMatMul on CPU). Weights
are quantised symmetrically per output column: w_scale = max|W[:, j]| / 127,
W_q = round(W / w_scale). Activations are quantised per call (asymmetric
uint8) by DynamicQuantizeLinear. Everything else stays float32.

Only onnx and numpy are used (Debian's python3-onnx has no
onnxruntime.quantization).
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize(model, min_elements):
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers = {}
    for n in graph.node:
        for x in n.input:
            consumers[x] = consumers.get(x, 0) + 1
    new_nodes = []
    new_inits = []
    dropped = set()
    count = 0
    for node in graph.node:
        w_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        init = inits.get(w_name) if w_name else None
        if init is None or init.data_type != TensorProto.FLOAT:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(init)
        if w.ndim != 2 or w.size < min_elements:
            new_nodes.append(node)
            continue
        count += 1
        base = "q%d" % count
        scale = np.abs(w).max(axis=0) / 127.0
        scale[scale == 0] = 1.0
        w_q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        new_inits.append(numpy_helper.from_array(w_q, base + "_w_q"))
        new_inits.append(numpy_helper.from_array(scale.astype(np.float32), base + "_w_scale"))
        new_inits.append(numpy_helper.from_array(np.zeros((), np.int8), base + "_w_zero"))
        x = node.input[0]
        y = node.output[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [base + "_x_q", base + "_x_scale", base + "_x_zero"], name=base + "_dql"),
            helper.make_node("MatMulInteger", [base + "_x_q", base + "_w_q", base + "_x_zero", base + "_w_zero"], [base + "_i32"], name=base + "_mmi"),
            helper.make_node("Cast", [base + "_i32"], [base + "_f32"], to=TensorProto.FLOAT, name=base + "_cast"),
            helper.make_node("Mul", [base + "_x_scale", base + "_w_scale"], [base + "_scale"], name=base + "_scale_mul"),
            helper.make_node("Mul", [base + "_f32", base + "_scale"], [y], name=base + "_out_mul"),
        ]
        consumers[w_name] -= 1
        if consumers[w_name] == 0:
            dropped.add(w_name)
    kept = [i for i in graph.initializer if i.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--name")
    ap.add_argument("--min-elements", type=int, default=16384)
    args = ap.parse_args()
    with open(os.path.join(args.src, "meta.json")) as f:
        meta = json.load(f)
    model = onnx.load(os.path.join(args.src, "model.onnx"))
    n = quantize(model, args.min_elements)
    if n == 0:
        raise SystemExit("no MatMul with a constant weight matrix to quantise")
    if not any(o.domain in ("", "ai.onnx") and o.version >= 10 for o in model.opset_import):
        raise SystemExit("the model's opset is below 10 (MatMulInteger)")
    onnx.checker.check_model(model)
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "model.onnx.tmp")
    onnx.save(model, tmp)
    os.replace(tmp, os.path.join(args.out, "model.onnx"))
    shutil.copyfile(os.path.join(args.src, meta["vocab"]), os.path.join(args.out, meta["vocab"]))
    meta["name"] = args.name or meta["name"] + "-int8"
    meta["quantization"] = "dynamic int8: %d MatMul weights per-column symmetric int8, activations uint8 per call" % n
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("quantised %d MatMul weights into %s" % (n, args.out))


if __name__ == "__main__":
    main()
