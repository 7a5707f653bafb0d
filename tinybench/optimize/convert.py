"""Post-training conversion of a Keras model to ``.tflite``: float32, float16, dynamic, int8.

Every conversion goes through a batch-1 concrete function, so reshape shapes fold to constants.
float16 and dynamic-range models run in LiteRT only: TFLM cannot prepare their kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinybench.errors import RecipeError
from tinybench.native_logs import quiet_native_logs
from tinybench.tf_runtime import load_tensorflow

__all__ = ["convert_dynamic", "convert_float16", "convert_float32", "convert_int8"]


def convert_float32(model: Any) -> bytes:
    """Convert to a float32 ``.tflite`` with no optimization."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = []

    return _convert(model, configure)


def convert_float16(model: Any) -> bytes:
    """Convert with float16 weights (LiteRT only: TFLM cannot prepare its DEQUANTIZE ops)."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]

    return _convert(model, configure)


def convert_dynamic(model: Any) -> bytes:
    """Convert with dynamic-range (int8 weights, float activations) quantization; LiteRT only."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

    return _convert(model, configure)


def convert_int8(model: Any, representative: np.ndarray) -> bytes:
    """Convert to full int8, input and output included, calibrated on ``representative``.

    Args:
        model: A float model, or a quantization-aware model whose ranges were learned.
        representative: Typical normalized inputs, shape ``(n, *input_shape)``; a few
            hundred are plenty.
    """
    representative = np.asarray(representative, dtype=np.float32)
    if len(representative) == 0:
        raise RecipeError("int8 conversion needs representative inputs; got none.")

    def samples() -> Iterator[list[np.ndarray]]:
        for row in representative:
            yield [row[np.newaxis]]

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        # The Arduino TFLM library (Chirale_TensorFLowLite 2.0.0) builds FULLY_CONNECTED's
        # output multiplier from the first filter scale only, so per-channel Dense weights come
        # out 1-2 LSB off on the board (measured in QEMU, docs/firmware.md). Per-tensor Dense
        # weights run bit-exact there and in the host interpreter alike.
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True

    return _convert(model, configure)


def _convert(model: Any, configure: Callable[[Any, Any], None]) -> bytes:
    """Convert through a batch-1 concrete function, so reshape shapes fold to constants."""
    tf = load_tensorflow()
    if len(model.inputs) != 1:
        raise RecipeError(
            f"model {model.name!r} has {len(model.inputs)} inputs; tinybench converts "
            "single-input models only."
        )

    def forward(x: Any) -> Any:
        return model(x, training=False)

    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    function = tf.function(forward, autograph=False).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], model)
    configure(converter, tf)
    try:
        with quiet_native_logs():  # the converter prints fully_quantize lines to fd 2
            return bytes(converter.convert())
    except Exception as exc:  # the converter raises several unrelated types
        raise RecipeError(
            f"TFLite conversion of {model.name!r} failed: {exc}. Check that the model uses "
            "only builtin layers (see tinybench.train.models)."
        ) from exc
