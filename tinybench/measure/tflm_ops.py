"""Which ops TensorFlow Lite Micro (TFLM) runs, and what to do about the ones it does not.

:data:`TFLM_RESOLVER_METHODS` is the one table of ops TFLM has kernels for, keyed by op name and
giving the ``tflite::MicroMutableOpResolver`` method that registers each one. It follows
``tensorflow/lite/micro/micro_mutable_op_resolver.h`` of the TFLM release this project pins
(every builtin there has a ``Register_*`` kernel in the ``tflite-micro`` wheel).
"""

from __future__ import annotations

from tinybench.errors import UnsupportedOpError

__all__ = [
    "ARDUINO_LIBRARY",
    "ARDUINO_LIBRARY_LACKS",
    "TFLM_CUSTOM_RESOLVER_METHODS",
    "TFLM_RESOLVER_METHODS",
    "builtin_op_codes",
    "op_of_resolver_method",
    "resolver_method_or_none",
    "tflm_resolver_method",
    "unsupported_hint",
]

ARDUINO_LIBRARY = "Chirale_TensorFLowLite 2.0.0"
"""The Library Manager's TFLM library, which arduino-cli builds tinybench's sketches with."""

ARDUINO_LIBRARY_LACKS = frozenset(
    {"BATCH_MATMUL", "DYNAMIC_UPDATE_SLICE", "EMBEDDING_LOOKUP", "REDUCE_MIN", "REVERSE_V2"}
)
"""Ops TFLM runs (:data:`TFLM_RESOLVER_METHODS`) that :data:`ARDUINO_LIBRARY`'s older TFLM has
no resolver method for: a model with one exports, but its sketch does not compile. Measured on
the library's ``micro_mutable_op_resolver.h`` (tests/test_export.py checks it there)."""

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


def tflm_resolver_method(op_name: str) -> str:
    """Return the ``MicroMutableOpResolver`` method that registers ``op_name``.

    Args:
        op_name: A builtin op name (``"CONV_2D"``) or a custom op name.

    Raises:
        UnsupportedOpError: TFLM has no kernel for the op; the message says what to do.
    """
    method = TFLM_RESOLVER_METHODS.get(op_name) or TFLM_CUSTOM_RESOLVER_METHODS.get(op_name)
    if method is None:
        custom = op_name not in builtin_op_codes()
        raise UnsupportedOpError(
            f"TensorFlow Lite Micro has no kernel for {op_name!r}. "
            f"{unsupported_hint(op_name, custom=custom)} The ops TFLM runs are listed in "
            f"tinybench.measure.TFLM_RESOLVER_METHODS ({len(TFLM_RESOLVER_METHODS)} "
            "builtin ops).",
            ops=[op_name],
        )
    return method


def builtin_op_codes() -> dict[str, int]:
    """Every builtin op name of the TFLite schema, with its code."""
    from ai_edge_litert import schema_py_generated

    enum = schema_py_generated.BuiltinOperator
    return {k: v for k, v in vars(enum).items() if not k.startswith("_")}


def resolver_method_or_none(name: str, *, custom: bool) -> str | None:
    """Return the resolver method for a builtin (or, with ``custom``, a custom) op, or None."""
    table = TFLM_CUSTOM_RESOLVER_METHODS if custom else TFLM_RESOLVER_METHODS
    return table.get(name)


def op_of_resolver_method(method: str) -> str:
    """Return the op that the resolver method ``method`` (``"AddReduceMin"``) registers.

    The method itself comes back for a name that is not in the tables, so a message can always
    name something.
    """
    for table in (TFLM_RESOLVER_METHODS, TFLM_CUSTOM_RESOLVER_METHODS):
        for op, registers in table.items():
            if registers == method:
                return op
    return method


def unsupported_hint(name: str, *, custom: bool) -> str:
    """Return what to do about an op TFLM lacks, one sentence or two."""
    if name in _UNSUPPORTED_HINTS:
        return _UNSUPPORTED_HINTS[name]
    if custom and name.startswith("Flex"):
        return _FLEX_HINT
    if custom:
        return _CUSTOM_HINT
    return _GENERIC_HINT
