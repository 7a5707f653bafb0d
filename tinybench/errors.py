"""One small exception hierarchy for everything tinybench raises on purpose.

Every message names the bad value, the valid choices where there are any, and the next step.
Catch :class:`TinybenchError` to catch them all.
"""

from __future__ import annotations

__all__ = [
    "ArduinoCliError",
    "BudgetError",
    "CaptureError",
    "CliNotFoundError",
    "CompileError",
    "ConfigError",
    "CoreMissingError",
    "DatasetError",
    "EmulatorError",
    "ExportError",
    "FirmwareBuildError",
    "FirmwareError",
    "LabelError",
    "LibraryMissingError",
    "ModelError",
    "PortBusyError",
    "PortError",
    "ProfileError",
    "ProtocolError",
    "RecipeError",
    "SketchError",
    "TinybenchError",
    "ToolchainMissingError",
    "UnplugError",
    "UnsupportedOpError",
    "UploadError",
]


class TinybenchError(Exception):
    """Base class of every error tinybench raises on purpose."""


class ConfigError(TinybenchError, ValueError):
    """A setting, board name or argument is not one tinybench knows."""


class PortError(TinybenchError):
    """A serial port could not be opened, found or used."""


class UnplugError(PortError):
    """The board went away while a port was open (unplugged or reset)."""


class ProtocolError(TinybenchError, ValueError):
    """A message could not be formatted, or the board answered something unexpected."""


class CaptureError(TinybenchError):
    """Recording a labelled session failed; what was received is kept."""


class LabelError(CaptureError, ValueError):
    """A label or dataset name would escape ``data/`` or is otherwise unusable."""


class DatasetError(TinybenchError, ValueError):
    """A dataset is empty, inconsistent or cannot be windowed."""


class RecipeError(TinybenchError, ValueError):
    """An optimization recipe cannot work in this stack; the message says why."""


class ProfileError(TinybenchError):
    """A model could not be profiled (bad flatbuffer, interpreter failure)."""


class ModelError(ProfileError):
    """The bytes given as a model are not a readable ``.tflite`` flatbuffer (or none were given).

    Raised for a missing or oversized file, an empty or truncated buffer, a wrong file
    identifier, or offsets and indices that point outside the flatbuffer.
    """


class UnsupportedOpError(ProfileError):
    """The model uses operators that TensorFlow Lite Micro cannot run."""

    def __init__(self, message: str, ops: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.ops = tuple(ops)


class BudgetError(TinybenchError):
    """A model, with its runtime, does not fit the board's flash or RAM."""


class ExportError(TinybenchError):
    """A model could not be exported as C source."""


class SketchError(TinybenchError):
    """A sketch template could not be rendered."""


class ArduinoCliError(TinybenchError):
    """arduino-cli failed; ``stdout`` and ``stderr`` hold (the start of) what it printed.

    ``log_path`` is the file holding its full output, when it was saved.
    """

    def __init__(
        self, message: str, stdout: str = "", stderr: str = "", *, log_path: object = None
    ) -> None:
        super().__init__(message)
        self.stdout = stdout
        self.stderr = stderr
        self.log_path = log_path


class CliNotFoundError(ArduinoCliError):
    """arduino-cli is not installed or not on ``PATH``."""


class CompileError(ArduinoCliError):
    """The sketch did not compile; ``diagnostics`` lists ``file:line: message`` entries."""

    def __init__(
        self,
        message: str,
        stdout: str = "",
        stderr: str = "",
        diagnostics: tuple = (),
        *,
        log_path: object = None,
    ) -> None:
        super().__init__(message, stdout, stderr, log_path=log_path)
        self.diagnostics = tuple(diagnostics)


class CoreMissingError(ArduinoCliError):
    """The board's core (platform) is not installed in arduino-cli."""


class UploadError(ArduinoCliError):
    """Uploading the compiled sketch failed."""


class PortBusyError(UploadError):
    """The port is held by another program, typically an open serial monitor."""


class FirmwareError(TinybenchError):
    """Firmware for an emulated board could not be built or run."""


class ToolchainMissingError(FirmwareError):
    """A cross-compiler or emulator is not installed; the message holds the install command."""


class LibraryMissingError(FirmwareError):
    """The TensorFlow Lite Micro Arduino library was not found; the message says how to get it."""


class FirmwareBuildError(FirmwareError):
    """The firmware did not compile or link; ``output`` holds the compiler's messages."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class EmulatorError(FirmwareError):
    """The emulator did not start, did not answer, or stopped."""
