"""Measurement: the truth about a ``.tflite``.

``model_bytes`` gets a model's bytes (capped, whatever the caller holds); ``flatbuffer`` reads
them without TensorFlow into a ``ModelInfo`` (``layer_tensors`` reads one operator's every
scale, zero point and constant); ``tflm_ops`` says which ops TFLM runs;
``tflm_arena`` measures the arena in a child process and ``arena`` is the one rule for what a
sketch reserves from it; ``interpreters`` runs a model in TFLM or LiteRT; ``budget`` holds the
one set of flash and RAM rules; ``target`` holds what a firmware build measured (linked sizes,
target arena, instructions) for them; ``profile`` puts them together for a model on a board.
"""

from tinybench.measure.accuracy import evaluate
from tinybench.measure.arena import SKETCH_ARENA_MARGIN, tensor_arena_size
from tinybench.measure.budget import BudgetReport, check_budget
from tinybench.measure.flatbuffer import load_model, read_model
from tinybench.measure.interpreters import (
    LiteRtRunner,
    Runner,
    TflmRunner,
    dequantize,
    quantize,
)
from tinybench.measure.layer_tensors import (
    LayerTensors,
    QuantizedTensor,
    read_layer,
    with_outputs,
)
from tinybench.measure.model_bytes import MAX_MODEL_BYTES, model_bytes
from tinybench.measure.model_info import ModelInfo, OpInfo, TensorInfo
from tinybench.measure.profile import Profile, profile
from tinybench.measure.target import TargetFootprint
from tinybench.measure.tflm_arena import ArenaReport, arena_report, measure_arena
from tinybench.measure.tflm_ops import (
    TFLM_CUSTOM_RESOLVER_METHODS,
    TFLM_RESOLVER_METHODS,
    tflm_resolver_method,
)

__all__ = [
    "MAX_MODEL_BYTES",
    "SKETCH_ARENA_MARGIN",
    "TFLM_CUSTOM_RESOLVER_METHODS",
    "TFLM_RESOLVER_METHODS",
    "ArenaReport",
    "BudgetReport",
    "LayerTensors",
    "LiteRtRunner",
    "ModelInfo",
    "OpInfo",
    "Profile",
    "QuantizedTensor",
    "Runner",
    "TargetFootprint",
    "TensorInfo",
    "TflmRunner",
    "arena_report",
    "check_budget",
    "dequantize",
    "evaluate",
    "load_model",
    "measure_arena",
    "model_bytes",
    "profile",
    "quantize",
    "read_layer",
    "read_model",
    "tensor_arena_size",
    "tflm_resolver_method",
    "with_outputs",
]
