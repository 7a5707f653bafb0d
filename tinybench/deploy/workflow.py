"""Deployment steps for the notebooks: the chosen variant, the export's figures, compile/upload.

- :func:`load_chosen_variant` reads the variant notebook 03 saved, or says to run 03 first.
- :func:`export_summary` shows an export's files and what it needs in flash and RAM on a board.

Both budgets use the model's firmware measured on the emulated Cortex-M4F
(:func:`tinybench.emulate.footprint.target_footprint`: linked flash and RAM, the arena on the
target) whenever the toolchain and TFLM library are installed and the board is a Cortex-M4;
otherwise the figures are the budget's estimates, labelled so.
- :func:`deploy` compiles and uploads where arduino-cli exists, and otherwise shows the plan.

:func:`deploy` is the one call behind ``notebooks/05_compile_upload.ipynb``. With arduino-cli
installed it installs the board's core and libraries, compiles the sketch (flash and RAM from
arduino-cli's JSON) and, when a real serial port is given, uploads it. Without arduino-cli it
raises nothing: the returned :class:`Deployment` says so and lists the exact commands it would
have run, so a class on machines without arduino-cli still sees every step. The virtual board
needs no upload: it loads the exported model folder itself (``sim://…&model=<export dir>``).
"""

from __future__ import annotations

import logging
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.boards import Board, get_board
from tinybench.deploy.arduino import ArduinoCli
from tinybench.deploy.arduino_output import CompileResult, UploadResult
from tinybench.deploy.exported import ExportedModel
from tinybench.errors import CliNotFoundError, ConfigError, UnsupportedOpError
from tinybench.measure.budget import BudgetReport, check_budget
from tinybench.measure.target import TargetFootprint
from tinybench.measure.tflm_ops import ARDUINO_LIBRARY, ARDUINO_LIBRARY_LACKS

__all__ = [
    "Deployment",
    "ExportSummary",
    "deploy",
    "export_summary",
    "load_chosen_variant",
]

log = logging.getLogger(__name__)


def load_chosen_variant(path: str | os.PathLike[str]) -> Any:
    """Read the variant that ``notebooks/03_optimize.ipynb`` chose and saved.

    Args:
        path: Where it was saved with ``Variant.save``: ``build/chosen_variant`` (the
            ``.tflite`` and ``.json`` suffixes may be left out).

    Returns:
        The :class:`~tinybench.optimize.Variant`.

    Raises:
        ConfigError: Nothing was saved there yet; the message says to run notebook 03.
        RecipeError: The files are there but unreadable.
    """
    from tinybench.optimize import Variant

    model = Path(path).with_suffix(".tflite")
    sidecar = model.with_suffix(".json")
    missing = [str(p) for p in (model, sidecar) if not p.is_file()]
    if missing:
        raise ConfigError(
            f"No chosen variant at {str(Path(path))!r}: {' and '.join(missing)} missing. Run "
            "notebooks/03_optimize.ipynb first (it saves the best int8 variant that fits the "
            "board there), or point VARIANT at a variant saved with Variant.save()."
        )
    return Variant.load(model)


@dataclass(frozen=True)
class ExportSummary:
    """An export's files and what it needs on a board.

    Attributes:
        exported: The export.
        files: ``(file name, bytes)`` for each file in the export folder.
        budget: Flash and RAM needed on the board next to what it has.
    """

    exported: ExportedModel
    files: tuple[tuple[str, int], ...]
    budget: BudgetReport

    def summary(self) -> str:
        """Return the files and figures as readable lines."""
        ex = self.exported
        lines = [f"Exported {ex.variant or ex.name!r} to {ex.out_dir}:"]
        lines += [f"  {name:<22} {size:>9,} B" for name, size in self.files]
        lines += [
            f"model array (flash): {ex.model_bytes:,} B, exactly the .tflite flatbuffer",
            f"tensor arena: {ex.arena_bytes:,} B measured in TFLM on the host; "
            f"kTensorArenaSize = {ex.arena_size:,} B with alignment and margin",
            *_target_lines(self.budget),
            f"ops: {', '.join(ex.op_names)}",
            *_library_lines(ex.op_names),
            f"labels: {', '.join(ex.labels) or 'none'}",
            f"On {self.budget.board.name} ({'fits' if self.budget.fits else 'DOES NOT FIT'}):",
            *(f"  {line}" for line in self.budget.summary().splitlines()),
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.summary())  # type: ignore[attr-defined]


