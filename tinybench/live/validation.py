"""Host-vs-device validation: the same raw inputs through the board and the host TFLM.

:func:`validate` sends each input tensor to the board with ``v <hex>``, reads back the raw
output tensor (``o,<seq>,<hex>``) and runs the same input through
:class:`~tinybench.measure.interpreters.TflmRunner` on the host, the same kernels as on a
microcontroller. The
:class:`ValidationReport` gives, in the spirit of ST's ``stm32ai validate``:

- exact-match rate: the fraction of inputs whose raw outputs are identical, byte for byte;
- max absolute difference, in raw units (LSB for an int8 output) and dequantized;
- relative L2 error ``‖device − host‖ / ‖host‖`` over all dequantized outputs;
- top-1 agreement: how often both pick the same class.

Works on any link: the virtual board answers ``v`` by running the exported model in TFLM, a
real board by running it on the microcontroller.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinybench.errors import ConfigError, PortError, ProtocolError
from tinybench.wire.link import Link
from tinybench.wire.message_queue import MessageQueue
from tinybench.wire.protocol import DeviceError, RawOutput, Sample

__all__ = ["ValidationReport", "record_windows", "validate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """How closely the board's outputs match the host TFLM interpreter's.

    Attributes:
        port: URL or path of the board.
        virtual: True when the board announced itself as tinybench's virtual board.
        samples: Number of inputs compared.
        exact_match_rate: Fraction of inputs whose raw outputs are identical.
        max_abs_diff_raw: Largest absolute difference of raw outputs (LSB for int8).
        max_abs_diff: Largest absolute difference of dequantized outputs.
        relative_l2: ``‖device − host‖ / ‖host‖`` over all dequantized outputs.
        top1_agreement: Fraction of inputs where both pick the same top class.
        output_dtype: The model's output dtype, for example ``int8``.
        device_outputs: Raw outputs from the board, shape ``(samples, outputs)``.
        host_outputs: Raw outputs from the host TFLM interpreter, same shape.
        device_values: Dequantized ``device_outputs``.
        host_values: Dequantized ``host_outputs``.
    """

    port: str
    virtual: bool
    samples: int
    exact_match_rate: float
    max_abs_diff_raw: float
    max_abs_diff: float
    relative_l2: float
    top1_agreement: float
    output_dtype: str
    device_outputs: np.ndarray = field(repr=False)
    host_outputs: np.ndarray = field(repr=False)
    device_values: np.ndarray = field(repr=False)
    host_values: np.ndarray = field(repr=False)

    @property
    def bit_exact(self) -> bool:
        """True when every raw output matched exactly."""
        return self.samples > 0 and self.exact_match_rate == 1.0

    def summary(self) -> str:
        """Return the report as a few readable lines."""
        board = "virtual board" if self.virtual else "board"
        unit = "LSB" if self.output_dtype.startswith(("int", "uint")) else self.output_dtype
        verdict = (
            "bit-exact: the board computes exactly what the host TFLM interpreter computes"
            if self.bit_exact
            else "NOT bit-exact: the board and the host disagree"
        )
        return "\n".join(
            [
                f"Validation on the {board} at {self.port}, {self.samples} inputs: {verdict}.",
                f"  exact match      {self.exact_match_rate:7.1%}",
                f"  top-1 agreement  {self.top1_agreement:7.1%}",
                f"  max |diff|       {self.max_abs_diff_raw:g} {unit} "
                f"({self.max_abs_diff:.6g} dequantized)",
                f"  relative L2      {self.relative_l2:.3g}",
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """Return one row per input: exact match, differences and both top-1 classes."""
        raw_diff = np.abs(
            self.device_outputs.astype(np.float64) - self.host_outputs.astype(np.float64)
        )
        value_diff = np.abs(self.device_values - self.host_values)
        device_top = self.device_values.argmax(axis=1)
        host_top = self.host_values.argmax(axis=1)
        return pd.DataFrame(
            {
                "exact": (raw_diff == 0).all(axis=1),
                "max_abs_diff_raw": raw_diff.max(axis=1, initial=0.0),
                "max_abs_diff": value_diff.max(axis=1, initial=0.0),
                "host_top1": host_top,
                "device_top1": device_top,
                "top1_agrees": host_top == device_top,
            }
        )

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.summary())  # type: ignore[attr-defined]


def validate(
    link: Link,
    tflite: bytes | str | Path,
    inputs: np.ndarray,
    *,
    timeout: float = 5.0,
    progress: bool = True,
) -> ValidationReport:
    """Run ``inputs`` on the board (``v`` command) and on the host TFLM; compare outputs.

    Args:
        link: An open link to a board running the tinybench inference sketch with this model
            (or the virtual board given the exported model).
        tflite: The model the board runs, as bytes or a ``.tflite`` path.
        inputs: A batch of inputs, shape ``(n, *example_shape)``. Float arrays are quantized
            with the model's input scale and zero point; arrays of the model's input dtype
            (``int8``) are sent as they are.
        timeout: Seconds to wait for each answer.
        progress: Show a tqdm progress bar.

    Returns:
        The comparison; :meth:`ValidationReport.summary` reads it out.

    Raises:
        ConfigError: ``inputs`` is empty, of the wrong shape or of an integer dtype that is not
            the model's input dtype.
        ProtocolError: The board answered with an error (``!``) or an output of the wrong size;
            the message says how many bytes were expected.
        PortError: The board did not answer ``?`` or ``v`` within ``timeout``.
        UnplugError: The board went away.
    """
    from tqdm.auto import tqdm

    from tinybench.measure.interpreters import TflmRunner

    runner = TflmRunner(tflite)
    raw_inputs = _raw_inputs(np.asarray(inputs), runner)
    hello = link.hello or link.request_hello(timeout=timeout)
    device, host = [], []
    for x in tqdm(raw_inputs, desc=f"validating on {link.url}", disable=not progress):
        device.append(_device_output(link, runner, x, timeout))
        host.append(runner.invoke(x).reshape(-1))
    report = _compare(link.url, hello.virtual, np.stack(device), np.stack(host), runner.output)
    log.info("validation on %s: %s", link.url, report.summary().splitlines()[0])
    return report


def _device_output(link: Link, runner: Any, x: np.ndarray, timeout: float) -> np.ndarray:
    """Send one raw input with ``v`` and return the board's raw output tensor.

    Raises:
        ProtocolError: The board refused the input or answered an output of the wrong size.
    """
    out_dtype = np.dtype(runner.output.dtype)
    out_bytes = runner.output.size * out_dtype.itemsize
    answer = link.request("v", (RawOutput, DeviceError), payload=x.tobytes(), timeout=timeout)
    if isinstance(answer, DeviceError):
        raise ProtocolError(
            f"The board on {link.url} refused the input: {answer.message!r}. The host model "
            f"takes {x.nbytes} bytes ({runner.input.dtype} {runner.input.shape}) and gives "
            f"{out_bytes} bytes; check that the board runs the same exported model."
        )
    assert isinstance(answer, RawOutput)
    if len(answer.data) != out_bytes:
        raise ProtocolError(
            f"The board on {link.url} answered {len(answer.data)} output bytes, but the "
            f"host model's output is {out_bytes} bytes ({runner.output.dtype} "
            f"{runner.output.shape}). The board runs a different model: upload the sketch "
            "exported from this .tflite, or give the virtual board this export folder."
        )
    return np.frombuffer(answer.data, dtype=out_dtype)


def _compare(
    port: str, virtual: bool, device_raw: np.ndarray, host_raw: np.ndarray, output: Any
) -> ValidationReport:
    """Build the report from the raw outputs of the board and of the host."""
    from tinybench.measure.interpreters import dequantize

    device_values = dequantize(device_raw, output).astype(np.float64)
    host_values = dequantize(host_raw, output).astype(np.float64)
    raw_diff = np.abs(device_raw.astype(np.float64) - host_raw.astype(np.float64))
    return ValidationReport(
        port=port,
        virtual=virtual,
        samples=len(device_raw),
        exact_match_rate=float(np.mean((device_raw == host_raw).all(axis=1))),
        max_abs_diff_raw=float(raw_diff.max()),
        max_abs_diff=float(np.abs(device_values - host_values).max()),
        relative_l2=_relative_l2(device_values, host_values),
        top1_agreement=float(np.mean(device_values.argmax(axis=1) == host_values.argmax(axis=1))),
        output_dtype=np.dtype(output.dtype).name,
        device_outputs=device_raw,
        host_outputs=host_raw,
        device_values=device_values,
        host_values=host_values,
    )


def _raw_inputs(inputs: np.ndarray, runner: object) -> np.ndarray:
    """Return ``inputs`` as a batch of raw input tensors of the model's dtype."""
    from tinybench.measure.interpreters import quantize

    tensor = runner.input  # type: ignore[attr-defined]
    want = np.dtype(tensor.dtype)
    example = tensor.shape[1:] if tensor.shape and tensor.shape[0] == 1 else tensor.shape
    if inputs.ndim == 0 or len(inputs) == 0:
        raise ConfigError(
            f"No inputs to validate (shape {inputs.shape}). Pass a batch of shape "
            f"(n, {', '.join(map(str, example))}), for example test windows."
        )
    if inputs.shape[1:] not in (tuple(example), tuple(tensor.shape)):
        raise ConfigError(
            f"Inputs of shape {inputs.shape} do not fit the model: it takes examples of shape "
            f"{tuple(example)} ({tensor.size} values, {tensor.size * want.itemsize} bytes). "
            f"Pass a batch of shape (n, {', '.join(map(str, example))})."
        )
    if inputs.dtype.kind == "f" and want.kind != "f":
        raw = quantize(inputs, tensor)
    elif inputs.dtype == want or (inputs.dtype.kind == "f" and want.kind == "f"):
        raw = inputs.astype(want)
    else:
        raise ConfigError(
            f"Inputs of dtype {inputs.dtype} cannot be sent to a model whose input is "
            f"{want.name}. Pass float values (they are quantized with the model's scale and "
            f"zero point) or raw {want.name} values."
        )
    return np.ascontiguousarray(raw.reshape(len(inputs), *tensor.shape))


