"""Trade-off plots over a sweep's results (the confusion matrix is in ``confusion``).

Every plot says which bytes it shows. "Model flash bytes (C array)" is ``len(tflite)``, exactly
what the exported array holds; "gzip bytes" is the compressed size, which is not what lands in
flash; "tensor arena bytes" is the arena measured by the TFLM interpreter. Variants that cannot
run on a microcontroller (float16, dynamic-range) are drawn hollow, with their LiteRT accuracy,
and never dropped silently.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing is
shown twice in a notebook and nothing global changes; the notebook displays the returned figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from tinybench.boards import Board, get_board
from tinybench.errors import ConfigError
from tinybench.measure.arena import ALIGNMENT_MARGIN, SKETCH_ARENA_MARGIN
from tinybench.sweep.figures import new_figure
from tinybench.sweep.grid import DEFAULT_RECIPES
from tinybench.sweep.tradeoffs import pareto_front

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AXIS_LABELS", "plot_arena", "plot_gzip", "plot_tradeoff"]

AXIS_LABELS: dict[str, str] = {
    "flash_model_bytes": "model flash bytes (C array)",
    "gzip_bytes": "gzip bytes (compressed, not flash)",
    "arena_bytes": "tensor arena bytes (measured by TFLM)",
}
"""What each byte column means, as written on the plots' axes."""

_RUNNABLE_LABEL = "runnable on a microcontroller (accuracy in TFLM)"
_NOT_RUNNABLE_LABEL = "not runnable on a microcontroller (hollow; accuracy in LiteRT)"
_REQUIRED = ("recipe", "accuracy", "runnable_on_mcu")


def _hollow_handle(label: str) -> Line2D:
    """A legend entry for variants drawn hollow: not runnable on a microcontroller."""
    return Line2D(
        [], [], marker="s", linestyle="", color="gray", markerfacecolor="none", label=label
    )


_FRONT_HANDLE = Line2D(
    [],
    [],
    color="black",
    marker="o",
    markersize=10,
    markerfacecolor="none",
    label="Pareto front (MCU-runnable; nothing is both smaller and more accurate)",
)


def plot_tradeoff(
    df: pd.DataFrame,
    board: str | Board | None = None,
    x: str = "flash_model_bytes",
    *,
    title: str | None = None,
) -> Figure:
    """Plot test accuracy against model bytes, with the Pareto front and the board's budget.

    For ``x="flash_model_bytes"`` the budget line is the flash left for the model array: the
    board's flash minus the runtime estimate (core, TFLM and per-op kernels), labelled as an
    estimate. Gzip bytes are not flash, so ``x="gzip_bytes"`` draws no budget line.

    Args:
        df: A sweep's results (:func:`tinybench.sweep.runner.run_sweep`), one row per variant.
        board: The board whose budget is drawn; by default the sweep's board.
        x: ``"flash_model_bytes"`` or ``"gzip_bytes"``.
        title: Figure title; a default names the board.

    Returns:
        The figure (not shown; display it in a notebook or save it).

    Raises:
        ConfigError: ``x`` is not a byte column this plot knows, or ``df`` lacks a column.
    """
    if x not in ("flash_model_bytes", "gzip_bytes"):
        raise ConfigError(
            f"Cannot plot accuracy against {x!r}. Choose 'flash_model_bytes' or 'gzip_bytes'; "
            "for the tensor arena use plot_arena()."
        )
    _check_columns(df, (*_REQUIRED, x))
    target = _board_of(df, board)
    fig = new_figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.add_subplot()
    _scatter_variants(ax, df, x)
    _draw_front(ax, df[df["runnable_on_mcu"].astype(bool)], x)
    handles = [*_legend_handles(df), *_failed_handles(df)]
    if x == "flash_model_bytes":
        runtime = _runtime_flash_estimate(df, target)
        budget = target.flash_bytes - runtime
        label = (
            f"{target.name} flash left for the model: {target.flash_bytes:,} B flash − "
            f"{runtime:,} B runtime estimate = {budget:,} B"
        )
        ax.axvline(budget, color="tab:red", linestyle="--", linewidth=1.5)
        handles.append(Line2D([], [], color="tab:red", linestyle="--", label=label))
    else:
        ax.text(
            0.01,
            0.02,
            "gzip bytes show what pruning and clustering save when compressed; "
            "flash holds the uncompressed model.",
            transform=ax.transAxes,
            fontsize=8,
            color="dimgray",
        )
    handles.append(_FRONT_HANDLE)
    _finish(ax, x, handles)
    what = "flash" if x == "flash_model_bytes" else "gzip size"
    ax.set_title(title or f"Test accuracy against model {what} ({target.name})")
    return fig


