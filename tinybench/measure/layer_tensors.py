"""One operator's tensors with their full quantization and constant data, read from a ``.tflite``.

:func:`~tinybench.measure.flatbuffer.read_model` summarizes a model: each tensor's first scale
and zero point. :func:`read_layer` goes one level deeper for one operator, as a lesson on int8
arithmetic needs: every scale and zero point (one per output channel for per-channel weights),
the quantized axis, the constant data of weights and biases as numpy arrays, and the options an
integer kernel reads (fused activation, strides, padding, dilation). Like ``read_model`` it never
imports TensorFlow; :func:`with_outputs` rewrites a model so an interpreter exposes intermediate
tensors as outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinybench.errors import ConfigError
from tinybench.measure.flatbuffer import load_model

__all__ = ["LayerTensors", "QuantizedTensor", "read_layer", "with_outputs"]

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 6: "SIGN_BIT"}
_PADDINGS = {0: "SAME", 1: "VALID"}
_NUMPY_DTYPES = frozenset(
    {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16"}
    | {"float32", "float64", "bool"}
)


@dataclass(frozen=True)
class QuantizedTensor:
    """One tensor with every quantization parameter it has.

    Attributes:
        index: Index of the tensor in the main subgraph.
        name: Tensor name from the converter.
        shape: Static shape.
        dtype: numpy dtype name.
        scales: One scale per tensor, or one per channel along ``axis``; empty if unquantized.
        zero_points: Zero points, as many as ``scales``.
        axis: The quantized dimension of a per-channel tensor (0 for per-tensor ones).
        data: The constant values (weights, biases) in their stored dtype; None for
            activations.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scales: np.ndarray = field(repr=False)
    zero_points: np.ndarray = field(repr=False)
    axis: int = 0
    data: np.ndarray | None = field(default=None, repr=False)

    @property
    def per_channel(self) -> bool:
        """Whether the tensor has one scale per channel."""
        return len(self.scales) > 1

    def dequantized(self) -> np.ndarray:
        """The constant data as float32 (``scale * (q - zero_point)``, per channel if so).

        Raises:
            ConfigError: The tensor is an activation (it has no constant data).
        """
        if self.data is None:
            raise ConfigError(
                f"Tensor {self.name!r} is an activation: it has no constant data to "
                "dequantize. Pass a weight or bias tensor."
            )
        if not len(self.scales):
            return self.data.astype(np.float32)
        shape = [1] * self.data.ndim
        if self.per_channel:
            shape[self.axis] = -1
        scales = self.scales.astype(np.float32).reshape(shape)
        zeros = self.zero_points.astype(np.float32).reshape(shape)
        return ((self.data.astype(np.float32) - zeros) * scales).astype(np.float32)


@dataclass(frozen=True)
class LayerTensors:
    """One operator of the main subgraph, with its tensors and options.

    Attributes:
        op_index: Position of the operator in execution order.
        op_name: Builtin op name, such as ``"FULLY_CONNECTED"``.
        inputs: The operator's input tensors in slot order (None for an omitted optional one).
        outputs: Its output tensors.
        activation: Fused activation: ``"NONE"``, ``"RELU"``, ``"RELU6"``…
        stride: ``(height, width)`` stride for convolutions, ``(1, 1)`` otherwise.
        dilation: ``(height, width)`` dilation for convolutions, ``(1, 1)`` otherwise.
        padding: ``"SAME"`` or ``"VALID"`` for convolutions, ``""`` otherwise.
    """

    op_index: int
    op_name: str
    inputs: tuple[QuantizedTensor | None, ...]
    outputs: tuple[QuantizedTensor, ...]
    activation: str = "NONE"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str = ""


