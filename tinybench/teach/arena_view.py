"""The arena as a memory plan, in a notebook that also runs where no toolchain is installed.

:func:`show_memory_plan` draws TFLM's own plan (:func:`~tinybench.teach.memory_plan.memory_plan`,
read from the emulated Cortex-M4 firmware); its total is the target arena that
:func:`~tinybench.measure.profile.profile` reports for the same build. On a laptop without
the Arm toolchain, QEMU or the TFLM library, it returns a note that says what to install instead
of stopping the notebook, because the rest of the lesson does not need them.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from tinybench.errors import LibraryMissingError, ToolchainMissingError
from tinybench.teach.memory_plan import memory_plan, plot_memory_plan

__all__ = ["PlanUnavailable", "show_memory_plan"]


@dataclass(frozen=True)
class PlanUnavailable:
    """Why the memory plan could not be drawn here, and what to install to see it."""

    reason: str

    def __str__(self) -> str:
        return f"The memory plan needs the emulated board: {self.reason}"

    def _repr_html_(self) -> str:
        return f"<p><b>The memory plan needs the emulated board.</b> {html.escape(self.reason)}</p>"


def show_memory_plan(
    model: Any, *, cache_dir: str | os.PathLike[str] | None = None
) -> Figure | PlanUnavailable:
    """Draw the arena of ``model`` on the emulated Cortex-M4, or say what is missing.

    Args:
        model: An export folder, ``.tflite`` bytes or path, or a ``Variant``.
        cache_dir: Object cache of the TFLM library, shared with every firmware build; by
            default ``$TINYBENCH_TFLM_CACHE`` or ``build/tflm-cache``.

    Returns:
        The figure of :func:`~tinybench.teach.memory_plan.plot_memory_plan`, or a
        :class:`PlanUnavailable` naming the install command when the toolchain or library is
        missing. Any other failure (a model TFLM cannot plan, an emulator error) is raised.
    """
    try:
        plan = memory_plan(model, cache_dir=cache_dir)
    except (ToolchainMissingError, LibraryMissingError) as exc:
        return PlanUnavailable(str(exc))
    return plot_memory_plan(plan)
