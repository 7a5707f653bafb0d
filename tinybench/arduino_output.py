"""What arduino-cli reports: result types, compiler diagnostics, and the errors failures become.

arduino-cli runs with ``--format json`` (see :mod:`tinybench.arduino`), and this module reads
what it prints. A finished command is a :class:`CliRun`; its JSON becomes a
:class:`CompileResult` (flash and RAM from ``builder_result.executable_sections_size``),
:class:`UploadResult`, :class:`DetectedBoard` or :class:`InstalledCore`. Compiler messages
become :class:`Diagnostic` objects (:func:`parse_diagnostics`), and each kind of failure one
error from :mod:`tinybench.errors` whose message says what to do next: a missing core, a
missing library, compiler errors, a sketch too big, a busy or missing port.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.errors import CompileError, CoreMissingError, PortBusyError, UploadError

__all__ = [
    "IMU_LIBRARIES",
    "CliRun",
    "CompileResult",
    "DetectedBoard",
    "Diagnostic",
    "InstalledCore",
    "UploadResult",
    "compile_error",
    "core_missing_error",
    "parse_compile_result",
    "parse_diagnostics",
    "upload_error",
]

#: The Library Manager library of each IMU tinybench's sketches read.
IMU_LIBRARIES = {
    "LSM9DS1": "Arduino_LSM9DS1",
    "BMI270+BMM150": "Arduino_BMI270_BMM150",
    "LSM6DSOX": "Arduino_LSM6DSOX",
}

# Headers whose "No such file or directory" means a Library Manager library is missing.
_HEADER_LIBRARIES = {
    "Chirale_TensorFlowLite.h": "Chirale_TensorFLowLite",
    **{f"{library}.h": library for library in IMU_LIBRARIES.values()},
}

_DIAGNOSTIC = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>fatal error|error|warning|note):\s*(?P<message>.*)$"
)
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


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message with a location, parsed from ``file:line:col: severity: message``.

    Attributes:
        file: Source file as the compiler named it.
        line: Line number, from 1.
        column: Column, from 1, if the compiler gave one.
        severity: ``"error"``, ``"fatal error"``, ``"warning"`` or ``"note"``.
        message: The message text.
    """

    file: str
    line: int
    column: int | None
    severity: str
    message: str

    @property
    def is_error(self) -> bool:
        """Whether this diagnostic stops the build (``error`` or ``fatal error``)."""
        return self.severity in ("error", "fatal error")

    def __str__(self) -> str:
        column = f"{self.column}:" if self.column is not None else ""
        return f"{self.file}:{self.line}:{column} {self.severity}: {self.message}"


@dataclass(frozen=True)
class CompileResult:
    """What arduino-cli reported for one compile.

    Attributes:
        success: Whether arduino-cli reported success.
        fqbn: The fully qualified board name compiled for.
        sketch_dir: The sketch folder.
        flash_used: Bytes of program storage (the ``text`` section), if reported.
        flash_max: Maximum program size for the board, if reported.
        ram_used: Bytes of static RAM (the ``data`` section), if reported.
        ram_max: Maximum data size for the board, if reported.
        diagnostics: Compiler messages with a location (warnings, notes).
        build_path: Where arduino-cli put the build, as it reported it.
        used_libraries: Libraries linked in, as ``name@version``.
        platform: The core used, as ``id@version``.
        argv: The exact command that was run.
        compiler_out: arduino-cli's ``compiler_out`` text.
    """

    success: bool
    fqbn: str
    sketch_dir: Path
    flash_used: int | None
    flash_max: int | None
    ram_used: int | None
    ram_max: int | None
    diagnostics: tuple[Diagnostic, ...]
    build_path: Path | None
    used_libraries: tuple[str, ...]
    platform: str | None
    argv: tuple[str, ...]
    compiler_out: str = ""

    @property
    def flash_fraction(self) -> float | None:
        """``flash_used / flash_max``, or ``None`` if either is unknown."""
        return _fraction(self.flash_used, self.flash_max)

    @property
    def ram_fraction(self) -> float | None:
        """``ram_used / ram_max``, or ``None`` if either is unknown."""
        return _fraction(self.ram_used, self.ram_max)

    def summary(self) -> str:
        """Return one line with flash and RAM use, as measured by the real build."""
        warnings = sum(1 for d in self.diagnostics if d.severity == "warning")
        text = (
            f"{self.sketch_dir.name} for {self.fqbn}: "
            f"flash {_usage(self.flash_used, self.flash_max)}, "
            f"RAM {_usage(self.ram_used, self.ram_max)} (static; the heap and stack come on top)"
        )
        return text + (f", {warnings} warning(s)" if warnings else "")


