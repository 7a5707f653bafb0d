"""What a model's firmware measured on a target build: linked sizes, target arena, instructions.

A :class:`TargetFootprint` is filled in by :func:`tinybench.emulate.footprint.target_footprint`,
which builds the real firmware (arm-none-eabi-g++, the real TFLM library) and runs it once in
QEMU. The budget (:mod:`tinybench.measure.budget`) and the profile
(:mod:`tinybench.measure.profile`) use it, when given, instead of their estimates:

- flash = the firmware's linked text + data, plus what the board's Arduino core adds on a real
  board (a published figure, labelled "estimate": the emulated firmware has no Arduino core);
- RAM = the linked .data + .bss (the tensor arena is in .bss) + the stack the link reserves,
  plus the core's RAM (estimate). The arena counted is the larger of the host's and the
  target's measurement, through :func:`tinybench.measure.arena.tensor_arena_size`;
- latency = instructions per ``Invoke()`` x cycles per instruction / the board's clock.

The firmware is built for a Cortex-M4F, so a footprint applies only to boards with that CPU
(:data:`TARGET_CPUS`); on any other board the estimates stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.boards import Board
from tinybench.measure.arena import tensor_arena_size

__all__ = ["CORE_ESTIMATES", "TARGET_CPUS", "CoreEstimate", "TargetFootprint", "core_estimate"]

TARGET_CPUS = ("cortex-m4", "cortex-m4f")
"""``Board.cpu`` values the emulated Cortex-M4F firmware stands for."""


@dataclass(frozen=True)
class CoreEstimate:
    """Flash and RAM an Arduino core takes on a real board beside the sketch: an estimate.

    Attributes:
        flash_bytes: Flash of an empty sketch (``setup() {}`` and ``loop() {}``).
        ram_bytes: Global variables of that empty sketch.
        source: Where the figures come from.
    """

    flash_bytes: int
    ram_bytes: int
    source: str


CORE_ESTIMATES: dict[str, CoreEstimate] = {
    "arduino:mbed_nano": CoreEstimate(
        85_328,
        44_552,
        "published size of an empty arduino:mbed_nano sketch: mbed OS, Arduino API, USB "
        "serial (docs/firmware.md)",
    ),
}
"""Published empty-sketch figures per arduino-cli platform (docs/firmware.md)."""


def core_estimate(board: Board) -> CoreEstimate:
    """Return what ``board``'s Arduino core adds, from :data:`CORE_ESTIMATES`.

    Without a published figure for the platform, the board profile's own RAM estimate is used
    and no flash is added (the profile's flash estimate includes TFLM, which is linked here).
    """
    known = CORE_ESTIMATES.get(board.platform)
    if known is not None:
        return known
    return CoreEstimate(0, board.runtime_ram_bytes, f"tinybench's RAM estimate for {board.name}")


@dataclass(frozen=True)
class TargetFootprint:
    """A model's firmware as built and run for the emulated Cortex-M4F.

    Attributes:
        source: Compiler, library and emulator, e.g. ``"arm-none-eabi-g++ 12.2.1 +
            Chirale_TensorFLowLite 2.0.0, qemu-mps2-an386"``.
        flash_split: ``(part, bytes)`` of flash for ``model``, ``tflm``, ``kernels``, ``rest``.
        flash_bytes: Linked flash: text + data (``arm-none-eabi-size``).
        data_bytes: Linked .data.
        bss_bytes: Linked .bss, the tensor arena included.
        stack_bytes: Stack the link reserves beside .data and .bss.
        arena_reserved_bytes: ``kTensorArenaSize`` the firmware was linked with (inside .bss).
        arena_used_bytes: ``arena_used_bytes()`` of TFLM on the target build.
        instructions: Instructions one ``Invoke()`` took (``-icount shift=0``), or ``None``.
        op_instructions: ``(op, instructions)`` per op, in execution order.
        cpi: Cycles per instruction that turn instructions into time.
        cpi_basis: What :attr:`cpi` was calibrated on, and its error there.
    """

    source: str
    flash_split: tuple[tuple[str, int], ...]
    flash_bytes: int
    data_bytes: int
    bss_bytes: int
    stack_bytes: int
    arena_reserved_bytes: int
    arena_used_bytes: int
    instructions: int | None
    op_instructions: tuple[tuple[str, int], ...]
    cpi: float
    cpi_basis: str

    @property
    def linked_ram_bytes(self) -> int:
        """Linked .data + .bss (stack not included)."""
        return self.data_bytes + self.bss_bytes

    def applies_to(self, board: Board) -> bool:
        """Whether this footprint stands for ``board`` (its CPU is a Cortex-M4/M4F)."""
        return board.cpu in TARGET_CPUS

    def flash_needed(self, board: Board) -> int:
        """Linked flash plus the board's core flash estimate."""
        return self.flash_bytes + core_estimate(board).flash_bytes

    def arena_reserve(self, host_reported: int | None, host_required: int | None = None) -> int:
        """The ``kTensorArenaSize`` the budget counts: the arena rule on the larger measurement.

        Args:
            host_reported: The host TFLM's "Arena allocation total", if measured.
            host_required: The smallest arena the host allocates in, if measured.
        """
        reported = max(host_reported or 0, self.arena_used_bytes)
        return tensor_arena_size(reported, host_required)

    def ram_needed(
        self, board: Board, host_reported: int | None = None, host_required: int | None = None
    ) -> int:
        """Linked RAM (its arena resized by :meth:`arena_reserve`) + stack + core estimate."""
        arena = self.arena_reserve(host_reported, host_required)
        linked = self.linked_ram_bytes - self.arena_reserved_bytes + arena
        return linked + self.stack_bytes + core_estimate(board).ram_bytes

    def latency_ms(self, board: Board) -> float | None:
        """Milliseconds per inference at ``board``'s clock: instructions x CPI / clock."""
        if self.instructions is None:
            return None
        return self.instructions * self.cpi / board.clock_hz * 1000.0

    def flash_text(self, board: Board) -> str:
        """How :meth:`flash_needed` is made up, for a budget line."""
        parts = ", ".join(f"{name} {size:,}" for name, size in self.flash_split)
        core = core_estimate(board)
        return f"linked {self.flash_bytes:,} B: {parts}; + core estimate {core.flash_bytes:,} B"

    def ram_text(
        self, board: Board, host_reported: int | None = None, host_required: int | None = None
    ) -> str:
        """How :meth:`ram_needed` is made up, for a budget line."""
        arena = self.arena_reserve(host_reported, host_required)
        linked = self.linked_ram_bytes - self.arena_reserved_bytes + arena
        host = "not measured" if host_reported is None else f"{host_reported:,} B"
        return (
            f"linked .data+.bss {linked:,} B (kTensorArenaSize {arena:,} B from the larger "
            f"arena: target {self.arena_used_bytes:,} B, host {host}) + stack "
            f"{self.stack_bytes:,} B + core estimate {core_estimate(board).ram_bytes:,} B"
        )

    def flash_rows(self, board: Board) -> list[tuple[str, str, str]]:
        """``(label, value, note)`` rows of the flash figures beside the model array."""
        parts = ", ".join(f"{name} {size:,}" for name, size in self.flash_split)
        core = core_estimate(board)
        return [
            ("flash: firmware", f"{self.flash_bytes:,} B", f"linked: {parts}; {self.source}"),
            ("flash: Arduino core", f"~{core.flash_bytes:,} B", f"estimate: {core.source}"),
        ]

    def ram_rows(
        self, board: Board, host_reported: int | None, host_required: int | None
    ) -> list[tuple[str, str, str]]:
        """``(label, value, note)`` rows of the RAM figures, the arena beside the host's."""
        arena = self.arena_reserve(host_reported, host_required)
        linked = self.linked_ram_bytes - self.arena_reserved_bytes + arena
        host = "not measured" if host_reported is None else f"{host_reported:,} B"
        core = core_estimate(board)
        return [
            (
                "RAM: tensor arena",
                f"{self.arena_used_bytes:,} B",
                f"measured on the target build; host TFLM: {host}",
            ),
            ("RAM: .data + .bss", f"{linked:,} B", f"linked, kTensorArenaSize {arena:,} B"),
            ("RAM: stack", f"{self.stack_bytes:,} B", "reserved by the link"),
            ("RAM: Arduino core", f"~{core.ram_bytes:,} B", f"estimate: {core.source}"),
        ]

    def latency_text(self, board: Board) -> str:
        """The basis of :meth:`latency_ms` in a few words."""
        count = "n/a" if self.instructions is None else f"{self.instructions:,}"
        return (
            f"{count} instructions x CPI {self.cpi:.3f} / {board.clock_hz / 1e6:g} MHz; "
            f"{self.cpi_basis}"
        )
