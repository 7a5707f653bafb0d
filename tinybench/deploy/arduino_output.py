"""What arduino-cli reports: result types, compiler diagnostics, and reading its JSON into them.

arduino-cli runs with ``--format json`` (see :mod:`tinybench.deploy.arduino`), and this module
reads what it prints, every field checked against the documented schema
(:class:`~tinybench.deploy.arduino_schema.JsonFields`): a compile becomes a
:class:`CompileResult` (flash and RAM from ``builder_result.executable_sections_size``), and
the other commands an :class:`UploadResult`, :class:`DetectedBoard` or :class:`InstalledCore`.
Compiler messages become :class:`Diagnostic` objects (:func:`parse_diagnostics`). The errors a
failure becomes are in :mod:`tinybench.deploy.arduino_errors`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.deploy.arduino_process import CliRun
from tinybench.deploy.arduino_schema import JsonFields
from tinybench.errors import CompileError

__all__ = [
    "IMU_LIBRARIES",
    "CompileResult",
    "DetectedBoard",
    "Diagnostic",
    "InstalledCore",
    "UploadResult",
    "parse_compile_result",
    "parse_core_list",
    "parse_diagnostics",
    "usage",
]

#: The Library Manager library of each IMU tinybench's sketches read.
IMU_LIBRARIES = {
    "LSM9DS1": "Arduino_LSM9DS1",
    "BMI270+BMM150": "Arduino_BMI270_BMM150",
    "LSM6DSOX": "Arduino_LSM6DSOX",
}

_DIAGNOSTIC = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>fatal error|error|warning|note):\s*(?P<message>.*)$"
)


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
        compiler_err: arduino-cli's ``compiler_err`` text (the diagnostics come from it).
        error: arduino-cli's ``error`` text, for a failed compile.
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
    compiler_err: str = ""
    error: str = ""

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
            f"flash {usage(self.flash_used, self.flash_max)}, "
            f"RAM {usage(self.ram_used, self.ram_max)} (static; the heap and stack come on top)"
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


def parse_compile_result(run: CliRun, sketch: Path, fqbn: str) -> CompileResult:
    """Read ``compile --format json`` output into a :class:`CompileResult`, field by field.

    Raises:
        CompileError: arduino-cli printed no JSON object, or a field of the wrong type; the
            message names the field and the saved log.
    """
    data = run.result
    fields = JsonFields(run, CompileError)
    if data is None:
        raise fields.bad("the output", run.stdout[:60] or None, "a JSON object")
    where, builder = fields.object(data, "builder_result")
    sections = {}
    for path, section in fields.objects(builder, "executable_sections_size", where):
        sections[fields.need(section, "name", str, path)] = (
            fields.get(section, "size", int, path) or 0,
            fields.get(section, "max_size", int, path),
        )
    text, ram = sections.get("text", (None, None)), sections.get("data", (None, None))
    platform_path, platform = fields.object(builder, "board_platform", where)
    platform_id = fields.get(platform, "id", str, platform_path)
    build_path = fields.get(builder, "build_path", str, where)
    return CompileResult(
        success=bool(fields.get(data, "success", bool)),
        fqbn=fqbn,
        sketch_dir=sketch,
        flash_used=text[0],
        flash_max=text[1] or None,
        ram_used=ram[0],
        ram_max=ram[1] or None,
        diagnostics=parse_diagnostics(fields.get(data, "compiler_err", str) or ""),
        build_path=Path(build_path) if build_path else None,
        used_libraries=_libraries(fields, builder, where),
        platform=f"{platform_id}@{fields.get(platform, 'version', str, platform_path) or ''}"
        if platform_id
        else None,
        argv=run.argv,
        compiler_out=fields.get(data, "compiler_out", str) or "",
        compiler_err=fields.get(data, "compiler_err", str) or "",
        error=fields.get(data, "error", str) or "",
    )


def _libraries(fields: JsonFields, builder: dict[str, Any], where: str) -> tuple[str, ...]:
    found = []
    for path, library in fields.objects(builder, "used_libraries", where):
        name = fields.need(library, "name", str, path)
        version = fields.get(library, "version", str, path)
        found.append(f"{name}@{version}" if version else name)
    return tuple(found)


def parse_core_list(run: CliRun) -> list[InstalledCore]:
    """Read ``core list --format json`` output, field by field.

    Raises:
        ArduinoCliError: A field has the wrong type; the message names it.
    """
    fields = JsonFields(run)
    cores = []
    for path, item in fields.objects(run.result or {}, "platforms"):
        installed = fields.get(item, "installed_version", str, path) or ""
        releases_path, releases = fields.object(item, "releases", path)
        _, release = fields.object(releases, installed, releases_path) if installed else ("", {})
        cores.append(
            InstalledCore(
                id=fields.need(item, "id", str, path),
                installed_version=installed,
                latest_version=fields.get(item, "latest_version", str, path) or None,
                name=fields.get(release, "name", str, releases_path)
                or fields.get(item, "name", str, path)
                or "",
            )
        )
    return cores


def _fraction(used: int | None, maximum: int | None) -> float | None:
    return used / maximum if used is not None and maximum else None


def usage(used: int | None, maximum: int | None) -> str:
    """Return ``used / maximum B (fraction)``, or what is known of it."""
    if used is None:
        return "not reported"
    if not maximum:
        return f"{used:,} B"
    return f"{used:,} / {maximum:,} B ({used / maximum:.1%})"
