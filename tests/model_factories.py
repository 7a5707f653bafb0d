"""Models the tests build in code, in seconds.

Plain functions, imported by the test modules that need them (``from model_factories import
build_imu_model``). :func:`build_imu_model` and :func:`with_custom_op` write flatbuffers
directly, without TensorFlow; :func:`tiny_int8_classifier` converts a tiny Keras model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tinybench.deploy.export import ExportedModel


def build_imu_model(
    window: int = 8,
    fields: int = 6,
    classes: int = 3,
    *,
    dtype: str = "int8",
    seed: int = 0,
    op: str = "FULLY_CONNECTED",
) -> bytes:
    """Build a tiny IMU classifier flatbuffer in code: RESHAPE, FULLY_CONNECTED, SOFTMAX.

    Input ``(1, window, fields)``, output ``(1, classes)``; int8 (full-integer quantized) or
    float32. ``op`` replaces FULLY_CONNECTED's op code, to make a model with an op TFLM lacks.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    rng = np.random.default_rng(seed)
    n = window * fields
    buffers = [schema.BufferT()]

    def buffer(values: np.ndarray) -> int:
        entry = schema.BufferT()
        entry.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), dtype=np.uint8)
        buffers.append(entry)
        return len(buffers) - 1

    def quant(scale: float, zero_point: int) -> object:
        if dtype != "int8":
            return None
        params = schema.QuantizationParametersT()
        params.scale, params.zeroPoint = [scale], [zero_point]
        return params

    def tensor(name: str, shape: tuple, kind: int, buf: int = 0, q: object = None) -> object:
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer, t.quantization = name.encode(), list(shape), kind, buf, q
        return t

    types = schema.TensorType
    act = types.INT8 if dtype == "int8" else types.FLOAT32
    if dtype == "int8":
        weights = rng.integers(-127, 128, size=(classes, n), dtype=np.int8)
        bias, bias_type = rng.integers(-500, 500, size=classes).astype(np.int32), types.INT32
    else:
        weights = rng.normal(0, 0.3, size=(classes, n)).astype(np.float32)
        bias, bias_type = rng.normal(0, 0.1, size=classes).astype(np.float32), types.FLOAT32
    tensors = [
        tensor("input", (1, window, fields), act, q=quant(0.05, 0)),
        tensor("shape", (2,), types.INT32, buffer(np.array([1, n], np.int32))),
        tensor("flat", (1, n), act, q=quant(0.05, 0)),
        tensor("weights", (classes, n), act, buffer(weights), quant(0.01, 0)),
        tensor("bias", (classes,), bias_type, buffer(bias), quant(0.0005, 0)),
        tensor("logits", (1, classes), act, q=quant(0.1, 0)),
        tensor("scores", (1, classes), act, q=quant(1 / 256, -128)),
    ]
    codes = []
    for name in ("RESHAPE", op, "SOFTMAX"):
        code = schema.OperatorCodeT()
        code.builtinCode = getattr(schema.BuiltinOperator, name)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        codes.append(code)

    def operator(index: int, inputs: list, outputs: list, kind: int, options: object) -> object:
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = index, inputs, outputs
        o.builtinOptionsType, o.builtinOptions = kind, options
        return o

    reshape = schema.ReshapeOptionsT()
    reshape.newShape = [1, n]
    softmax = schema.SoftmaxOptionsT()
    softmax.beta = 1.0
    kinds = schema.BuiltinOptions
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.name = tensors, [0], [6], b"main"
    graph.operators = [
        operator(0, [0, 1], [2], kinds.ReshapeOptions, reshape),
        operator(1, [2, 3, 4], [5], kinds.FullyConnectedOptions, schema.FullyConnectedOptionsT()),
        operator(2, [5], [6], kinds.SoftmaxOptions, softmax),
    ]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, codes, [graph]
    model.buffers, model.description = buffers, b"tinybench test model"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def with_custom_op(data: bytes, name: str) -> bytes:
    """Return the model with its first operator code turned into the custom op ``name``."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = name
    for op in model.subgraphs[0].operators:
        if op.opcodeIndex == 0:
            op.builtinOptionsType, op.builtinOptions = 0, None
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tiny_int8_classifier(
    classes: int, window: int, *, seed: int = 0, conv1d: bool = False
) -> bytes:
    """Convert a tiny untrained Keras classifier of ``(window, 6)`` IMU windows to int8.

    Flatten then Dense with softmax, after a Conv1D(4, 3) when ``conv1d``; calibrated on 64
    random windows. Different seeds give different weights.
    """
    from tinybench.optimize import convert_int8
    from tinybench.tf_runtime import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(seed)
    conv = [keras.layers.Conv1D(4, 3, activation="relu")] if conv1d else []
    model = keras.Sequential(
        [
            keras.Input((window, 6)),
            *conv,
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    representative = np.random.default_rng(seed).normal(size=(64, window, 6))
    return convert_int8(model, representative)


def export_for_virtual_board(
    tflite: bytes, out: Path, labels: Sequence[str], window: int
) -> ExportedModel:
    """Export ``tflite`` as ``tiny`` into ``out``, at 119 Hz on unnormalized data.

    The virtual board runs it given ``sim://nano33ble?model=<out>``.
    """
    from tinybench.deploy.export import export_model

    return export_model(
        tflite,
        out,
        "tiny",
        labels=labels,
        window=window,
        sample_rate_hz=119.0,
        normalization={"mean": [0.0] * 6, "std": [1.0] * 6},
    )


def reduce_min_classifier(window: int = 8) -> bytes:
    """A float32 model of ``(window, 6)`` windows whose graph has REDUCE_MIN.

    TFLM runs REDUCE_MIN, but the Arduino library's older TFLM has no resolver method for it
    (:data:`tinybench.measure.tflm_ops.ARDUINO_LIBRARY_LACKS`).
    """
    from tinybench.optimize import convert_float32
    from tinybench.tf_runtime import load_keras, load_tensorflow

    keras, tf = load_keras(), load_tensorflow()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((window, 6))
    lowest = keras.layers.Lambda(lambda t: tf.reduce_min(t, axis=1))(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(lowest)
    return convert_float32(keras.Model(inputs, outputs))
