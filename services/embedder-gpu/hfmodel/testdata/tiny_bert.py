"""Build a tiny BERT-shaped ONNX encoder for the hfmodel tests.

usage: tiny_bert.py OUT.onnx VOCAB_SIZE HIDDEN

inputs  input_ids, attention_mask, token_type_ids  int64 [batch, tokens]
output  last_hidden_state                          float32 [batch, tokens, HIDDEN]

last_hidden_state[b, t, k] = sin(0.01 * (id + 1) * (k + 1)) + 0.1 * (type + 1)
                             (attention_mask is accepted and unused, as padding
                             positions must be ignored by the pooling)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out, vocab, hidden = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ids = np.arange(vocab, dtype=np.float64)[:, None] + 1
    ks = np.arange(hidden, dtype=np.float64)[None, :] + 1
    table = np.sin(0.01 * ids * ks).astype(np.float32)
    types = (0.1 * (np.arange(2, dtype=np.float32)[:, None] + 1) * np.ones((1, hidden), np.float32)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["word_table", "input_ids"], ["words"], axis=0),
        helper.make_node("Gather", ["type_table", "token_type_ids"], ["types"], axis=0),
        helper.make_node("Add", ["words", "types"], ["last_hidden_state"]),
        helper.make_node("Shape", ["attention_mask"], ["mask_shape"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_bert",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("mask_shape", TensorProto.INT64, [2]),
        ],
        initializer=[numpy_helper.from_array(table, "word_table"), numpy_helper.from_array(types, "type_table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
