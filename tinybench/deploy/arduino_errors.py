"""The errors a failed arduino-cli command becomes, each saying what to do next.

A missing core, a missing library, compiler errors, a sketch too big, a busy or missing port:
each is one class from :mod:`tinybench.errors`, built with
:func:`~tinybench.deploy.arduino_process.cli_error`, so its message quotes at most an excerpt of
arduino-cli's output and names the file holding all of it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tinybench.deploy.arduino_output import IMU_LIBRARIES, CompileResult, Diagnostic, usage
from tinybench.deploy.arduino_process import CliRun, cli_error, excerpt
from tinybench.errors import CompileError, CoreMissingError, PortBusyError, UploadError
from tinybench.measure.tflm_ops import (
    ARDUINO_LIBRARY,
    ARDUINO_LIBRARY_LACKS,
    op_of_resolver_method,
)

__all__ = ["compile_error", "core_missing_error", "upload_error"]

# Headers whose "No such file or directory" means a Library Manager library is missing.
_HEADER_LIBRARIES = {
    "Chirale_TensorFlowLite.h": "Chirale_TensorFLowLite",
    **{f"{library}.h": library for library in IMU_LIBRARIES.values()},
}
_MISSING_PLATFORM = re.compile(r"Platform '(?P<platform>[^']+)' not found")
_BUSY = (
    "resource busy",
    "port busy",
    "port is busy",
    "access is denied",
    "permission denied",
    "could not open port",
)
_PORT_NOT_FOUND = ("no such file or directory", "port not found", "serial port not found")


def compile_error(error: str, result: CompileResult, run: CliRun) -> CompileError:
    """Return the error for a failed compile: too big, a missing library, or compiler errors."""
    target = f"{result.sketch_dir.name} for {result.fqbn}"
    if "exceeds available space" in error or "Sketch too big" in result.compiler_out:
        message = (
            f"{target} is too big: flash {usage(result.flash_used, result.flash_max)}, RAM "
            f"{usage(result.ram_used, result.ram_max)}. Shrink the model (int8, a smaller width) "
            "or pick a bigger board; tinybench.measure.check_budget() tells before "
            "compiling."
        )
        return cli_error(CompileError, message, run, diagnostics=result.diagnostics)
    errors = [d for d in result.diagnostics if d.is_error]
    missing = [d.message.split(":")[0] for d in errors if "No such file or directory" in d.message]
    if missing:
        steps = [
            f"arduino-cli lib install {_HEADER_LIBRARIES[h]}"
            if h in _HEADER_LIBRARIES
            else f"arduino-cli lib search {Path(h).stem} (then lib install it)"
            for h in dict.fromkeys(missing)
        ]
        message = (
            f"{target} includes {', '.join(dict.fromkeys(missing))}, which no installed library "
            f"provides. Install it: {'; '.join(steps)} (or ArduinoCli.install_board_support())."
        )
        return cli_error(CompileError, message, run, diagnostics=result.diagnostics)
    methods = _missing_resolver_methods(errors)
    if methods:
        return cli_error(CompileError, _older_library(target, methods), run,
                         diagnostics=result.diagnostics)  # fmt: skip
    if errors:
        listed = "\n".join(f"  {excerpt(str(d), 300)}" for d in errors[:10])
        more = f"\n  … and {len(errors) - 10} more" if len(errors) > 10 else ""
        message = (
            f"{target} did not compile ({len(errors)} error(s)):\n{listed}{more}\n"
            "Fix the first error first: later ones often follow from it."
        )
        return cli_error(CompileError, message, run, diagnostics=result.diagnostics)
    detail = error or run.error_text() or result.compiler_err
    return cli_error(
        CompileError,
        f"{target} did not compile: {excerpt(detail.strip())}",
        run,
        diagnostics=result.diagnostics,
    )


# GCC: "… MicroMutableOpResolver<3>' has no member named 'AddReduceMin'"; clang: "no member named
# 'AddReduceMin' in 'tflite::MicroMutableOpResolver<3>'".
_NO_RESOLVER_METHOD = re.compile(r"no member named '(Add\w+)'")


def _missing_resolver_methods(errors: list[Diagnostic]) -> list[str]:
    """The ``MicroMutableOpResolver`` methods the compiler says the library does not have."""
    found = (
        _NO_RESOLVER_METHOD.search(d.message)
        for d in errors
        if "OpResolver" in d.message or d.file.endswith("op_resolver.h")
    )
    return list(dict.fromkeys(match.group(1) for match in found if match))


def _older_library(target: str, methods: list[str]) -> str:
    ops = ", ".join(f"{op_of_resolver_method(m)} ({m})" for m in methods)
    return (
        f"{target} did not compile: the model uses {ops}, which the TensorFlow Lite Micro "
        "library this core compiled against does not have. tinybench checks ops against a "
        f"newer TFLM than the Arduino library ({ARDUINO_LIBRARY} lacks "
        f"{', '.join(sorted(ARDUINO_LIBRARY_LACKS))}). Re-train without that op or replace it "
        "with ops the library has; the emulated board (`tinybench emulate`) builds against the "
        "same library and names such an op without a board."
    )


def core_missing_error(run: CliRun) -> CoreMissingError | None:
    """Return the error for a command that failed because its core is not installed, or ``None``."""
    text = run.error_text()
    match = _MISSING_PLATFORM.search(text)
    if match is None:
        return None
    platform = match["platform"]
    return cli_error(
        CoreMissingError,
        f"The core {platform!r} is not installed in arduino-cli. Install it with "
        f"`arduino-cli core install {platform}` (or ArduinoCli().core_install({platform!r})); "
        "it downloads once, then works offline. arduino-cli said: "
        f"{text.splitlines()[0] if text else ''}",
        run,
    )


def upload_error(run: CliRun, port: str) -> UploadError:
    """Return the error for a failed upload: no board, a busy port, nothing compiled, or other."""
    text = run.error_text()
    lowered = text.lower()
    if any(sign in lowered for sign in _PORT_NOT_FOUND) and "busy" not in lowered:
        message = (
            f"No board on port {port!r}: {text}\nPlug the board in and list the ports with "
            "ArduinoCli().board_list() or `tinybench ports`; a board that was just reset may "
            "come back on another port."
        )
        return cli_error(UploadError, message, run)
    if any(sign in lowered for sign in _BUSY):
        message = (
            f"Port {port!r} is busy: another program holds it. Close the serial monitor "
            "(Arduino IDE, screen, minicom) or stop the LiveSession / Link using it "
            "(session.close()), then upload again. On Linux, 'Permission denied' with nothing "
            f"else open means your user is not in the 'dialout' group. arduino-cli said: {text}"
        )
        return cli_error(PortBusyError, message, run)
    if "binaries" in lowered or "compiled sketch" in lowered:
        message = (
            f"Nothing to upload: {text}\nCompile the sketch first with ArduinoCli.compile(), "
            "with the same build_path."
        )
        return cli_error(UploadError, message, run)
    message = (
        f"Uploading through {port!r} failed: {text}\nPress the board's reset button twice "
        "(bootloader mode) and upload again."
    )
    return cli_error(UploadError, message, run)