def plot_gzip(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Plot test accuracy against gzip bytes (compressed size, not flash).

    Args:
        df: A sweep's results.
        title: Figure title.

    Returns:
        The figure.
    """
    return plot_tradeoff(df, x="gzip_bytes", title=title)


def plot_arena(
    df: pd.DataFrame, board: str | Board | None = None, *, title: str | None = None
) -> Figure:
    """Plot test accuracy against the tensor arena measured by TFLM, with the board's RAM.

    Two lines are drawn: the board's whole RAM, and the RAM left for the arena once the runtime
    estimate and the arena rule's margins (16 B alignment, 1,024 B sketch) are taken off.
    Variants with no arena (not runnable on a microcontroller) cannot be placed on this axis;
    they are listed in a note on the plot instead of being dropped silently.

    Args:
        df: A sweep's results.
        board: The board whose RAM is drawn; by default the sweep's board.
        title: Figure title.

    Returns:
        The figure.
    """
    _check_columns(df, (*_REQUIRED, "arena_bytes"))
    target = _board_of(df, board)
    fig = new_figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.add_subplot()
    measured = df[df["arena_bytes"].notna()]
    _scatter_variants(ax, measured, "arena_bytes")
    _draw_front(ax, measured[measured["runnable_on_mcu"].astype(bool)], "arena_bytes")
    left = target.ram_bytes - target.runtime_ram_bytes - ALIGNMENT_MARGIN - SKETCH_ARENA_MARGIN
    ax.axvline(target.ram_bytes, color="tab:red", linestyle="-", linewidth=1.5)
    ax.axvline(left, color="tab:red", linestyle="--", linewidth=1.5)
    handles = [
        *_legend_handles(measured, include_hollow=False),
        *_failed_handles(df),
        _FRONT_HANDLE,
        Line2D([], [], color="tab:red", label=f"{target.name} RAM: {target.ram_bytes:,} B"),
        Line2D(
            [],
            [],
            color="tab:red",
            linestyle="--",
            label=f"RAM left for the arena: {left:,} B (RAM − {target.runtime_ram_bytes:,} B "
            f"runtime − {ALIGNMENT_MARGIN} B alignment − {SKETCH_ARENA_MARGIN:,} B sketch margin)",
        ),
    ]
    missing = df[df["arena_bytes"].isna() & ~_failed(df)]
    if not missing.empty:
        names = ", ".join(_point_labels(missing))
        handles.append(
            _hollow_handle(f"not shown, no TFLM arena (not runnable on a microcontroller): {names}")
        )
    _finish(ax, "arena_bytes", handles)
    ax.set_title(title or f"Test accuracy against tensor arena ({target.name})")
    return fig


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise ConfigError(
            f"The results lack columns {missing}; they have {list(df.columns)}. Pass the "
            "DataFrame returned by tinybench.sweep.runner.run_sweep()."
        )
    if df.empty:
        raise ConfigError("The results are empty: run a sweep with at least one recipe first.")


def _board_of(df: pd.DataFrame, board: str | Board | None) -> Board:
    if board is not None:
        return get_board(board)
    names = sorted(set(df["board"])) if "board" in df.columns else []
    if len(names) != 1:
        raise ConfigError(
            f"Pass board=…: the results name boards {names}, so the budget line is ambiguous."
        )
    return get_board(names[0])


def _runtime_flash_estimate(df: pd.DataFrame, board: Board) -> int:
    """The largest runtime estimate among the variants, or the board's base estimate."""
    if "runtime_flash_estimate" in df.columns and "board" in df.columns:
        same = df[(df["board"] == board.name) & df["runtime_flash_estimate"].notna()]
        if not same.empty:
            return int(same["runtime_flash_estimate"].max())
    return board.runtime_flash_bytes


def _point_labels(df: pd.DataFrame) -> list[str]:
    if "width" in df.columns and df["width"].nunique() > 1:
        return [
            f"{recipe} w{width:g}" for recipe, width in zip(df["recipe"], df["width"], strict=True)
        ]
    return [str(recipe) for recipe in df["recipe"]]


_LEGEND_WIDTH = 48  # characters per legend line
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p")


def _recipe_markers(df: pd.DataFrame) -> dict[str, str]:
    """One marker shape per recipe, the same on every plot: the grid's recipe order first."""
    order = {recipe: i for i, recipe in enumerate(DEFAULT_RECIPES)}
    recipes = sorted({str(r) for r in df["recipe"]}, key=lambda r: (order.get(r, len(order)), r))
    return {
        recipe: _MARKERS[order.get(recipe, len(order) + i) % len(_MARKERS)]
        for i, recipe in enumerate(recipes)
    }


def _width_colors(df: pd.DataFrame) -> dict[object, str]:
    widths = sorted(df["width"].unique()) if "width" in df.columns else [None]
    return {width: f"C{i % 10}" for i, width in enumerate(widths)}


def _scatter_variants(ax: Axes, df: pd.DataFrame, x: str) -> None:
    """Colour is the width, shape the recipe, and hollow means not runnable on an MCU."""
    colors, markers = _width_colors(df), _recipe_markers(df)
    for _, row in df.iterrows():
        color = colors[row["width"] if "width" in df.columns else None]
        runnable = bool(row["runnable_on_mcu"])
        ax.scatter(
            row[x],
            row["accuracy"],
            s=60,
            marker=markers[str(row["recipe"])],
            facecolors=color if runnable else "none",
            edgecolors=color,
            linewidths=1.5,
            zorder=3,
        )


def _annotate(ax: Axes, front: pd.DataFrame, x: str) -> None:
    """Label the Pareto points only (the legend names the rest); stack labels that coincide."""
    found = [
        (float(row[x]), float(row["accuracy"]), label)
        for (_, row), label in zip(front.iterrows(), _point_labels(front), strict=True)
        if not pd.isna(row[x]) and not pd.isna(row["accuracy"]) and row[x] > 0
    ]
    groups: list[list[tuple[float, float, str]]] = []
    for point in sorted(found):
        near = groups[-1] if groups else None
        if (
            near
            and abs(np.log10(point[0] / near[-1][0])) < 0.03
            and abs(point[1] - near[-1][1]) < 0.01
        ):
            near.append(point)
        else:
            groups.append([point])
    for rank, points in enumerate(groups):
        offset, align = ((8, -10), "top") if rank % 2 else ((8, 8), "bottom")
        ax.annotate(
            "\n".join(label for _, _, label in points),
            (max(p[0] for p in points), points[0][1]),
            textcoords="offset points",
            xytext=offset,
            va=align,
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "lw": 0},
        )


