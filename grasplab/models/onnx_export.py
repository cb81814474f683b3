"""ONNX export of per-pixel grasp models, for onnxruntime, TensorRT or other runtimes.

The exported graph is the model's inference form (same maps as the PyTorch model) for a fixed
input size and any batch size. The grasplab header (architecture, config, preprocessing) rides
along as ONNX metadata under ``grasplab``, so a detector can be built from the file alone.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

from ..errors import GrasplabError
from ..storage import atomic_write_bytes
from .base import load_map_model, read_header

OUTPUT_NAMES = ["quality", "cos2theta", "sin2theta", "width"]


def export_onnx(model_path: str | Path, out_path: str | Path, input_px: int | None = None, opset: int = 17) -> Path:
    import torch
    model = load_map_model(model_path)
    header = read_header(model_path)
    pre = model.metadata.get("preprocess", {})
    side = int(pre.get("output_px", 300) if input_px is None else input_px)
    if not 24 <= side <= 2048:
        raise GrasplabError(f"--input-px {side}: the exported input side must be 24–2048 px")
    if side % model.size_multiple:
        raise GrasplabError(f"--input-px {side} is not a multiple of {model.size_multiple} ({model.architecture})")
    channels = int(model.config.get("input_channels", 1))
    net = model.for_inference().to(memory_format=torch.contiguous_format)
    x = torch.zeros(1, channels, side, side)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(net, (x,), buf, dynamo=False, input_names=["image"], output_names=OUTPUT_NAMES,
                          opset_version=opset, dynamic_axes={"image": {0: "batch"}, **{n: {0: "batch"} for n in OUTPUT_NAMES}})
    import onnx
    proto = onnx.load_from_string(buf.getvalue())
    header["metadata"] = {**header.get("metadata", {}), "onnx_input_px": side}
    entry = proto.metadata_props.add()
    entry.key, entry.value = "grasplab", json.dumps(header)
    return atomic_write_bytes(out_path, proto.SerializeToString())


def read_onnx_header(path: str | Path) -> dict:
    try:
        import onnx
    except ImportError:
        raise GrasplabError("ONNX models need the onnx extra: pip install 'grasplab[onnx]'") from None
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - onnx raises several unrelated types for corrupt files
        raise GrasplabError(f"{path}: not a readable ONNX file ({e})") from None
    for p in proto.metadata_props:
        if p.key == "grasplab":
            return json.loads(p.value)
    raise GrasplabError(f"{path}: ONNX file without grasplab metadata; export it with `grasplab export onnx`")