@dataclass(frozen=True)
class UploadResult:
    """What arduino-cli reported for one upload.

    Attributes:
        fqbn: The fully qualified board name uploaded for.
        port: The port uploaded through.
        output: What the upload tool printed (stdout, then stderr).
        new_port: The port the board came back on, if arduino-cli reported a change.
        argv: The exact command that was run.
    """

    fqbn: str
    port: str
    output: str
    new_port: str | None
    argv: tuple[str, ...]


@dataclass(frozen=True)
class DetectedBoard:
    """A port arduino-cli's ``board list`` found, and the board it recognised there.

    Attributes:
        address: Port address, e.g. ``/dev/ttyACM0`` or ``COM5``.
        protocol: Discovery protocol, usually ``serial``.
        label: Human-readable port label.
        fqbn: FQBN of the first matching board, or ``None`` for an unknown device.
        name: Name of the first matching board, or ``None``.
        vid: USB vendor ID, if reported.
        pid: USB product ID, if reported.
        serial_number: USB serial number, if reported.
        board: The tinybench board profile matched by USB ID or FQBN, or ``None``.
    """

    address: str
    protocol: str
    label: str
    fqbn: str | None
    name: str | None
    vid: int | None
    pid: int | None
    serial_number: str | None
    board: str | None


@dataclass(frozen=True)
class InstalledCore:
    """An installed arduino-cli platform (core).

    Attributes:
        id: Platform id, e.g. ``arduino:mbed_nano``.
        installed_version: Installed version.
        latest_version: Newest version in the index, if known.
        name: Human-readable name of the installed release.
    """

    id: str
    installed_version: str
    latest_version: str | None
    name: str


