"""Reads a TensorFlow.js graph model (model.json plus binary weight shards).

Only the pieces the converters need: the graph nodes, the decoded constant
tensors (as numpy arrays), and small helpers to read TF node attributes.
"""

import json
import os

import numpy as np

# TF DataType enum values used by TF.js graph models.
DT_FLOAT = 1
DT_INT32 = 3
DT_BOOL = 10
DT_INT64 = 9

_MANIFEST_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
}


def load_graph_model(model_dir):
    """Returns (nodes, weights) for model_dir/model.json.

    nodes is the list of TF NodeDef dicts; weights maps a constant's name to a
    numpy array decoded from the shards listed in the weights manifest.
    """
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    topology = model["modelTopology"]
    if topology.get("library", {}).get("function"):
        raise ValueError("graph functions (control flow) are not supported")
    weights = {}
    for group in model["weightsManifest"]:
        blob = b"".join(_read(os.path.join(model_dir, p)) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if "quantization" in spec:
                raise ValueError(f"quantized weight {spec['name']} is not supported")
            dtype = _MANIFEST_DTYPES.get(spec["dtype"])
            if dtype is None:
                raise ValueError(f"weight {spec['name']}: dtype {spec['dtype']} is not supported")
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            nbytes = count * np.dtype(dtype).itemsize
            arr = np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
            weights[spec["name"]] = arr.copy()
            offset += nbytes
        if offset != len(blob):
            raise ValueError(f"weights manifest covers {offset} bytes of {len(blob)}")
    return topology["node"], weights


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def attr_int(node, name, default=None):
    a = node.get("attr", {}).get(name)
    if a is None:
        return default
    return int(a.get("i", default if default is not None else 0))


def attr_bool(node, name, default=False):
    a = node.get("attr", {}).get(name)
    if a is None:
        return default
    return bool(a.get("b", default))


def attr_ints(node, name):
    a = node.get("attr", {}).get(name)
    if a is None:
        return []
    return [int(v) for v in a.get("list", {}).get("i", [])]


def attr_str(node, name, default=""):
    a = node.get("attr", {}).get(name)
    if a is None or "s" not in a:
        return default
    s = a["s"]
    if isinstance(s, list):
        return bytes(s).decode("utf-8")
    return s


def attr_type(node, name, default=None):
    a = node.get("attr", {}).get(name)
    if a is None:
        return default
    return int(a.get("type", default if default is not None else 0))
