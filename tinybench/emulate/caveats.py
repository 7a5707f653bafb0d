"""Known differences between the Arduino TFLM library and the host TFLM interpreter.

The Library Manager's ``Chirale_TensorFLowLite`` 2.0.0 is TFLM of January 2023. Its
FULLY_CONNECTED kernel (reference and CMSIS-NN alike) computes one output multiplier from the
filter's first scale, so weights quantized per output channel, which the TensorFlow 2.16+
converter produces for Dense layers by default, are requantized with the wrong scale on every
channel but the first. The host's newer TFLM honours every scale. The outputs then differ, by
a few LSB when the channel scales are close, more when they are not. This is a difference in
what a real board would compute, not an emulation artefact; the emulated board shows it.
Converting with per-tensor Dense weights
(``converter._experimental_disable_per_channel_quantization_for_dense_layers = True``) makes
the board and the host agree bit for bit.
"""

from __future__ import annotations

import os

__all__ = ["per_channel_fully_connected", "tflm_library_caveats"]


def per_channel_fully_connected(tflite: str | os.PathLike[str] | bytes) -> list[int]:
    """Return the indices of FULLY_CONNECTED ops whose weights have more than one scale."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(tflite, bytes):
        interpreter = Interpreter(model_content=tflite)
    else:
        interpreter = Interpreter(model_path=os.fspath(tflite))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    found = []
    # _get_ops_details() is LiteRT's only op-level view of a model.
    for op in interpreter._get_ops_details():
        if op["op_name"] != "FULLY_CONNECTED" or len(op["inputs"]) < 2:
            continue
        weights = tensors.get(int(op["inputs"][1]))
        if weights is not None and len(weights["quantization_parameters"]["scales"]) > 1:
            found.append(int(op["index"]))
    return found


def tflm_library_caveats(tflite: str | os.PathLike[str] | bytes) -> tuple[str, ...]:
    """Say why the Arduino TFLM library will not match the host on this model, if it won't.

    Returns:
        One message per known cause; empty when none applies.
    """
    ops = per_channel_fully_connected(tflite)
    if not ops:
        return ()
    listed = ", ".join(str(i) for i in ops)
    return (
        f"FULLY_CONNECTED op(s) {listed} have per-channel weight scales, which "
        "Chirale_TensorFLowLite 2.0.0 (TFLM 2023-01) ignores: it uses the first channel's "
        "scale for all, so the board's outputs differ from the host's. Convert with per-tensor "
        "Dense weights (converter._experimental_disable_per_channel_quantization_for_dense_layers"
        " = True) to get bit-exact results on the board.",
    )