def read_layer(model: Any, op_index: int) -> LayerTensors:
    """Read operator ``op_index`` of a model's main subgraph with all its tensors' data.

    Args:
        model: Anything :func:`~tinybench.measure.flatbuffer.load_model` accepts.
        op_index: The operator's position in execution order (``OpInfo.index``).

    Raises:
        ModelError: The data is not a readable TFLite flatbuffer.
        ConfigError: There is no operator ``op_index`` in the main subgraph.
    """
    data, info = load_model(model)
    main_ops = [op for op in info.ops if op.subgraph == 0]
    if not 0 <= op_index < len(main_ops):
        raise ConfigError(
            f"No operator {op_index}: the main subgraph has {len(main_ops)} operators "
            f"(0 to {len(main_ops) - 1}). Pick one from read_model(model).ops."
        )
    model_t = _unpack(data)
    graph = model_t.subgraphs[0]
    op = graph.operators[op_index]
    options = op.builtinOptions

    def tensor(i: int) -> QuantizedTensor | None:
        return None if i < 0 else _quantized_tensor(graph.tensors[i], i, model_t.buffers)

    return LayerTensors(
        op_index=op_index,
        op_name=main_ops[op_index].name,
        inputs=tuple(tensor(int(i)) for i in op.inputs),
        outputs=tuple(tensor(int(i)) for i in op.outputs),  # type: ignore[misc]
        activation=_ACTIVATIONS.get(int(getattr(options, "fusedActivationFunction", 0)), "?"),
        stride=(int(getattr(options, "strideH", 1)), int(getattr(options, "strideW", 1))),
        dilation=(
            int(getattr(options, "dilationHFactor", 1)),
            int(getattr(options, "dilationWFactor", 1)),
        ),
        padding=_PADDINGS.get(int(getattr(options, "padding", -1)), ""),
    )


def with_outputs(model: Any, tensor_indices: list[int], *, last_op: int | None = None) -> bytes:
    """Return the model rewritten so its main subgraph outputs ``tensor_indices``.

    Operators after ``last_op`` are dropped (all are kept if it is None). Tensors, buffers and
    kernels are unchanged, so an interpreter computes exactly what it computes in the
    original model; only which tensors it hands back differs.

    Raises:
        ModelError: The data is not a readable TFLite flatbuffer.
        ConfigError: A tensor index or ``last_op`` is out of range.
    """
    import flatbuffers

    data, _ = load_model(model)
    model_t = _unpack(data)
    graph = model_t.subgraphs[0]
    count = len(graph.tensors or [])
    bad = [i for i in tensor_indices if not 0 <= i < count]
    if bad or not tensor_indices:
        raise ConfigError(
            f"Tensor indices {tensor_indices} must be 0 to {count - 1} (at least one)."
        )
    if last_op is not None:
        if not 0 <= last_op < len(graph.operators or []):
            raise ConfigError(f"last_op={last_op} is not an operator of the main subgraph.")
        graph.operators = graph.operators[: last_op + 1]
    graph.outputs = list(tensor_indices)
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _unpack(data: bytes) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(data, 0)


def _dtype_name(code: int) -> str:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    return names.get(code, str(code)).lower()


def _quantized_tensor(tensor: Any, index: int, buffers: list) -> QuantizedTensor:
    quant = tensor.quantization
    scales = np.asarray([] if quant is None or quant.scale is None else quant.scale, np.float32)
    zeros = np.asarray(
        [] if quant is None or quant.zeroPoint is None else quant.zeroPoint, np.int64
    )
    shape = tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()
    dtype = _dtype_name(int(tensor.type))
    values = None
    buffer = buffers[tensor.buffer] if 0 < tensor.buffer < len(buffers) else None
    known = dtype in _NUMPY_DTYPES
    if known and buffer is not None and buffer.data is not None and len(buffer.data):
        raw = np.asarray(buffer.data, dtype=np.uint8).tobytes()
        values = np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
    return QuantizedTensor(
        index=index,
        name=tensor.name.decode("utf-8", "replace") if tensor.name else "",
        shape=shape,
        dtype=dtype,
        scales=scales,
        zero_points=zeros,
        axis=int(quant.quantizedDimension) if quant is not None else 0,
        data=values,
    )