def _relative_l2(device: np.ndarray, host: np.ndarray) -> float:
    error = float(np.linalg.norm(device - host))
    norm = float(np.linalg.norm(host))
    if norm == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / norm


def record_windows(
    link: Link,
    exported: Any,
    count: int = 16,
    *,
    hop: int | None = None,
    timeout: float | None = None,
) -> np.ndarray:
    """Record model inputs from the board's own sensor, for :func:`validate`.

    Streams samples (``c``) until ``count`` windows of the model's length are complete, stops
    the stream (``x``) and normalizes the windows the way the sketch does before quantizing.

    Args:
        link: An open link to the board.
        exported: The :class:`~tinybench.deploy.export.ExportedModel` the board runs (its window,
            input shape and normalization are used).
        count: Number of windows.
        hop: Samples between window starts; default a quarter window, as the sketch predicts.
        timeout: Seconds to wait for the samples; default twice the time they take at the
            board's rate, plus 2 s.

    Returns:
        Float32 inputs of shape ``(count, *example_shape)``.

    Raises:
        ConfigError: ``count`` is not positive, the model takes no window, or the board's
            fields do not match the model's input.
        PortError: The board did not send enough samples in time.
    """
    window, shape = exported.window, exported.input.shape
    if count < 1:
        raise ConfigError(f"count must be at least 1 window, got {count!r}")
    if not window:
        raise ConfigError(
            f"The model exported to {exported.out_dir} takes no window of samples "
            f"(input {shape}), so it cannot be fed from the board's sensor. "
            "Pass inputs of your own to validate()."
        )
    hop = hop or max(1, window // 4)
    needed = window + (count - 1) * hop
    hello = link.hello or link.request_hello()
    rate = hello.rate_hz or 100.0
    if timeout is None:
        timeout = 2.0 * needed / rate + 2.0
    samples = _stream_samples(link, needed, timeout, rate)
    example = shape[1:] if shape[0] == 1 else shape
    if window * samples.shape[1] != int(np.prod(example)):
        raise ConfigError(
            f"The board sends {samples.shape[1]} fields per sample ({', '.join(hello.fields)}), "
            f"but the model takes {tuple(example)}: {window} samples of "
            f"{int(np.prod(example)) // window} fields. Validate on the board the model was "
            "trained for, or pass inputs of your own to validate()."
        )
    windows = np.stack([samples[i * hop : i * hop + window] for i in range(count)])
    norm = exported.normalization
    if norm is not None:
        windows = (windows - np.asarray(norm["mean"])) / np.asarray(norm["std"])
    return windows.reshape(count, *example).astype(np.float32)


def _stream_samples(link: Link, needed: int, timeout: float, rate: float) -> np.ndarray:
    """Stream (``c``) until ``needed`` samples arrived, stop (``x``), return their values.

    Raises:
        PortError: Fewer samples arrived within ``timeout`` seconds.
    """
    values: list[tuple[float, ...]] = []
    deadline = time.monotonic() + timeout
    with MessageQueue(link) as messages:
        link.send("c")
        try:
            while len(values) < needed and (left := deadline - time.monotonic()) > 0:
                batch = messages.get(timeout=min(left, 0.1))
                values += [m.values for m in batch if type(m) is Sample]
        finally:
            link.send("x")
    if len(values) < needed:
        raise PortError(
            f"{link.url} sent {len(values)} of the {needed} samples needed within {timeout:g} s. "
            f"Is the board streaming at {rate:g} Hz? Ask for fewer windows or a longer timeout."
        )
    return np.asarray(values[:needed], dtype=np.float64)
