"""The virtual board's model: an export in TensorFlow Lite Micro, fed the way a sketch feeds it.

:class:`SimModel` loads an exported model, normalizes and quantizes a window of samples with
the export's settings and runs it in the TFLM interpreter, the same kernels as on the device;
for ``v`` it runs a raw input tensor and returns the raw output tensor. :class:`SlidingWindows`
cuts the live sample stream into a window every ``stride`` samples, as the inference sketch
does in ``i`` mode.

TFLM and the export reader are imported only when a model is loaded, so a virtual board
without a model needs neither.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.boards import Board
from tinybench.errors import ConfigError

__all__ = ["SimModel", "SlidingWindows"]

log = logging.getLogger(__name__)


class SimModel:
    """An exported model in the TFLM interpreter, with the settings a sketch would use.

    Args:
        model: An export folder (read with ``tinybench.deploy.exported.load_exported``) or an
            ``ExportedModel``.
        board: The board profile the model runs on.

    Attributes:
        runner: The :class:`~tinybench.measure.interpreters.TflmRunner`.
        labels: Output labels in score order.
        window: Samples per inference window, or ``None`` when the model takes no window.
        stride: Samples between two inferences in ``i`` mode.
        mean: Normalization means, applied before quantization.
        std: Normalization standard deviations.
        fields: Sensor fields the model was trained on (empty when unknown).
        sample_rate_hz: Sample rate the model was trained at, or ``None``.
        input_bytes: Size of the raw input tensor a ``v`` command carries.

    Raises:
        ConfigError: The board cannot run TFLM, or the model's outputs and labels differ.
    """

    def __init__(self, model: Any, board: Board) -> None:
        if not board.tflm:
            raise ConfigError(
                f"Board {board.name!r} cannot run TensorFlow Lite Micro ({board.note}) Open "
                "the virtual board as a TFLM-capable board, e.g. sim://nano33ble?model=…"
            )
        from tinybench.measure import TflmRunner, model_bytes

        if isinstance(model, str | os.PathLike):
            from tinybench.deploy.exported import load_exported

            model = load_exported(Path(model))
        self.runner = TflmRunner(model_bytes(model))
        self.labels = tuple(model.labels)
        self.window = int(model.window) if model.window else None
        stride = getattr(model, "stride", None)
        self.stride = int(stride) if stride else max(1, (self.window or 4) // 4)
        norm = model.normalization or {"mean": [0.0], "std": [1.0]}
        if not isinstance(norm, dict):
            norm = {"mean": norm.mean, "std": norm.std, "fields": getattr(norm, "fields", None)}
        self.mean = np.asarray(norm["mean"], dtype=np.float64)
        self.std = np.asarray(norm["std"], dtype=np.float64)
        self.fields = tuple(norm.get("fields") or ())
        self.sample_rate_hz = getattr(model, "sample_rate_hz", None)
        shape = self.runner.input.shape
        self.input_bytes = int(np.prod(shape)) * np.dtype(self.runner.input.dtype).itemsize
        outputs = int(np.prod(self.runner.output.shape))
        if outputs != len(self.labels):
            raise ConfigError(
                f"The model has {outputs} outputs but {len(self.labels)} labels "
                f"{self.labels!r}. Export it again with one label per output."
            )
        self._lock = threading.Lock()

    def check_fields(self, fields: tuple[str, ...]) -> None:
        """Check that the model reads windows of these sensor fields.

        Raises:
            ConfigError: The model was trained on other fields, or its input does not hold
                a window of them.
        """
        if self.fields and self.fields != tuple(fields):
            raise ConfigError(
                f"The model was trained on fields {self.fields!r} but this sensor gives "
                f"{tuple(fields)!r}. Export a model trained on this sensor's data."
            )
        if self.window is None:
            return
        values = int(np.prod(self.runner.input.shape))
        if values != self.window * len(fields) or self.mean.size not in (1, len(fields)):
            raise ConfigError(
                f"The model's input {self.runner.input.shape} does not hold a window of "
                f"{self.window} samples × {len(fields)} fields (normalization has "
                f"{self.mean.size} means). Export a model trained on this sensor's fields."
            )

    def check_sensor(self, fields: tuple[str, ...], rate_hz: float, board: str) -> None:
        """Check the sensor's fields (:meth:`check_fields`); warn if its rate is not the model's.

        Raises:
            ConfigError: The model does not read windows of these fields.
        """
        self.check_fields(fields)
        model_rate = self.sample_rate_hz
        if model_rate and abs(float(model_rate) - rate_hz) > 0.5:
            log.warning(
                "model was trained at %s Hz but %s streams at %s Hz",
                model_rate,
                board,
                rate_hz,
            )

    def predict(self, window: np.ndarray) -> tuple[np.ndarray, int]:
        """Return the dequantized scores for one window and the host Invoke time in µs."""
        from tinybench.measure.interpreters import dequantize, quantize

        x = quantize((window - self.mean) / self.std, self.runner.input)
        x = x.reshape(self.runner.input.shape)
        with self._lock:
            start = time.perf_counter_ns()
            raw = self.runner.invoke(x)
            latency_us = (time.perf_counter_ns() - start) // 1000
        return dequantize(raw, self.runner.output).ravel(), int(latency_us)

    def run_raw(self, payload: bytes) -> bytes:
        """Run the raw input tensor ``payload`` and return the raw output tensor bytes."""
        spec = self.runner.input
        x = np.frombuffer(payload, dtype=spec.dtype).reshape(spec.shape)
        with self._lock:
            return np.ascontiguousarray(self.runner.invoke(x)).tobytes()


class SlidingWindows:
    """Windows of ``window`` samples from a stream, one every ``stride`` samples.

    The first window ends at sample ``window`` of the stream; the next ones end ``stride``
    samples apart, across the blocks given to :meth:`push`.

    Args:
        window: Samples per window.
        stride: Samples between the ends of two windows.
        fields: Values per sample.
    """

    def __init__(self, window: int, stride: int, fields: int) -> None:
        self.window, self.stride = window, stride
        self._hist = np.zeros((0, fields))
        self._since_start = 0

    def restart(self) -> None:
        """Start a new stream: the next window needs ``window`` new samples."""
        self._hist, self._since_start = self._hist[:0], 0

    def push(self, values: np.ndarray) -> list[np.ndarray]:
        """Add a block of samples and return every window that ends in it, oldest first."""
        w, s = self.window, self.stride
        start = self._since_start
        buf = np.concatenate([self._hist, values])
        offset = len(self._hist)  # buf[offset + j] is sample number start + j
        self._since_start = start + len(values)
        self._hist = buf[-(w - 1) :] if w > 1 else buf[:0]
        windows = []
        first = w + -(-max(0, start + 1 - w) // s) * s  # first window end after ``start``
        for k in range(first, self._since_start + 1, s):
            end = offset + k - start
            windows.append(buf[end - w : end])
        return windows