def _library_lines(op_names: tuple[str, ...]) -> list[str]:
    """A warning for ops the Arduino TFLM library lacks: the sketch would not compile."""
    lacking = sorted(set(op_names) & ARDUINO_LIBRARY_LACKS)
    if not lacking:
        return []
    return [
        f"WILL NOT COMPILE for a board: {ARDUINO_LIBRARY} (what arduino-cli builds with) has "
        f"no kernel for {', '.join(lacking)}; re-train without it, or replace it with ops "
        "the library has."
    ]


def _target_lines(budget: BudgetReport) -> list[str]:
    linked = budget.linked
    if linked is None:
        return ["sizes on the board: estimates (no firmware built here; docs/firmware.md)"]
    return [
        f"tensor arena on the target build: {linked.arena_used_bytes:,} B",
        f"sizes on the board: linked firmware ({linked.source}) + Arduino core estimate",
    ]


def _target(model: Any, board: Board) -> TargetFootprint | None:
    """The model's firmware measured on the emulated Cortex-M4F, or ``None`` where it can't be."""
    # Imported here: tinybench.emulate builds from tinybench.deploy's export, so a module-level
    # import would run this package's __init__ and the emulator's in a circle.
    from tinybench.emulate.footprint import target_footprint

    try:
        return target_footprint(model, board)
    except UnsupportedOpError as exc:  # the summary says the sketch will not compile
        log.info("no target build: %s", exc)
        return None


def export_summary(
    exported: ExportedModel, board: str | Board, *, measure_target: bool = True
) -> ExportSummary:
    """Describe an export: its files with sizes and its flash and RAM budget on ``board``.

    Args:
        exported: The export.
        board: Board name or profile.
        measure_target: Build and run the firmware on the emulated Cortex-M4F for linked sizes
            when the toolchain is installed (cached after the first time); ``False`` keeps
            the estimates.

    Raises:
        ConfigError: ``board`` is unknown.
        FirmwareBuildError: The toolchain is installed but the firmware did not build.
    """
    profile = get_board(board)
    files = tuple(
        (path.name, path.stat().st_size)
        for path in sorted(exported.out_dir.iterdir())
        if path.is_file()
    )
    target = _target(exported, profile) if measure_target else None
    budget = check_budget(
        exported.tflite_path, profile, arena_bytes=exported.arena_bytes, target=target
    )
    return ExportSummary(exported, files, budget)


