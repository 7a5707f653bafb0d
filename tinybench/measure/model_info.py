"""What a ``.tflite`` holds, as plain frozen dataclasses: tensors, operators, the model.

:func:`tinybench.measure.flatbuffer.read_model` fills them in; the profiler, the exporter and
the virtual board read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinybench.errors import ProfileError, UnsupportedOpError
from tinybench.measure.tflm_ops import resolver_method_or_none, unsupported_hint

__all__ = ["ELEMENT_BITS", "QUANTIZED_DTYPES", "ModelInfo", "OpInfo", "TensorInfo"]

QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16", "int4", "uint4", "int2"})

ELEMENT_BITS = {
    "int2": 2, "int4": 4, "uint4": 4, "bool": 8, "int8": 8, "uint8": 8, "int16": 16,
    "uint16": 16, "float16": 16, "bfloat16": 16, "int32": 32, "uint32": 32, "float32": 32,
    "int64": 64, "uint64": 64, "float64": 64, "complex64": 64, "complex128": 128,
}  # fmt: skip
"""Bits of one element of each dtype name :class:`TensorInfo` uses (packed for sub-byte types)."""
"""Integer dtypes that hold quantized values when a tensor has a scale."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a model, as an interpreter sees it.

    Attributes:
        name: Tensor name from the converter.
        shape: Static shape; the batch dimension is usually 1.
        dtype: numpy dtype name (``"int8"``, ``"float32"``; ``"int4"`` for types numpy lacks).
        scale: Quantization scale (first channel for per-channel tensors); 0.0 if unquantized.
        zero_point: Quantization zero point (first channel for per-channel tensors).
        per_channel: Whether the tensor has one scale per channel.
        index: Index of the tensor in its subgraph.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0
    per_channel: bool = False
    index: int = -1

    @property
    def quantized(self) -> bool:
        """Whether values are integers standing for ``scale * (q - zero_point)``."""
        return self.scale != 0.0 and self.dtype in QUANTIZED_DTYPES

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor's data: elements x element size, sub-byte types packed.

        For a model's input this is the payload of a ``v`` command; for its output, the data
        of an ``o`` line. A dtype without a fixed size (``string``) counts one byte each.
        """
        return math.ceil(self.size * ELEMENT_BITS.get(self.dtype, 8) / 8)


@dataclass(frozen=True)
class OpInfo:
    """One operator, in execution order.

    Attributes:
        index: Position of the operator in its subgraph's execution order.
        name: Builtin op name such as ``"CONV_2D"``, or the custom op's name.
        custom: Whether this is a custom op (``name`` is then its custom code).
        subgraph: Index of the subgraph the operator belongs to (0 is the main graph).
        version: Op version the converter recorded.
        input_shapes: Shapes of the operator's inputs (``()`` for an omitted optional input).
        output_shapes: Shapes of its outputs.
        macs: Multiply-accumulates for one inference; 0 for ops that do none (see the module
            docstring for which ops are counted).
    """

    index: int
    name: str
    custom: bool
    subgraph: int
    version: int
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    macs: int


@dataclass(frozen=True)
class ModelInfo:
    """What a ``.tflite`` file holds, read without running it.

    Attributes:
        size_bytes: Length of the flatbuffer: exactly what a C array of the model holds.
        ops: Every operator in execution order (main subgraph first).
        op_names: Unique op names, sorted.
        inputs: Input tensors of the main subgraph.
        outputs: Output tensors of the main subgraph.
        parameter_count: Elements of constant weight and bias tensors (shape, axis and index
            constants are not parameters).
        weight_bytes: Bytes of all constant tensor data (weights, biases and small constants).
        macs: Total multiply-accumulates for one inference.
        is_int8: Activations are int8 (full-integer quantization; float I/O around
            QUANTIZE/DEQUANTIZE is allowed).
        is_float16: Weights are stored as float16.
        is_hybrid: Dynamic-range quantization: float activations with int8 weights.
        is_sparse: Some tensors are stored sparse (``EXPERIMENTAL_SPARSITY``).
        subgraph_count: Number of subgraphs (more than one with IF/WHILE).
        description: The converter's description string.
    """

    size_bytes: int
    ops: tuple[OpInfo, ...]
    op_names: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    parameter_count: int
    weight_bytes: int
    macs: int
    is_int8: bool
    is_float16: bool
    is_hybrid: bool
    is_sparse: bool
    subgraph_count: int = 1
    description: str = ""

    @property
    def quantization(self) -> str:
        """``"int8"``, ``"int16x8"``, ``"float16"``, ``"dynamic-range"`` or ``"float32"``."""
        if self.is_float16:
            return "float16"
        if self.is_hybrid:
            return "dynamic-range"
        if self.is_int8:
            return "int8"
        if any(t.dtype == "int16" and t.quantized for t in self.inputs + self.outputs):
            return "int16x8"
        return "float32"

    @property
    def unsupported_ops(self) -> tuple[str, ...]:
        """Op names TFLM has no kernel for, sorted; empty if it has them all."""
        custom = {op.name for op in self.ops if op.custom}
        return tuple(
            name
            for name in self.op_names
            if resolver_method_or_none(name, custom=name in custom) is None
        )

    @property
    def resolver_methods(self) -> tuple[str, ...]:
        """``MicroMutableOpResolver`` methods that register exactly this model's ops.

        Raises:
            UnsupportedOpError: The model uses ops TFLM lacks.
        """
        self.check_tflm_ops()
        custom = {op.name for op in self.ops if op.custom}
        return tuple(
            resolver_method_or_none(name, custom=name in custom) or "" for name in self.op_names
        )

    @property
    def mcu_reason(self) -> str:
        """Why TFLM cannot run this model on a microcontroller; ``""`` if it can."""
        unsupported = self.unsupported_ops
        if unsupported:
            return f"uses ops TensorFlow Lite Micro lacks: {', '.join(unsupported)}"
        if self.is_float16:
            return (
                "float16 weights: TensorFlow Lite Micro cannot dequantize float16 tensors "
                "(its DEQUANTIZE kernel fails to prepare)"
            )
        if self.is_hybrid:
            return (
                "dynamic-range (hybrid) quantization: float activations with int8 weights; "
                "TensorFlow Lite Micro does not support hybrid kernels"
            )
        return ""

    @property
    def runnable_on_mcu(self) -> bool:
        """Whether TFLM can run the model (int8 or float32, only ops TFLM has)."""
        return not self.mcu_reason

    def check_runnable(self) -> None:
        """Raise unless TFLM can run the model on a microcontroller.

        Raises:
            UnsupportedOpError: The model uses ops TFLM lacks.
            ProfileError: The model is float16 or dynamic-range.
        """
        self.check_tflm_ops()
        if not self.runnable_on_mcu:
            raise ProfileError(
                f"This {self.quantization} model is not runnable on a microcontroller: "
                f"{self.mcu_reason}. Quantize it to int8 (post-training with a representative "
                "dataset, or QAT) for a microcontroller; LiteRtRunner runs it as it is."
            )

    def single_io(self) -> tuple[TensorInfo, TensorInfo]:
        """Return the model's one input and one output tensor.

        Runners, the exported sketches and the virtual board feed one input tensor and read one
        output tensor.

        Raises:
            ProfileError: The model has more or fewer than one of each; the counts are named.
        """
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise ProfileError(
                f"The model has {len(self.inputs)} inputs and {len(self.outputs)} outputs; "
                "tinybench runs and exports models with exactly one of each. Export a "
                "single-input, single-output model (one Keras Input, one output layer)."
            )
        return self.inputs[0], self.outputs[0]

    def check_tflm_ops(self) -> None:
        """Raise if the model uses ops that TFLM has no kernel for.

        Raises:
            UnsupportedOpError: Names every missing op and what to do about each.
        """
        missing = self.unsupported_ops
        if not missing:
            return
        custom = {op.name for op in self.ops if op.custom}
        hints = " ".join(
            dict.fromkeys(unsupported_hint(name, custom=name in custom) for name in missing)
        )
        raise UnsupportedOpError(
            f"This model uses ops that TensorFlow Lite Micro lacks: {', '.join(missing)}. "
            f"{hints} The ops TFLM runs are listed in "
            "tinybench.measure.TFLM_RESOLVER_METHODS.",
            ops=missing,
        )