@dataclass(frozen=True)
class CliRun:
    """One finished arduino-cli command: its argv, exit code and output.

    Attributes:
        argv: The exact command that was run.
        returncode: Its exit code.
        stdout: What it printed on stdout (JSON, with ``--format json``).
        stderr: What it printed on stderr.
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any] | None:
        """The JSON object on stdout, or ``None``."""
        return _json_object(self.stdout)

    @property
    def failure(self) -> dict[str, Any] | None:
        """The JSON object describing a failure (stderr first, then stdout), or ``None``."""
        return _json_object(self.stderr) or _json_object(self.stdout)

    def error_text(self) -> str:
        """Everything arduino-cli said about a failure, as plain text."""
        parts: list[str] = []
        for data in (self.failure, self.result):
            if data:
                parts.append(str(data.get("error", "")))
                output = data.get("output") or {}
                parts += [str(output.get("stdout", "")), str(output.get("stderr", ""))]
        if not any(p.strip() for p in parts):
            parts = [self.stderr, self.stdout]
        return "\n".join(p.strip() for p in parts if p.strip())


def parse_diagnostics(text: str) -> tuple[Diagnostic, ...]:
    """Parse the compiler's ``file:line[:col]: severity: message`` lines out of ``text``.

    Lines without a location (``In function …``, source excerpts, carets) are skipped. Windows
    drive letters in paths are kept whole.
    """
    found = []
    for line in text.splitlines():
        match = _DIAGNOSTIC.match(line.strip())
        if match:
            column = match["column"]
            found.append(
                Diagnostic(
                    file=match["file"],
                    line=int(match["line"]),
                    column=int(column) if column else None,
                    severity=match["severity"],
                    message=match["message"].strip(),
                )
            )
    return tuple(found)


def parse_compile_result(
    data: dict[str, Any], sketch: Path, fqbn: str, argv: tuple[str, ...]
) -> CompileResult:
    """Read ``compile --format json`` output into a :class:`CompileResult`."""
    builder = data.get("builder_result") or {}
    sections = {s.get("name"): s for s in builder.get("executable_sections_size") or []}
    text, ram = sections.get("text") or {}, sections.get("data") or {}
    libraries = tuple(
        f"{lib['name']}@{lib['version']}" if lib.get("version") else str(lib.get("name"))
        for lib in builder.get("used_libraries") or []
    )
    platform = builder.get("board_platform") or {}
    return CompileResult(
        success=bool(data.get("success")),
        fqbn=fqbn,
        sketch_dir=sketch,
        flash_used=_size(text.get("size"), text),
        flash_max=text.get("max_size") or None,
        ram_used=_size(ram.get("size"), ram),
        ram_max=ram.get("max_size") or None,
        diagnostics=parse_diagnostics(str(data.get("compiler_err") or "")),
        build_path=Path(builder["build_path"]) if builder.get("build_path") else None,
        used_libraries=libraries,
        platform=f"{platform['id']}@{platform.get('version', '')}" if platform.get("id") else None,
        argv=argv,
        compiler_out=str(data.get("compiler_out") or ""),
    )


def _size(value: Any, section: dict[str, Any]) -> int | None:
    # arduino-cli omits zero sizes (omitempty): a listed section without "size" used 0 bytes.
    if value is None:
        return 0 if section else None
    return int(value)


def compile_error(data: dict[str, Any], result: CompileResult, run: CliRun) -> CompileError:
    """Return the error for a failed compile: too big, a missing library, or compiler errors."""
    error = str(data.get("error") or "")
    target = f"{result.sketch_dir.name} for {result.fqbn}"
    if "exceeds available space" in error or "Sketch too big" in result.compiler_out:
        message = (
            f"{target} is too big: flash {_usage(result.flash_used, result.flash_max)}, RAM "
            f"{_usage(result.ram_used, result.ram_max)}. Shrink the model (int8, a smaller width) "
            "or pick a bigger board; tinybench.budget.check_budget() tells before compiling."
        )
        return CompileError(message, run.stdout, run.stderr, result.diagnostics)
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
        return CompileError(message, run.stdout, run.stderr, result.diagnostics)
    if errors:
        listed = "\n".join(f"  {d}" for d in errors[:10])
        more = f"\n  … and {len(errors) - 10} more" if len(errors) > 10 else ""
        message = (
            f"{target} did not compile ({len(errors)} error(s)):\n{listed}{more}\n"
            "Fix the first error first: later ones often follow from it."
        )
        return CompileError(message, run.stdout, run.stderr, result.diagnostics)
    detail = error or run.error_text() or str(data.get("compiler_err") or "")
    return CompileError(
        f"{target} did not compile: {detail.strip()}", run.stdout, run.stderr, result.diagnostics
    )


def core_missing_error(run: CliRun) -> CoreMissingError | None:
    """Return the error for a command that failed because its core is not installed, or ``None``."""
    text = run.error_text()
    match = _MISSING_PLATFORM.search(text)
    if match is None:
        return None
    platform = match["platform"]
    return CoreMissingError(
        f"The core {platform!r} is not installed in arduino-cli. Install it with "
        f"`arduino-cli core install {platform}` (or ArduinoCli().core_install({platform!r})); "
        "it downloads once, then works offline. arduino-cli said: "
        f"{text.splitlines()[0] if text else ''}",
        run.stdout,
        run.stderr,
    )


def upload_error(run: CliRun, port: str) -> UploadError:
    """Return the error for a failed upload: no board, a busy port, nothing compiled, or other."""
    text = run.error_text()
    lowered = text.lower()
    if any(sign in lowered for sign in _PORT_NOT_FOUND) and "busy" not in lowered:
        return UploadError(
            f"No board on port {port!r}: {text}\nPlug the board in and list the ports with "
            "ArduinoCli().board_list() or `tinybench ports`; a board that was just reset may "
            "come back on another port.",
            run.stdout,
            run.stderr,
        )
    if any(sign in lowered for sign in _BUSY):
        return PortBusyError(
            f"Port {port!r} is busy: another program holds it. Close the serial monitor "
            "(Arduino IDE, screen, minicom) or stop the LiveSession / Link using it "
            "(session.close()), then upload again. On Linux, 'Permission denied' with nothing "
            f"else open means your user is not in the 'dialout' group. arduino-cli said: {text}",
            run.stdout,
            run.stderr,
        )
    if "binaries" in lowered or "compiled sketch" in lowered:
        return UploadError(
            f"Nothing to upload: {text}\nCompile the sketch first with ArduinoCli.compile(), "
            "with the same build_path.",
            run.stdout,
            run.stderr,
        )
    return UploadError(
        f"Uploading through {port!r} failed: {text}\nPress the board's reset button twice "
        "(bootloader mode) and upload again.",
        run.stdout,
        run.stderr,
    )


def _json_object(text: str) -> dict[str, Any] | None:
    """Return the JSON object in ``text``, skipping any plain-text lines before it."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _fraction(used: int | None, maximum: int | None) -> float | None:
    return used / maximum if used is not None and maximum else None


def _usage(used: int | None, maximum: int | None) -> str:
    if used is None:
        return "not reported"
    if not maximum:
        return f"{used:,} B"
    return f"{used:,} / {maximum:,} B ({used / maximum:.1%})"
