"""What the trade-off explorer draws, as plain data: one row per variant, and a board's budget.

:func:`point_table` turns a sweep's results and a board into the table the explorer widget
(:class:`tinybench.widgets.TradeoffExplorer`) displays: each variant's label, its accuracy with
a Wilson confidence interval over the test windows it was measured on, its byte counts, whether
it is drawn hollow (not runnable on a microcontroller), whether it fits the board, whether it
is on the Pareto front, and the hover text. :func:`budget_lines` gives the board's flash and RAM
lines. Both are pure functions, so everything the widget shows is tested without a browser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from tinybench.boards import Board, get_board
from tinybench.errors import ConfigError
from tinybench.measure.arena import ALIGNMENT_MARGIN, SKETCH_ARENA_MARGIN
from tinybench.measure.budget import BudgetReport
from tinybench.sweep.confidence import correct_windows, wilson_interval
from tinybench.sweep.tradeoffs import fits_board, pareto_front, tradeoff_table

__all__ = ["BudgetLines", "budget_lines", "point_table", "windows_note"]

_REQUIRED = ("recipe", "accuracy", "runnable_on_mcu", "flash_model_bytes")


@dataclass(frozen=True)
class BudgetLines:
    """A board's budget, as the lines the explorer draws.

    Attributes:
        board: The board.
        runtime_flash_estimate: Flash for the core, TFLM and the variants' kernels (an
            estimate; the largest over the runnable variants).
        flash_left: Flash left for the model array: the board's flash minus that estimate.
        ram_left: RAM left for the tensor arena: the board's RAM minus its runtime RAM, the
            16 B alignment margin and the 1,024 B sketch margin.
    """

    board: Board
    runtime_flash_estimate: int
    flash_left: int
    ram_left: int

    @property
    def flash_label(self) -> str:
        """What the flash line is, with its figures."""
        b = self.board
        return (
            f"{b.name} flash left for the model: {b.flash_bytes:,} B − "
            f"{self.runtime_flash_estimate:,} B runtime estimate = {self.flash_left:,} B"
        )

    @property
    def ram_label(self) -> str:
        """What the RAM line is, with its figures."""
        b = self.board
        return (
            f"{b.name} RAM left for the arena: {b.ram_bytes:,} B − {b.runtime_ram_bytes:,} B "
            f"runtime − {ALIGNMENT_MARGIN} B − {SKETCH_ARENA_MARGIN:,} B margins = "
            f"{self.ram_left:,} B"
        )


def budget_lines(df: pd.DataFrame, board: str | Board) -> BudgetLines:
    """Return ``board``'s flash and RAM budget lines for the variants of ``df``.

    The runtime flash estimate follows :class:`tinybench.measure.budget.BudgetReport`: the
    board's base estimate plus one kernel estimate per op type, taking the variant that needs
    the most.

    Args:
        df: A sweep's results.
        board: Board name or profile.
    """
    target = get_board(board)
    runtime = target.runtime_flash_bytes
    if "ops" in df.columns:
        runnable = df[df["runnable_on_mcu"].astype(bool)]
        for ops in runnable["ops"].dropna():
            names = tuple(name for name in str(ops).split(",") if name)
            report = BudgetReport(target, 0, None, op_names=names)
            runtime = max(runtime, report.runtime_flash_estimate)
    ram_left = target.ram_bytes - target.runtime_ram_bytes - ALIGNMENT_MARGIN - SKETCH_ARENA_MARGIN
    return BudgetLines(target, runtime, target.flash_bytes - runtime, ram_left)


def point_table(
    df: pd.DataFrame, board: str | Board | None = None, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Return one row per variant with everything the trade-off explorer shows.

    Args:
        df: A sweep's results (:func:`tinybench.sweep.run_sweep`).
        board: Board for ``fits``; by default the sweep's board (``df.attrs["board"]``).
        confidence: Coverage of the accuracy interval.

    Returns:
        A frame with ``df``'s index and columns ``label``, ``recipe``, ``width``,
        ``accuracy``, ``test_windows`` (<NA> where the results do not say), ``ci_low``,
        ``ci_high`` (NaN without test windows), ``flash_model_bytes``, ``gzip_bytes``,
        ``arena_bytes``, ``macs``, ``latency_ms_estimate``, ``hollow`` (not runnable on a
        microcontroller), ``fits`` (on ``board``), ``plotted`` (it has an accuracy and no
        error), ``pareto_flash``, ``pareto_arena`` and ``hover``.

    Raises:
        ConfigError: ``df`` is empty or lacks a column, or no board is given or recorded.
    """
    missing = [column for column in _REQUIRED if column not in df.columns]
    if missing or df.empty:
        raise ConfigError(
            f"The results lack columns {missing} or are empty (they have {list(df.columns)}). "
            "Pass the DataFrame returned by tinybench.sweep.run_sweep()."
        )
    target = _board(df, board)
    table = pd.DataFrame(index=df.index)
    table["label"] = list(tradeoff_table(df).index)
    for column in ("recipe", "width", "accuracy", "interpreter", "board"):
        table[column] = df[column] if column in df.columns else None
    for column in ("flash_model_bytes", "gzip_bytes", "arena_bytes", "macs"):
        table[column] = df[column].astype("Float64").astype("Int64") if column in df else pd.NA
    table["latency_ms_estimate"] = [_latency(row, target) for _, row in df.iterrows()]
    table["test_windows"] = _windows(df)
    interval = [
        _interval(a, n, confidence)
        for a, n in zip(df["accuracy"], table["test_windows"], strict=True)
    ]
    table["ci_low"] = [low for low, _ in interval]
    table["ci_high"] = [high for _, high in interval]
    table["hollow"] = ~df["runnable_on_mcu"].fillna(False).astype(bool)
    table["fits"] = [fits_board(row, target) for _, row in df.iterrows()]
    error = df["error"].fillna("").astype(str) != "" if "error" in df else False
    table["plotted"] = df["accuracy"].notna() & ~error
    candidates = df[table["plotted"] & ~table["hollow"]]
    for x, flag in (("flash_model_bytes", "pareto_flash"), ("arena_bytes", "pareto_arena")):
        front = pareto_front(candidates, x) if x in df else candidates.iloc[:0]
        table[flag] = table.index.isin(front.index)
    table["hover"] = [_hover(row, target, confidence) for _, row in table.iterrows()]
    return table


