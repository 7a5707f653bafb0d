"""Trade-off plots over a sweep's results, and a confusion matrix.

Every plot says which bytes it shows. "Model flash bytes (C array)" is ``len(tflite)``, exactly
what the exported array holds; "gzip bytes" is the compressed size, which is not what lands in
flash; "tensor arena bytes" is the arena measured by the TFLM interpreter. Variants that cannot
run on a microcontroller (float16, dynamic-range) are drawn hollow, with their LiteRT accuracy,
and never dropped silently.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing is
shown twice in a notebook and nothing global changes; the notebook displays the returned figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from tinybench.boards import Board, get_board
from tinybench.budget import ARENA_ALIGNMENT_MARGIN
from tinybench.errors import ConfigError
from tinybench.sweep import pareto_front

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AXIS_LABELS", "plot_arena", "plot_confusion", "plot_gzip", "plot_tradeoff"]

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
        df: A sweep's results (:func:`tinybench.sweep.run_sweep`), one row per variant.
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
    fig = Figure(figsize=(8, 5), layout="constrained")
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

    Two lines are drawn: the board's whole RAM, and the RAM left for the arena once the
    runtime estimate and the 16-byte alignment margin are taken off. Variants with no arena
    (not runnable on a microcontroller) cannot be placed on this axis; they are listed in a
    note on the plot instead of being dropped silently.

    Args:
        df: A sweep's results.
        board: The board whose RAM is drawn; by default the sweep's board.
        title: Figure title.

    Returns:
        The figure.
    """
    _check_columns(df, (*_REQUIRED, "arena_bytes"))
    target = _board_of(df, board)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    measured = df[df["arena_bytes"].notna()]
    _scatter_variants(ax, measured, "arena_bytes")
    _draw_front(ax, measured[measured["runnable_on_mcu"].astype(bool)], "arena_bytes")
    left = target.ram_bytes - target.runtime_ram_bytes - ARENA_ALIGNMENT_MARGIN
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
            f"runtime estimate − {ARENA_ALIGNMENT_MARGIN} B alignment)",
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


def plot_confusion(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot a confusion matrix: true labels down, predicted labels across.

    Args:
        y_true: True class indices.
        y_pred: Predicted class indices, same length.
        labels: Class names, indexed by class.
        normalize: Show each row as fractions of that true class (counts are printed too).
        title: Figure title; a default gives the accuracy.

    Returns:
        The figure.

    Raises:
        ConfigError: The arrays differ in length, are empty, or hold an index outside
            ``labels``.
    """
    true = np.asarray(y_true, dtype=int).ravel()
    pred = np.asarray(y_pred, dtype=int).ravel()
    n = len(labels)
    if true.shape != pred.shape or true.size == 0:
        raise ConfigError(
            f"y_true and y_pred must be non-empty and equally long; got {true.size} and "
            f"{pred.size}. Pass the test labels and the model's predictions for them."
        )
    bad = sorted({int(v) for v in np.concatenate([true, pred]) if not 0 <= v < n})
    if bad:
        raise ConfigError(
            f"Class indices {bad} are outside the {n} labels {list(labels)}. Pass the labels "
            "the model was trained with, in class order."
        )
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (true, pred), 1)
    totals = counts.sum(axis=1, keepdims=True)
    shown = counts / np.maximum(totals, 1) if normalize else counts
    fig = Figure(figsize=(1.1 * n + 2.5, 1.0 * n + 1.8), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "windows")
    ax.set_xticks(range(n), labels=list(labels), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(labels))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    high = shown.max() if shown.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{shown[i, j]:.0%}\n({counts[i, j]})" if normalize else f"{counts[i, j]}"
            dark = shown[i, j] > 0.6 * high
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
            )
    accuracy = float(np.trace(counts)) / true.size
    ax.set_title(title or f"Confusion matrix: accuracy {accuracy:.1%} on {true.size} windows")
    return fig


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise ConfigError(
            f"The results lack columns {missing}; they have {list(df.columns)}. Pass the "
            "DataFrame returned by tinybench.sweep.run_sweep()."
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


def _scatter_variants(ax: Axes, df: pd.DataFrame, x: str) -> None:
    widths = sorted(df["width"].unique()) if "width" in df.columns else [None]
    colors = {width: f"C{i % 10}" for i, width in enumerate(widths)}
    for _, row in df.iterrows():
        color = colors[row["width"] if "width" in df.columns else None]
        runnable = bool(row["runnable_on_mcu"])
        ax.scatter(
            row[x],
            row["accuracy"],
            s=60,
            marker="o" if runnable else "s",
            facecolors=color if runnable else "none",
            edgecolors=color,
            linewidths=1.5,
            zorder=3,
        )
    _annotate(ax, df, x)


def _annotate(ax: Axes, df: pd.DataFrame, x: str) -> None:
    """Label the points; points that (nearly) coincide share one stacked label."""
    found = [
        (float(row[x]), float(row["accuracy"]), label)
        for (_, row), label in zip(df.iterrows(), _point_labels(df), strict=True)
        if not pd.isna(row[x]) and not pd.isna(row["accuracy"]) and row[x] > 0
    ]
    groups: list[list[tuple[float, float, str]]] = []
    for point in sorted(found):
        near = next(
            (
                group
                for group in groups
                if abs(np.log10(point[0] / group[-1][0])) < 0.03
                and abs(point[1] - group[-1][1]) < 0.01
            ),
            None,
        )
        if near is None:
            groups.append([point])
        else:
            near.append(point)
    for rank, points in enumerate(groups):
        if len(points) > 1:  # a stack of names, to the right of the point
            offset, align = (10, 0), "center"
        else:  # single names alternate above and below, so neighbours do not collide
            offset, align = ((6, 6), "bottom") if rank % 2 == 0 else ((6, -8), "top")
        ax.annotate(
            "\n".join(label for _, _, label in points),
            (max(p[0] for p in points), points[0][1]),
            textcoords="offset points",
            xytext=offset,
            va=align,
            fontsize=8,
        )


def _draw_front(ax: Axes, df: pd.DataFrame, x: str) -> None:
    front = pareto_front(df, x, "accuracy")
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
    widths = sorted(df["width"].unique()) if "width" in df.columns else []
    if len(widths) > 1:
        handles += [
            Line2D([], [], marker="o", linestyle="", color=f"C{i % 10}", label=f"width {w:g}")
            for i, w in enumerate(widths)
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
    ax.figure.legend(handles=handles, loc="outside lower center", fontsize=8, ncols=1)
