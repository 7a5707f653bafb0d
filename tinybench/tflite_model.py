"""Read a ``.tflite`` flatbuffer without TensorFlow: ops, tensors, quantization, MACs.

:func:`read_model` parses the flatbuffer with the schema module that ships with
``ai-edge-litert``, so it is fast (milliseconds, even for a 300 KB model) and never imports
TensorFlow. The result, :class:`ModelInfo`, is what the profiler, the exporter and the virtual
board need to know about a model before running it:

- the operators in execution order, each with its input/output shapes and multiply-accumulate
  count (MACs are counted for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL and
  TRANSPOSE_CONV; every other op counts 0: elementwise ops, pooling, softmax and reshapes do
  no multiply-accumulates, and their cost is small next to the layers above);
- the input and output tensors with dtype, scale and zero point;
- parameter count and weight bytes;
- the kind of quantization, and whether TensorFlow Lite Micro (TFLM) can run the model at all.

:data:`TFLM_RESOLVER_METHODS` is the one table of ops TFLM has kernels for, keyed by op name and
giving the ``tflite::MicroMutableOpResolver`` method that registers each one. It follows
``tensorflow/lite/micro/micro_mutable_op_resolver.h`` of the TFLM release this project pins
(every builtin there has a ``Register_*`` kernel in the ``tflite-micro`` wheel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.errors import ProfileError, UnsupportedOpError

__all__ = [
    "TFLM_CUSTOM_RESOLVER_METHODS",
    "TFLM_RESOLVER_METHODS",
    "ModelInfo",
    "OpInfo",
    "TensorInfo",
    "load_model",
    "load_model_bytes",
    "read_model",
    "tflm_resolver_method",
]

#: Builtin op name -> ``MicroMutableOpResolver`` method that registers its TFLM kernel.
TFLM_RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs",
    "BROADCAST_TO": "AddBroadcastTo",
    "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "DYNAMIC_UPDATE_SLICE": "AddDynamicUpdateSlice",
    "ELU": "AddElu",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable",
    "REDUCE_MAX": "AddReduceMax",
    "REDUCE_MIN": "AddReduceMin",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "REVERSE_V2": "AddReverseV2",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile",
    "ZEROS_LIKE": "AddZerosLike",
}

#: Custom op name (as stored in the flatbuffer) -> ``MicroMutableOpResolver`` method.
TFLM_CUSTOM_RESOLVER_METHODS: dict[str, str] = {
    "CIRCULAR_BUFFER": "AddCircularBuffer",
    "TFLite_Detection_PostProcess": "AddDetectionPostprocess",
}

# What to do about an op TFLM lacks, for the ops users actually meet.
_UNSUPPORTED_HINTS: dict[str, str] = {
    "DENSIFY": "DENSIFY comes from converting with tf.lite.Optimize.EXPERIMENTAL_SPARSITY: "
    "convert without it (pruning still shrinks the gzip size, not the flash size).",
    "HASHTABLE_LOOKUP": "Do string lookups on the host and feed the model numbers.",
}
_FLEX_HINT = (
    "Flex ops come from tf.lite.OpsSet.SELECT_TF_OPS: convert with TFLITE_BUILTINS (or "
    "TFLITE_BUILTINS_INT8) only, replacing the layer that needed a TensorFlow op."
)
_CUSTOM_HINT = (
    "Custom ops need your own C++ kernel registered with MicroMutableOpResolver::AddCustom; "
    "tinybench cannot run them. Rebuild the model from builtin layers instead."
)
_GENERIC_HINT = "Replace the layer that produces it with one built from the ops TFLM runs."

# Ops whose inputs at these positions are weights/biases when they are constant.
_WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (1, 3),
    "BATCH_MATMUL": (0, 1),
    "SVDF": (1, 2, 3),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": tuple(range(1, 24)),
}
# Integer types that, in constant inputs of other ops, hold shapes, axes and indices.
_INDEX_DTYPES = frozenset({"int32", "int64", "bool", "uint32", "uint64", "string"})
_FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
_QUANT_DTYPES = frozenset({"int8", "uint8", "int16", "int4", "uint4", "int2"})
_TFLITE_IDENTIFIER = b"TFL3"


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
        return self.scale != 0.0 and self.dtype in _QUANT_DTYPES

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


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
            if _resolver_method_or_none(name, custom=name in custom) is None
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
            _resolver_method_or_none(name, custom=name in custom) or "" for name in self.op_names
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
            dict.fromkeys(_unsupported_hint(name, custom=name in custom) for name in missing)
        )
        raise UnsupportedOpError(
            f"This model uses ops that TensorFlow Lite Micro lacks: {', '.join(missing)}. "
            f"{hints} The ops TFLM runs are listed in "
            "tinybench.tflite_model.TFLM_RESOLVER_METHODS.",
            ops=missing,
        )


def tflm_resolver_method(op_name: str) -> str:
    """Return the ``MicroMutableOpResolver`` method that registers ``op_name``.

    Args:
        op_name: A builtin op name (``"CONV_2D"``) or a custom op name.

    Raises:
        UnsupportedOpError: TFLM has no kernel for the op; the message says what to do.
    """
    method = TFLM_RESOLVER_METHODS.get(op_name) or TFLM_CUSTOM_RESOLVER_METHODS.get(op_name)
    if method is None:
        custom = op_name not in _builtin_codes()
        raise UnsupportedOpError(
            f"TensorFlow Lite Micro has no kernel for {op_name!r}. "
            f"{_unsupported_hint(op_name, custom=custom)} The ops TFLM runs are listed in "
            f"tinybench.tflite_model.TFLM_RESOLVER_METHODS ({len(TFLM_RESOLVER_METHODS)} "
            "builtin ops).",
            ops=[op_name],
        )
    return method


def load_model_bytes(model: bytes | bytearray | memoryview | str | Path) -> bytes:
    """Return the bytes of a model given as bytes or as a path to a ``.tflite`` file.

    Raises:
        ProfileError: The path does not exist or cannot be read.
    """
    if isinstance(model, bytes | bytearray | memoryview):
        return bytes(model)
    path = Path(model)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProfileError(
            f"Cannot read the model file {str(path)!r}: {exc.strerror or exc}. "
            "Pass the path of an existing .tflite file, or its bytes."
        ) from None


def read_model(model: bytes | bytearray | memoryview | str | Path) -> ModelInfo:
    """Parse a ``.tflite`` flatbuffer (bytes or a path) into a :class:`ModelInfo`.

    Raises:
        ProfileError: The data is not a TFLite flatbuffer, or the file cannot be read.
    """
    return load_model(model)[1]


def load_model(model: bytes | bytearray | memoryview | str | Path) -> tuple[bytes, ModelInfo]:
    """Return a model's bytes and its parsed :class:`ModelInfo`, reading a path only once.

    Errors about a file name the file.

    Raises:
        ProfileError: The data is not a TFLite flatbuffer, or the file cannot be read.
    """
    data = load_model_bytes(model)
    schema = _schema()
    where = "" if isinstance(model, bytes | bytearray | memoryview) else f" ({str(model)!r})"
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise ProfileError(
            f"Not a .tflite model{where}: {len(data)} bytes whose file identifier is "
            f"{data[4:8]!r}, "
            f"expected {_TFLITE_IDENTIFIER!r}. Pass the bytes of TFLiteConverter.convert() "
            "or the path of a .tflite file."
        )
    try:
        model_t = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # the generated parser raises whatever the bad offsets cause
        raise ProfileError(
            f"The .tflite flatbuffer{where} ({len(data)} bytes) is corrupt: {exc!r}. "
            "Convert the model again; a truncated download or copy is the usual cause."
        ) from None
    return data, _model_info(model_t, len(data), schema)


# --- parsing -------------------------------------------------------------------------------


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _builtin_codes() -> dict[str, int]:
    enum = _schema().BuiltinOperator
    return {k: v for k, v in vars(enum).items() if not k.startswith("_")}


def _enum_names(enum: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _dtype_names(schema: Any) -> dict[int, str]:
    numpy_names = {
        "FLOAT32": "float32",
        "FLOAT16": "float16",
        "FLOAT64": "float64",
        "INT8": "int8",
        "UINT8": "uint8",
        "INT16": "int16",
        "UINT16": "uint16",
        "INT32": "int32",
        "UINT32": "uint32",
        "INT64": "int64",
        "UINT64": "uint64",
        "BOOL": "bool",
        "COMPLEX64": "complex64",
        "COMPLEX128": "complex128",
        "STRING": "string",
    }
    return {
        code: numpy_names.get(name, name.lower())
        for code, name in _enum_names(schema.TensorType).items()
    }


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()


def _buffer_bytes(buffer: Any) -> int:
    if buffer is None:
        return 0
    if buffer.data is not None and len(buffer.data):
        return len(buffer.data)
    # Models over 2 GB keep tensor data after the flatbuffer and record offset/size.
    return int(buffer.size or 0) if (buffer.offset or 0) > 1 else 0


def _tensor_info(tensor: Any, index: int, dtypes: dict[int, str]) -> TensorInfo:
    quant = tensor.quantization
    scales = [] if quant is None or quant.scale is None else list(quant.scale)
    zeros = [] if quant is None or quant.zeroPoint is None else list(quant.zeroPoint)
    name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name or "")
    return TensorInfo(
        name=name,
        shape=_shape(tensor),
        dtype=dtypes.get(tensor.type, str(tensor.type)),
        scale=float(scales[0]) if scales else 0.0,
        zero_point=int(zeros[0]) if zeros else 0,
        per_channel=len(scales) > 1,
        index=index,
    )


def _op_name(model_t: Any, opcode_index: int, builtin_names: dict[int, str]) -> tuple[str, bool]:
    code = model_t.operatorCodes[opcode_index]
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    name = builtin_names.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.customCode
        return (custom.decode() if isinstance(custom, bytes) else str(custom)), True
    return name, False


def _macs(name: str, inputs: list[tuple[int, ...]], outputs: list[tuple[int, ...]], op: Any) -> int:
    """Multiply-accumulates of one op; 0 for ops that do no multiply-accumulates."""
    out = outputs[0] if outputs else ()
    if name == "CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        _, kh, kw, cin = inputs[1]
        return math.prod(out) * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        _, kh, kw, _ = inputs[1]
        return math.prod(out) * kh * kw
    if name == "FULLY_CONNECTED" and len(inputs) > 1 and inputs[1]:
        return math.prod(out) * inputs[1][-1]
    if name == "BATCH_MATMUL" and inputs and len(inputs[0]) >= 2:
        adj_x = bool(getattr(op.builtinOptions, "adjX", False))
        depth = inputs[0][-2] if adj_x else inputs[0][-1]
        return math.prod(out) * depth
    if name == "TRANSPOSE_CONV" and len(inputs) > 2 and len(inputs[1]) == 4:
        cout, kh, kw, _ = inputs[1]
        return math.prod(inputs[2]) * cout * kh * kw
    return 0


def _model_info(model_t: Any, size_bytes: int, schema: Any) -> ModelInfo:
    builtin_names = _enum_names(schema.BuiltinOperator)
    dtypes = _dtype_names(schema)
    buffers = model_t.buffers or []
    ops: list[OpInfo] = []
    weight_tensors: set[tuple[int, int]] = set()
    const_buffers: set[int] = set()
    parameter_count = 0
    activation_dtypes: set[str] = set()
    is_hybrid = is_float16 = is_sparse = False

    for sg_index, subgraph in enumerate(model_t.subgraphs or []):
        tensors = subgraph.tensors or []

        def dtype(i: int, tensors: list = tensors) -> str:
            return dtypes.get(tensors[i].type, "")

        def constant(i: int, tensors: list = tensors) -> bool:
            t = tensors[i]
            in_range = 0 < t.buffer < len(buffers)
            return not t.isVariable and in_range and _buffer_bytes(buffers[t.buffer]) > 0

        for t in tensors:
            is_sparse = is_sparse or t.sparsity is not None
            if dtypes.get(t.type) == "float16":
                is_float16 = True
        float_boundary: set[int] = set()
        for op_index, op in enumerate(subgraph.operators or []):
            name, custom = _op_name(model_t, op.opcodeIndex, builtin_names)
            in_ids = [int(i) for i in (op.inputs if op.inputs is not None else [])]
            out_ids = [int(i) for i in (op.outputs if op.outputs is not None else [])]
            in_shapes = [_shape(tensors[i]) if i >= 0 else () for i in in_ids]
            out_shapes = [_shape(tensors[i]) for i in out_ids]
            ops.append(
                OpInfo(
                    index=op_index,
                    name=name,
                    custom=custom,
                    subgraph=sg_index,
                    version=int(model_t.operatorCodes[op.opcodeIndex].version),
                    input_shapes=tuple(in_shapes),
                    output_shapes=tuple(out_shapes),
                    macs=_macs(name, in_shapes, out_shapes, op),
                )
            )
            if name == "QUANTIZE":
                float_boundary.update(i for i in in_ids if dtype(i) in _FLOAT_DTYPES)
            if name == "DEQUANTIZE":
                float_boundary.update(i for i in out_ids if dtype(i) in _FLOAT_DTYPES)
            weight_slots = _WEIGHT_INPUTS.get(name, ())
            has_float_activation = False
            for slot, i in enumerate(in_ids):
                if i < 0:
                    continue
                if not constant(i):
                    has_float_activation |= dtype(i) == "float32"
                    continue
                const_buffers.add(tensors[i].buffer)
                is_weight = slot in weight_slots or (
                    not weight_slots and dtype(i) not in _INDEX_DTYPES
                )
                if is_weight and (sg_index, i) not in weight_tensors:
                    weight_tensors.add((sg_index, i))
                    parameter_count += math.prod(_shape(tensors[i]))
            if name != "DEQUANTIZE" and has_float_activation:
                is_hybrid |= any(
                    i >= 0 and constant(i) and dtype(i) in _QUANT_DTYPES for i in in_ids
                )
        for i in range(len(tensors)):
            if not constant(i) and i not in float_boundary and dtypes.get(tensors[i].type):
                activation_dtypes.add(dtype(i))

    is_hybrid = is_hybrid and not is_float16
    is_int8 = (
        not is_float16
        and not is_hybrid
        and "int8" in activation_dtypes
        and not activation_dtypes & _FLOAT_DTYPES
    )
    main = model_t.subgraphs[0] if model_t.subgraphs else None
    main_tensors = main.tensors if main is not None else []

    def io(ids: Any) -> tuple[TensorInfo, ...]:
        return tuple(_tensor_info(main_tensors[int(i)], int(i), dtypes) for i in ids)

    description = model_t.description
    return ModelInfo(
        size_bytes=size_bytes,
        ops=tuple(ops),
        op_names=tuple(sorted({op.name for op in ops})),
        inputs=io(main.inputs if main is not None and main.inputs is not None else []),
        outputs=io(main.outputs if main is not None and main.outputs is not None else []),
        parameter_count=parameter_count,
        weight_bytes=sum(_buffer_bytes(buffers[b]) for b in const_buffers),
        macs=sum(op.macs for op in ops),
        is_int8=is_int8,
        is_float16=is_float16,
        is_hybrid=is_hybrid,
        is_sparse=is_sparse,
        subgraph_count=len(model_t.subgraphs or []),
        description=description.decode() if isinstance(description, bytes) else "",
    )


def _resolver_method_or_none(name: str, *, custom: bool) -> str | None:
    table = TFLM_CUSTOM_RESOLVER_METHODS if custom else TFLM_RESOLVER_METHODS
    return table.get(name)


def _unsupported_hint(name: str, *, custom: bool) -> str:
    if name in _UNSUPPORTED_HINTS:
        return _UNSUPPORTED_HINTS[name]
    if custom and name.startswith("Flex"):
        return _FLEX_HINT
    if custom:
        return _CUSTOM_HINT
    return _GENERIC_HINT