@dataclass(frozen=True)
class Deployment:
    """What :func:`deploy` did, or would have done without arduino-cli.

    Attributes:
        board: The board profile name.
        sketch_dir: The sketch folder.
        port: The port given, if any.
        commands: The arduino-cli commands run, or planned when nothing ran, as argv lists.
        compiled: The compile result, or ``None`` when arduino-cli is missing.
        uploaded: The upload result, or ``None`` when nothing was uploaded.
        note: Why nothing is uploaded (no port, or a virtual port), or ``""``.
        missing_cli: Why arduino-cli was not found, with how to install it, or ``""``.
        budget: The model's flash and RAM budget on the board, when a model was given.
    """

    board: str
    sketch_dir: Path
    port: str | None
    commands: tuple[tuple[str, ...], ...]
    compiled: CompileResult | None
    uploaded: UploadResult | None
    note: str = ""
    missing_cli: str = ""
    budget: BudgetReport | None = None

    @property
    def ran(self) -> bool:
        """True when arduino-cli really compiled the sketch."""
        return self.compiled is not None

    def summary(self) -> str:
        """Return what happened, with the commands, as readable lines."""
        lines = []
        if self.budget is not None:
            lines.append("The model fits the board:")
            lines += [f"  {line}" for line in self.budget.summary().splitlines()]
        if self.compiled is not None:
            lines.append(f"Compiled {self.compiled.summary()}.")
            if self.uploaded is not None:
                lines.append(f"Uploaded to {self.uploaded.port}.")
                if self.uploaded.new_port:
                    lines.append(f"The board came back on {self.uploaded.new_port}.")
            lines.append("Commands run:")
        else:
            lines.append(
                f"arduino-cli is not installed here, so nothing was compiled for {self.board}. "
                "These are the commands it would run:"
            )
        lines += [f"  {shlex.join(command)}" for command in self.commands]
        if self.note:
            lines.append(self.note)
        if self.missing_cli:
            lines.append(f"To run them here: {self.missing_cli}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.summary())  # type: ignore[attr-defined]


def deploy(
    sketch_dir: str | os.PathLike[str],
    board: str | Board,
    port: str | None = None,
    *,
    model: Any = None,
    cli: ArduinoCli | None = None,
    install: bool = True,
    build_path: str | os.PathLike[str] | None = None,
    measure_target: bool = True,
) -> Deployment:
    """Compile ``sketch_dir`` for ``board`` (and upload it to ``port``), or plan it.

    Args:
        sketch_dir: A sketch folder rendered by :func:`tinybench.deploy.sketch.render_sketch`.
        board: Board name or profile.
        port: Serial port of a real board to upload to. ``None`` or a URL such as ``sim://…``
            (the virtual board) means compile only.
        model: The model the sketch carries (an export folder, a ``.tflite`` path or bytes,
            a ``Variant``). When given, its flash and RAM budget is checked first, with or
            without arduino-cli, and a model that cannot fit is refused before anything runs.
        cli: The arduino-cli to use; ``None`` looks for one (``TINYBENCH_ARDUINO_CLI``, then
            ``PATH``) and plans the commands when there is none.
        install: Install the board's core and libraries first (needs the network once).
        build_path: Build folder for compile and upload; ``None`` lets arduino-cli choose.
        measure_target: Check the budget with the model's firmware measured on the emulated
            Cortex-M4F when the toolchain is installed; ``False`` keeps the estimates.

    Returns:
        A :class:`Deployment` with the compile and upload results, or with the planned
        commands and a note saying arduino-cli is not installed here.

    Raises:
        ConfigError: ``board`` is unknown.
        BudgetError: ``model`` cannot fit the board; the message gives both figures.
        CompileError: The sketch did not compile; the message lists the compiler's errors.
        CoreMissingError: The board's core is missing and ``install`` is False.
        UploadError: Uploading failed (``PortBusyError`` when another program holds the port).
    """
    profile = get_board(board)
    sketch = Path(sketch_dir)
    budget = None
    if model is not None:
        target = _target(model, profile) if measure_target else None
        budget = check_budget(model, profile, target=target).require()
    upload_port = port if port and "://" not in port else None
    missing_cli = ""
    if cli is None:
        try:
            cli = ArduinoCli()
        except CliNotFoundError as exc:
            log.info("arduino-cli not found: %s", exc)
            missing_cli = str(exc)
    compiled = uploaded = None
    planned = _planned(cli, sketch, profile, upload_port, build_path, install)
    if cli is not None:
        if install:
            cli.install_board_support(profile)
        compiled = cli.compile(sketch, profile, build_path=build_path)
        if upload_port is not None:
            uploaded = cli.upload(sketch, profile, upload_port, build_path=build_path)
    return Deployment(
        board=profile.name,
        sketch_dir=sketch,
        port=port,
        commands=tuple(tuple(command) for command in planned),
        compiled=compiled,
        uploaded=uploaded,
        note=_upload_note(port, upload_port),
        missing_cli=missing_cli,
        budget=budget,
    )


def _planned(
    cli: ArduinoCli | None,
    sketch: Path,
    profile: Board,
    upload_port: str | None,
    build_path: str | os.PathLike[str] | None,
    install: bool,
) -> list[list[str]]:
    """The commands :func:`deploy` runs with ``cli``, or would run without one."""
    if cli is None:
        return ArduinoCli.planned_commands(sketch, profile, upload_port, build_path=build_path)
    planned = ArduinoCli.planned_commands(
        sketch,
        profile,
        upload_port,
        build_path=build_path,
        executable=str(cli.executable),
        config_file=cli.config_file,
    )
    return planned if install else [c for c in planned if "install" not in c[1:3]]


def _upload_note(port: str | None, upload_port: str | None) -> str:
    if port and upload_port is None:
        return (
            f"{port} is not a serial device, so there is nothing to upload: the virtual board "
            "loads the exported model folder itself (sim://nano33ble?model=<export dir>)."
        )
    return "" if port else "No port given: compile only, no upload."