def windows_note(table: pd.DataFrame) -> str:
    """Say how many test windows the plotted accuracies rest on, for an axis title.

    Args:
        table: A :func:`point_table`.
    """
    counts = table.loc[table["plotted"], "test_windows"].dropna()
    if counts.empty:
        return "an unknown number of test windows"
    low, high = int(counts.min()), int(counts.max())
    return f"{low:,} test windows" if low == high else f"{low:,}–{high:,} test windows"


def _board(df: pd.DataFrame, board: str | Board | None) -> Board:
    if board is not None:
        return get_board(board)
    name = df.attrs.get("board")
    if not name:
        raise ConfigError(
            "Pass board=…: the results do not record the sweep's board (df.attrs['board'])."
        )
    return get_board(name)


def _windows(df: pd.DataFrame) -> pd.Series:
    """Test windows behind each accuracy: the results' ``samples`` column, if it is there."""
    if "samples" not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    return df["samples"].astype("Float64").astype("Int64")


def _interval(accuracy: float, windows: object, confidence: float) -> tuple[float, float]:
    if pd.isna(accuracy) or pd.isna(windows) or int(windows) <= 0:
        return float("nan"), float("nan")
    total = int(windows)
    return wilson_interval(correct_windows(float(accuracy), total), total, confidence)


def _latency(row: pd.Series, board: Board) -> float | None:
    """Milliseconds per inference on ``board``, or ``None`` where it cannot run.

    The results' own figure where they were measured for ``board``; for another board,
    :meth:`~tinybench.boards.Board.mac_latency_ms` from the row's MACs and quantization.
    """
    runnable = row.get("runnable_on_mcu")
    if not board.tflm or runnable is None or pd.isna(runnable) or not bool(runnable):
        return None
    stored = row.get("latency_ms_estimate")
    if row.get("board") == board.name and stored is not None and not pd.isna(stored):
        return float(stored)
    macs, quantization = row.get("macs"), row.get("quantization")
    if macs is None or pd.isna(macs) or not isinstance(quantization, str):
        return None
    return board.mac_latency_ms(int(macs), quantization)


def _count(value: object) -> str:
    return "not measured" if pd.isna(value) else f"{int(value):,}"


def _bytes(value: object) -> str:
    return "not measured" if pd.isna(value) else f"{int(value):,} B"


def _hover(point: pd.Series, board: Board, confidence: float) -> str:
    """The hover text of one point: every figure, each saying what it is."""
    lines = [f"<b>{html.escape(point['label'])}</b>"]
    fronts = [name for name in ("flash", "arena") if point[f"pareto_{name}"]]
    if fronts:
        lines[0] += f" · on the Pareto front ({' and '.join(fronts)})"
    lines.append(f"recipe {html.escape(str(point['recipe']))} · width {point['width']:g}")
    if pd.isna(point["accuracy"]):
        lines.append("accuracy: not measured (see the error column)")
    else:
        where = "in LiteRT" if point["interpreter"] == "litert" else "in TFLM"
        if pd.isna(point["test_windows"]):
            spread = "no interval: the number of test windows is not in the results"
        else:
            spread = (
                f"{confidence:.0%} CI {point['ci_low']:.1%}–{point['ci_high']:.1%} "
                f"on {int(point['test_windows']):,} test windows"
            )
        lines.append(f"accuracy {point['accuracy']:.1%} ({spread}), {where}")
    lines += [
        f"model flash (C array): {_bytes(point['flash_model_bytes'])}",
        f"gzip, not flash: {_bytes(point['gzip_bytes'])}",
        f"tensor arena (TFLM): {_bytes(point['arena_bytes'])}",
        f"MACs: {_count(point['macs'])}",
    ]
    latency = point["latency_ms_estimate"]
    if pd.isna(latency):
        why = "not runnable on a microcontroller" if board.tflm else f"no TFLM on {board.name}"
        lines.append(f"latency estimate: none ({why})")
    else:
        lines.append(f"latency estimate: ~{latency:.3g} ms on {board.name}")
    if point["hollow"]:
        lines.append(f"fits {board.name}: no, not runnable on a microcontroller (hollow)")
    else:
        lines.append(f"fits {board.name}: {'yes' if point['fits'] else 'no'}")
    return "<br>".join(lines)