def _draw_front(ax: Axes, df: pd.DataFrame, x: str) -> None:
    front = pareto_front(df, x, "accuracy")
    _annotate(ax, front, x)
    if len(front) > 0:
        ax.plot(front[x], front["accuracy"], color="black", linewidth=1, zorder=2, gid="pareto")
        ax.scatter(
            front[x],
            front["accuracy"],
            s=180,
            facecolors="none",
            edgecolors="black",
            linewidths=1,
            zorder=2,
            gid="pareto",
        )


def _legend_handles(df: pd.DataFrame, *, include_hollow: bool = True) -> list[Line2D]:
    handles = [
        Line2D([], [], marker="o", linestyle="", color="gray", label=_RUNNABLE_LABEL),
    ]
    handles += [
        Line2D([], [], marker=marker, linestyle="", color="dimgray", label=recipe)
        for recipe, marker in _recipe_markers(df).items()
    ]
    colors = _width_colors(df)
    if len(colors) > 1:
        handles += [
            Line2D([], [], marker="o", linestyle="", color=color, label=f"width {width:g}")
            for width, color in colors.items()
        ]
    if include_hollow:
        handles.append(_hollow_handle(_NOT_RUNNABLE_LABEL))
    return handles


def _failed_handles(df: pd.DataFrame) -> list[Line2D]:
    """A legend entry naming the variants the sweep could not measure, if any."""
    failed = df[_failed(df)]
    if failed.empty:
        return []
    names = ", ".join(_point_labels(failed))
    label = f"not shown, no figures (refused or failed; see the error column): {names}"
    return [Line2D([], [], marker="x", linestyle="", color="tab:red", label=label)]


def _failed(df: pd.DataFrame) -> pd.Series:
    """Rows a sweep could not measure: an error, or no accuracy."""
    error = df["error"].fillna("").astype(str) != "" if "error" in df.columns else False
    return df["accuracy"].isna() | error


def _finish(ax: Axes, x: str, handles: list[Line2D]) -> None:
    ax.set_xscale("log")
    ax.set_xlabel(f"{AXIS_LABELS[x]}, log scale")
    ax.set_ylabel("test accuracy")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -0.02), min(high, 1.008))  # accuracy is a fraction: no 104% ticks
    ax.grid(True, which="both", alpha=0.3)
    for handle in handles:  # long explanations wrap, so the legend leaves room for the data
        handle.set_label(textwrap.fill(handle.get_label(), _LEGEND_WIDTH))
    ax.figure.legend(handles=handles, loc="outside right upper", fontsize=8, ncols=1)
